//! The `Range` a download asks for, and the `Content-Disposition` it gets.

use std::ops::Range;

use actix_web::http::StatusCode;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use crate::error::{AppError, Code};

/// What part of a content to send.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    Whole,
    Part(Range<u64>),
}

/// The one byte range of `Range: bytes=…` within a content of `size`
/// bytes. Several ranges, or another unit, are answered whole (RFC 9110
/// lets a server ignore `Range`); a range outside the content is 416.
pub fn wanted(header: Option<&str>, size: u64) -> Result<Wanted, AppError> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(Wanted::Whole);
    };
    if spec.contains(',') {
        return Ok(Wanted::Whole);
    }
    let unsatisfiable = || {
        AppError::refused(
            StatusCode::RANGE_NOT_SATISFIABLE,
            Code::RangeNotSatisfiable,
            format!("the content has {size} bytes: ask for bytes=FIRST-LAST within them"),
        )
    };
    let (first, last) = spec.trim().split_once('-').ok_or_else(unsatisfiable)?;
    let number = |text: &str| text.trim().parse::<u64>().map_err(|_| unsatisfiable());
    let range = match (first.trim().is_empty(), last.trim().is_empty()) {
        // The last N bytes.
        (true, false) => {
            let suffix = number(last)?.min(size);
            if suffix == 0 {
                return Err(unsatisfiable());
            }
            size - suffix..size
        }
        (false, true) => number(first)?..size,
        (false, false) => {
            let (first, last) = (number(first)?, number(last)?);
            if last < first {
                return Err(unsatisfiable());
            }
            first..last.saturating_add(1).min(size)
        }
        (true, true) => return Err(unsatisfiable()),
    };
    if range.start >= size {
        return Err(unsatisfiable());
    }
    Ok(Wanted::Part(range))
}

/// `attachment`, with an ASCII stand-in for old clients and the name
/// itself, percent-encoded (RFC 6266), for the rest: a name never breaks
/// out of the header, and is never shown inline.
pub fn content_disposition(filename: &str) -> String {
    let plain: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{plain}\"; filename*=UTF-8''{}",
        utf8_percent_encode(filename, NON_ALPHANUMERIC)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_clients_send_them() {
        assert_eq!(wanted(None, 100).unwrap(), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=0-9"), 100).unwrap(), Wanted::Part(0..10));
        assert_eq!(
            wanted(Some("bytes=90-"), 100).unwrap(),
            Wanted::Part(90..100)
        );
        assert_eq!(
            wanted(Some("bytes=-10"), 100).unwrap(),
            Wanted::Part(90..100)
        );
        assert_eq!(
            wanted(Some("bytes=95-200"), 100).unwrap(),
            Wanted::Part(95..100)
        );
        assert_eq!(
            wanted(Some("bytes=-500"), 100).unwrap(),
            Wanted::Part(0..100)
        );
        assert_eq!(wanted(Some("bytes=0-1,5-6"), 100).unwrap(), Wanted::Whole);
        assert_eq!(wanted(Some("items=0-1"), 100).unwrap(), Wanted::Whole);
        assert_eq!(
            wanted(Some("bytes=0-18446744073709551615"), 100).unwrap(),
            Wanted::Part(0..100)
        );
        for bad in [
            "bytes=100-",
            "bytes=5-4",
            "bytes=-0",
            "bytes=x-1",
            "bytes=-",
        ] {
            assert_eq!(
                wanted(Some(bad), 100).unwrap_err().code(),
                "range_not_satisfiable",
                "{bad}"
            );
        }
    }

    #[test]
    fn names_stay_inside_the_header() {
        assert_eq!(
            content_disposition("a\"b.pdf"),
            "attachment; filename=\"a_b.pdf\"; filename*=UTF-8''a%22b%2Epdf"
        );
        assert!(content_disposition("شهادة.pdf").starts_with("attachment; filename=\"_____.pdf\""));
    }
}
