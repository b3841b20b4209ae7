use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::detainees::model::{Accusation, Category, DetaineeView, Sex};
use crate::detainees::{Detainee, DetaineeStatus, ReviewStatus};
use crate::domain::PartialDate;
use crate::text_enum;

text_enum! {
    /// Where a review stands (see docs/review-workflow.md).
    pub enum ReviewState {
        Open => "open",
        InReview => "in_review",
        AwaitingConfirmation => "awaiting_confirmation",
        Decided => "decided",
        Withdrawn => "withdrawn",
    }
}

impl ReviewState {
    /// The states in which a review has not decided yet.
    pub const UNDECIDED: [ReviewState; 3] = [
        ReviewState::Open,
        ReviewState::InReview,
        ReviewState::AwaitingConfirmation,
    ];

    /// How the undecided states are stored, for filters in SQL: built from
    /// the enum, so that renaming a state cannot leave a filter behind.
    pub fn undecided_texts() -> [&'static str; 3] {
        Self::UNDECIDED.map(ReviewState::as_str)
    }
}

text_enum! {
    pub enum Decision {
        ClearedForRelease => "cleared_for_release",
        ReleaseWithheld => "release_withheld",
    }
}

text_enum! {
    /// A family representative's position on release.
    pub enum Position {
        SupportsRelease => "supports_release",
        OpposesRelease => "opposes_release",
        NoPosition => "no_position",
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Consultation {
    pub id: Uuid,
    pub review_id: Uuid,
    pub representative_id: Uuid,
    pub organization_id: Uuid,
    pub position: Position,
    pub statement: String,
    pub created_at: DateTime<Utc>,
}

/// A review as stored.
#[derive(Debug, Clone)]
pub struct Review {
    pub id: Uuid,
    pub detainee_id: Uuid,
    /// The organisation that owns the file (and so may withdraw the review).
    pub file_organization_id: Uuid,
    pub status: ReviewState,
    pub requested_by: Uuid,
    pub reason: Option<String>,
    pub reviewer_id: Option<Uuid>,
    pub reviewer_organization_id: Option<Uuid>,
    pub decision: Option<Decision>,
    pub rationale: Option<String>,
    pub confirmed_by: Option<Uuid>,
    pub confirmation_note: Option<String>,
    pub prior_review_status: ReviewStatus,
    /// What the file was accused of when this review opened; `None` for
    /// reviews opened before this was recorded (treated as changed).
    pub accusation_at_open: Option<Accusation>,
    pub opened_at: DateTime<Utc>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl Review {
    /// The file's `review_status` while this is its latest review, the
    /// file now being accused of `current`. A withdrawn review gives back
    /// the status from before it opened only if the accusation is as it
    /// was then: no clearance outlives a change of accusation.
    pub fn file_review_status(&self, current: &Accusation) -> ReviewStatus {
        match self.status {
            ReviewState::Open => ReviewStatus::PendingReview,
            ReviewState::InReview | ReviewState::AwaitingConfirmation => ReviewStatus::UnderReview,
            ReviewState::Decided => match self.decision {
                Some(Decision::ClearedForRelease) => ReviewStatus::ClearedForRelease,
                _ => ReviewStatus::ReleaseWithheld,
            },
            ReviewState::Withdrawn if self.accusation_at_open.as_ref() == Some(current) => {
                self.prior_review_status
            }
            ReviewState::Withdrawn => ReviewStatus::NotReviewed,
        }
    }
}

/// What a family representative may see of a file: who, and of what
/// accused; no notes, no sources, no informants.
///
/// No other members (`additionalProperties: false` in the document), so
/// that a full file never also matches this schema in `EmbeddedFile`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReducedFile {
    pub id: Uuid,
    pub reference: String,
    pub full_name: String,
    pub name_ar: Option<String>,
    pub sex: Sex,
    pub birth_date: Option<PartialDate>,
    pub place_of_origin: Option<String>,
    pub status: DetaineeStatus,
    pub category: Category,
    pub major_crimes_accusation: bool,
    pub accusation_summary: Option<String>,
    pub facility_id: Option<Uuid>,
}

impl From<Detainee> for ReducedFile {
    fn from(file: Detainee) -> Self {
        let f = file.fields;
        ReducedFile {
            id: file.id,
            reference: file.reference,
            full_name: f.full_name,
            name_ar: f.name_ar,
            sex: f.sex,
            birth_date: f.birth_date,
            place_of_origin: f.place_of_origin,
            status: f.status,
            category: f.category,
            major_crimes_accusation: f.major_crimes_accusation,
            accusation_summary: f.accusation_summary,
            facility_id: f.facility_id,
        }
    }
}

/// The file embedded in a review: in a single review the full view (with
/// `source_notes` for those who may read them), in lists and for family
/// representatives the reduced one.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EmbeddedFile {
    Full(Box<DetaineeView>),
    Reduced(Box<ReducedFile>),
}

/// A review as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab3c2-7f10-7000-8000-000000000501",
    "detainee_id": "019ab3c2-7f10-7000-8000-000000000201",
    "status": "awaiting_confirmation",
    "requested_by": "019ab3c2-7f10-7000-8000-000000000002",
    "reason": "Prison opened; family asks for release.",
    "reviewer_id": "019ab3c2-7f10-7000-8000-000000000601",
    "reviewer_organization_id": "019ab3c2-7f10-7000-8000-000000000600",
    "decision": "cleared_for_release",
    "rationale": "No evidence links him to the 2013 killings; witnesses place him in Douma.",
    "confirmed_by": null,
    "confirmation_note": null,
    "consultations": [],
    "opened_at": "2026-11-26T07:30:00.123456Z",
    "claimed_at": "2026-11-26T08:00:00.000000Z",
    "decided_at": "2026-11-26T09:00:00.000000Z",
    "confirmed_at": null,
    "withdrawn_at": null,
    "updated_at": "2026-11-26T09:00:00.000000Z",
    "file": {"id": "019ab3c2-7f10-7000-8000-000000000201", "reference": "SJL-000123", "full_name": "…"}
}))]
pub struct ReviewView {
    pub id: Uuid,
    pub detainee_id: Uuid,
    pub status: ReviewState,
    pub requested_by: Uuid,
    pub reason: Option<String>,
    pub reviewer_id: Option<Uuid>,
    pub reviewer_organization_id: Option<Uuid>,
    pub decision: Option<Decision>,
    pub rationale: Option<String>,
    pub confirmed_by: Option<Uuid>,
    pub confirmation_note: Option<String>,
    pub consultations: Vec<Consultation>,
    pub opened_at: DateTime<Utc>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub file: EmbeddedFile,
}

impl ReviewView {
    pub fn new(review: Review, consultations: Vec<Consultation>, file: EmbeddedFile) -> Self {
        ReviewView {
            id: review.id,
            detainee_id: review.detainee_id,
            status: review.status,
            requested_by: review.requested_by,
            reason: review.reason,
            reviewer_id: review.reviewer_id,
            reviewer_organization_id: review.reviewer_organization_id,
            decision: review.decision,
            rationale: review.rationale,
            confirmed_by: review.confirmed_by,
            confirmation_note: review.confirmation_note,
            consultations,
            opened_at: review.opened_at,
            claimed_at: review.claimed_at,
            decided_at: review.decided_at,
            confirmed_at: review.confirmed_at,
            withdrawn_at: review.withdrawn_at,
            updated_at: review.updated_at,
            file,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Sednaya opened; the family asks for his release."}))]
pub struct OpenReview {
    /// Up to 10,000 characters.
    #[schema(value_type = Option<crate::domain::schema::Notes>)]
    pub reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimReview {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "decision": "release_withheld",
    "rationale": "Two independent witnesses name him among the guards of the 2013 killings."
}))]
pub struct DecideReview {
    pub decision: Decision,
    /// At least 20 characters: the reasons, for the record.
    #[schema(value_type = crate::domain::schema::Rationale)]
    pub rationale: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmReview {
    #[schema(value_type = Option<crate::domain::schema::Notes>)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "The second witness statement was not considered."}))]
pub struct DisputeReview {
    /// Why the decision should be looked at again (required).
    #[schema(value_type = crate::domain::schema::RequiredNotes)]
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawReview {
    #[schema(value_type = Option<crate::domain::schema::Notes>)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "position": "opposes_release",
    "statement": "Our families hold testimony that he took part in the killings at the checkpoint."
}))]
pub struct NewConsultation {
    pub position: Position,
    /// 1–10,000 characters.
    #[schema(value_type = crate::domain::schema::RequiredNotes)]
    pub statement: String,
}
