//! Canonical JSON (RFC 8785, JCS) and the audit entry hash: SHA-256 over
//! the canonical form of an entry without its `hash`, which anyone must be
//! able to recompute from what `GET /audit` returns.

use std::net::IpAddr;

use proptest::prelude::*;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sijill::audit::model::{neutralised, GENESIS_HASH};
use sijill::audit::{AuditAction, AuditEntry, Changes};
use sijill::http::Page;
use sijill::users::Role;

use crate::text::{any_text, tricky_string};

/// The largest integer every JSON implementation reads exactly (2^53 − 1):
/// JCS writes numbers as IEEE doubles, so beyond it the canonical form, and
/// the hash, no longer tell neighbouring integers apart.
const SAFE_INTEGER: i64 = (1 << 53) - 1;

fn jcs(value: &Value) -> String {
    serde_json_canonicalizer::to_string(value).expect("canonical JSON")
}

/// A string that may hold anything: Arabic, joiners, controls, emoji.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![any_text(), tricky_string(16)]
}

fn safe_integer() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-1000i64..1000).prop_map(Value::from),
        (-SAFE_INTEGER..=SAFE_INTEGER).prop_map(Value::from),
    ]
}

fn any_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        safe_integer(),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Coordinates, amounts: short decimals.
        (-18_000_000i64..18_000_000).prop_map(|n| Value::from(n as f64 / 1e5)),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(vec![
            0.0,
            -0.0,
            1e21,
            1e-7,
            5e-324,
            f64::MAX,
            0.1,
            1.0 / 3.0
        ])
        .prop_map(Value::from),
    ]
}

/// Any JSON value whose leaves come from `leaf`, objects and arrays up to
/// `depth` levels deep, about `size` values in all.
fn json(
    leaf: impl Strategy<Value = Value> + 'static,
    depth: u32,
    size: u32,
) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => leaf,
        4 => text().prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, size, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Any JSON value at all.
fn any_json() -> impl Strategy<Value = Value> {
    json(any_number(), 4, 64)
}

/// JSON without floats and with integers every reader reads exactly.
fn exact_json() -> impl Strategy<Value = Value> {
    json(safe_integer(), 4, 64)
}

/// A value a field of a record can hold: text, a number, a list, a small object.
fn field_value() -> impl Strategy<Value = Value> {
    json(any_number(), 2, 8)
}

/// What a handler records: fields created and changed, old and new values
/// of any shape (floats and hidden characters included; `Changes` makes
/// them safe).
fn changes() -> impl Strategy<Value = Changes> {
    let field = prop_oneof![
        prop::sample::select(vec!["full_name", "name_ar", "notes", "latitude", "version"])
            .prop_map(str::to_owned),
        text(),
    ];
    prop::collection::vec(
        (field, prop::option::of(field_value()), field_value()),
        0..6,
    )
    .prop_map(|fields| {
        fields
            .into_iter()
            .fold(Changes::new(), |changes, (field, old, new)| match old {
                None => changes.created(&field, new),
                Some(old) => changes.changed(&field, old, new),
            })
    })
}

fn id() -> impl Strategy<Value = String> {
    any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string())
}

fn hex_hash() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(GENESIS_HASH.to_owned()),
        4 => any::<[u8; 32]>().prop_map(hex::encode),
    ]
}

fn timestamp() -> impl Strategy<Value = String> {
    // 1970 to 2200, to the microsecond, as the store formats it.
    (0i64..7_258_118_400_000_000).prop_map(|micros| {
        chrono::DateTime::from_timestamp_micros(micros)
            .unwrap()
            .naive_utc()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string()
    })
}

fn action() -> impl Strategy<Value = AuditAction> {
    prop::sample::select(vec![
        AuditAction::OrganizationCreate,
        AuditAction::UserUpdate,
        AuditAction::AuthLoginFailed,
        AuditAction::DetaineeCreate,
        AuditAction::DetaineeMerge,
        AuditAction::CustodyCreate,
        AuditAction::ReviewDecide,
        AuditAction::ReviewConsult,
    ])
}

/// An entry as `store::append_all` builds it, hash included.
fn entry() -> impl Strategy<Value = AuditEntry> {
    let actor = (
        prop::option::of(id()),
        prop::option::of(text().prop_map(|name| neutralised(&name))),
        prop::option::of(prop::sample::select(Role::ALL.to_vec())),
    );
    let context = (
        prop::option::of(id()),
        prop::option::of(any::<IpAddr>().prop_map(|ip| ip.to_string())),
    );
    (
        1i64..=SAFE_INTEGER,
        id(),
        timestamp(),
        actor,
        action(),
        prop::option::of(id()),
        changes(),
        context,
        hex_hash(),
    )
        .prop_map(
            |(seq, id, occurred_at, actor, action, entity_id, changes, context, prev_hash)| {
                let mut entry = AuditEntry {
                    seq,
                    id,
                    occurred_at,
                    actor_id: actor.0,
                    actor_username: actor.1,
                    actor_role: actor.2.map(|r| r.as_str().to_owned()),
                    action: action.as_str().to_owned(),
                    entity_type: action.entity_type().to_owned(),
                    entity_id,
                    changes: changes.to_json(),
                    request_id: context.0,
                    client_ip: context.1,
                    prev_hash,
                    hash: String::new(),
                };
                entry.hash = entry.compute_hash().expect("hashable");
                entry
            },
        )
}

/// Characters the log never shows raw (see `audit::model::neutralised`).
fn hidden(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\t'))
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}'
        )
}

/// Every string (object members' names included) and number in a value.
fn leaves(value: &Value, strings: &mut Vec<String>, numbers: &mut Vec<serde_json::Number>) {
    match value {
        Value::String(s) => strings.push(s.clone()),
        Value::Number(n) => numbers.push(n.clone()),
        Value::Array(items) => items.iter().for_each(|v| leaves(v, strings, numbers)),
        Value::Object(members) => members.iter().for_each(|(k, v)| {
            strings.push(k.clone());
            leaves(v, strings, numbers)
        }),
        Value::Null | Value::Bool(_) => {}
    }
}

/// The hash as an auditor recomputes it, with no code of ours: the entry's
/// JSON without `hash`, canonicalised, SHA-256, lowercase hex.
fn independent_hash(entry: &Value) -> String {
    let mut members = entry.as_object().expect("an entry is an object").clone();
    members.remove("hash");
    hex::encode(Sha256::digest(jcs(&Value::Object(members)).as_bytes()))
}

proptest! {
    /// The canonical form depends on the value only: not on how it was
    /// written (compact, pretty, member order) or read back.
    #[test]
    fn canonical_form_is_deterministic(value in any_json()) {
        let canonical = jcs(&value);
        prop_assert_eq!(&jcs(&value.clone()), &canonical);
        let compact: Value = serde_json::from_str(&serde_json::to_string(&value).unwrap()).unwrap();
        prop_assert_eq!(&jcs(&compact), &canonical);
        let pretty: Value = serde_json::from_str(&serde_json::to_string_pretty(&value).unwrap()).unwrap();
        prop_assert_eq!(&jcs(&pretty), &canonical);
    }

    /// Canonicalising canonical JSON changes nothing.
    #[test]
    fn canonical_form_is_idempotent(value in any_json()) {
        let canonical = jcs(&value);
        let reread: Value = serde_json::from_str(&canonical).unwrap();
        prop_assert_eq!(jcs(&reread), canonical);
    }

    /// Without floats and with integers within ±(2^53 − 1), the canonical
    /// form reads back as the very same value.
    #[test]
    fn canonical_form_keeps_exact_values(value in exact_json()) {
        let reread: Value = serde_json::from_str(&jcs(&value)).unwrap();
        prop_assert_eq!(reread, value);
    }

    /// What the store writes (`changes` as text) reads back as recorded:
    /// `Changes` leaves no float to be read differently, and no character
    /// that would hide or reorder what a reader sees.
    #[test]
    fn recorded_changes_are_exact_and_visible(changes in changes()) {
        let json = changes.to_json();
        let (mut strings, mut numbers) = (Vec::new(), Vec::new());
        leaves(&json, &mut strings, &mut numbers);
        for n in &numbers {
            prop_assert!(n.is_i64() || n.is_u64(), "a float recorded as a number: {}", n);
        }
        for s in &strings {
            prop_assert!(!s.chars().any(hidden), "hidden character in {:?}", s);
        }
        let stored = serde_json::to_string(&json).unwrap();
        prop_assert_eq!(serde_json::from_str::<Value>(&stored).unwrap(), json);
    }

    /// `neutralised` shows hidden characters as escapes, leaves other text
    /// (Arabic with its joiners and direction marks) alone, and applying
    /// it twice is applying it once.
    #[test]
    fn neutralising_is_idempotent(text in text()) {
        let once = neutralised(&text);
        prop_assert!(!once.chars().any(hidden));
        prop_assert_eq!(neutralised(&once), once.clone());
        if !text.chars().any(hidden) {
            prop_assert_eq!(once, text);
        }
    }

    /// The entry as `GET /audit` shows it (a page of entries, as JSON)
    /// reads back as the same entry, with the same hash; an auditor with
    /// only the JSON, a JCS library and SHA-256 gets that hash too.
    #[test]
    fn the_hash_survives_the_api(entry in entry()) {
        let page = Page { items: vec![entry.clone()], next_cursor: Some("Mg".to_owned()) };
        let body = serde_json::to_string(&page).unwrap();
        let shown: Value = serde_json::from_str(&body).unwrap();
        let shown_entry = &shown["items"][0];
        let reread: AuditEntry = serde_json::from_value(shown_entry.clone()).unwrap();
        prop_assert_eq!(&reread, &entry);
        prop_assert_eq!(reread.compute_hash().unwrap(), entry.hash.clone());
        prop_assert_eq!(independent_hash(shown_entry), entry.hash);
    }

    /// The store keeps `changes` as text; an entry read back from it
    /// verifies, whatever JSON the column holds.
    #[test]
    fn the_hash_survives_the_store(mut entry in entry(), raw in any_json()) {
        let stored = serde_json::to_string(&entry.changes).unwrap();
        let mut reread = entry.clone();
        reread.changes = serde_json::from_str(&stored).unwrap();
        prop_assert_eq!(reread.compute_hash().unwrap(), entry.hash.clone());
        // Any JSON at all in the column (floats, large integers): a row
        // written by another tool reads back to the same hash.
        entry.changes = raw;
        let hash = entry.compute_hash().unwrap();
        let stored = serde_json::to_string(&entry.changes).unwrap();
        entry.changes = serde_json::from_str(&stored).unwrap();
        prop_assert_eq!(entry.compute_hash().unwrap(), hash);
    }

    /// The hash covers every member but itself: changing any one changes it.
    #[test]
    fn every_member_is_covered(entry in entry(), member in 0usize..14, fake_hash in hex_hash()) {
        let mut other = entry.clone();
        other.hash = fake_hash;
        prop_assert_eq!(other.compute_hash().unwrap(), entry.hash.clone());
        let toggle = |v: &Option<String>| match v {
            Some(_) => None,
            None => Some(String::new()),
        };
        let mut tampered = entry.clone();
        match member {
            0 => tampered.seq += 1,
            1 => tampered.id.push('0'),
            2 => tampered.occurred_at = tampered.occurred_at.replace('Z', "+00:00"),
            3 => tampered.actor_id = toggle(&tampered.actor_id),
            4 => tampered.actor_username = Some(format!("{}\u{200D}", entry.actor_username.clone().unwrap_or_default())),
            5 => tampered.actor_role = toggle(&tampered.actor_role),
            6 => tampered.action.push('s'),
            7 => tampered.entity_type = "auth".to_owned() + &tampered.entity_type,
            8 => tampered.entity_id = toggle(&tampered.entity_id),
            9 => {
                let mut members = tampered.changes.as_object().cloned().unwrap_or_default();
                members.insert("role".to_owned(), serde_json::json!(["caseworker", "admin"]));
                tampered.changes = Value::Object(members);
            }
            10 => tampered.request_id = toggle(&tampered.request_id),
            11 => tampered.client_ip = toggle(&tampered.client_ip),
            12 => tampered.prev_hash = tampered.prev_hash.replacen(|c: char| c.is_ascii_hexdigit(), "x", 1),
            _ => tampered.changes = Value::Null,
        }
        prop_assume!(tampered != entry);
        prop_assert_ne!(tampered.compute_hash().unwrap(), entry.hash);
    }

    /// Every integer an entry can record within ±(2^53 − 1) is covered:
    /// one more or one less is another hash.
    #[test]
    fn recorded_integers_are_covered(entry in entry(), n in -SAFE_INTEGER + 1..SAFE_INTEGER) {
        let mut a = entry.clone();
        a.changes = serde_json::json!({"version": [n, n]});
        let mut b = entry;
        b.changes = serde_json::json!({"version": [n, n + 1]});
        prop_assert_ne!(a.compute_hash().unwrap(), b.compute_hash().unwrap());
    }
}

/// Members are sorted by UTF-16 code units, not by code points: a name
/// outside the Basic Multilingual Plane (a surrogate pair) sorts before
/// U+E000–U+FFFF. An auditor's JCS library does the same.
#[test]
fn members_are_sorted_by_utf16() {
    let value =
        serde_json::json!({"\u{FFFD}": 1, "\u{1F600}": 2, "b": 3, "ب": 4, "a": [1.0, -0.0, 1e21]});
    assert_eq!(
        jcs(&value),
        "{\"a\":[1,0,1e+21],\"b\":3,\"ب\":4,\"\u{1F600}\":2,\"\u{FFFD}\":1}"
    );
}
