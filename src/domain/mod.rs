//! Small value types parsed at the edge, so handlers only see valid values.

pub mod partial_date;
pub mod schema;

pub use partial_date::PartialDate;

use serde::{Deserialize, Deserializer};

use crate::error::AppError;

pub const MAX_NAME_CHARS: usize = 200;
/// An organisation's own identifiers are short codes (`SN-004512`).
pub const MAX_EXTERNAL_REF_CHARS: usize = 100;
pub const MAX_NOTES_CHARS: usize = 10_000;
pub const MAX_ALIASES: usize = 20;
/// A review decision's rationale: at least this many characters that are not white space.
pub const MIN_RATIONALE_CHARS: usize = 20;

/// A human-entered name or label: trimmed, 1..=`max` characters, no control
/// characters (NUL, newlines, bidi tricks are refused; any script is welcome).
pub fn parse_text(field: &str, value: &str, max_chars: usize) -> Result<String, AppError> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len == 0 {
        return Err(AppError::validation(format!("{field} must not be empty")));
    }
    if len > max_chars {
        return Err(AppError::validation(format!(
            "{field} must be at most {max_chars} characters"
        )));
    }
    if trimmed.chars().any(is_forbidden_in_text) {
        return Err(AppError::validation(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(trimmed.to_owned())
}

/// An optional name or label: `None` stays `None`; a value must be valid.
pub fn parse_optional_text(
    field: &str,
    value: Option<&str>,
    max_chars: usize,
) -> Result<Option<String>, AppError> {
    value.map(|v| parse_text(field, v, max_chars)).transpose()
}

/// Free text (notes): up to `max_chars`, line breaks and tabs allowed, other
/// control characters (NUL among them) refused. Text that is only white
/// space means no text.
pub fn parse_notes(
    field: &str,
    value: Option<&str>,
    max_chars: usize,
) -> Result<Option<String>, AppError> {
    let Some(value) = value else { return Ok(None) };
    if value.chars().count() > max_chars {
        return Err(AppError::validation(format!(
            "{field} must be at most {max_chars} characters"
        )));
    }
    if value.chars().any(is_forbidden_in_notes) {
        return Err(AppError::validation(format!(
            "{field} must not contain control characters"
        )));
    }
    if value.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(value.to_owned()))
}

/// Free text that must say something: as `parse_notes`, but not blank.
pub fn parse_required_notes(
    field: &str,
    value: &str,
    max_chars: usize,
) -> Result<String, AppError> {
    parse_notes(field, Some(value), max_chars)?
        .ok_or_else(|| AppError::validation(format!("{field} must not be empty")))
}

/// Free text with at least `min_chars` characters that are not white
/// space (a rationale must give reasons, not padding).
pub fn parse_substantial_notes(
    field: &str,
    value: &str,
    min_chars: usize,
    max_chars: usize,
) -> Result<String, AppError> {
    let text = parse_required_notes(field, value, max_chars)?;
    if text.chars().filter(|c| !c.is_whitespace()).count() < min_chars {
        return Err(AppError::validation(format!(
            "{field} must have at least {min_chars} characters that are not white space"
        )));
    }
    Ok(text)
}

/// Other names a person is known by: at most 20, each a valid name, no duplicates.
pub fn parse_aliases(values: &[String]) -> Result<Vec<String>, AppError> {
    if values.len() > MAX_ALIASES {
        return Err(AppError::validation(format!(
            "at most {MAX_ALIASES} aliases"
        )));
    }
    let mut aliases: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let alias = parse_text("aliases[]", value, MAX_NAME_CHARS)?;
        if !aliases.contains(&alias) {
            aliases.push(alias);
        }
    }
    Ok(aliases)
}

/// Latitude and longitude, both or neither, in range.
pub fn parse_coordinates(
    latitude: Option<f64>,
    longitude: Option<f64>,
) -> Result<Option<(f64, f64)>, AppError> {
    match (latitude, longitude) {
        (None, None) => Ok(None),
        (Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                return Err(AppError::validation(
                    "latitude must be within ±90 and longitude within ±180",
                ));
            }
            Ok(Some((lat, lon)))
        }
        _ => Err(AppError::validation(
            "give both latitude and longitude, or neither",
        )),
    }
}

/// For PATCH bodies: tells an absent member (`None`) from an explicit
/// `null` (`Some(None)`, which clears the field).
pub fn present<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// An optional integer member of a JSON body, read as JSON Schema reads
/// `"type": "integer"`: any number without a fraction, so `5.0` is `5`.
pub fn json_integer<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: Deserializer<'de>,
{
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Some(n) = number.as_i64() {
        return Ok(Some(n));
    }
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
        _ => Err(D::Error::custom(format!("{number} is not an integer"))),
    }
}

/// Control characters, and the bidirectional overrides that can make a name
/// display as something else.
fn is_forbidden_in_text(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// As in text, but line breaks and tabs are welcome in notes.
fn is_forbidden_in_notes(c: char) -> bool {
    is_forbidden_in_text(c) && !matches!(c, '\n' | '\r' | '\t')
}

/// Account names: 3–64 characters of `a-z 0-9 . _ -`, starting with a letter
/// or digit; compared lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(value: &str) -> Result<Self, AppError> {
        // ASCII before lower-casing: `to_lowercase` would turn the Kelvin
        // sign into a `k`, and the name would not be the one typed.
        let lower = value.trim().to_ascii_lowercase();
        let ok = (3..=64).contains(&lower.len())
            && lower.starts_with(|c: char| c.is_ascii_alphanumeric())
            && lower.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if ok {
            Ok(Username(lower))
        } else {
            Err(AppError::validation(
                "username must be 3–64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parse a UUID stored as text. Stored ids were written by us; a bad one is
/// an internal error, not the client's.
pub fn stored_uuid(value: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(value)
        .map_err(|_| AppError::internal_msg(format!("malformed stored id {value:?}")))
}

/// An optional stored UUID (see `stored_uuid`).
pub fn stored_optional_uuid(value: Option<String>) -> Result<Option<uuid::Uuid>, AppError> {
    value.as_deref().map(stored_uuid).transpose()
}

/// An optional stored partial date; like ids, one that does not parse was
/// not written by us and is an internal error.
pub fn stored_date(value: Option<String>) -> Result<Option<PartialDate>, AppError> {
    value
        .map(|v| {
            v.parse()
                .map_err(|_| AppError::internal_msg(format!("malformed stored date {v:?}")))
        })
        .transpose()
}

/// Declare a string enum stored as text: serde in snake_case, an OpenAPI
/// schema, and `as_str` / `FromStr` for the database column.
#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::AppError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::error::AppError::internal_msg(
                        format!("unknown {} {:?} in the database", stringify!($name), other))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_accepts_any_script_and_refuses_controls() {
        assert_eq!(
            parse_text("name", "  سجن صيدنايا ", 200).unwrap(),
            "سجن صيدنايا"
        );
        assert!(parse_text("name", "", 200).is_err());
        assert!(parse_text("name", "a\u{0}b", 200).is_err());
        assert!(parse_text("name", "a\nb", 200).is_err());
        assert!(parse_text("name", "evil\u{202E}txt", 200).is_err());
        assert!(parse_text("name", &"x".repeat(201), 200).is_err());
        assert!(parse_text("name", &"ص".repeat(200), 200).is_ok());
    }

    #[test]
    fn notes_keep_line_breaks_but_not_other_controls() {
        assert_eq!(
            parse_notes("notes", Some("line one\nline two"), 100)
                .unwrap()
                .unwrap(),
            "line one\nline two"
        );
        assert!(parse_notes("notes", Some("bad\u{0}"), 100).is_err());
        assert!(parse_notes("notes", Some(&"x".repeat(101)), 100).is_err());
        assert_eq!(parse_notes("notes", Some("   "), 100).unwrap(), None);
    }

    #[test]
    fn aliases_are_bounded_and_deduplicated() {
        let many: Vec<String> = (0..21).map(|i| format!("alias {i}")).collect();
        assert!(parse_aliases(&many).is_err());
        let dup = vec![
            "Abu Ahmad".to_owned(),
            "Abu Ahmad".to_owned(),
            "أبو أحمد".to_owned(),
        ];
        assert_eq!(parse_aliases(&dup).unwrap().len(), 2);
        assert!(parse_aliases(&["".to_owned()]).is_err());
    }

    #[test]
    fn coordinates_come_in_pairs_within_range() {
        assert!(parse_coordinates(Some(33.66), Some(36.33))
            .unwrap()
            .is_some());
        assert!(parse_coordinates(Some(91.0), Some(36.0)).is_err());
        assert!(parse_coordinates(Some(33.0), Some(-181.0)).is_err());
        assert!(parse_coordinates(Some(33.0), None).is_err());
        assert!(parse_coordinates(Some(f64::NAN), Some(1.0)).is_err());
    }

    #[test]
    fn usernames_are_plain_and_lowercased() {
        assert_eq!(Username::parse("Alice.B").unwrap().as_str(), "alice.b");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("-abc").is_err());
        assert!(Username::parse("a b c").is_err());
        assert!(Username::parse("علي123").is_err());
    }
}
