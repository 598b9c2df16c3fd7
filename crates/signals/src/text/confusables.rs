//! A small map of letters that look like Latin letters (Cyrillic, Greek, Latin small
//! capitals and IPA forms), applied before case folding.
//!
//! Re-uploaders swap a few Latin letters for lookalikes so that exact and word-level matching
//! fails while a reader sees no change. Unicode's full confusables table (UTS #39) has
//! thousands of entries, most of them for scripts nobody uses for this; these are the ones
//! that pass for Latin in ordinary fonts. The map is applied to every text, so genuine
//! Cyrillic or Greek text is folded too: that costs nothing because both sides of a
//! comparison are folded the same way, and a few Cyrillic letters sharing a Latin form makes
//! no two different statements alike.
//!
//! Upper and lower case are mapped separately, before lower-casing, because they resemble
//! different Latin letters: Greek capital `Ν` looks like `N`, small `ν` like `v`.

/// The Latin letter `c` looks like, or `c` itself.
pub(crate) fn fold(c: char) -> char {
    match c {
        // Cyrillic capitals.
        'А' => 'A',
        'В' => 'B',
        'С' => 'C',
        'Е' => 'E',
        'Н' => 'H',
        'І' => 'I',
        'Ј' => 'J',
        'К' => 'K',
        'М' => 'M',
        'О' => 'O',
        'Р' => 'P',
        'Ѕ' => 'S',
        'Т' => 'T',
        'Х' => 'X',
        'У' => 'Y',
        'Ү' => 'Y',
        'Ԁ' => 'D',
        'Ԛ' => 'Q',
        'Ԝ' => 'W',
        'Ӏ' => 'I',
        // Cyrillic small letters.
        'а' => 'a',
        'с' => 'c',
        'ԁ' => 'd',
        'е' => 'e',
        'һ' => 'h',
        'і' => 'i',
        'ј' => 'j',
        'ӏ' => 'l',
        'о' => 'o',
        'р' => 'p',
        'ԛ' => 'q',
        'ѕ' => 's',
        'ԝ' => 'w',
        'х' => 'x',
        'у' => 'y',
        'ү' => 'y',
        'ь' => 'b',
        // Greek capitals.
        'Α' => 'A',
        'Β' => 'B',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        'Ο' => 'O',
        'Ρ' => 'P',
        'Τ' => 'T',
        'Υ' => 'Y',
        'Χ' => 'X',
        // Greek small letters.
        'α' => 'a',
        'ι' => 'i',
        'κ' => 'k',
        'ν' => 'v',
        'ο' => 'o',
        'ρ' => 'p',
        'υ' => 'u',
        'χ' => 'x',
        'ϲ' => 'c',
        'ϳ' => 'j',
        // Latin small capitals and IPA letters (no compatibility decomposition to undo them).
        'ᴀ' => 'a',
        'ʙ' => 'b',
        'ᴄ' => 'c',
        'ᴅ' => 'd',
        'ᴇ' => 'e',
        'ɢ' => 'g',
        'ʜ' => 'h',
        'ɪ' => 'i',
        'ᴊ' => 'j',
        'ᴋ' => 'k',
        'ʟ' => 'l',
        'ᴍ' => 'm',
        'ɴ' => 'n',
        'ᴏ' => 'o',
        'ᴘ' => 'p',
        'ʀ' => 'r',
        'ꜱ' => 's',
        'ᴛ' => 't',
        'ᴜ' => 'u',
        'ᴠ' => 'v',
        'ᴡ' => 'w',
        'ʏ' => 'y',
        'ᴢ' => 'z',
        'ɑ' => 'a',
        'ɡ' => 'g',
        'ı' => 'i',
        'ȷ' => 'j',
        'ɩ' => 'i',
        other => other,
    }
}
