"""Generated audio corpus for bench/audio/run.sh: espeak-ng bulletins of neutral placeholder
text (English, French, Arabic), some with a synthetic jingle, plus a music bed per original for
the music-bed transform. Fixed seed; nothing real. Writes list.tsv (role, id, path)."""
import os, random, subprocess, sys

out, n_orig, n_dist, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
WORDS = {
    "en": ("weather market road school river city train morning evening report council harvest "
           "bridge library weekend festival garden museum hospital station mountain coast").split(),
    "fr": ("meteo marche route ecole riviere ville train matin soir rapport conseil recolte pont "
           "bibliotheque festival jardin musee hopital gare montagne cote").split(),
    "ar": "الطقس السوق الطريق المدرسة النهر المدينة القطار الصباح المساء التقرير المجلس الحصاد الجسر المكتبة الحديقة المتحف المستشفى المحطة الجبل الساحل".split(),
}
FRAMES = {
    "en": ["Today the {} near the {} is calm.", "The {} opened early and the {} was busy.",
           "Officials said the {} will reopen after the {}.", "Visitors enjoyed the {} and the {}."],
    "fr": ["Aujourd'hui le {} pres de la {} est calme.", "Le {} a ouvert tot et la {} etait animee.",
           "Le {} rouvrira apres le {}.", "Les visiteurs ont apprecie le {} et la {}."],
    "ar": ["اليوم {} قرب {} هادئ.", "افتتح {} مبكرا وكان {} مزدحما.", "قال المسؤولون إن {} سيفتح بعد {}.",
           "استمتع الزوار ب{} و{}."],
}
VOICES = {"en": ["en", "en-us", "en+m3", "en+f2"], "fr": ["fr", "fr+m2", "fr+f3"], "ar": ["ar", "ar+m2", "ar+f2"]}

def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def bulletin(path, seconds, jingle):
    lang = rng.choice(list(WORDS))
    voice, speed, pitch = rng.choice(VOICES[lang]), rng.randint(140, 180), rng.randint(30, 70)
    text = " ".join(rng.choice(FRAMES[lang]).format(rng.choice(WORDS[lang]), rng.choice(WORDS[lang]))
                    for _ in range(int(seconds / 2.2) + 4))
    speech = path + ".speech.wav"
    run("espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", speech, text)
    parts = [speech]
    if jingle:
        j = path + ".jingle.wav"
        notes = [rng.choice([220, 247, 262, 294, 330, 349, 392]) for _ in range(4)]
        run("sox", "-n", "-r", "22050", "-c", "1", j, "synth", "0.4", "sine", str(notes[0]), "sine", str(notes[1]),
            ":", "synth", "0.4", "sine", str(notes[2]), ":", "synth", "0.6", "sine", str(notes[3]), "vol", "0.3")
        parts = [j, speech]
    run("sox", *parts, "-r", "22050", "-c", "1", "-b", "16", path, "trim", "0", str(seconds))
    for p in parts:
        os.remove(p)

def bed(path, seconds):
    chords = []
    for _ in range(int(seconds / 2) + 1):
        root = rng.choice([110, 123, 131, 147, 165, 175, 196])
        chords.append(f"synth 2 sine {root} sine {root * 1.26:.1f} sine {root * 1.5:.1f} vol 0.15")
    args = ["sox", "-n", "-r", "22050", "-c", "1", path]
    for k, c in enumerate(chords):
        if k:
            args.append(":")
        args += c.split()
    run(*args)
    run("sox", path, path + ".t.wav", "trim", "0", str(seconds))
    os.replace(path + ".t.wav", path)

with open(os.path.join(out, "list.tsv"), "w") as listing:
    for k in range(n_orig):
        ident = k + 1
        path = os.path.join(out, f"orig_{ident}.wav")
        bulletin(path, 60, jingle=rng.random() < 0.5)
        bed(os.path.join(out, f"bed_{ident}.wav"), 60)
        listing.write(f"original\t{ident}\t{path}\n")
    for k in range(n_dist):
        ident = 1000 + k
        path = os.path.join(out, f"dist_{ident}.wav")
        bulletin(path, 90, jingle=rng.random() < 0.5)
        listing.write(f"distractor\t{ident}\t{path}\n")
