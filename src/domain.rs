//! Small value types parsed at the edge, so handlers only see valid values.

use crate::error::AppError;

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

/// Control characters, and the bidirectional overrides that can make a name
/// display as something else.
fn is_forbidden_in_text(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Account names: 3–64 characters of `a-z 0-9 . _ -`, starting with a letter
/// or digit; compared lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(value: &str) -> Result<Self, AppError> {
        let lower = value.trim().to_lowercase();
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

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Parse a UUID stored as text. Stored ids were written by us; a bad one is
/// an internal error, not the client's.
pub fn stored_uuid(value: &str) -> Result<uuid::Uuid, AppError> {
    uuid::Uuid::parse_str(value)
        .map_err(|_| AppError::internal_msg(format!("malformed stored id {value:?}")))
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
    fn usernames_are_plain_and_lowercased() {
        assert_eq!(Username::parse("Alice.B").unwrap().as_str(), "alice.b");
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("-abc").is_err());
        assert!(Username::parse("a b c").is_err());
        assert!(Username::parse("علي123").is_err());
    }
}
