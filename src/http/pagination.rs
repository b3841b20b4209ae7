//! Keyset pagination: `?limit=` (1–200, default 50) and a `?cursor=`.
//!
//! A cursor is the sort key of the last item returned: an id as 32 hex
//! digits, or a sequence number in decimal. Clients pass `next_cursor` back
//! as they got it; the document gives the exact form of each kind, and every
//! string of that form is a cursor the server accepts (a key that matches no
//! row simply starts the page after it). Anything else is 400
//! `invalid_cursor`.

use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::error::{AppError, Code};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// One page of a collection.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A decoded `cursor` plus the page size.
#[derive(Debug, Clone)]
pub struct Cursor<K> {
    pub after: Option<K>,
    pub limit: i64,
}

/// A sort key that can be a cursor.
pub trait CursorKey: Sized {
    /// The document's pattern of this kind of cursor.
    const PATTERN: &'static str;
    fn encode(&self) -> String;
    /// `Some` exactly for the strings that match `PATTERN`.
    fn decode(raw: &str) -> Option<Self>;
}

impl CursorKey for Uuid {
    const PATTERN: &'static str = "^[0-9a-f]{32}$";

    fn encode(&self) -> String {
        self.simple().to_string()
    }

    fn decode(raw: &str) -> Option<Self> {
        let hex = raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        hex.then(|| Uuid::try_parse(raw).ok()).flatten()
    }
}

impl CursorKey for i64 {
    const PATTERN: &'static str = "^[0-9]{1,18}$";

    fn encode(&self) -> String {
        self.to_string()
    }

    fn decode(raw: &str) -> Option<Self> {
        let digits = (1..=18).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| raw.parse().ok()).flatten()
    }
}

fn cursor_schema(pattern: &str, what: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(format!(
            "`next_cursor` of the page before, as it came ({what})."
        )))
        .into()
}

/// A cursor over items sorted by id.
pub struct IdCursor;

impl PartialSchema for IdCursor {
    fn schema() -> RefOr<Schema> {
        cursor_schema(<Uuid as CursorKey>::PATTERN, "an id as 32 hex digits")
    }
}

impl ToSchema for IdCursor {}

/// A cursor over items sorted by sequence number.
pub struct SeqCursor;

impl PartialSchema for SeqCursor {
    fn schema() -> RefOr<Schema> {
        cursor_schema(<i64 as CursorKey>::PATTERN, "a sequence number")
    }
}

impl ToSchema for SeqCursor {}

/// `?limit=`.
pub struct PageLimit;

impl PartialSchema for PageLimit {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(MAX_LIMIT))
            .default(Some(DEFAULT_LIMIT.into()))
            .description(Some("Items a page, 1–200 (default 50)."))
            .into()
    }
}

impl ToSchema for PageLimit {}

impl<K: CursorKey> Cursor<K> {
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, AppError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::bad_request(
                Code::InvalidQuery,
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match cursor {
            None => None,
            Some(raw) => Some(K::decode(raw).ok_or_else(|| {
                AppError::bad_request(
                    Code::InvalidCursor,
                    "the cursor is not one this server issued",
                )
            })?),
        };
        Ok(Cursor { after, limit })
    }

    /// Rows to fetch: one more than the page, to learn whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cut the over-fetched rows to a page and compute the next cursor.
    pub fn page<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> K) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more {
            rows.last().map(|last| key(last).encode())
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let token = 42i64.encode();
        let cursor = Cursor::<i64>::parse(Some(10), Some(&token)).unwrap();
        assert_eq!(cursor.after, Some(42));
        assert!(Cursor::<i64>::parse(None, Some("garbage!")).is_err());
        assert!(Cursor::<Uuid>::parse(None, Some("42")).is_err());
        let id = Uuid::now_v7();
        let cursor = Cursor::<Uuid>::parse(None, Some(&id.encode())).unwrap();
        assert_eq!(cursor.after, Some(id));
        assert!(
            Cursor::<Uuid>::parse(None, Some(&id.simple().to_string().to_uppercase())).is_err()
        );
        assert!(Cursor::<i64>::parse(Some(0), None).is_err());
        assert!(Cursor::<i64>::parse(Some(201), None).is_err());
    }

    #[test]
    fn page_cuts_the_extra_row_and_points_past_the_last() {
        let cursor = Cursor::<i64>::parse(Some(2), None).unwrap();
        let page = cursor.page(vec![1i64, 2, 3], |n| *n);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor, Some(2i64.encode()));
        let last = cursor.page(vec![1i64, 2], |n| *n);
        assert_eq!(last.next_cursor, None);
    }
}
