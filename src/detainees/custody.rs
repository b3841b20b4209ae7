//! Custody events: where a person was held, from when to when.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::scope::FileScope;
use super::store;
use crate::audit::Origin;
use crate::audit::{self, Actor, AuditAction, Changes};
use crate::db::schema::custody_events;
use crate::db::{self, DbConnection, WriteTx};
use crate::domain::{parse_notes, stored_date, stored_uuid, PartialDate, MAX_NOTES_CHARS};
use crate::error::AppError;
use crate::facilities::store as facilities;

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "019ab3c2-7f10-7000-8000-000000000301",
    "detainee_id": "019ab3c2-7f10-7000-8000-000000000201",
    "facility_id": "019ab3c2-7f10-7000-8000-000000000101",
    "from": "2013-04",
    "to": "2014-11-02",
    "note": "Transferred from Branch 215.",
    "created_at": "2026-11-26T07:30:00.123456Z",
    "created_by": "019ab3c2-7f10-7000-8000-000000000002"
}))]
pub struct CustodyEvent {
    pub id: Uuid,
    pub detainee_id: Uuid,
    pub facility_id: Uuid,
    pub from: Option<PartialDate>,
    pub to: Option<PartialDate>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "facility_id": "019ab3c2-7f10-7000-8000-000000000101",
    "from": "2013-04",
    "to": "2014-11-02",
    "note": "Transferred from Branch 215."
}))]
pub struct NewCustodyEvent {
    pub facility_id: Uuid,
    pub from: Option<PartialDate>,
    /// Not before `from`.
    pub to: Option<PartialDate>,
    /// Up to 10,000 characters.
    #[schema(value_type = Option<crate::domain::schema::Notes>)]
    pub note: Option<String>,
}

impl NewCustodyEvent {
    /// `from` not after `to`; the note bounded and free of control characters.
    pub fn validated(self) -> Result<Self, AppError> {
        PartialDate::check_none_in_future(&[("from", self.from), ("to", self.to)])?;
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from.certainly_after(&to) {
                return Err(AppError::validation("`from` is after `to`"));
            }
        }
        let note = parse_notes("note", self.note.as_deref(), MAX_NOTES_CHARS)?;
        Ok(NewCustodyEvent { note, ..self })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = custody_events)]
struct CustodyRow {
    id: String,
    detainee_id: String,
    facility_id: String,
    from_date: Option<String>,
    to_date: Option<String>,
    note: Option<String>,
    created_at: NaiveDateTime,
    created_by: String,
}

impl TryFrom<CustodyRow> for CustodyEvent {
    type Error = AppError;
    fn try_from(row: CustodyRow) -> Result<Self, AppError> {
        Ok(CustodyEvent {
            id: stored_uuid(&row.id)?,
            detainee_id: stored_uuid(&row.detainee_id)?,
            facility_id: stored_uuid(&row.facility_id)?,
            from: stored_date(row.from_date)?,
            to: stored_date(row.to_date)?,
            note: row.note,
            created_at: db::to_utc(row.created_at),
            created_by: stored_uuid(&row.created_by)?,
        })
    }
}

/// Record where a person was held, in the caller's transaction: the file
/// (locked, in `scope`, not archived) gets one more version, and the event
/// its `custody.create` entry, which names the file's version change.
pub fn record(
    conn: &mut WriteTx<'_>,
    actor: &Actor,
    file_id: Uuid,
    scope: FileScope,
    new: NewCustodyEvent,
    user_id: Uuid,
    origin: &Origin,
) -> Result<CustodyEvent, AppError> {
    let file = store::lock(conn, file_id, scope)?;
    if file.archived_at.is_some() {
        return Err(AppError::conflict(
            "the file is archived; restore it before adding to it",
        ));
    }
    facilities::require_registered(conn, Some(new.facility_id))?;
    let event = CustodyEvent {
        id: Uuid::now_v7(),
        detainee_id: file_id,
        facility_id: new.facility_id,
        from: new.from,
        to: new.to,
        note: new.note,
        created_at: db::to_utc(db::now()),
        created_by: user_id,
    };
    insert(conn, &event)?;
    let version = store::touch(conn, file_id, user_id)?;
    let changes = Changes::created_from(&event, &["id", "created_at", "created_by"]).changed(
        "detainee_version",
        file.version,
        version,
    );
    audit::append(
        conn,
        actor,
        AuditAction::CustodyCreate,
        Some(event.id.to_string()),
        changes,
        origin,
    )?;
    Ok(event)
}

fn insert(conn: &mut DbConnection, event: &CustodyEvent) -> Result<(), AppError> {
    diesel::insert_into(custody_events::table)
        .values((
            custody_events::id.eq(event.id.to_string()),
            custody_events::detainee_id.eq(event.detainee_id.to_string()),
            custody_events::facility_id.eq(event.facility_id.to_string()),
            custody_events::from_date.eq(event.from.map(|d| d.to_string())),
            custody_events::to_date.eq(event.to.map(|d| d.to_string())),
            custody_events::note.eq(&event.note),
            custody_events::created_at.eq(event.created_at.naive_utc()),
            custody_events::created_by.eq(event.created_by.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn list(
    conn: &mut DbConnection,
    detainee_id: Uuid,
    after: Option<Uuid>,
    fetch: i64,
) -> Result<Vec<CustodyEvent>, AppError> {
    let mut query = custody_events::table
        .filter(custody_events::detainee_id.eq(detainee_id.to_string()))
        .select(CustodyRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(custody_events::id.gt(after.to_string()));
    }
    query
        .order(custody_events::id.asc())
        .limit(fetch)
        .load(conn)?
        .into_iter()
        .map(CustodyEvent::try_from)
        .collect()
}

/// The ids of a file's custody events (their audit entries belong to the file's history).
pub fn ids_of(conn: &mut DbConnection, detainee_id: Uuid) -> Result<Vec<String>, AppError> {
    Ok(custody_events::table
        .filter(custody_events::detainee_id.eq(detainee_id.to_string()))
        .select(custody_events::id)
        .load(conn)?)
}
