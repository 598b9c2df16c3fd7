//! Text benchmark: generated statements (English and Arabic) with shared boilerplate
//! openings and closings, the transforms of BENCHMARKS.md, threshold calibration at <= 1e-6
//! false positives per pair, recall per transform, template-sibling collisions and speed.
//!
//! Run through `bench/text/run.sh` (which also runs the anchors, TLSH as HMA uses it and
//! MinHash/Jaccard, on the same corpus). Everything generated goes under the output folder
//! (default `target/bench-text`); nothing here is real propaganda: the wording is neutral
//! placeholder text about markets, bridges and bakeries.
//!
//! Options: `--out DIR`, `--bank N` (statements banked, default 2000), `--negatives N`
//! (fresh statements queried against the whole bank, default 1500), `--positives N` (banked
//! statements transformed per transform, default 200), `--speed-bank N` (bank size for the
//! latency measurement, default 100000), `--seed S`.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::Write;
use std::time::Instant;
use takedown_index::text::TextIndex;
use takedown_signals::text::{self, TextMatchConfig, TextSignature};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lang {
    En,
    Ar,
}

struct Vocabulary {
    subjects: &'static [&'static str],
    verbs: &'static [&'static str],
    objects: &'static [&'static str],
    places: &'static [&'static str],
    times: &'static [&'static str],
    extras: &'static [&'static str],
    openings: &'static [&'static str],
    closings: &'static [&'static str],
    fillers: &'static [&'static str],
    syllables: &'static [&'static str],
}

const EN: Vocabulary = Vocabulary {
    subjects: &[
        "the committee",
        "the council",
        "local volunteers",
        "the district office",
        "the harbour board",
        "the school board",
        "residents of the valley",
        "the market association",
        "the rail company",
        "the library staff",
        "a group of farmers",
        "the water authority",
        "the youth club",
        "the museum",
        "the bakers union",
        "the festival team",
        "the parish",
        "the road crew",
    ],
    verbs: &[
        "announced",
        "opened",
        "repaired",
        "inspected",
        "postponed",
        "celebrated",
        "discussed",
        "painted",
        "cleaned",
        "rebuilt",
        "visited",
        "approved",
        "measured",
        "decorated",
        "moved",
        "replaced",
        "extended",
        "reported on",
    ],
    objects: &[
        "the new market",
        "the old bridge",
        "the public garden",
        "the reading room",
        "the main road",
        "the clinic",
        "the football ground",
        "the bakery",
        "the night train",
        "the river bank",
        "the bus shelter",
        "the fish hall",
        "the clock tower",
        "the orchard",
        "the town hall roof",
        "the water pump",
        "the community kitchen",
        "the bicycle lane",
    ],
    places: &[
        "in the northern district",
        "near the harbour",
        "at the central station",
        "in the valley",
        "beside the canal",
        "in the old quarter",
        "on the hill road",
        "behind the school",
        "in the eastern village",
        "at the crossroads",
        "along the coast",
        "in the market square",
    ],
    times: &[
        "on sunday",
        "on monday morning",
        "this week",
        "in the afternoon",
        "next month",
        "on thursday evening",
        "after the holiday",
        "before the rains",
        "at dawn",
        "last year",
        "during the summer",
        "on the first of the month",
    ],
    extras: &[
        "with many families attending",
        "in calm weather",
        "after months of work",
        "with help from volunteers",
        "as planned",
        "despite the wind",
        "to general applause",
        "with a small budget",
        "for the second time",
        "without any delay",
    ],
    openings: &[
        "in the name of the {o} and for all readers we announce the following",
        "statement number {n} issued by the office of the {o} to the public",
        "the media office of the {o} presents the following news to its readers",
        "from the {o} to every reader near and far greetings and welcome",
        "a new bulletin from the {o} with the latest news of the region",
    ],
    closings: &[
        "and the {o} thanks every reader and will publish again soon",
        "issued by the office of the {o} and peace to all readers",
        "follow the {o} for further statements in the coming days",
        "the {o} reminds readers to share this statement with care",
        "end of statement from the {o} until the next bulletin",
    ],
    fillers: &[
        "people said the weather was pleasant and the coffee was good",
        "a reader wrote that the photos from the fair were lovely",
        "the shop on the corner sells fresh bread every morning",
        "my cousin visited the museum and liked the old maps",
        "the price of tomatoes went down again this week",
        "someone lost a blue umbrella at the bus stop",
        "the football match ended in a draw after extra time",
        "tickets for the concert are available at the kiosk",
    ],
    syllables: &[
        "ka", "lo", "mi", "ren", "dor", "sa", "vel", "tor", "ni", "bar", "ul", "es", "an", "qu",
        "zen",
    ],
};

const AR: Vocabulary = Vocabulary {
    subjects: &[
        "اللجنة",
        "المجلس",
        "المتطوعون",
        "مكتب الحي",
        "إدارة الميناء",
        "مجلس المدرسة",
        "سكان الوادي",
        "جمعية السوق",
        "شركة القطارات",
        "موظفو المكتبة",
        "مجموعة من المزارعين",
        "سلطة المياه",
        "نادي الشباب",
        "المتحف",
        "نقابة الخبازين",
        "فريق المهرجان",
        "البلدية",
        "عمال الطرق",
    ],
    verbs: &[
        "أعلن",
        "افتتح",
        "أصلح",
        "تفقد",
        "أجل",
        "احتفل ب",
        "ناقش",
        "طلى",
        "نظف",
        "أعاد بناء",
        "زار",
        "وافق على",
        "قاس",
        "زين",
        "نقل",
        "استبدل",
        "وسع",
        "تحدث عن",
    ],
    objects: &[
        "السوق الجديد",
        "الجسر القديم",
        "الحديقة العامة",
        "قاعة المطالعة",
        "الطريق الرئيسي",
        "العيادة",
        "الملعب",
        "المخبز",
        "قطار الليل",
        "ضفة النهر",
        "موقف الحافلات",
        "سوق السمك",
        "برج الساعة",
        "البستان",
        "سقف دار البلدية",
        "مضخة المياه",
        "المطبخ المشترك",
        "مسار الدراجات",
    ],
    places: &[
        "في الحي الشمالي",
        "قرب الميناء",
        "عند المحطة المركزية",
        "في الوادي",
        "بجانب القناة",
        "في الحي القديم",
        "على طريق التلة",
        "خلف المدرسة",
        "في القرية الشرقية",
        "عند مفترق الطرق",
        "على طول الساحل",
        "في ساحة السوق",
    ],
    times: &[
        "يوم الأحد",
        "صباح الاثنين",
        "هذا الأسبوع",
        "بعد الظهر",
        "في الشهر القادم",
        "مساء الخميس",
        "بعد العطلة",
        "قبل موسم الأمطار",
        "عند الفجر",
        "في العام الماضي",
        "خلال الصيف",
        "في أول الشهر",
    ],
    extras: &[
        "بحضور عدد كبير من العائلات",
        "في أجواء هادئة",
        "بعد أشهر من العمل",
        "بمساعدة المتطوعين",
        "كما كان مقررا",
        "رغم الرياح",
        "وسط تصفيق الحاضرين",
        "بميزانية صغيرة",
        "للمرة الثانية",
        "دون أي تأخير",
    ],
    openings: &[
        "باسم {o} ولجميع القراء نعلن ما يلي",
        "بيان رقم {n} صادر عن مكتب {o} إلى عامة الناس",
        "يقدم المكتب الإعلامي ل{o} الأخبار التالية إلى قرائه الكرام",
        "من {o} إلى كل قارئ قريب أو بعيد تحية طيبة وأهلا وسهلا",
        "نشرة جديدة من {o} تحمل آخر أخبار المنطقة",
    ],
    closings: &[
        "و{o} يشكر كل القراء وسينشر المزيد قريبا",
        "صادر عن مكتب {o} والسلام على جميع القراء",
        "تابعوا {o} لمزيد من البيانات في الأيام القادمة",
        "ويذكر {o} القراء بمشاركة هذا البيان بعناية",
        "انتهى البيان الصادر عن {o} إلى النشرة القادمة",
    ],
    fillers: &[
        "قال الناس إن الطقس كان جميلا والقهوة كانت طيبة",
        "كتب أحد القراء أن صور المعرض كانت رائعة",
        "المحل الذي في الزاوية يبيع الخبز الطازج كل صباح",
        "زار ابن عمي المتحف وأعجبته الخرائط القديمة",
        "انخفض سعر الطماطم مرة أخرى هذا الأسبوع",
        "فقد أحدهم مظلة زرقاء عند موقف الحافلة",
        "انتهت مباراة كرة القدم بالتعادل بعد الوقت الإضافي",
        "تذاكر الحفل متوفرة في الكشك",
    ],
    syllables: &[
        "كا", "لو", "مي", "رن", "دور", "سا", "فل", "تور", "ني", "بار", "ول", "اس", "ان", "قو",
        "زين",
    ],
};

fn vocab(lang: Lang) -> &'static Vocabulary {
    match lang {
        Lang::En => &EN,
        Lang::Ar => &AR,
    }
}

/// A made-up proper name (so statements carry distinctive words, as real ones do).
fn name(rng: &mut ChaCha8Rng, lang: Lang) -> String {
    let v = vocab(lang);
    let n = rng.gen_range(2..=3);
    (0..n)
        .map(|_| *v.syllables.choose(rng).unwrap_or(&"ka"))
        .collect()
}

struct Outlet {
    lang: Lang,
    opening: String,
    closing: String,
}

fn make_outlet(rng: &mut ChaCha8Rng, lang: Lang) -> Outlet {
    let v = vocab(lang);
    let outlet_name = match lang {
        Lang::En => format!("{} {} network", name(rng, lang), name(rng, lang)),
        Lang::Ar => format!("شبكة {} {}", name(rng, lang), name(rng, lang)),
    };
    let fill = |t: &str, rng: &mut ChaCha8Rng| {
        t.replace("{o}", &outlet_name)
            .replace("{n}", &rng.gen_range(10..99).to_string())
    };
    let opening = fill(v.openings.choose(rng).unwrap_or(&""), rng);
    let closing = fill(v.closings.choose(rng).unwrap_or(&""), rng);
    Outlet {
        lang,
        opening,
        closing,
    }
}

/// A statement as sentences: opening, body sentences, closing.
#[derive(Clone)]
struct Statement {
    lang: Lang,
    outlet: usize,
    sentences: Vec<String>,
}

impl Statement {
    fn text(&self) -> String {
        let sep = match self.lang {
            Lang::En => ". ",
            Lang::Ar => ". ",
        };
        let mut s = self.sentences.join(sep);
        s.push('.');
        s
    }
}

fn body_sentence(rng: &mut ChaCha8Rng, lang: Lang) -> String {
    let v = vocab(lang);
    let pick = |list: &[&'static str], rng: &mut ChaCha8Rng| *list.choose(rng).unwrap_or(&"");
    let mut parts = vec![pick(v.subjects, rng).to_string()];
    parts.push(pick(v.verbs, rng).to_string());
    parts.push(pick(v.objects, rng).to_string());
    if rng.gen_bool(0.5) {
        parts.push(name(rng, lang));
    }
    parts.push(pick(v.places, rng).to_string());
    parts.push(pick(v.times, rng).to_string());
    if rng.gen_bool(0.4) {
        parts.push(pick(v.extras, rng).to_string());
    }
    if rng.gen_bool(0.3) {
        parts.push(rng.gen_range(2..500).to_string());
        parts.push(name(rng, lang));
    }
    parts.join(" ")
}

fn make_statement(rng: &mut ChaCha8Rng, outlets: &[Outlet], outlet: usize) -> Statement {
    let o = &outlets[outlet];
    let mut sentences = vec![o.opening.clone()];
    for _ in 0..rng.gen_range(6..=10) {
        sentences.push(body_sentence(rng, o.lang));
    }
    sentences.push(o.closing.clone());
    Statement {
        lang: o.lang,
        outlet,
        sentences,
    }
}

fn filler(rng: &mut ChaCha8Rng, lang: Lang, sentences: usize) -> String {
    let v = vocab(lang);
    (0..sentences)
        .map(|_| {
            if rng.gen_bool(0.5) {
                v.fillers.choose(rng).unwrap_or(&"").to_string()
            } else {
                body_sentence(rng, lang)
            }
        })
        .collect::<Vec<_>>()
        .join(". ")
}

// ---------------------------------------------------------------- transforms

const TASHKEEL: [char; 8] = [
    '\u{064B}', '\u{064C}', '\u{064D}', '\u{064E}', '\u{064F}', '\u{0650}', '\u{0651}', '\u{0652}',
];

fn is_arabic_letter(c: char) -> bool {
    ('\u{0621}'..='\u{064A}').contains(&c)
}

fn diacritics(text: &str, rng: &mut ChaCha8Rng) -> String {
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if is_arabic_letter(c) && rng.gen_bool(0.4) {
            out.push(*TASHKEEL.choose(rng).unwrap_or(&'\u{064E}'));
        }
    }
    out
}

/// Letters that connect to the following letter (dual-joining).
fn joins_next(c: char) -> bool {
    is_arabic_letter(c) && !"اأإآدذرزوؤةىء".contains(c)
}

fn tatweel(text: &str, rng: &mut ChaCha8Rng) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        out.push(c);
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        if joins_next(c) && is_arabic_letter(next) && rng.gen_bool(0.3) {
            for _ in 0..rng.gen_range(1..=3) {
                out.push('\u{0640}');
            }
        }
    }
    out
}

/// Isolated presentation form of a letter (U+FE70 block) and whether it has four forms.
fn presentation(c: char) -> Option<(u32, bool)> {
    let (base, four) = match c {
        'ء' => (0xFE80, false),
        'آ' => (0xFE81, false),
        'أ' => (0xFE83, false),
        'ؤ' => (0xFE85, false),
        'إ' => (0xFE87, false),
        'ئ' => (0xFE89, true),
        'ا' => (0xFE8D, false),
        'ب' => (0xFE8F, true),
        'ة' => (0xFE93, false),
        'ت' => (0xFE95, true),
        'ث' => (0xFE99, true),
        'ج' => (0xFE9D, true),
        'ح' => (0xFEA1, true),
        'خ' => (0xFEA5, true),
        'د' => (0xFEA9, false),
        'ذ' => (0xFEAB, false),
        'ر' => (0xFEAD, false),
        'ز' => (0xFEAF, false),
        'س' => (0xFEB1, true),
        'ش' => (0xFEB5, true),
        'ص' => (0xFEB9, true),
        'ض' => (0xFEBD, true),
        'ط' => (0xFEC1, true),
        'ظ' => (0xFEC5, true),
        'ع' => (0xFEC9, true),
        'غ' => (0xFECD, true),
        'ف' => (0xFED1, true),
        'ق' => (0xFED5, true),
        'ك' => (0xFED9, true),
        'ل' => (0xFEDD, true),
        'م' => (0xFEE1, true),
        'ن' => (0xFEE5, true),
        'ه' => (0xFEE9, true),
        'و' => (0xFEED, false),
        'ى' => (0xFEEF, false),
        'ي' => (0xFEF1, true),
        _ => return None,
    };
    Some((base, four))
}

/// Replaces letters by their positional presentation forms (what old PDF extractors and
/// some copy-paste paths produce), with the lam-alef ligature.
fn presentation_forms(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let prev_joins = i > 0 && joins_next(chars[i - 1]);
        if c == 'ل' && chars.get(i + 1) == Some(&'ا') {
            out.push(if prev_joins { '\u{FEFC}' } else { '\u{FEFB}' });
            i += 2;
            continue;
        }
        match presentation(c) {
            Some((base, four)) => {
                let next_is_letter = chars.get(i + 1).is_some_and(|&n| is_arabic_letter(n));
                let offset = match (prev_joins, four && next_is_letter) {
                    (false, false) => 0,
                    (true, false) => 1,
                    (false, true) => 2,
                    (true, true) => 3,
                };
                out.push(char::from_u32(base + offset).unwrap_or(c));
            }
            None => out.push(c),
        }
        i += 1;
    }
    out
}

fn letter_variants(text: &str, rng: &mut ChaCha8Rng) -> String {
    text.split(' ')
        .map(|word| {
            let mut chars: Vec<char> = word.chars().collect();
            if let Some(last) = chars.last_mut() {
                if *last == 'ي' && rng.gen_bool(0.7) {
                    *last = 'ى';
                } else if *last == 'ه' && rng.gen_bool(0.7) {
                    *last = 'ة';
                }
            }
            if chars.first() == Some(&'ا') && rng.gen_bool(0.6) {
                chars[0] = if rng.gen_bool(0.5) { 'أ' } else { 'إ' };
            }
            for c in chars.iter_mut() {
                if *c == 'ك' && rng.gen_bool(0.5) {
                    *c = 'ک';
                } else if *c == 'ي' && rng.gen_bool(0.3) {
                    *c = 'ی';
                }
            }
            chars.into_iter().collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

const INVISIBLE: [char; 14] = [
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}',
    '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2069}', '\u{FEFF}',
];

fn invisible(text: &str, rng: &mut ChaCha8Rng) -> String {
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if c.is_alphabetic() && rng.gen_bool(0.08) {
            out.push(*INVISIBLE.choose(rng).unwrap_or(&'\u{200B}'));
        }
    }
    out
}

fn homoglyphs(text: &str, rng: &mut ChaCha8Rng) -> String {
    text.chars()
        .map(|c| {
            let swap = match c {
                'a' => Some('а'),
                'c' => Some('с'),
                'e' => Some('е'),
                'o' => Some(if rng.gen_bool(0.5) { 'о' } else { 'ο' }),
                'p' => Some('р'),
                'x' => Some('х'),
                'y' => Some('у'),
                'i' => Some('і'),
                's' => Some('ѕ'),
                _ => None,
            };
            match swap {
                Some(s) if rng.gen_bool(0.35) => s,
                _ => c,
            }
        })
        .collect()
}

fn punctuation(text: &str, rng: &mut ChaCha8Rng, lang: Lang) -> String {
    let marks: &[&str] = match lang {
        Lang::En => &[",", "!", "...", " -", ";", ":", "?!"],
        Lang::Ar => &["،", "!", "...", "؛", "؟", " -", ":"],
    };
    let mut out = String::new();
    for word in text.split(' ') {
        let mut w = word.trim_end_matches('.').to_string();
        if lang == Lang::En && rng.gen_bool(0.1) {
            w = w.to_uppercase();
        }
        out.push_str(&w);
        if rng.gen_bool(0.15) {
            out.push_str(marks.choose(rng).unwrap_or(&","));
        }
        out.push_str(match rng.gen_range(0..10) {
            0 => "  ",
            1 => "\n",
            2 => " \t ",
            3 => "\u{00A0}",
            _ => " ",
        });
    }
    out
}

fn word_edits(text: &str, rng: &mut ChaCha8Rng, lang: Lang, rate: f64) -> String {
    let words: Vec<&str> = text.split(' ').collect();
    let pool: Vec<String> = filler(rng, lang, 4)
        .split(' ')
        .map(str::to_string)
        .collect();
    let edits = ((words.len() as f64) * rate).round().max(1.0) as usize;
    let mut chosen: Vec<usize> = (0..words.len()).collect();
    chosen.shuffle(rng);
    chosen.truncate(edits);
    let mut out: Vec<String> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if chosen.contains(&i) {
            match rng.gen_range(0..3) {
                0 => out.push(pool.choose(rng).cloned().unwrap_or_default()), // replace
                1 => {}                                                       // delete
                _ => {
                    out.push(w.to_string());
                    out.push(pool.choose(rng).cloned().unwrap_or_default()); // insert
                }
            }
        } else {
            out.push(w.to_string());
        }
    }
    out.join(" ")
}

fn transform(name: &str, s: &Statement, rng: &mut ChaCha8Rng) -> String {
    let text = s.text();
    let lang = s.lang;
    match name {
        "diacritics" => diacritics(&text, rng),
        "tatweel" => tatweel(&text, rng),
        "presentation forms" => presentation_forms(&text),
        "letter variants" => letter_variants(&text, rng),
        "zero-width and bidi" => invisible(&text, rng),
        "homoglyphs" => homoglyphs(&text, rng),
        "punctuation and whitespace" => punctuation(&text, rng, lang),
        "header and footer" => {
            format!("{}. {text} {}.", filler(rng, lang, 2), filler(rng, lang, 2))
        }
        "quoted in a longer post" => {
            let n = s.sentences.len();
            format!("{}. {text} {}.", filler(rng, lang, n), filler(rng, lang, n))
        }
        "word edits 5%" => word_edits(&text, rng, lang, 0.05),
        "word edits 10%" => word_edits(&text, rng, lang, 0.10),
        "reordering" => {
            let mut body: Vec<String> = s.sentences[1..s.sentences.len() - 1].to_vec();
            body.shuffle(rng);
            let mut all = vec![s.sentences[0].clone()];
            all.extend(body);
            all.push(s.sentences[s.sentences.len() - 1].clone());
            all.join(". ")
        }
        "truncation 60%" => {
            let words: Vec<&str> = text.split(' ').collect();
            words[..words.len() * 6 / 10].join(" ")
        }
        "truncation 30%" => {
            let words: Vec<&str> = text.split(' ').collect();
            words[..words.len() * 3 / 10].join(" ")
        }
        "all cosmetic" => {
            let t = invisible(&punctuation(&text, rng, lang), rng);
            match lang {
                Lang::Ar => {
                    let t = letter_variants(&t, rng);
                    tatweel(&diacritics(&t, rng), rng)
                }
                Lang::En => homoglyphs(&t, rng),
            }
        }
        _ => text,
    }
}

const TRANSFORMS: &[(&str, Option<Lang>)] = &[
    ("diacritics", Some(Lang::Ar)),
    ("tatweel", Some(Lang::Ar)),
    ("presentation forms", Some(Lang::Ar)),
    ("letter variants", Some(Lang::Ar)),
    ("zero-width and bidi", None),
    ("homoglyphs", Some(Lang::En)),
    ("punctuation and whitespace", None),
    ("header and footer", None),
    ("quoted in a longer post", None),
    ("word edits 5%", None),
    ("word edits 10%", None),
    ("reordering", None),
    ("truncation 60%", None),
    ("truncation 30%", None),
    ("all cosmetic", None),
];

/// Random cosmetic noise for negative queries, so that distractors are not all pristine.
fn negative_noise(s: &Statement, rng: &mut ChaCha8Rng) -> (String, &'static str) {
    let (name, _) = TRANSFORMS[rng.gen_range(0..TRANSFORMS.len())];
    let applies = TRANSFORMS
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, l)| *l)
        .is_none_or(|l| l == s.lang);
    if applies {
        (transform(name, s, rng), name)
    } else {
        (s.text(), "none")
    }
}

// ---------------------------------------------------------------- main

struct Args {
    out: std::path::PathBuf,
    bank: usize,
    negatives: usize,
    positives: usize,
    speed_bank: usize,
    seed: u64,
}

fn parse_args() -> Args {
    let mut args = Args {
        out: "target/bench-text".into(),
        bank: 2000,
        negatives: 1500,
        positives: 200,
        speed_bank: 100_000,
        seed: 7,
    };
    let list: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i + 1 < list.len() {
        let value = &list[i + 1];
        match list[i].as_str() {
            "--out" => args.out = value.into(),
            "--bank" => args.bank = value.parse().unwrap_or(args.bank),
            "--negatives" => args.negatives = value.parse().unwrap_or(args.negatives),
            "--positives" => args.positives = value.parse().unwrap_or(args.positives),
            "--speed-bank" => args.speed_bank = value.parse().unwrap_or(args.speed_bank),
            "--seed" => args.seed = value.parse().unwrap_or(args.seed),
            other => eprintln!("ignoring unknown option {other}"),
        }
        i += 2;
    }
    args
}

fn tsv_field(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn main() -> std::io::Result<()> {
    let args = parse_args();
    std::fs::create_dir_all(&args.out)?;
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut outlets = Vec::new();
    for _ in 0..12 {
        outlets.push(make_outlet(&mut rng, Lang::En));
        outlets.push(make_outlet(&mut rng, Lang::Ar));
    }
    let fresh = |rng: &mut ChaCha8Rng| {
        let outlet = rng.gen_range(0..outlets.len());
        make_statement(rng, &outlets, outlet)
    };
    let bank: Vec<Statement> = (0..args.bank).map(|_| fresh(&mut rng)).collect();
    let negatives: Vec<Statement> = (0..args.negatives).map(|_| fresh(&mut rng)).collect();

    let mut corpus = std::io::BufWriter::new(std::fs::File::create(args.out.join("corpus.tsv"))?);
    writeln!(corpus, "kind\tid\ttransform\tsource\toutlet\tlang\ttext")?;

    // Bank and index.
    let config = TextMatchConfig::default();
    let started = Instant::now();
    let mut index = TextIndex::new(config);
    for (id, s) in bank.iter().enumerate() {
        index.insert(id as u64, &TextSignature::from_text(&s.text()));
        writeln!(
            corpus,
            "bank\t{id}\t\t\t{}\t{:?}\t{}",
            s.outlet,
            s.lang,
            tsv_field(&s.text())
        )?;
    }
    let build = started.elapsed();

    // Negatives: every fresh statement against the whole bank.
    let pairs = (args.negatives * args.bank) as f64;
    let mut negative_scores: Vec<f64> = Vec::new();
    // (score, shared weight) of every negative pair sharing a shingle, for calibrating
    // the minimum shared weight at the default threshold.
    let mut negative_pairs: Vec<(f64, f64)> = Vec::new();
    let mut sibling_hits_default = 0usize;
    let mut sibling_pairs = 0usize;
    let mut sibling_max = 0.0f64;
    let mut other_max = 0.0f64;
    for (i, s) in negatives.iter().enumerate() {
        let (text, noise) = negative_noise(s, &mut rng);
        writeln!(
            corpus,
            "negative\t{i}\t{noise}\t\t{}\t{:?}\t{}",
            s.outlet,
            s.lang,
            tsv_field(&text)
        )?;
        let signature = TextSignature::from_text(&text);
        let mut matched_sibling = false;
        for m in index.compare_all(&signature) {
            let effective = if m.comparison.shared >= config.min_shared {
                m.score()
            } else {
                0.0
            };
            negative_scores.push(effective);
            negative_pairs.push((m.score(), m.comparison.shared));
            let sibling = bank[m.id as usize].outlet == s.outlet;
            if sibling {
                sibling_max = sibling_max.max(effective);
                matched_sibling |= m.comparison.is_match(&config);
            } else {
                other_max = other_max.max(effective);
            }
        }
        sibling_pairs += bank.iter().filter(|b| b.outlet == s.outlet).count();
        sibling_hits_default += usize::from(matched_sibling);
    }
    negative_scores.sort_by(|a, b| b.total_cmp(a));
    let allowed = (pairs * 1e-6).floor() as usize;
    // The calibrated threshold: just above the (allowed+1)-th highest negative score.
    let calibrated = negative_scores
        .get(allowed)
        .map_or(0.0, |&s| if s > 0.0 { next_up(s) } else { 0.0 })
        .max(f64::MIN_POSITIVE);

    // The other calibration: the default threshold kept, the minimum shared weight raised
    // until at most `allowed` negative pairs pass.
    let mut shared_at_threshold: Vec<f64> = negative_pairs
        .iter()
        .filter(|(score, _)| *score >= config.threshold)
        .map(|&(_, shared)| shared)
        .collect();
    shared_at_threshold.sort_by(|a, b| b.total_cmp(a));
    let calibrated_min_shared = shared_at_threshold
        .get(allowed)
        .map_or(0.0, |&w| next_up(w));
    let max_negative_shared = negative_pairs.iter().map(|p| p.1).fold(0.0, f64::max);
    let min_shared_config = TextMatchConfig {
        min_shared: calibrated_min_shared,
        ..config
    };

    // Cold bank: one banked statement per outlet, so the formulas are not yet recognised as
    // boilerplate (every weight is 1). How often does a sibling still match?
    let mut cold = TextIndex::new(config);
    let mut cold_ids: Vec<usize> = Vec::new();
    for outlet in 0..outlets.len() {
        if let Some(id) = bank.iter().position(|b| b.outlet == outlet) {
            cold.insert(id as u64, &TextSignature::from_text(&bank[id].text()));
            cold_ids.push(id);
        }
    }
    let mut cold_hits = 0usize;
    let mut cold_max = 0.0f64;
    for s in &negatives {
        let signature = TextSignature::from_text(&s.text());
        for m in cold.compare_all(&signature) {
            cold_max = cold_max.max(m.score());
            cold_hits += usize::from(m.comparison.is_match(&config));
        }
    }

    // Positives.
    struct Row {
        name: &'static str,
        count: usize,
        at_default: usize,
        at_calibrated: usize,
        at_min_shared: usize,
        scores: Vec<f64>,
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut query_id = 0usize;
    for &(name, only) in TRANSFORMS {
        let mut row = Row {
            name,
            count: 0,
            at_default: 0,
            at_calibrated: 0,
            at_min_shared: 0,
            scores: Vec::new(),
        };
        let eligible: Vec<usize> = (0..bank.len())
            .filter(|&i| only.is_none_or(|l| bank[i].lang == l))
            .collect();
        for &source in eligible.iter().take(args.positives) {
            let text = transform(name, &bank[source], &mut rng);
            writeln!(
                corpus,
                "positive\t{query_id}\t{name}\t{source}\t{}\t{:?}\t{}",
                bank[source].outlet,
                bank[source].lang,
                tsv_field(&text)
            )?;
            query_id += 1;
            let signature = TextSignature::from_text(&text);
            let Some(c) = index.compare_with(&signature, source as u64) else {
                continue;
            };
            row.count += 1;
            row.at_default += usize::from(c.is_match(&config));
            let calibrated_config = TextMatchConfig {
                threshold: calibrated,
                ..config
            };
            row.at_calibrated += usize::from(c.is_match(&calibrated_config));
            row.at_min_shared += usize::from(c.is_match(&min_shared_config));
            if std::env::var_os("TEXT_BENCH_DEBUG").is_some() && !c.is_match(&config) {
                eprintln!(
                    "{name}: shared {:.2} score {:.3} q {:.1} b {:.1}",
                    c.shared,
                    c.score(),
                    c.query_weight,
                    c.banked_weight
                );
            }
            row.scores.push(if c.shared >= config.min_shared {
                c.score()
            } else {
                0.0
            });
        }
        rows.push(row);
    }
    corpus.flush()?;

    // Speed: fingerprints of ~1 KB statements, and query latency on a large bank.
    let samples: Vec<String> = (0..400).map(|_| fresh(&mut rng).text()).collect();
    let bytes: usize = samples.iter().map(String::len).sum();
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let started = Instant::now();
        for s in &samples {
            std::hint::black_box(text::fingerprint(s));
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    let per_kb_us = best / (bytes as f64 / 1024.0) * 1e6;

    let started = Instant::now();
    let mut big = TextIndex::new(config);
    for id in 0..args.speed_bank {
        let s = fresh(&mut rng);
        big.insert(id as u64, &TextSignature::from_text(&s.text()));
    }
    let big_build = started.elapsed();
    let queries: Vec<TextSignature> = (0..300)
        .map(|i| {
            if i % 3 == 0 {
                // A banked statement quoted in a longer post.
                let s = fresh(&mut rng);
                big.insert(
                    1_000_000_000 + i as u64,
                    &TextSignature::from_text(&s.text()),
                );
                TextSignature::from_text(&transform("quoted in a longer post", &s, &mut rng))
            } else {
                TextSignature::from_text(&fresh(&mut rng).text())
            }
        })
        .collect();
    let mut latencies: Vec<f64> = queries
        .iter()
        .map(|q| {
            let started = Instant::now();
            std::hint::black_box(big.query(q));
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];

    // Report.
    let mut report = String::new();
    let _ = std::fmt::Write::write_fmt(
        &mut report,
        format_args!(
            "## takedown text: containment over word 3-grams, boilerplate weights 1/df\n\n\
             bank {} statements ({} outlets, English and Arabic), {} negative queries \
             (fresh statements of the same outlets, with random edits): {:.2e} pairs, \
             {} sibling pairs (same outlet: shared opening and closing)\n\n\
             | | value |\n|---|---|\n\
             | default threshold / min shared | {:.3} / {} |\n\
             | calibrated threshold (<= 1e-6 FP/pair, <= {} of {:.0} pairs) | {:.3} |\n\
             | highest negative score (shared >= min shared): sibling / other outlet | {:.3} / {:.3} |\n\
             | highest negative shared weight (any score) | {:.2} |\n\
             | calibrated min shared at the default threshold (<= 1e-6 FP/pair) | {:.2} |\n\
             | negative queries matching a sibling at the default threshold | {} of {} |\n\
             | cold bank (1 statement per outlet, formulas weigh 1): sibling matches, highest sibling score | {} of {}, {:.3} |\n\
             | index build ({} statements) | {:.0} ms |\n\n",
            bank.len(),
            outlets.len(),
            negatives.len(),
            pairs,
            sibling_pairs,
            config.threshold,
            config.min_shared,
            allowed,
            pairs,
            calibrated,
            sibling_max,
            other_max,
            max_negative_shared,
            calibrated_min_shared,
            sibling_hits_default,
            negatives.len(),
            cold_hits,
            negatives.len(),
            cold_max,
            bank.len(),
            build.as_secs_f64() * 1e3,
        ),
    );
    report.push_str(
        "| transform | queries | recall at default | recall at calibrated threshold | recall at calibrated min shared | median score | 5th pct score |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for row in &mut rows {
        row.scores.sort_by(f64::total_cmp);
        let q = |p: f64| {
            row.scores
                .get(((row.scores.len().max(1) - 1) as f64 * p) as usize)
                .copied()
                .unwrap_or(0.0)
        };
        let _ = std::fmt::Write::write_fmt(
            &mut report,
            format_args!(
                "| {} | {} | {:.1}% | {:.1}% | {:.1}% | {:.3} | {:.3} |\n",
                row.name,
                row.count,
                100.0 * row.at_default as f64 / row.count.max(1) as f64,
                100.0 * row.at_calibrated as f64 / row.count.max(1) as f64,
                100.0 * row.at_min_shared as f64 / row.count.max(1) as f64,
                q(0.5),
                q(0.05),
            ),
        );
    }
    let _ = std::fmt::Write::write_fmt(
        &mut report,
        format_args!(
            "\nspeed (one core): normalise + digest + signature {:.1} us per KB ({:.1} MB/s); \
             bank of {} statements built in {:.1} s, {} MB; query p50 {:.3} ms, p99 {:.3} ms \
             (a third of the queries are banked statements quoted in longer posts)\n",
            per_kb_us,
            bytes as f64 / best / 1e6,
            big.len(),
            big_build.as_secs_f64(),
            big.memory_bytes() / 1_000_000,
            pct(0.5),
            pct(0.99),
        ),
    );
    print!("{report}");
    std::fs::write(args.out.join("takedown.md"), &report)?;
    std::fs::write(
        args.out.join("calibrated.txt"),
        format!("{calibrated}\n{}\n", config.min_shared),
    )?;
    Ok(())
}

/// The next representable f64 above `x` (> 0).
fn next_up(x: f64) -> f64 {
    f64::from_bits(x.to_bits() + 1)
}
