use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::text_enum;

text_enum! {
    /// What an organisation does; it decides which roles its members may hold.
    pub enum OrganizationKind {
        Administration => "administration",
        Documentation => "documentation",
        IndependentReview => "independent_review",
        FamilyAssociation => "family_association",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab3c2-7f10-7000-8000-000000000001",
    "name": "Syrian Network for Documentation",
    "kind": "documentation",
    "created_at": "2026-11-26T07:30:00.123456Z"
}))]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub kind: OrganizationKind,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Syrian Network for Documentation", "kind": "documentation"}))]
pub struct NewOrganization {
    /// 1–200 characters, unique (case-insensitively).
    #[schema(value_type = crate::domain::schema::Label)]
    pub name: String,
    pub kind: OrganizationKind,
}
