use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::model::{Facility, FacilityFields, FacilityKind, FacilityStatus};
use crate::audit::Origin;
use crate::audit::{self, Actor, AuditAction, Changes};
use crate::db::schema::facilities;
use crate::db::{self, DbConnection, WriteTx};
use crate::domain::stored_uuid;
use crate::error::AppError;

#[derive(Queryable, Selectable)]
#[diesel(table_name = facilities)]
struct FacilityRow {
    id: String,
    name: String,
    name_ar: Option<String>,
    kind: String,
    governorate: Option<String>,
    location: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    controlling_authority: Option<String>,
    status: String,
    notes: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TryFrom<FacilityRow> for Facility {
    type Error = AppError;
    fn try_from(row: FacilityRow) -> Result<Self, AppError> {
        Ok(Facility {
            id: stored_uuid(&row.id)?,
            fields: FacilityFields {
                name: row.name,
                name_ar: row.name_ar,
                kind: row.kind.parse()?,
                governorate: row.governorate,
                location: row.location,
                latitude: row.latitude,
                longitude: row.longitude,
                controlling_authority: row.controlling_authority,
                status: row.status.parse()?,
                notes: row.notes,
            },
            version: row.version,
            created_at: db::to_utc(row.created_at),
            updated_at: db::to_utc(row.updated_at),
        })
    }
}

/// Register a facility and its `facility.create` entry, in the caller's transaction.
pub fn create(
    conn: &mut WriteTx<'_>,
    actor: &Actor,
    fields: FacilityFields,
    origin: &Origin,
) -> Result<Facility, AppError> {
    let facility = insert(conn, fields)?;
    audit::append(
        conn,
        actor,
        AuditAction::FacilityCreate,
        Some(facility.id.to_string()),
        Changes::created_from(&facility.fields, &[]),
        origin,
    )?;
    Ok(facility)
}

fn insert(conn: &mut DbConnection, fields: FacilityFields) -> Result<Facility, AppError> {
    let now = db::now();
    let facility = Facility {
        id: Uuid::now_v7(),
        fields,
        version: 1,
        created_at: db::to_utc(now),
        updated_at: db::to_utc(now),
    };
    let f = &facility.fields;
    diesel::insert_into(facilities::table)
        .values((
            facilities::id.eq(facility.id.to_string()),
            facilities::name.eq(&f.name),
            facilities::name_ar.eq(&f.name_ar),
            facilities::kind.eq(f.kind.as_str()),
            facilities::governorate.eq(&f.governorate),
            facilities::location.eq(&f.location),
            facilities::latitude.eq(f.latitude),
            facilities::longitude.eq(f.longitude),
            facilities::controlling_authority.eq(&f.controlling_authority),
            facilities::status.eq(f.status.as_str()),
            facilities::notes.eq(&f.notes),
            facilities::version.eq(1),
            facilities::created_at.eq(now),
            facilities::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(facility)
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<Option<Facility>, AppError> {
    facilities::table
        .find(id.to_string())
        .select(FacilityRow::as_select())
        .first(conn)
        .optional()?
        .map(Facility::try_from)
        .transpose()
}

pub fn exists(conn: &mut DbConnection, id: Uuid) -> Result<bool, AppError> {
    Ok(
        diesel::select(diesel::dsl::exists(facilities::table.find(id.to_string())))
            .get_result(conn)?,
    )
}

/// A facility named by a file or a custody record must be registered (422 otherwise).
pub fn require_registered(conn: &mut DbConnection, id: Option<Uuid>) -> Result<(), AppError> {
    match id {
        Some(id) if !exists(conn, id)? => Err(AppError::validation(
            "facility_id names no registered facility",
        )),
        _ => Ok(()),
    }
}

#[derive(Debug, Default)]
pub struct FacilityFilter {
    pub kind: Option<FacilityKind>,
    pub status: Option<FacilityStatus>,
    pub governorate: Option<String>,
}

pub fn list(
    conn: &mut DbConnection,
    filter: &FacilityFilter,
    after: Option<Uuid>,
    fetch: i64,
) -> Result<Vec<Facility>, AppError> {
    let mut query = facilities::table
        .select(FacilityRow::as_select())
        .into_boxed();
    if let Some(kind) = filter.kind {
        query = query.filter(facilities::kind.eq(kind.as_str()));
    }
    if let Some(status) = filter.status {
        query = query.filter(facilities::status.eq(status.as_str()));
    }
    if let Some(governorate) = &filter.governorate {
        query = query.filter(facilities::governorate.eq(governorate.clone()));
    }
    if let Some(after) = after {
        query = query.filter(facilities::id.gt(after.to_string()));
    }
    query
        .order(facilities::id.asc())
        .limit(fetch)
        .load(conn)?
        .into_iter()
        .map(Facility::try_from)
        .collect()
}

/// Write the new content and version; the row must have been locked and its
/// version checked in this transaction.
pub fn update(conn: &mut DbConnection, facility: &Facility) -> Result<(), AppError> {
    let f = &facility.fields;
    diesel::update(facilities::table.find(facility.id.to_string()))
        .set((
            facilities::name.eq(&f.name),
            facilities::name_ar.eq(&f.name_ar),
            facilities::kind.eq(f.kind.as_str()),
            facilities::governorate.eq(&f.governorate),
            facilities::location.eq(&f.location),
            facilities::latitude.eq(f.latitude),
            facilities::longitude.eq(f.longitude),
            facilities::controlling_authority.eq(&f.controlling_authority),
            facilities::status.eq(f.status.as_str()),
            facilities::notes.eq(&f.notes),
            facilities::version.eq(facility.version),
            facilities::updated_at.eq(facility.updated_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}
