//! Text normalisation: what survives a re-upload's cosmetic edits.
//!
//! Steps, in order, for every character:
//!
//! 1. **NFKD** (compatibility decomposition). Arabic presentation forms (`ﻻ`, `ﷲ`, the
//!    isolated/initial/medial/final glyph codes of U+FB50..U+FEFF) become their letters;
//!    full-width and mathematical Latin become plain letters; ligatures split; and every
//!    letter with a diacritic splits into base letter plus combining mark, including the
//!    Arabic hamza and madda forms (`أ إ آ ؤ ئ` become `ا ا ا و ي` plus a mark).
//! 2. **Lookalikes** (`confusables.rs`): Cyrillic, Greek and small-capital letters that pass
//!    for Latin become Latin, before case folding because capitals and small letters
//!    resemble different Latin letters.
//! 3. **Case folding**: Unicode lower case, plus `ß` -> `ss` and final sigma -> sigma.
//! 4. **Dropped**: every combining mark (Arabic tashkeel, superscript alef, Quranic marks,
//!    Latin accents, the hamza and madda split off in step 1), tatweel (U+0640), and format
//!    characters: zero-width space/joiners, the bidi embeddings, overrides, isolates and
//!    marks (including the Arabic letter mark U+061C), word joiner, BOM, soft hyphen,
//!    variation selectors and tag characters.
//! 5. **Arabic letter variants**: `ى ی` -> `ي`; `ة ۃ ە ہ ھ` -> `ه`; `ٱ ٲ ٳ` -> `ا`;
//!    `ک ڪ` -> `ك`; Arabic-Indic and Persian digits -> ASCII digits.
//! 6. **Tokens**: letters and digits form words; everything else (punctuation of any
//!    script, symbols, emoji, whitespace of any kind) separates them. Han
//!    and kana characters are one token each, since those scripts do not separate words by
//!    spaces (Korean does, so Hangul forms words like other letters).
//!
//! The normalised text is the tokens joined by single spaces: "Café — ١٢٣" and "CAFE 123"
//! both become `cafe 123`.

use super::confusables;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Normalises `text` and calls `emit` for each token.
pub(crate) fn tokens(text: &str, mut emit: impl FnMut(&str)) {
    let mut token = String::new();
    let mut flush = |token: &mut String| {
        if !token.is_empty() {
            emit(token);
            token.clear();
        }
    };
    for decomposed in text.nfkd() {
        let looks = confusables::fold(decomposed);
        for lower in looks.to_lowercase() {
            let Some(c) = fold_char(lower) else {
                continue;
            };
            match c {
                Folded::Letter(c) => token.push(c),
                Folded::Letters(s) => token.push_str(s),
                Folded::Alone(c) => {
                    flush(&mut token);
                    token.push(c);
                    flush(&mut token);
                }
                Folded::Separator => flush(&mut token),
            }
        }
    }
    flush(&mut token);
}

/// Normalised text: the tokens joined by single spaces.
pub(crate) fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    tokens(text, |token| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(token);
    });
    out
}

/// What one lower-cased character becomes.
enum Folded {
    /// Part of a word.
    Letter(char),
    /// Part of a word, several letters (`ß` -> `ss`).
    Letters(&'static str),
    /// A word on its own (a Han or kana character).
    Alone(char),
    /// Ends a word.
    Separator,
}

/// Steps 3 (the extra folds) to 6 for one character; `None` drops it without ending a word.
fn fold_char(c: char) -> Option<Folded> {
    if is_combining_mark(c) || is_invisible(c) || c == '\u{0640}' {
        return None;
    }
    let c = match c {
        'ß' => return Some(Folded::Letters("ss")),
        'ς' => 'σ',
        // Arabic letter variants.
        'ى' | 'ی' | 'ې' => 'ي',
        'ة' | 'ۃ' | 'ە' | 'ہ' | 'ھ' => 'ه',
        'ٱ' | 'ٲ' | 'ٳ' | 'ٵ' => 'ا',
        'ک' | 'ڪ' => 'ك',
        // Arabic-Indic (U+0660..) and Persian (U+06F0..) digits.
        '\u{0660}'..='\u{0669}' => digit(c as u32 - 0x0660),
        '\u{06F0}'..='\u{06F9}' => digit(c as u32 - 0x06F0),
        other => other,
    };
    if is_ideographic(c) {
        Some(Folded::Alone(c))
    } else if c.is_alphanumeric() {
        Some(Folded::Letter(c))
    } else {
        Some(Folded::Separator)
    }
}

fn digit(value: u32) -> char {
    char::from_digit(value, 10).unwrap_or('0')
}

/// Format and other invisible characters that are deleted (not turned into a space): a
/// zero-width space inside a word must not split it.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'              // soft hyphen
        | '\u{034F}'            // combining grapheme joiner
        | '\u{061C}'            // Arabic letter mark
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // Hangul fillers
        | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' // Mongolian selectors and vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space, ZWNJ, ZWJ, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, bidi isolates
        | '\u{FE00}'..='\u{FE0F}' // variation selectors
        | '\u{FEFF}'            // byte order mark / zero-width no-break space
        | '\u{FFF9}'..='\u{FFFB}' // interlinear annotation
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}' // tags and variation selectors supplement
    )
}

/// Scripts written without spaces between words: each character is a token.
fn is_ideographic(c: char) -> bool {
    matches!(
        c,
        '\u{3040}'..='\u{30FF}'     // hiragana, katakana
        | '\u{3400}'..='\u{4DBF}'   // CJK extension A
        | '\u{4E00}'..='\u{9FFF}'   // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}'   // CJK compatibility ideographs
        | '\u{20000}'..='\u{3134F}' // CJK extensions B..G
    )
}
