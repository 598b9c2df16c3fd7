"""Generated audio corpus for bench/audio/run.sh: espeak-ng bulletins of neutral placeholder
text (English, French, Arabic) in many voices, some opening with a synthetic jingle, plus a
music bed for each original that gets transformed queries. Fixed seed; nothing real.

    corpus.py OUT ORIGINALS RECALL DISTRACTORS DISTRACTOR_SECONDS SEED [JOBS]

Writes OUT/list.tsv: role, id, path, description (language, voice, rate, pitch, gap, jingle).
Originals (banked, 60 s) have ids 1..ORIGINALS; the first RECALL of them also get a bed_ID.wav.
Distractors (never banked; their 10 s windows are the negative queries) have ids 1000000+k.
Every file draws its parameters from its own generator seeded by (SEED, role, id), so a file
does not depend on how many others are made or in which order the workers finish. Files that
already exist with the same description are kept (a rerun with a larger corpus only adds)."""
import concurrent.futures, os, random, subprocess, sys

WORDS = {
    "en": ("weather market road school river city train morning evening report council harvest "
           "bridge library weekend festival garden museum hospital station mountain coast village "
           "farmer teacher bakery harbour stadium theatre orchestra bicycle ferry airport tunnel "
           "meadow forest island valley desert lake bus tram clinic pharmacy bookshop concert "
           "exhibition football tennis marathon parade fountain castle cathedral square").split(),
    "fr": ("meteo marche route ecole riviere ville train matin soir rapport conseil recolte pont "
           "bibliotheque festival jardin musee hopital gare montagne cote village fermier "
           "professeur boulangerie port stade theatre orchestre velo bac aeroport tunnel prairie "
           "foret ile vallee desert lac autobus tramway clinique pharmacie librairie concert "
           "exposition football tennis marathon defile fontaine chateau cathedrale place").split(),
    "ar": ("الطقس السوق الطريق المدرسة النهر المدينة القطار الصباح المساء التقرير المجلس الحصاد "
           "الجسر المكتبة الحديقة المتحف المستشفى المحطة الجبل الساحل القرية المزارع المعلم "
           "المخبز الميناء الملعب المسرح الفرقة الدراجة العبارة المطار النفق المرج الغابة "
           "الجزيرة الوادي الصحراء البحيرة الحافلة العيادة الصيدلية المعرض الحفل السباق "
           "النافورة القلعة الساحة الجامعة المصنع الشاطئ").split(),
}
FRAMES = {
    "en": ["Today the {} near the {} is calm.", "The {} opened early and the {} was busy.",
           "Officials said the {} will reopen after the {}.", "Visitors enjoyed the {} and the {}.",
           "On {} morning the {} by the {} was quiet.", "Residents asked whether the {} or the {} comes first.",
           "The new {} is {} minutes from the {}.", "Last year the {} and the {} drew {} people."],
    "fr": ["Aujourd'hui le {} pres de la {} est calme.", "Le {} a ouvert tot et la {} etait animee.",
           "Le {} rouvrira apres le {}.", "Les visiteurs ont apprecie le {} et la {}.",
           "Le matin du {} la {} pres du {} etait tranquille.", "Les habitants demandent si le {} ou la {} passe d'abord.",
           "Le nouveau {} est a {} minutes du {}.", "L'an dernier le {} et la {} ont attire {} personnes."],
    "ar": ["اليوم {} قرب {} هادئ.", "افتتح {} مبكرا وكان {} مزدحما.", "قال المسؤولون إن {} سيفتح بعد {}.",
           "استمتع الزوار ب{} و{}.", "في صباح {} كان {} قرب {} هادئا.", "سأل السكان هل يأتي {} أم {} أولا.",
           "يبعد {} الجديد {} دقيقة عن {}.", "في العام الماضي جذب {} و{} {} شخصا."],
}
BASES = {"en": ["en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan"],
         "fr": ["fr", "fr-be", "fr-ch"], "ar": ["ar"]}
VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
            "klatt", "klatt2", "klatt3", "klatt4", "Andy", "Annie", "adam", "anika", "benjamin",
            "david", "edward", "linda", "max", "michel", "paul", "rob", "steph", "zac"]


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def slot(rng, lang):
    # Numbers as well as words, so that sentences rarely repeat across bulletins.
    return str(rng.randint(2, 90)) if rng.random() < 0.1 else rng.choice(WORDS[lang])


def plan(seed, role, ident, seconds, jingle_rate=0.5):
    """Everything random about one bulletin, drawn from its own generator."""
    rng = random.Random(f"{seed}/{role}/{ident}")
    lang = rng.choice(list(WORDS))
    base, variant = rng.choice(BASES[lang]), rng.choice(VARIANTS)
    voice = base + ("+" + variant if variant else "")
    rate, pitch, gap = rng.randint(130, 190), rng.randint(25, 75), rng.randint(0, 6)
    # About 1.3 times the speech needed at the fastest rate; twice that if it falls short.
    n = int(seconds / 2.3) + 4
    sentences = [rng.choice(FRAMES[lang]) for _ in range(2 * n)]
    said = [f.format(*(slot(rng, lang) for _ in range(f.count("{}")))) for f in sentences]
    text, longer = " ".join(said[:n]), " ".join(said)
    jingle = None
    if rng.random() < jingle_rate:
        # Three to six notes of random pitch and length: two bulletins almost never share one.
        jingle = [(round(rng.uniform(180, 520), 1), round(rng.uniform(0.15, 0.6), 2))
                  for _ in range(rng.randint(3, 6))]
    desc = (f"{lang} voice={voice} rate={rate} pitch={pitch} gap={gap} "
            f"jingle={'yes' if jingle else 'no'} seconds={seconds}")
    return dict(voice=voice, rate=rate, pitch=pitch, gap=gap, text=text, longer=longer, jingle=jingle,
                seconds=seconds, desc=desc)


def bulletin(path, p):
    stamp = path + ".desc"
    if os.path.exists(path) and os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == p["desc"]:
                return
    for text in (p["text"], p["longer"]):
        if speak(path, p, text) >= p["seconds"] - 0.05:
            break
    else:
        raise SystemExit(f"{path}: too little speech for {p['seconds']} s")
    with open(stamp, "w") as f:
        f.write(p["desc"])


def speak(path, p, text):
    """Writes the bulletin (jingle, speech, cut to length); returns its duration in seconds."""
    speech = path + ".speech.wav"
    run("espeak-ng", "-v", p["voice"], "-s", str(p["rate"]), "-p", str(p["pitch"]), "-g", str(p["gap"]),
        "-w", speech, text)
    parts = [speech]
    if p["jingle"]:
        j = path + ".jingle.wav"
        args = ["sox", "-n", "-r", "22050", "-c", "1", j]
        for k, (freq, dur) in enumerate(p["jingle"]):
            args += ([":"] if k else []) + ["synth", str(dur), "sine", str(freq), "vol", "0.3"]
        run(*args)
        parts = [j, speech]
    run("sox", *parts, "-r", "22050", "-c", "1", "-b", "16", path, "trim", "0", str(p["seconds"]))
    for part in parts:
        os.remove(part)
    return float(subprocess.run(["soxi", "-D", path], capture_output=True, text=True, check=True).stdout)


def bed(path, seed, ident, seconds):
    if os.path.exists(path):
        return
    rng = random.Random(f"{seed}/bed/{ident}")
    args = ["sox", "-n", "-r", "22050", "-c", "1", path + ".t.wav"]
    for k in range(int(seconds / 2) + 1):
        root = rng.choice([110, 123, 131, 147, 165, 175, 196])
        args += ([":"] if k else []) + f"synth 2 sine {root} sine {root * 1.26:.1f} sine {root * 1.5:.1f} vol 0.15".split()
    run(*args)
    run("sox", path + ".t.wav", path, "trim", "0", str(seconds))
    os.remove(path + ".t.wav")


def main():
    out, n_orig, n_recall, n_dist, dist_seconds, seed = sys.argv[1], *map(int, sys.argv[2:7])
    jobs = int(sys.argv[7]) if len(sys.argv) > 7 else 2
    work = []  # (role, id, path, plan)
    for k in range(n_orig):
        ident = k + 1
        work.append(("original", ident, os.path.join(out, f"orig_{ident}.flac"), plan(seed, "original", ident, 60)))
    for k in range(n_dist):
        ident = 1_000_000 + k
        work.append(("distractor", ident, os.path.join(out, f"dist_{ident}.flac"),
                     plan(seed, "distractor", ident, dist_seconds)))
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(bulletin, path, p) for _, _, path, p in work]
        futures += [pool.submit(bed, os.path.join(out, f"bed_{k + 1}.wav"), seed, k + 1, 60) for k in range(n_recall)]
        for done, f in enumerate(concurrent.futures.as_completed(futures), 1):
            f.result()
            if done % 200 == 0:
                print(f"  {done}/{len(futures)} files", file=sys.stderr, flush=True)
    with open(os.path.join(out, "list.tsv"), "w") as listing:
        for role, ident, path, p in work:
            listing.write(f"{role}\t{ident}\t{path}\t{p['desc']}\n")


main()
