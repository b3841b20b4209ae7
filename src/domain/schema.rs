//! How the values parsed in `domain` appear in the OpenAPI document: each
//! schema is built from the same constants and rules as its parser, so that
//! a value the document allows is one the server accepts, and the reverse.
//!
//! Patterns are ECMA-262 regular expressions, as JSON Schema reads them:
//! `$` is the end of the text (Python's `re.search` would also let a final
//! newline through; ECMA-262 engines and Rust's `regex` do not). They are
//! property-tested below, with Rust's `regex`, against the parsers. White
//! space is spelled out as Rust's `str::trim` sees it (Unicode `White_Space`),
//! since `\s` means something slightly different in every engine.

use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use super::{MAX_ALIASES, MAX_NAME_CHARS, MAX_NOTES_CHARS, MIN_RATIONALE_CHARS};
use crate::auth::password::{MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS};

/// Unicode `White_Space`, which `str::trim` strips.
const WHITE_SPACE: &str =
    r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// White space that notes may contain (the rest are control characters).
const WHITE_SPACE_IN_NOTES: &str = r"\t\n\r \xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// Never in a label: control characters and bidirectional overrides.
const FORBIDDEN: &str = r"\x00-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069";
/// Never in notes: the same, but line breaks and tabs are allowed.
const FORBIDDEN_IN_NOTES: &str = r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069";

/// `parse_text`: 1..=`max` characters once trimmed, no control characters.
pub fn label_pattern(max_chars: usize) -> String {
    let inner = max_chars.saturating_sub(2);
    format!(
        "^[{WHITE_SPACE}]*[^{WHITE_SPACE}{FORBIDDEN}](?:[^{FORBIDDEN}]{{0,{inner}}}[^{WHITE_SPACE}{FORBIDDEN}])?[{WHITE_SPACE}]*$"
    )
}

/// `parse_notes`: no control characters but line breaks and tabs.
pub fn notes_pattern() -> String {
    format!("^[^{FORBIDDEN_IN_NOTES}]*$")
}

/// `parse_substantial_notes`: notes with at least `min` characters that are
/// not white space (`parse_required_notes` is `min` = 1).
pub fn substantial_notes_pattern(min: usize) -> String {
    format!(
        "^(?:[{WHITE_SPACE_IN_NOTES}]*[^{WHITE_SPACE}{FORBIDDEN}]){{{min}}}[^{FORBIDDEN_IN_NOTES}]*$"
    )
}

/// `Username::parse`: 3–64 of `a-z 0-9 . _ -` (upper case is lowered),
/// starting with a letter or digit; white space around is trimmed.
pub fn username_pattern() -> String {
    format!("^[{WHITE_SPACE}]*[A-Za-z0-9][A-Za-z0-9._-]{{2,63}}[{WHITE_SPACE}]*$")
}

fn string(pattern: String, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
}

macro_rules! schema_type {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }

        impl ToSchema for $name {}
    };
}

schema_type!(
    /// A name or label of up to 200 characters.
    Label => string(
        label_pattern(MAX_NAME_CHARS),
        "1–200 characters once white space around is trimmed (it is); any script; \
         no control characters or bidirectional overrides.",
    )
);

schema_type!(
    /// An organisation's own identifier of a person, up to 100 characters.
    ExternalRef => string(
        label_pattern(super::MAX_EXTERNAL_REF_CHARS),
        "1–100 characters once white space around is trimmed (it is); no control \
         characters or bidirectional overrides. Unique within the organisation.",
    )
);

schema_type!(
    /// Optional free text: blank means none.
    Notes => string(
        notes_pattern(),
        "Up to 10,000 characters; line breaks and tabs allowed, other control \
         characters and bidirectional overrides not. Blank text means none.",
    )
    .max_length(Some(MAX_NOTES_CHARS))
);

schema_type!(
    /// Free text that must say something.
    RequiredNotes => string(
        substantial_notes_pattern(1),
        "1–10,000 characters, not only white space; line breaks and tabs allowed, \
         other control characters and bidirectional overrides not.",
    )
    .max_length(Some(MAX_NOTES_CHARS))
);

schema_type!(
    /// A review decision's reasons.
    Rationale => string(
        substantial_notes_pattern(MIN_RATIONALE_CHARS),
        "At least 20 characters that are not white space, up to 10,000 in all; \
         line breaks and tabs allowed, other control characters not.",
    )
    .max_length(Some(MAX_NOTES_CHARS))
);

schema_type!(
    /// Other names a person is known by.
    Aliases => utoipa::openapi::schema::ArrayBuilder::new()
        .items(Label::schema())
        .max_items(Some(MAX_ALIASES))
        .description(Some("Up to 20 names; a repeated one is kept once."))
);

schema_type!(
    /// An account name.
    UsernameText => string(
        username_pattern(),
        "3–64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or \
         digit; upper case is taken as lower case.",
    )
);

schema_type!(
    /// A new password. Its strength is checked too (zxcvbn score 3 or more),
    /// which no schema can say: a weak one is refused with 422.
    NewPassword => ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Password,
        )))
        .min_length(Some(MIN_PASSWORD_CHARS))
        .max_length(Some(MAX_PASSWORD_CHARS))
        .description(Some(
            "12–128 characters, and hard to guess (zxcvbn score 3 or more; a weak \
             password is refused with 422).",
        ))
);

#[cfg(test)]
mod tests {
    //! The document's patterns are checked against the parsers themselves:
    //! for any string, the pattern matches exactly when the parser accepts.
    use proptest::prelude::*;
    use regex::Regex;

    use super::*;
    use crate::domain::{parse_notes, parse_substantial_notes, parse_text, Username};

    fn full(pattern: &str) -> Regex {
        Regex::new(pattern).expect("a valid pattern")
    }

    /// Strings made of the characters where the rules have edges: white
    /// space of every kind, control characters, bidi overrides, letters in
    /// two scripts, the username alphabet and the Kelvin sign.
    fn tricky(max_len: usize) -> impl Strategy<Value = String> {
        let chars = prop::sample::select(vec![
            'a', 'Z', '7', '.', '_', '-', 'ع', 'ب', ' ', '\t', '\n', '\r', '\u{0B}', '\u{0C}',
            '\u{1C}', '\u{85}', '\u{A0}', '\u{2003}', '\u{3000}', '\u{0}', '\u{7F}', '\u{9F}',
            '\u{202E}', '\u{2067}', '\u{200B}', '\u{212A}', 'é',
        ]);
        prop::collection::vec(chars, 0..max_len).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn label_pattern_is_parse_text(s in tricky(12), max in 2usize..6) {
            prop_assert_eq!(full(&label_pattern(max)).is_match(&s),
                parse_text("f", &s, max).is_ok(), "{:?}", s);
        }

        #[test]
        fn notes_pattern_is_parse_notes(s in tricky(12)) {
            prop_assert_eq!(full(&notes_pattern()).is_match(&s),
                parse_notes("f", Some(&s), MAX_NOTES_CHARS).is_ok(), "{:?}", s);
        }

        #[test]
        fn substantial_pattern_is_parse_substantial_notes(s in tricky(14), min in 1usize..5) {
            prop_assert_eq!(full(&substantial_notes_pattern(min)).is_match(&s),
                parse_substantial_notes("f", &s, min, MAX_NOTES_CHARS).is_ok(), "{:?}", s);
        }

        #[test]
        fn username_pattern_is_username_parse(s in tricky(10)) {
            prop_assert_eq!(full(&username_pattern()).is_match(&s),
                Username::parse(&s).is_ok(), "{:?}", s);
        }

        #[test]
        fn patterns_hold_for_any_text(s in any::<String>()) {
            prop_assert_eq!(full(&label_pattern(MAX_NAME_CHARS)).is_match(&s),
                parse_text("f", &s, MAX_NAME_CHARS).is_ok());
            prop_assert_eq!(full(&notes_pattern()).is_match(&s),
                parse_notes("f", Some(&s), MAX_NOTES_CHARS).is_ok());
        }
    }
}
