use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{
    parse_aliases, parse_notes, parse_optional_text, parse_text, present, PartialDate,
    MAX_EXTERNAL_REF_CHARS, MAX_NAME_CHARS, MAX_NOTES_CHARS,
};
use crate::error::AppError;
use crate::http::Versioned;
use crate::search::index::IndexedFile;
use crate::search::names::named_fields;
use crate::text_enum;

text_enum! {
    pub enum Sex {
        Female => "female",
        Male => "male",
        Unknown => "unknown",
    }
}

text_enum! {
    pub enum DetaineeStatus {
        Detained => "detained",
        Released => "released",
        Disappeared => "disappeared",
        Deceased => "deceased",
        Unknown => "unknown",
    }
}

text_enum! {
    /// Political detainees are told apart from people accused of crimes.
    pub enum Category {
        Political => "political",
        CriminalAccusation => "criminal_accusation",
        Unknown => "unknown",
    }
}

impl Category {
    /// The graver of two categories: an accusation of crimes over a
    /// political detention, and anything known over `unknown`.
    pub fn graver(self, other: Category) -> Category {
        let rank = |c: Category| match c {
            Category::Unknown => 0,
            Category::Political => 1,
            Category::CriminalAccusation => 2,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

text_enum! {
    /// Follows the file's latest review; read-only through the file's routes.
    pub enum ReviewStatus {
        NotReviewed => "not_reviewed",
        PendingReview => "pending_review",
        UnderReview => "under_review",
        ClearedForRelease => "cleared_for_release",
        ReleaseWithheld => "release_withheld",
    }
}

/// The editable content of a file (all but the confidential source notes), validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DetaineeFields {
    pub full_name: String,
    pub name_ar: Option<String>,
    pub aliases: Vec<String>,
    pub sex: Sex,
    pub birth_date: Option<PartialDate>,
    pub place_of_origin: Option<String>,
    pub status: DetaineeStatus,
    pub category: Category,
    pub major_crimes_accusation: bool,
    pub accusation_summary: Option<String>,
    pub facility_id: Option<Uuid>,
    pub detained_on: Option<PartialDate>,
    pub last_seen_on: Option<PartialDate>,
    pub released_on: Option<PartialDate>,
    pub notes: Option<String>,
    /// The organisation's own identifier of the person (a list's record
    /// number), unique within the organisation: what makes importing the
    /// same list again update its files instead of opening new ones.
    pub external_ref: Option<String>,
}

impl DetaineeFields {
    /// A file with nothing in it but defaults: what an imported row fills.
    /// Not valid as it is (`full_name` is empty).
    pub fn blank() -> Self {
        DetaineeFields {
            full_name: String::new(),
            name_ar: None,
            aliases: Vec::new(),
            sex: Sex::Unknown,
            birth_date: None,
            place_of_origin: None,
            status: DetaineeStatus::Unknown,
            category: Category::Unknown,
            major_crimes_accusation: false,
            accusation_summary: None,
            facility_id: None,
            detained_on: None,
            last_seen_on: None,
            released_on: None,
            notes: None,
            external_ref: None,
        }
    }

    /// Check every field and the rules between them; the one place file
    /// content is validated.
    pub fn validated(self) -> Result<Self, AppError> {
        let fields = DetaineeFields {
            full_name: parse_text("full_name", &self.full_name, MAX_NAME_CHARS)?,
            name_ar: parse_optional_text("name_ar", self.name_ar.as_deref(), MAX_NAME_CHARS)?,
            aliases: parse_aliases(&self.aliases)?,
            place_of_origin: parse_optional_text(
                "place_of_origin",
                self.place_of_origin.as_deref(),
                MAX_NAME_CHARS,
            )?,
            accusation_summary: parse_notes(
                "accusation_summary",
                self.accusation_summary.as_deref(),
                MAX_NOTES_CHARS,
            )?,
            notes: parse_notes("notes", self.notes.as_deref(), MAX_NOTES_CHARS)?,
            external_ref: parse_optional_text(
                "external_ref",
                self.external_ref.as_deref(),
                MAX_EXTERNAL_REF_CHARS,
            )?,
            ..self
        };
        let order = [
            ("birth_date", fields.birth_date),
            ("detained_on", fields.detained_on),
            ("released_on", fields.released_on),
        ];
        PartialDate::check_none_in_future(&order)?;
        PartialDate::check_none_in_future(&[("last_seen_on", fields.last_seen_on)])?;
        for (i, (earlier_name, earlier)) in order.iter().enumerate() {
            for (later_name, later) in &order[i + 1..] {
                if let (Some(a), Some(b)) = (earlier, later) {
                    if a.certainly_after(b) {
                        return Err(AppError::validation(format!(
                            "{earlier_name} is after {later_name}"
                        )));
                    }
                }
            }
        }
        if let (Some(born), Some(seen)) = (fields.birth_date, fields.last_seen_on) {
            if born.certainly_after(&seen) {
                return Err(AppError::validation("birth_date is after last_seen_on"));
            }
        }
        Ok(fields)
    }

    /// The file's `review_status` decides whether its `status` may become
    /// `released` (docs/review-workflow.md, "The release gate"): `self` is
    /// the content after a change, `before` the content before it (`None`
    /// for a new file).
    pub fn release_gate(
        &self,
        before: Option<&DetaineeFields>,
        review: ReviewStatus,
    ) -> Result<(), AppError> {
        let becomes_released = self.status == DetaineeStatus::Released
            && before.is_none_or(|b| b.status != DetaineeStatus::Released);
        if becomes_released && review != ReviewStatus::ClearedForRelease {
            return Err(AppError::Conflict {
                code: crate::error::Code::ReviewRequired,
                detail: format!(
                    "a file can be marked released only once a review has cleared it (review_status is {review})"
                ),
            });
        }
        Ok(())
    }

    /// What a review decision is about.
    pub fn accusation(&self) -> Accusation {
        Accusation {
            category: self.category,
            major_crimes_accusation: self.major_crimes_accusation,
            accusation_summary: self.accusation_summary.clone(),
        }
    }

    /// Does `other` change what a review decision was about?
    pub fn review_relevant_changes(&self, other: &DetaineeFields) -> bool {
        self.accusation() != other.accusation()
    }
}

/// The three fields a review decision is about: whether the person is held
/// as a political detainee or accused of crimes, of major crimes, and of
/// what. A change to any of them after a decision sends the file back to
/// review, and a withdrawn review restores an earlier clearance only when
/// they are as they were when the review opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accusation {
    pub category: Category,
    pub major_crimes_accusation: bool,
    pub accusation_summary: Option<String>,
}

/// A file as stored.
#[derive(Debug, Clone)]
pub struct Detainee {
    pub id: Uuid,
    pub reference: String,
    pub organization_id: Uuid,
    pub fields: DetaineeFields,
    pub source_notes: Option<String>,
    pub review_status: ReviewStatus,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: Uuid,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Uuid,
    pub archived_at: Option<DateTime<Utc>>,
    pub merged_into: Option<Uuid>,
}

/// `source_notes` as a caller may see it: the value (possibly null) for the
/// owning organisation's caseworkers, auditors and reviewers whose review
/// scope holds the file (`scope::sees_source_notes`), nothing at all otherwise.
#[derive(Debug, Clone)]
pub enum Confidential {
    Shown(Option<String>),
    Withheld,
}

impl Confidential {
    fn is_withheld(&self) -> bool {
        matches!(self, Confidential::Withheld)
    }
}

impl Serialize for Confidential {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Confidential::Shown(value) => value.serialize(serializer),
            Confidential::Withheld => serializer.serialize_none(),
        }
    }
}

/// A file as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab3c2-7f10-7000-8000-000000000201",
    "reference": "SJL-000123",
    "organization_id": "019ab3c2-7f10-7000-8000-000000000001",
    "full_name": "Mohammed Abdulrahman Al-Hassan",
    "name_ar": "محمد عبد الرحمن الحسن",
    "aliases": ["Abu Ahmad"],
    "sex": "male",
    "birth_date": "1987",
    "place_of_origin": "Douma",
    "status": "disappeared",
    "category": "political",
    "major_crimes_accusation": false,
    "accusation_summary": null,
    "facility_id": "019ab3c2-7f10-7000-8000-000000000101",
    "detained_on": "2013-04",
    "last_seen_on": "2014-11-02",
    "released_on": null,
    "notes": "Arrested at a checkpoint in Harasta.",
    "external_ref": "SN-004512",
    "source_notes": "Testimony of a cellmate, interview 2025-01-12.",
    "review_status": "not_reviewed",
    "version": 1,
    "created_at": "2026-11-26T07:30:00.123456Z",
    "created_by": "019ab3c2-7f10-7000-8000-000000000002",
    "updated_at": "2026-11-26T07:30:00.123456Z",
    "updated_by": "019ab3c2-7f10-7000-8000-000000000002",
    "archived_at": null,
    "merged_into": null
}))]
pub struct DetaineeView {
    pub id: Uuid,
    pub reference: String,
    pub organization_id: Uuid,
    #[serde(flatten)]
    pub fields: DetaineeFields,
    /// Confidential: only in a single file's answer, for the owning
    /// organisation's caseworkers, auditors, and reviewers of the file's
    /// reviews they may act on; never in lists or search results (the
    /// member is absent then).
    #[serde(skip_serializing_if = "Confidential::is_withheld")]
    #[schema(value_type = Option<String>)]
    pub source_notes: Confidential,
    pub review_status: ReviewStatus,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: Uuid,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Uuid,
    pub archived_at: Option<DateTime<Utc>>,
    pub merged_into: Option<Uuid>,
}

impl Versioned for DetaineeView {
    fn version(&self) -> i64 {
        self.version
    }
}

impl Detainee {
    /// The file's names as `(field, text)`: what a search scores and the
    /// name index keys.
    pub fn names(&self) -> Vec<(&'static str, &str)> {
        let f = &self.fields;
        named_fields(&f.full_name, f.name_ar.as_deref(), &f.aliases)
    }

    /// The file as the name index knows it.
    pub fn indexed(&self) -> IndexedFile<'_> {
        IndexedFile {
            id: self.id,
            organization_id: self.organization_id,
            names: self.names(),
        }
    }

    /// No clear-then-edit: once a review has decided, changing what the
    /// decision was about (`fields` replacing the current content) sends the
    /// file back to `not_reviewed`; other edits leave the status alone.
    pub fn review_status_after(&self, fields: &DetaineeFields) -> ReviewStatus {
        let decided = matches!(
            self.review_status,
            ReviewStatus::ClearedForRelease | ReviewStatus::ReleaseWithheld
        );
        if decided && fields.review_relevant_changes(&self.fields) {
            ReviewStatus::NotReviewed
        } else {
            self.review_status
        }
    }

    pub fn view(self, source_notes_visible: bool) -> DetaineeView {
        DetaineeView {
            id: self.id,
            reference: self.reference,
            organization_id: self.organization_id,
            fields: self.fields,
            source_notes: if source_notes_visible {
                Confidential::Shown(self.source_notes)
            } else {
                Confidential::Withheld
            },
            review_status: self.review_status,
            version: self.version,
            created_at: self.created_at,
            created_by: self.created_by,
            updated_at: self.updated_at,
            updated_by: self.updated_by,
            archived_at: self.archived_at,
            merged_into: self.merged_into,
        }
    }
}

/// Only `full_name` is required. The owner, reference, review status and
/// version are the server's: sending them is refused.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "full_name": "Mohammed Abdulrahman Al-Hassan",
    "name_ar": "محمد عبد الرحمن الحسن",
    "aliases": ["Abu Ahmad"],
    "sex": "male",
    "birth_date": "1987",
    "place_of_origin": "Douma",
    "status": "disappeared",
    "category": "political",
    "detained_on": "2013-04",
    "last_seen_on": "2014-11-02",
    "source_notes": "Testimony of a cellmate, interview 2025-01-12."
}))]
pub struct NewDetainee {
    /// 1–200 characters, any script.
    #[schema(value_type = crate::domain::schema::Label)]
    pub full_name: String,
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub name_ar: Option<String>,
    /// Up to 20, each up to 200 characters. Default `[]`.
    #[serde(default)]
    #[schema(value_type = crate::domain::schema::Aliases)]
    pub aliases: Vec<String>,
    /// Default `unknown`.
    pub sex: Option<Sex>,
    pub birth_date: Option<PartialDate>,
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub place_of_origin: Option<String>,
    /// Default `unknown`. `released` needs a cleared review.
    pub status: Option<DetaineeStatus>,
    /// Default `unknown`.
    pub category: Option<Category>,
    /// Default `false`.
    #[serde(default)]
    pub major_crimes_accusation: bool,
    #[schema(value_type = Option<crate::domain::schema::Notes>)]
    pub accusation_summary: Option<String>,
    /// Must name a registered facility.
    pub facility_id: Option<Uuid>,
    pub detained_on: Option<PartialDate>,
    pub last_seen_on: Option<PartialDate>,
    pub released_on: Option<PartialDate>,
    /// Up to 10,000 characters.
    #[schema(value_type = Option<crate::domain::schema::Notes>)]
    pub notes: Option<String>,
    /// The organisation's own identifier of the person, up to 100
    /// characters; unique within the organisation (409
    /// `external_ref_taken`).
    #[schema(value_type = Option<crate::domain::schema::ExternalRef>)]
    pub external_ref: Option<String>,
    /// Confidential (sources, informants); up to 10,000 characters.
    #[schema(value_type = Option<crate::domain::schema::Notes>)]
    pub source_notes: Option<String>,
}

impl NewDetainee {
    pub fn into_parts(self) -> Result<(DetaineeFields, Option<String>), AppError> {
        let source_notes = parse_notes(
            "source_notes",
            self.source_notes.as_deref(),
            MAX_NOTES_CHARS,
        )?;
        let fields = DetaineeFields {
            full_name: self.full_name,
            name_ar: self.name_ar,
            aliases: self.aliases,
            sex: self.sex.unwrap_or(Sex::Unknown),
            birth_date: self.birth_date,
            place_of_origin: self.place_of_origin,
            status: self.status.unwrap_or(DetaineeStatus::Unknown),
            category: self.category.unwrap_or(Category::Unknown),
            major_crimes_accusation: self.major_crimes_accusation,
            accusation_summary: self.accusation_summary,
            facility_id: self.facility_id,
            detained_on: self.detained_on,
            last_seen_on: self.last_seen_on,
            released_on: self.released_on,
            notes: self.notes,
            external_ref: self.external_ref,
        }
        .validated()?;
        Ok((fields, source_notes))
    }
}

/// Members present are changed; `null` clears an optional field.
#[derive(Debug, Default, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "deceased", "last_seen_on": "2015", "notes": null}))]
pub struct DetaineePatch {
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub name_ar: Option<Option<String>>,
    #[schema(value_type = Option<crate::domain::schema::Aliases>)]
    pub aliases: Option<Vec<String>>,
    pub sex: Option<Sex>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<PartialDate>)]
    pub birth_date: Option<Option<PartialDate>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub place_of_origin: Option<Option<String>>,
    pub status: Option<DetaineeStatus>,
    pub category: Option<Category>,
    pub major_crimes_accusation: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<crate::domain::schema::Notes>)]
    pub accusation_summary: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    pub facility_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<PartialDate>)]
    pub detained_on: Option<Option<PartialDate>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<PartialDate>)]
    pub last_seen_on: Option<Option<PartialDate>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<PartialDate>)]
    pub released_on: Option<Option<PartialDate>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<crate::domain::schema::Notes>)]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<crate::domain::schema::ExternalRef>)]
    pub external_ref: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<crate::domain::schema::Notes>)]
    pub source_notes: Option<Option<String>>,
}

impl DetaineePatch {
    /// The content after this patch, validated, and the new source notes.
    pub fn apply(
        self,
        current: &DetaineeFields,
        current_source_notes: &Option<String>,
    ) -> Result<(DetaineeFields, Option<String>), AppError> {
        let c = current.clone();
        let source_notes = match self.source_notes {
            Some(value) => parse_notes("source_notes", value.as_deref(), MAX_NOTES_CHARS)?,
            None => current_source_notes.clone(),
        };
        let fields = DetaineeFields {
            full_name: self.full_name.unwrap_or(c.full_name),
            name_ar: self.name_ar.unwrap_or(c.name_ar),
            aliases: self.aliases.unwrap_or(c.aliases),
            sex: self.sex.unwrap_or(c.sex),
            birth_date: self.birth_date.unwrap_or(c.birth_date),
            place_of_origin: self.place_of_origin.unwrap_or(c.place_of_origin),
            status: self.status.unwrap_or(c.status),
            category: self.category.unwrap_or(c.category),
            major_crimes_accusation: self
                .major_crimes_accusation
                .unwrap_or(c.major_crimes_accusation),
            accusation_summary: self.accusation_summary.unwrap_or(c.accusation_summary),
            facility_id: self.facility_id.unwrap_or(c.facility_id),
            detained_on: self.detained_on.unwrap_or(c.detained_on),
            last_seen_on: self.last_seen_on.unwrap_or(c.last_seen_on),
            released_on: self.released_on.unwrap_or(c.released_on),
            notes: self.notes.unwrap_or(c.notes),
            external_ref: self.external_ref.unwrap_or(c.external_ref),
        }
        .validated()?;
        Ok((fields, source_notes))
    }
}
