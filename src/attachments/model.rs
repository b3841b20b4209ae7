//! What an attachment is, the types it may be, and the names it may carry.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use actix_web::http::StatusCode;

use crate::error::{AppError, Code};

/// The types an attachment may be: documents, pictures, sound and video
/// that evidence comes in, and nothing a browser or a viewer would run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    Pdf,
    Jpeg,
    Png,
    Webp,
    Text,
    Mp3,
    Ogg,
    Wav,
    Mp4,
}

impl MediaType {
    pub const ALL: [MediaType; 9] = [
        MediaType::Pdf,
        MediaType::Jpeg,
        MediaType::Png,
        MediaType::Webp,
        MediaType::Text,
        MediaType::Mp3,
        MediaType::Ogg,
        MediaType::Wav,
        MediaType::Mp4,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Pdf => "application/pdf",
            MediaType::Jpeg => "image/jpeg",
            MediaType::Png => "image/png",
            MediaType::Webp => "image/webp",
            MediaType::Text => "text/plain",
            MediaType::Mp3 => "audio/mpeg",
            MediaType::Ogg => "audio/ogg",
            MediaType::Wav => "audio/wav",
            MediaType::Mp4 => "video/mp4",
        }
    }

    /// The declared `Content-Type`, without parameters except a UTF-8
    /// charset for text (the only text kept).
    pub fn from_content_type(value: &str) -> Result<MediaType, AppError> {
        let unsupported = || {
            AppError::refused(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Code::UnsupportedAttachmentType,
                format!(
                    "an attachment must be one of: {}",
                    MediaType::ALL.map(MediaType::as_str).join(", ")
                ),
            )
        };
        let mut parts = value.split(';').map(str::trim);
        let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
        let kind = match essence.as_str() {
            "audio/wav" | "audio/wave" | "audio/x-wav" => MediaType::Wav,
            other => *MediaType::ALL
                .iter()
                .find(|t| t.as_str() == other)
                .ok_or_else(unsupported)?,
        };
        for parameter in parts.filter(|p| !p.is_empty()) {
            let (name, value) = parameter.split_once('=').ok_or_else(unsupported)?;
            let value = value.trim_matches('"');
            let utf8 = name.trim().eq_ignore_ascii_case("charset")
                && (value.eq_ignore_ascii_case("utf-8") || value.eq_ignore_ascii_case("us-ascii"));
            if kind != MediaType::Text || !utf8 {
                return Err(unsupported());
            }
        }
        Ok(kind)
    }

    pub fn parse_stored(value: &str) -> Result<MediaType, AppError> {
        MediaType::ALL
            .into_iter()
            .find(|t| t.as_str() == value)
            .ok_or_else(|| AppError::internal_msg(format!("stored media type {value}")))
    }

    /// How many first bytes [`Self::matches`] needs to decide (fewer when
    /// the content is shorter).
    pub const SNIFF_BYTES: usize = 8192;

    /// Do the content's first bytes say it is of this type? Text has no
    /// magic bytes; it is checked whole, as UTF-8 without NUL
    /// ([`TextCheck`]).
    pub fn matches(self, first_bytes: &[u8]) -> bool {
        let sniffed = infer::get(first_bytes).map(|t| t.mime_type());
        match self {
            MediaType::Text => sniffed.is_none(),
            MediaType::Wav => matches!(sniffed, Some("audio/x-wav" | "audio/wav")),
            MediaType::Mp4 => matches!(sniffed, Some("video/mp4")),
            other => sniffed == Some(other.as_str()),
        }
    }
}

/// Checks, piece by piece, that a content is UTF-8 text without NUL bytes
/// (a character may be split between pieces).
#[derive(Default)]
pub struct TextCheck {
    carry: Vec<u8>,
    failed: bool,
}

impl TextCheck {
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed {
            return;
        }
        let mut joined;
        let piece = if self.carry.is_empty() {
            bytes
        } else {
            joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(bytes);
            &joined[..]
        };
        if piece.contains(&0) {
            self.failed = true;
            return;
        }
        match std::str::from_utf8(piece) {
            Ok(_) => self.carry.clear(),
            // An incomplete character at the end: wait for the next piece.
            Err(e) if e.error_len().is_none() => self.carry = piece[e.valid_up_to()..].to_vec(),
            Err(_) => self.failed = true,
        }
    }

    pub fn holds(&self) -> bool {
        !self.failed && self.carry.is_empty()
    }
}

/// The original file name (`Sijill-Filename`, percent-encoded UTF-8): kept
/// for the people who read it, never used as a path. Refused: empty, over
/// 255 characters, a path separator, a control character, or a
/// bidirectional override (which makes `invoice{U+202E}fdp.exe` look like a PDF).
pub fn filename(header: Option<&str>) -> Result<String, AppError> {
    let invalid =
        |why: &str| AppError::bad_request(Code::InvalidFilename, format!("Sijill-Filename {why}"));
    let raw = header
        .ok_or_else(|| invalid("is required (the original file name, percent-encoded UTF-8)"))?;
    let name = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| invalid("is not percent-encoded UTF-8"))?
        .into_owned();
    let name = name.trim();
    if name.is_empty() || name == "." || name == ".." {
        return Err(invalid("is empty"));
    }
    if name.chars().count() > 255 {
        return Err(invalid("is longer than 255 characters"));
    }
    if name.contains(['/', '\\']) {
        return Err(invalid("holds a path separator"));
    }
    let suspicious = |c: char| {
        c.is_control()
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
    };
    if name.chars().any(suspicious) {
        return Err(invalid(
            "holds a control or bidirectional formatting character",
        ));
    }
    Ok(name.to_owned())
}

/// An optional description (`Sijill-Description`, percent-encoded UTF-8,
/// at most 2,000 characters, no control characters but line breaks).
pub fn description(header: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(raw) = header else {
        return Ok(None);
    };
    let invalid = |why: &str| {
        AppError::bad_request(
            Code::InvalidDescription,
            format!("Sijill-Description {why}"),
        )
    };
    let text = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| invalid("is not percent-encoded UTF-8"))?;
    let text = text.trim();
    if text.chars().count() > 2000 {
        return Err(invalid("is longer than 2000 characters"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(invalid("holds a control character"));
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// An attachment of a file.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub id: Uuid,
    pub detainee_id: Uuid,
    pub object_id: Option<String>,
    pub sha256: String,
    pub size: i64,
    pub media_type: MediaType,
    pub filename: String,
    pub description: Option<String>,
    pub uploaded_by: Uuid,
    pub uploaded_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    pub purged_at: Option<DateTime<Utc>>,
}

/// An attachment as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: Uuid,
    pub detainee_id: Uuid,
    /// SHA-256 of the content, hex: the `ETag` of its download, and in the
    /// audit entry of its upload.
    pub sha256: String,
    pub size: i64,
    #[schema(example = "application/pdf")]
    pub media_type: &'static str,
    pub filename: String,
    pub description: Option<String>,
    pub uploaded_by: Uuid,
    pub uploaded_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    /// When an admin removed the content for good; the record stays.
    pub purged_at: Option<DateTime<Utc>>,
}

impl From<Attachment> for AttachmentView {
    fn from(a: Attachment) -> Self {
        AttachmentView {
            id: a.id,
            detainee_id: a.detainee_id,
            sha256: a.sha256,
            size: a.size,
            media_type: a.media_type.as_str(),
            filename: a.filename,
            description: a.description,
            uploaded_by: a.uploaded_by,
            uploaded_at: a.uploaded_at,
            archived_at: a.archived_at,
            purged_at: a.purged_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_are_an_allow_list() {
        assert_eq!(
            MediaType::from_content_type("application/pdf").unwrap(),
            MediaType::Pdf
        );
        assert_eq!(
            MediaType::from_content_type("Audio/X-WAV").unwrap(),
            MediaType::Wav
        );
        assert_eq!(
            MediaType::from_content_type("text/plain; charset=utf-8").unwrap(),
            MediaType::Text
        );
        for refused in [
            "text/html",
            "image/svg+xml",
            "application/octet-stream",
            "text/plain; charset=latin1",
            "image/png; x=1",
            "",
        ] {
            assert!(MediaType::from_content_type(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn magic_bytes_must_agree() {
        assert!(MediaType::Pdf.matches(b"%PDF-1.7\n..."));
        assert!(!MediaType::Pdf.matches(b"\x89PNG\r\n\x1a\n...."));
        assert!(MediaType::Png.matches(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(MediaType::Text.matches("شهادة زميل الزنزانة".as_bytes()));
        assert!(!MediaType::Text.matches(b"%PDF-1.7\n"));
    }

    #[test]
    fn text_is_checked_across_pieces() {
        let text = "شهادة".as_bytes();
        let mut check = TextCheck::default();
        check.push(&text[..3]);
        check.push(&text[3..]);
        assert!(check.holds());
        let mut check = TextCheck::default();
        check.push(b"abc\0def");
        assert!(!check.holds());
        let mut check = TextCheck::default();
        check.push(&text[..3]);
        assert!(!check.holds(), "cut in the middle of a character");
    }

    #[test]
    fn file_names_are_never_paths_or_disguises() {
        assert_eq!(
            filename(Some("%D8%B4%D9%87%D8%A7%D8%AF%D8%A9.pdf")).unwrap(),
            "شهادة.pdf"
        );
        for bad in [
            None,
            Some(""),
            Some("..%2Fetc%2Fpasswd"),
            Some("a%5Cb"),
            Some("a%0Ab"),
            Some("invoice%E2%80%AEfdp.exe"),
            Some("%FF"),
        ] {
            assert!(filename(bad).is_err(), "{bad:?}");
        }
    }
}
