//! The pagination cursor: the sort key of the last item returned (an id as
//! 32 hex digits, a sequence number in decimal), accepted exactly when it has
//! the form the document gives; and `limit` in 1..=200 (50 when absent).

use proptest::prelude::*;
use sijill::http::pagination::{Cursor, CursorKey, DEFAULT_LIMIT, MAX_LIMIT};
use uuid::Uuid;

use crate::text::any_text;

/// The largest sequence number a cursor can carry (18 digits).
const MAX_SEQ: i64 = 999_999_999_999_999_999;

/// `K::PATTERN` as a generator: the anchors are implied.
fn of_pattern<K: CursorKey>() -> impl Strategy<Value = String> {
    let pattern = K::PATTERN.trim_start_matches('^').trim_end_matches('$');
    prop::string::string_regex(pattern).expect("a pattern proptest can generate from")
}

/// `^[0-9a-f]{32}$` and `^[0-9]{1,18}$`, by hand.
fn is_id_cursor(raw: &str) -> bool {
    raw.len() == 32 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_seq_cursor(raw: &str) -> bool {
    (1..=18).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit())
}

fn uuid() -> impl Strategy<Value = Uuid> {
    prop_oneof![
        any::<u128>().prop_map(Uuid::from_u128),
        Just(Uuid::nil()),
        Just(Uuid::max()),
        // Shaped like the ids the server issues (version 7).
        (0u64..1 << 48, any::<[u8; 10]>())
            .prop_map(|(ms, r)| uuid::Builder::from_unix_timestamp_millis(ms, &r).into_uuid()),
    ]
}

/// Strings near the two forms, and anything at all.
fn raw_cursor() -> impl Strategy<Value = String> {
    prop_oneof![
        any_text(),
        "[0-9a-fA-F-]{30,37}",
        "[0-9+ -]{0,20}",
        "[0-9\u{0660}-\u{0669}\u{FF10}-\u{FF19}]{1,19}",
        of_pattern::<Uuid>(),
        of_pattern::<i64>(),
        uuid().prop_map(|u| u.hyphenated().to_string()),
        uuid().prop_map(|u| u.simple().to_string().to_uppercase()),
    ]
}

fn limit() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        1 => Just(None),
        4 => (1..=MAX_LIMIT).prop_map(Some),
        1 => any::<i64>().prop_map(Some),
        1 => prop::sample::select(vec![i64::MIN, -1, 0, MAX_LIMIT + 1, i64::MAX]).prop_map(Some),
    ]
}

/// Parse a cursor with a valid limit; the error's code when refused.
fn decode<K: CursorKey>(raw: &str) -> Result<Option<K>, &'static str> {
    Cursor::<K>::parse(Some(10), Some(raw))
        .map(|c| c.after)
        .map_err(|e| e.code())
}

proptest! {
    /// Every id comes back as itself, and its cursor has the documented form.
    #[test]
    fn ids_round_trip(key in uuid()) {
        let raw = key.encode();
        prop_assert!(is_id_cursor(&raw), "{}", raw);
        prop_assert_eq!(decode::<Uuid>(&raw), Ok(Some(key)));
    }

    /// Every sequence number the log can reach comes back as itself.
    #[test]
    fn sequence_numbers_round_trip(key in prop_oneof![1i64..=1_000_000, 0..=MAX_SEQ]) {
        let raw = key.encode();
        prop_assert!(is_seq_cursor(&raw), "{}", raw);
        prop_assert_eq!(decode::<i64>(&raw), Ok(Some(key)));
    }

    /// Decoding is total, and a string is a cursor exactly when it has the
    /// documented form; anything else is `invalid_cursor`.
    #[test]
    fn accepted_exactly_in_the_documented_form(raw in raw_cursor()) {
        let id = decode::<Uuid>(&raw);
        prop_assert_eq!(id.is_ok(), is_id_cursor(&raw), "{:?} -> {:?}", raw, id);
        if let Err(code) = id {
            prop_assert_eq!(code, "invalid_cursor");
        }
        let seq = decode::<i64>(&raw);
        prop_assert_eq!(seq.is_ok(), is_seq_cursor(&raw), "{:?} -> {:?}", raw, seq);
        if let Err(code) = seq {
            prop_assert_eq!(code, "invalid_cursor");
        }
        // An id is never read as a sequence number, nor the reverse.
        prop_assert!(!(id.is_ok() && seq.is_ok()));
    }

    /// Every string the document's pattern allows is accepted, and an id's
    /// cursor is its own canonical form.
    #[test]
    fn the_documented_patterns_are_accepted(id in of_pattern::<Uuid>(), seq in of_pattern::<i64>()) {
        let key = decode::<Uuid>(&id);
        prop_assert!(key.is_ok(), "{:?}", id);
        prop_assert_eq!(key.unwrap().map(|k| k.encode()), Some(id));
        let n = decode::<i64>(&seq);
        prop_assert!(n.is_ok(), "{:?}", seq);
        // Leading zeros are allowed and mean the same number.
        prop_assert_eq!(n.unwrap(), Some(seq.parse::<i64>().unwrap()));
    }

    /// `limit` is accepted exactly in 1..=200, 50 when absent; anything
    /// else is `invalid_query`, whatever the cursor.
    #[test]
    fn limits_are_bounded(limit in limit(), raw in prop::option::of(raw_cursor())) {
        let result = Cursor::<i64>::parse(limit, raw.as_deref());
        let expected = limit.unwrap_or(DEFAULT_LIMIT);
        if (1..=MAX_LIMIT).contains(&expected) {
            match &result {
                Ok(cursor) => {
                    prop_assert_eq!(cursor.limit, expected);
                    prop_assert_eq!(cursor.fetch(), expected + 1);
                }
                Err(e) => prop_assert_eq!(e.code(), "invalid_cursor"),
            }
            if raw.is_none() {
                prop_assert!(result.is_ok());
            }
        } else {
            prop_assert_eq!(result.map(|_| ()).map_err(|e| e.code()), Err("invalid_query"));
        }
    }

    /// A page holds at most `limit` items, and has a next cursor exactly
    /// when more rows were fetched than it holds, pointing at its last.
    #[test]
    fn pages_are_cut_at_the_limit(limit in 1..=MAX_LIMIT, rows in 0usize..=(2 * MAX_LIMIT as usize)) {
        let cursor = Cursor::<i64>::parse(Some(limit), None).unwrap();
        let fetched: Vec<i64> = (1..=rows as i64).take(cursor.fetch() as usize).collect();
        let page = cursor.page(fetched.clone(), |n| *n);
        let kept = fetched.len().min(limit as usize);
        prop_assert_eq!(&page.items[..], &fetched[..kept]);
        match &page.next_cursor {
            Some(token) => {
                prop_assert!(fetched.len() as i64 > limit);
                prop_assert_eq!(decode::<i64>(token), Ok(page.items.last().copied()));
            }
            None => prop_assert!(fetched.len() as i64 <= limit),
        }
    }

    /// Following the cursors from the first page visits every row once, in
    /// order (keyset pagination over distinct sorted keys).
    #[test]
    fn following_cursors_visits_every_row_once(
        keys in prop::collection::btree_set(uuid(), 0..120),
        limit in prop_oneof![1i64..=7, 1..=MAX_LIMIT],
    ) {
        let keys: Vec<Uuid> = keys.into_iter().collect();
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..=keys.len() + 1 {
            let cursor = Cursor::<Uuid>::parse(Some(limit), token.as_deref()).unwrap();
            let rows: Vec<Uuid> = keys
                .iter()
                .copied()
                .filter(|k| cursor.after.is_none_or(|after| *k > after))
                .take(cursor.fetch() as usize)
                .collect();
            let page = cursor.page(rows, |k| *k);
            seen.extend(page.items);
            token = page.next_cursor;
            if token.is_none() {
                break;
            }
        }
        prop_assert!(token.is_none(), "pagination did not end");
        prop_assert_eq!(seen, keys);
    }
}
