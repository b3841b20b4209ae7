use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, as `entity.verb`. The entity type is the word before the dot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    OrganizationCreate,
    UserCreate,
    UserUpdate,
    UserPasswordReset,
    AuthLogin,
    AuthLoginFailed,
    AuthLocked,
    AuthLogout,
    AuthRefresh,
    AuthRefreshReuse,
    AuthMfaChallenge,
    AuthMfaEnrol,
    AuthMfaDisable,
    AuthMfaReset,
    AuthMfaFailed,
    FacilityCreate,
    FacilityUpdate,
    DetaineeCreate,
    DetaineeUpdate,
    DetaineeArchive,
    DetaineeRestore,
    DetaineeMerge,
    DetaineeUnmerge,
    DetaineeExport,
    ImportStart,
    ImportFinish,
    ImportCancel,
    ImportMappingCreate,
    CustodyCreate,
    ReviewOpen,
    ReviewClaim,
    ReviewDecide,
    ReviewConfirm,
    ReviewDispute,
    ReviewWithdraw,
    ReviewConsult,
    AuditExport,
    AttachmentCreate,
    AttachmentArchive,
    AttachmentPurge,
    KeysRotate,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::OrganizationCreate => "organization.create",
            AuditAction::UserCreate => "user.create",
            AuditAction::UserUpdate => "user.update",
            AuditAction::UserPasswordReset => "user.password_reset",
            AuditAction::AuthLogin => "auth.login",
            AuditAction::AuthLoginFailed => "auth.login_failed",
            AuditAction::AuthLocked => "auth.locked",
            AuditAction::AuthLogout => "auth.logout",
            AuditAction::AuthRefresh => "auth.refresh",
            AuditAction::AuthRefreshReuse => "auth.refresh_reuse",
            AuditAction::AuthMfaChallenge => "auth.mfa_challenge",
            AuditAction::AuthMfaEnrol => "auth.mfa_enrol",
            AuditAction::AuthMfaDisable => "auth.mfa_disable",
            AuditAction::AuthMfaReset => "auth.mfa_reset",
            AuditAction::AuthMfaFailed => "auth.mfa_failed",
            AuditAction::FacilityCreate => "facility.create",
            AuditAction::FacilityUpdate => "facility.update",
            AuditAction::DetaineeCreate => "detainee.create",
            AuditAction::DetaineeUpdate => "detainee.update",
            AuditAction::DetaineeArchive => "detainee.archive",
            AuditAction::DetaineeRestore => "detainee.restore",
            AuditAction::DetaineeMerge => "detainee.merge",
            AuditAction::DetaineeUnmerge => "detainee.unmerge",
            AuditAction::DetaineeExport => "detainee.export",
            AuditAction::ImportStart => "import.start",
            AuditAction::ImportFinish => "import.finish",
            AuditAction::ImportCancel => "import.cancel",
            AuditAction::ImportMappingCreate => "import.mapping_create",
            AuditAction::CustodyCreate => "custody.create",
            AuditAction::ReviewOpen => "review.open",
            AuditAction::ReviewClaim => "review.claim",
            AuditAction::ReviewDecide => "review.decide",
            AuditAction::ReviewConfirm => "review.confirm",
            AuditAction::ReviewDispute => "review.dispute",
            AuditAction::ReviewWithdraw => "review.withdraw",
            AuditAction::ReviewConsult => "review.consult",
            AuditAction::AuditExport => "audit.export",
            AuditAction::AttachmentCreate => "attachment.create",
            AuditAction::AttachmentArchive => "attachment.archive",
            AuditAction::AttachmentPurge => "attachment.purge",
            AuditAction::KeysRotate => "keys.rotate",
        }
    }

    pub fn entity_type(self) -> &'static str {
        let action = self.as_str();
        action.split('.').next().unwrap_or(action)
    }
}

/// Field → `[old, new]`. Secrets are never put here.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Changes(BTreeMap<String, [Value; 2]>);

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }

    /// A field set at creation: `[null, new]`.
    pub fn created(mut self, field: &str, new: impl Into<Value>) -> Self {
        self.0.insert(field.to_owned(), [Value::Null, new.into()]);
        self
    }

    /// A field changed from `old` to `new`; recorded only if they differ.
    pub fn changed(mut self, field: &str, old: impl Into<Value>, new: impl Into<Value>) -> Self {
        let (old, new) = (old.into(), new.into());
        if old != new {
            self.0.insert(field.to_owned(), [old, new]);
        }
        self
    }

    /// Every member of `new` (a serialisable record) that is not null, as `[null, value]`.
    pub fn created_from(new: &impl Serialize, skip: &[&str]) -> Self {
        Self::diff(&Value::Null, new, skip)
    }

    /// Field-by-field `[old, new]` for the members of two serialisable records
    /// that differ, except those in `skip` (ids, timestamps, secrets).
    pub fn diff(old: &impl Serialize, new: &impl Serialize, skip: &[&str]) -> Self {
        let (old, new) = (
            serde_json::to_value(old).unwrap_or(Value::Null),
            serde_json::to_value(new).unwrap_or(Value::Null),
        );
        let mut changes = Changes::new();
        let Value::Object(new_members) = new else {
            return changes;
        };
        for (field, new_value) in new_members {
            if skip.contains(&field.as_str()) {
                continue;
            }
            let old_value = old.get(&field).cloned().unwrap_or(Value::Null);
            if old_value != new_value {
                changes.0.insert(field, [old_value, new_value]);
            }
        }
        changes
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// These changes and `other`'s (`other` wins a field both have).
    pub fn merged(mut self, other: Changes) -> Self {
        self.0.extend(other.0);
        self
    }

    /// The JSON recorded in the entry. Non-integer numbers are written as
    /// text, so that the canonical form (and the hash) is the same in every
    /// language's JSON library: float formatting is where they differ. Text
    /// is `neutralised`.
    pub fn to_json(&self) -> Value {
        fn recorded(value: Value) -> Value {
            match value {
                Value::Number(n) if !(n.is_i64() || n.is_u64()) => Value::String(n.to_string()),
                Value::String(text) => Value::String(neutralised(&text)),
                Value::Array(items) => Value::Array(items.into_iter().map(recorded).collect()),
                Value::Object(members) => Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (neutralised(&k), recorded(v)))
                        .collect(),
                ),
                other => other,
            }
        }
        recorded(serde_json::to_value(&self.0).unwrap_or(Value::Object(Default::default())))
    }
}

/// Text as the audit log records it: control characters (but line feeds
/// and tabs; a carriage return can overwrite a line on a terminal), the
/// bidirectional embeddings, overrides and isolates that make text display
/// as something else, and the invisible zero-width space, word joiner and
/// byte-order mark are written as visible `\u{…}` escapes, so that no entry
/// can hide or reorder what a reader sees. (The zero-width joiner and
/// non-joiner shape Arabic-script letters and stay.) Inputs refuse most of
/// these already; this is the log's own guarantee.
pub fn neutralised(text: &str) -> String {
    let hidden = |c: char| {
        (c.is_control() && !matches!(c, '\n' | '\t'))
            || matches!(
                c,
                '\u{202A}'..='\u{202E}'
                    | '\u{2066}'..='\u{2069}'
                    | '\u{200B}'
                    | '\u{2060}'
                    | '\u{FEFF}'
            )
    };
    if !text.chars().any(hidden) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if hidden(c) {
                format!("\\u{{{:04x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One entry exactly as `GET /audit` returns it. `hash` is SHA-256 over the
/// JCS form of all the other members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "seq": 42,
    "id": "019ab3c2-7f10-7000-8000-0000000000aa",
    "occurred_at": "2026-11-26T07:30:00.123456Z",
    "actor_id": "019ab3c2-7f10-7000-8000-000000000003",
    "actor_username": "admin",
    "actor_role": "admin",
    "action": "user.update",
    "entity_type": "user",
    "entity_id": "019ab3c2-7f10-7000-8000-000000000002",
    "changes": {"display_name": ["Rima K.", "Rima Kh."]},
    "request_id": "019ab3c2-7f10-7000-8000-0000000000ab",
    "client_ip": "127.0.0.1",
    "prev_hash": "5e1f…",
    "hash": "9a0c…"
}))]
pub struct AuditEntry {
    pub seq: i64,
    pub id: String,
    /// RFC 3339, UTC, always six fractional digits.
    pub occurred_at: String,
    pub actor_id: Option<String>,
    pub actor_username: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    /// Field → [old, new].
    #[schema(value_type = Object)]
    pub changes: Value,
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// SHA-256 (lowercase hex) of the JCS serialisation of this entry without `hash`.
    pub fn compute_hash(&self) -> Result<String, serde_json::Error> {
        let mut value = serde_json::to_value(self)?;
        if let Value::Object(members) = &mut value {
            members.remove("hash");
        }
        let canonical = serde_json_canonicalizer::to_vec(&value)?;
        Ok(hex::encode(Sha256::digest(&canonical)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry() -> AuditEntry {
        AuditEntry {
            seq: 1,
            id: "019ab3c2-7f10-7000-8000-0000000000aa".into(),
            occurred_at: "2026-11-26T07:30:00.123456Z".into(),
            actor_id: None,
            actor_username: Some("system".into()),
            actor_role: None,
            action: "organization.create".into(),
            entity_type: "organization".into(),
            entity_id: Some("019ab3c2-7f10-7000-8000-000000000001".into()),
            changes: json!({"name": [null, "Administration"], "kind": [null, "administration"]}),
            request_id: None,
            client_ip: None,
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        }
    }

    /// The canonical form is sorted, compact, and excludes `hash`: pin it so
    /// a serde change can never silently alter what is hashed.
    #[test]
    fn the_hash_is_over_the_canonical_form_without_hash() {
        let e = entry();
        let mut value = serde_json::to_value(&e).unwrap();
        value.as_object_mut().unwrap().remove("hash");
        let canonical = serde_json_canonicalizer::to_string(&value).unwrap();
        assert!(canonical.starts_with(r#"{"action":"organization.create","actor_id":null,"#));
        assert!(canonical.contains(
            r#""changes":{"kind":[null,"administration"],"name":[null,"Administration"]}"#
        ));
        assert!(!canonical.contains("\"hash\""));
        assert_eq!(
            e.compute_hash().unwrap(),
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let mut with_hash = e.clone();
        with_hash.hash = "anything".into();
        assert_eq!(with_hash.compute_hash().unwrap(), e.compute_hash().unwrap());
    }

    #[test]
    fn unchanged_fields_are_not_recorded() {
        let c = Changes::new().changed("a", "x", "x").changed("b", "x", "y");
        assert_eq!(c.to_json(), json!({"b": ["x", "y"]}));
    }

    #[test]
    fn diffs_skip_unchanged_and_listed_fields_and_write_floats_as_text() {
        let old = json!({"name": "Sednaya", "latitude": 33.6, "version": 1, "notes": null});
        let new = json!({"name": "Saydnaya", "latitude": 33.6128, "version": 2, "notes": null});
        let changes = Changes::diff(&old, &new, &["version"]);
        assert_eq!(
            changes.to_json(),
            json!({"name": ["Sednaya", "Saydnaya"], "latitude": ["33.6", "33.6128"]})
        );
        let created = Changes::created_from(&json!({"name": "Adra", "name_ar": null, "n": 3}), &[]);
        assert_eq!(
            created.to_json(),
            json!({"name": [null, "Adra"], "n": [null, 3]})
        );
    }

    #[test]
    fn controls_and_bidi_overrides_never_reach_an_entry_raw() {
        let changes = Changes::new()
            .created("name", "evil\u{202E}gpj.exe")
            .created("bell", "a\u{7}b\u{85}c")
            .created("notes", "line one\nline two\tend")
            .created("hidden", "over\rwrite ad\u{200B}min")
            .created("arabic", "سجن صيدنايا\u{200F}");
        let json = changes.to_json();
        assert_eq!(json["name"][1], "evil\\u{202e}gpj.exe");
        assert_eq!(json["bell"][1], "a\\u{0007}b\\u{0085}c");
        assert_eq!(json["notes"][1], "line one\nline two\tend");
        assert_eq!(json["hidden"][1], "over\\u{000d}write ad\\u{200b}min");
        // Arabic and its right-to-left mark are text, not tricks.
        assert_eq!(json["arabic"][1], "سجن صيدنايا\u{200F}");
        assert_eq!(neutralised("plain"), "plain");
    }

    #[test]
    fn entity_type_is_the_word_before_the_dot() {
        assert_eq!(AuditAction::AuthLoginFailed.entity_type(), "auth");
        assert_eq!(AuditAction::UserPasswordReset.entity_type(), "user");
    }
}
