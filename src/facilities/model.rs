use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{
    parse_coordinates, parse_notes, parse_optional_text, parse_text, present, MAX_NAME_CHARS,
    MAX_NOTES_CHARS,
};
use crate::error::AppError;
use crate::http::Versioned;
use crate::text_enum;

text_enum! {
    pub enum FacilityKind {
        MilitaryPrison => "military_prison",
        CivilPrison => "civil_prison",
        IntelligenceBranch => "intelligence_branch",
        PoliceStation => "police_station",
        UnofficialSite => "unofficial_site",
        Other => "other",
    }
}

text_enum! {
    pub enum FacilityStatus {
        Operating => "operating",
        Liberated => "liberated",
        Closed => "closed",
        Unknown => "unknown",
    }
}

/// The editable content of a facility record, validated.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FacilityFields {
    pub name: String,
    pub name_ar: Option<String>,
    pub kind: FacilityKind,
    pub governorate: Option<String>,
    pub location: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub controlling_authority: Option<String>,
    pub status: FacilityStatus,
    pub notes: Option<String>,
}

impl FacilityFields {
    /// Check every field; the one place facility content is validated.
    pub fn validated(self) -> Result<Self, AppError> {
        let coordinates = parse_coordinates(self.latitude, self.longitude)?;
        Ok(FacilityFields {
            name: parse_text("name", &self.name, MAX_NAME_CHARS)?,
            name_ar: parse_optional_text("name_ar", self.name_ar.as_deref(), MAX_NAME_CHARS)?,
            kind: self.kind,
            governorate: parse_optional_text(
                "governorate",
                self.governorate.as_deref(),
                MAX_NAME_CHARS,
            )?,
            location: parse_optional_text("location", self.location.as_deref(), MAX_NAME_CHARS)?,
            latitude: coordinates.map(|c| c.0),
            longitude: coordinates.map(|c| c.1),
            controlling_authority: parse_optional_text(
                "controlling_authority",
                self.controlling_authority.as_deref(),
                MAX_NAME_CHARS,
            )?,
            status: self.status,
            notes: parse_notes("notes", self.notes.as_deref(), MAX_NOTES_CHARS)?,
        })
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab3c2-7f10-7000-8000-000000000101",
    "name": "Sednaya Military Prison",
    "name_ar": "سجن صيدنايا العسكري",
    "kind": "military_prison",
    "governorate": "Rif Dimashq",
    "location": "Sednaya",
    "latitude": 33.6649,
    "longitude": 36.3313,
    "controlling_authority": "Military Police",
    "status": "liberated",
    "notes": null,
    "version": 1,
    "created_at": "2026-11-26T07:30:00.123456Z",
    "updated_at": "2026-11-26T07:30:00.123456Z"
}))]
pub struct Facility {
    pub id: Uuid,
    #[serde(flatten)]
    pub fields: FacilityFields,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Versioned for Facility {
    fn version(&self) -> i64 {
        self.version
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Sednaya Military Prison",
    "name_ar": "سجن صيدنايا العسكري",
    "kind": "military_prison",
    "governorate": "Rif Dimashq",
    "latitude": 33.6649,
    "longitude": 36.3313,
    "status": "liberated"
}))]
pub struct NewFacility {
    /// 1–200 characters.
    #[schema(value_type = crate::domain::schema::Label)]
    pub name: String,
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub name_ar: Option<String>,
    pub kind: FacilityKind,
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub governorate: Option<String>,
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub location: Option<String>,
    /// −90 to 90; with `longitude`.
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub latitude: Option<f64>,
    /// −180 to 180; with `latitude`.
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub longitude: Option<f64>,
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub controlling_authority: Option<String>,
    /// Default `unknown`.
    pub status: Option<FacilityStatus>,
    /// Up to 10,000 characters.
    #[schema(value_type = Option<crate::domain::schema::Notes>)]
    pub notes: Option<String>,
}

impl NewFacility {
    pub fn into_fields(self) -> Result<FacilityFields, AppError> {
        FacilityFields {
            name: self.name,
            name_ar: self.name_ar,
            kind: self.kind,
            governorate: self.governorate,
            location: self.location,
            latitude: self.latitude,
            longitude: self.longitude,
            controlling_authority: self.controlling_authority,
            status: self.status.unwrap_or(FacilityStatus::Unknown),
            notes: self.notes,
        }
        .validated()
    }
}

/// Members present are changed; `null` clears an optional field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "liberated", "controlling_authority": null}))]
pub struct FacilityPatch {
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub name_ar: Option<Option<String>>,
    pub kind: Option<FacilityKind>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub governorate: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>, minimum = -90.0, maximum = 90.0)]
    pub latitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<f64>, minimum = -180.0, maximum = 180.0)]
    pub longitude: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<crate::domain::schema::Label>)]
    pub controlling_authority: Option<Option<String>>,
    pub status: Option<FacilityStatus>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<crate::domain::schema::Notes>)]
    pub notes: Option<Option<String>>,
}

impl FacilityPatch {
    /// The record as it would be after this patch, validated.
    pub fn apply(self, current: &FacilityFields) -> Result<FacilityFields, AppError> {
        let c = current.clone();
        FacilityFields {
            name: self.name.unwrap_or(c.name),
            name_ar: self.name_ar.unwrap_or(c.name_ar),
            kind: self.kind.unwrap_or(c.kind),
            governorate: self.governorate.unwrap_or(c.governorate),
            location: self.location.unwrap_or(c.location),
            latitude: self.latitude.unwrap_or(c.latitude),
            longitude: self.longitude.unwrap_or(c.longitude),
            controlling_authority: self
                .controlling_authority
                .unwrap_or(c.controlling_authority),
            status: self.status.unwrap_or(c.status),
            notes: self.notes.unwrap_or(c.notes),
        }
        .validated()
    }
}
