use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::{Account, Actor};
use crate::http::Versioned;
use crate::organizations::OrganizationKind;
use crate::text_enum;

text_enum! {
    /// Every account has exactly one role.
    pub enum Role {
        Admin => "admin",
        Caseworker => "caseworker",
        Reviewer => "reviewer",
        FamilyRepresentative => "family_representative",
        Auditor => "auditor",
    }
}

impl Role {
    /// Which organisations may hold this role (docs/api.md, "Roles and permissions").
    pub fn fits(self, kind: OrganizationKind) -> bool {
        match self {
            Role::Admin => kind == OrganizationKind::Administration,
            Role::Caseworker => kind == OrganizationKind::Documentation,
            Role::Reviewer => kind == OrganizationKind::IndependentReview,
            Role::FamilyRepresentative => kind == OrganizationKind::FamilyAssociation,
            Role::Auditor => true,
        }
    }
}

/// An account as the API shows it. The password hash never leaves the store.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab3c2-7f10-7000-8000-000000000002",
    "username": "rima.k",
    "display_name": "Rima K.",
    "role": "caseworker",
    "organization_id": "019ab3c2-7f10-7000-8000-000000000001",
    "active": true,
    "version": 1,
    "created_at": "2026-11-26T07:30:00.123456Z",
    "updated_at": "2026-11-26T07:30:00.123456Z"
}))]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub organization_id: Uuid,
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Versioned for User {
    fn version(&self) -> i64 {
        self.version
    }
}

impl From<&User> for Account {
    fn from(user: &User) -> Self {
        Account {
            id: user.id,
            username: user.username.clone(),
            role: user.role.as_str(),
        }
    }
}

impl From<&User> for Actor {
    fn from(user: &User) -> Self {
        Account::from(user).into()
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "username": "rima.k",
    "password": "long unusual passphrase 7",
    "display_name": "Rima K.",
    "role": "caseworker",
    "organization_id": "019ab3c2-7f10-7000-8000-000000000001"
}))]
pub struct NewUser {
    /// 3–64 characters of a-z, 0-9, '.', '_', '-'.
    #[schema(value_type = crate::domain::schema::UsernameText)]
    pub username: String,
    /// 12–128 characters, not common or weak.
    #[schema(value_type = crate::domain::schema::NewPassword)]
    pub password: SecretString,
    #[schema(value_type = crate::domain::schema::Label)]
    pub display_name: String,
    pub role: Role,
    pub organization_id: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"display_name": "Rima Kh.", "active": false}))]
pub struct UserPatch {
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub active: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    #[schema(value_type = crate::domain::schema::NewPassword)]
    pub password: SecretString,
}
