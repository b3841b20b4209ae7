//! Text strategies: what people and clients actually send, and what they
//! can send by mistake or on purpose.

use proptest::prelude::*;

/// One character from the places where text handling goes wrong: Latin
/// with and without accents, the whole Arabic block (letters, tashkeel,
/// tatweel, Arabic-Indic and extended Arabic-Indic digits), Arabic
/// presentation forms, combining marks, joiners, direction marks and
/// overrides, invisible characters, controls, separators and punctuation,
/// characters outside the Basic Multilingual Plane.
pub fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        6 => prop::char::range('a', 'z'),
        3 => prop::char::range('A', 'Z'),
        10 => prop::char::range('\u{0600}', '\u{06FF}'),
        2 => prop::char::range('\u{0660}', '\u{0669}'),
        1 => prop::char::range('\u{06F0}', '\u{06F9}'),
        2 => prop::char::range('\u{064B}', '\u{065F}'),
        1 => Just('\u{0640}'),
        2 => prop::char::range('\u{00C0}', '\u{017F}'),
        2 => prop::char::range('\u{0300}', '\u{036F}'),
        1 => prop::char::range('\u{1E00}', '\u{1EFF}'),
        2 => prop::char::range('\u{FB50}', '\u{FDFF}'),
        2 => prop::char::range('\u{FE70}', '\u{FEFC}'),
        2 => prop::sample::select(vec![
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{2060}', '\u{FEFF}',
            '\u{061C}', '\u{00A0}', '\u{2028}', '\u{2029}', '\u{3000}',
        ]),
        1 => prop::char::range('\u{202A}', '\u{202E}'),
        1 => prop::char::range('\u{2066}', '\u{2069}'),
        1 => prop::char::range('\u{0000}', '\u{001F}'),
        1 => prop::char::range('\u{007F}', '\u{009F}'),
        4 => prop::sample::select(vec![
            ' ', ' ', '-', '\'', '`', ',', '.', '/', '(', ')', '"', '\\', ':', '،', '؛',
        ]),
        1 => prop::char::range('\u{1F300}', '\u{1F6FF}'),
        1 => any::<char>(),
    ]
}

/// A string of `tricky_char`s.
pub fn tricky_string(max_chars: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(tricky_char(), 0..=max_chars).prop_map(|cs| cs.into_iter().collect())
}

/// Any Unicode string, half of the time from the tricky characters.
pub fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), tricky_string(32)]
}
