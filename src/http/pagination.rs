//! Keyset pagination: `?limit=` (1–200, default 50) and an opaque `?cursor=`.
//!
//! A cursor is the sort key of the last item returned, base64url-encoded. It
//! is opaque to clients; anything that does not decode to a valid key is 400
//! `invalid_cursor`.

use std::str::FromStr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;

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

impl<K: FromStr + ToString> Cursor<K> {
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, AppError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::bad_request(
                "invalid_query",
                format!("limit must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match cursor {
            None => None,
            Some(raw) => Some(decode::<K>(raw).ok_or_else(|| {
                AppError::bad_request("invalid_cursor", "the cursor is not one this server issued")
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
            rows.last().map(|last| encode(&key(last)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

pub fn encode<K: ToString>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(format!("k1:{}", key.to_string()))
}

fn decode<K: FromStr>(raw: &str) -> Option<K> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("k1:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let token = encode(&42i64);
        let cursor = Cursor::<i64>::parse(Some(10), Some(&token)).unwrap();
        assert_eq!(cursor.after, Some(42));
        assert!(Cursor::<i64>::parse(None, Some("garbage!")).is_err());
        assert!(Cursor::<i64>::parse(None, Some(&encode(&"x"))).is_err());
        assert!(Cursor::<i64>::parse(Some(0), None).is_err());
        assert!(Cursor::<i64>::parse(Some(201), None).is_err());
    }

    #[test]
    fn page_cuts_the_extra_row_and_points_past_the_last() {
        let cursor = Cursor::<i64>::parse(Some(2), None).unwrap();
        let page = cursor.page(vec![1i64, 2, 3], |n| *n);
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor, Some(encode(&2i64)));
        let last = cursor.page(vec![1i64, 2], |n| *n);
        assert_eq!(last.next_cursor, None);
    }
}
