//! Attachment records and the stored objects they name.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::model::{Attachment, MediaType};
use super::storage::Received;
use crate::db::schema::{attachment_objects, attachments};
use crate::db::{self, DbConnection, WriteTx};
use crate::domain::stored_uuid;
use crate::error::AppError;

#[derive(Queryable, Selectable)]
#[diesel(table_name = attachments)]
struct AttachmentRow {
    id: String,
    detainee_id: String,
    object_id: Option<String>,
    sha256: String,
    size: i64,
    media_type: String,
    filename: String,
    description: Option<String>,
    uploaded_by: String,
    uploaded_at: NaiveDateTime,
    archived_at: Option<NaiveDateTime>,
    purged_at: Option<NaiveDateTime>,
}

impl TryFrom<AttachmentRow> for Attachment {
    type Error = AppError;
    fn try_from(row: AttachmentRow) -> Result<Self, AppError> {
        Ok(Attachment {
            id: stored_uuid(&row.id)?,
            detainee_id: stored_uuid(&row.detainee_id)?,
            object_id: row.object_id,
            sha256: row.sha256,
            size: row.size,
            media_type: MediaType::parse_stored(&row.media_type)?,
            filename: row.filename,
            description: row.description,
            uploaded_by: stored_uuid(&row.uploaded_by)?,
            uploaded_at: db::to_utc(row.uploaded_at),
            archived_at: row.archived_at.map(db::to_utc),
            purged_at: row.purged_at.map(db::to_utc),
        })
    }
}

/// A stored object: one content of one organisation.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attachment_objects)]
pub struct StoredObject {
    pub id: String,
    pub organization_id: String,
    pub sha256: String,
    pub size: i64,
    pub stored_as: String,
    pub key_id: String,
}

impl StoredObject {
    pub fn size(&self) -> u64 {
        u64::try_from(self.size).unwrap_or(0)
    }
}

/// What an upload adds.
pub struct NewAttachment {
    pub detainee_id: Uuid,
    pub organization_id: Uuid,
    pub media_type: MediaType,
    pub filename: String,
    pub description: Option<String>,
    pub uploaded_by: Uuid,
}

/// What recording an upload did.
pub struct Recorded {
    pub attachment: Attachment,
    /// An object to remove from the store once this commits: the new
    /// upload when an object of the same content was reused, or the broken
    /// object the new upload replaced.
    pub remove: Option<String>,
    /// The organisation's object of this content had gone missing or
    /// changed in the store, and this upload restored it.
    pub restored: bool,
}

/// The organisation's object of a content, if one is recorded.
pub fn object_of_content(
    conn: &mut DbConnection,
    organization: Uuid,
    sha256: &str,
) -> Result<Option<StoredObject>, AppError> {
    Ok(attachment_objects::table
        .filter(attachment_objects::organization_id.eq(organization.to_string()))
        .filter(attachment_objects::sha256.eq(sha256))
        .select(StoredObject::as_select())
        .first(conn)
        .optional()?)
}

/// Record an upload whose content is in the store as `received`, under
/// key `key_id`. The organisation's object with the same hash is reused
/// (locked, so a purge cannot remove it under this attachment), unless it
/// is `broken` (found missing or changed in the store just before): then
/// the new upload takes its place.
pub fn record(
    tx: &mut WriteTx<'_>,
    new: NewAttachment,
    received: &Received,
    key_id: &str,
    broken: Option<&str>,
) -> Result<Recorded, AppError> {
    let organization = new.organization_id.to_string();
    // Locked as it is read (PostgreSQL: a purge that removes it first
    // makes this find nothing, never a row gone by the insert below).
    let existing = |tx: &mut WriteTx<'_>| -> Result<Option<StoredObject>, AppError> {
        let of_content = || {
            attachment_objects::table
                .filter(attachment_objects::organization_id.eq(&organization))
                .filter(attachment_objects::sha256.eq(&received.sha256))
        };
        if let DbConnection::Postgresql(pg) = tx.conn() {
            of_content()
                .select(attachment_objects::id)
                .for_update()
                .load::<String>(pg)?;
        }
        Ok(of_content()
            .select(StoredObject::as_select())
            .first(tx.conn())
            .optional()?)
    };
    let now = db::now();
    let (object, remove, restored) = match existing(tx)? {
        Some(object) if Some(object.id.as_str()) == broken => {
            moved(
                tx,
                &object.id,
                &object.stored_as,
                &received.object_id,
                key_id,
            )?;
            let old = object.stored_as.clone();
            let object = StoredObject {
                stored_as: received.object_id.clone(),
                key_id: key_id.to_owned(),
                ..object
            };
            (object, Some(old), true)
        }
        Some(object) => (object, Some(received.object_id.clone()), false),
        None => {
            let object = StoredObject {
                id: Uuid::now_v7().to_string(),
                organization_id: organization.clone(),
                sha256: received.sha256.clone(),
                size: i64::try_from(received.size).map_err(AppError::internal)?,
                stored_as: received.object_id.clone(),
                key_id: key_id.to_owned(),
            };
            let row = (
                attachment_objects::id.eq(&object.id),
                attachment_objects::organization_id.eq(&object.organization_id),
                attachment_objects::sha256.eq(&object.sha256),
                attachment_objects::size.eq(object.size),
                attachment_objects::stored_as.eq(&object.stored_as),
                attachment_objects::key_id.eq(&object.key_id),
                attachment_objects::created_at.eq(now),
            );
            // Another upload of the same content may have recorded it
            // since (PostgreSQL): then that one is used and ours is not.
            if crate::insert_rows!(tx.conn(), attachment_objects::table, &[row][..], or_ignore)?
                == 1
            {
                (object, None, false)
            } else {
                let object = existing(tx)?.ok_or_else(|| {
                    AppError::internal_msg("an object vanished while its upload was recorded")
                })?;
                (object, Some(received.object_id.clone()), false)
            }
        }
    };
    let attachment = Attachment {
        id: Uuid::now_v7(),
        detainee_id: new.detainee_id,
        object_id: Some(object.id.clone()),
        sha256: object.sha256,
        size: object.size,
        media_type: new.media_type,
        filename: new.filename,
        description: new.description,
        uploaded_by: new.uploaded_by,
        uploaded_at: db::to_utc(now),
        archived_at: None,
        purged_at: None,
    };
    diesel::insert_into(attachments::table)
        .values((
            attachments::id.eq(attachment.id.to_string()),
            attachments::detainee_id.eq(attachment.detainee_id.to_string()),
            attachments::object_id.eq(&attachment.object_id),
            attachments::sha256.eq(&attachment.sha256),
            attachments::size.eq(attachment.size),
            attachments::media_type.eq(attachment.media_type.as_str()),
            attachments::filename.eq(&attachment.filename),
            attachments::description.eq(&attachment.description),
            attachments::uploaded_by.eq(attachment.uploaded_by.to_string()),
            attachments::uploaded_at.eq(now),
        ))
        .execute(tx.conn())?;
    Ok(Recorded {
        attachment,
        remove,
        restored,
    })
}

/// One attachment, whatever its state.
pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<Option<Attachment>, AppError> {
    attachments::table
        .find(id.to_string())
        .select(AttachmentRow::as_select())
        .first(conn)
        .optional()?
        .map(Attachment::try_from)
        .transpose()
}

/// One attachment, locked until the end of the transaction.
pub fn lock(tx: &mut WriteTx<'_>, id: Uuid) -> Result<Option<Attachment>, AppError> {
    db::lock_row(tx, "attachments", &id.to_string())?;
    find(tx.conn(), id)
}

/// The object an attachment's content is in.
pub fn object(conn: &mut DbConnection, object_id: &str) -> Result<StoredObject, AppError> {
    attachment_objects::table
        .find(object_id)
        .select(StoredObject::as_select())
        .first(conn)
        .map_err(AppError::from)
}

/// A file's attachments in id (upload) order, after `after`; archived ones
/// only when asked.
pub fn list_for_file(
    conn: &mut DbConnection,
    detainee_id: Uuid,
    include_archived: bool,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Attachment>, AppError> {
    let mut query = attachments::table
        .filter(attachments::detainee_id.eq(detainee_id.to_string()))
        .select(AttachmentRow::as_select())
        .order(attachments::id)
        .limit(limit)
        .into_boxed();
    if !include_archived {
        query = query.filter(attachments::archived_at.is_null());
    }
    if let Some(after) = after {
        query = query.filter(attachments::id.gt(after.to_string()));
    }
    query
        .load(conn)?
        .into_iter()
        .map(Attachment::try_from)
        .collect()
}

/// Archive a locked attachment.
pub fn archive(tx: &mut WriteTx<'_>, id: Uuid, by: Uuid) -> Result<Attachment, AppError> {
    diesel::update(attachments::table.find(id.to_string()))
        .set((
            attachments::archived_at.eq(db::now()),
            attachments::archived_by.eq(by.to_string()),
        ))
        .execute(tx.conn())?;
    find(tx.conn(), id)?.ok_or(AppError::NotFound)
}

/// Purge a locked, archived attachment: it no longer names its object; an
/// object no attachment names any more is forgotten, and its name returned
/// for the caller to remove from the store once this commits. The object
/// is locked first, and its attachments counted in SQL, so an upload of
/// the same content at the same moment either reuses it before (and it
/// stays) or finds it gone (and keeps its own).
pub fn purge(
    tx: &mut WriteTx<'_>,
    attachment: &Attachment,
    by: Uuid,
) -> Result<Option<String>, AppError> {
    let Some(object_id) = &attachment.object_id else {
        return Ok(None);
    };
    db::lock_row(tx, "attachment_objects", object_id)?;
    diesel::update(attachments::table.find(attachment.id.to_string()))
        .set((
            attachments::object_id.eq(None::<String>),
            attachments::purged_at.eq(db::now()),
            attachments::purged_by.eq(by.to_string()),
        ))
        .execute(tx.conn())?;
    let still_named: i64 = attachments::table
        .filter(attachments::object_id.eq(object_id))
        .count()
        .get_result(tx.conn())?;
    if still_named > 0 {
        return Ok(None);
    }
    let object = object(tx.conn(), object_id)?;
    diesel::delete(attachment_objects::table.find(object_id)).execute(tx.conn())?;
    Ok(Some(object.stored_as))
}

/// Stored objects in id order after `after` (verification, rotation);
/// only those under a key other than `not_key` when given.
pub fn objects(
    conn: &mut DbConnection,
    after: Option<&str>,
    not_key: Option<&str>,
    limit: i64,
) -> Result<Vec<StoredObject>, AppError> {
    let mut query = attachment_objects::table
        .select(StoredObject::as_select())
        .order(attachment_objects::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(attachment_objects::id.gt(after.to_owned()));
    }
    if let Some(key) = not_key {
        query = query.filter(attachment_objects::key_id.ne(key.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Point an object's record from its object `from` to `to` (a rotation's
/// copy, or an upload restoring a broken object); `false` when the record
/// no longer names `from` (purged, or moved by someone else meanwhile):
/// then `to` is the caller's to remove.
pub fn moved(
    tx: &mut WriteTx<'_>,
    object_id: &str,
    from: &str,
    to: &str,
    key_id: &str,
) -> Result<bool, AppError> {
    let updated = diesel::update(
        attachment_objects::table
            .find(object_id)
            .filter(attachment_objects::stored_as.eq(from)),
    )
    .set((
        attachment_objects::stored_as.eq(to),
        attachment_objects::key_id.eq(key_id),
    ))
    .execute(tx.conn())?;
    Ok(updated == 1)
}

/// The store names of every recorded object (to find objects no record names).
pub fn names_recorded(
    conn: &mut DbConnection,
) -> Result<std::collections::HashSet<String>, AppError> {
    Ok(attachment_objects::table
        .select(attachment_objects::stored_as)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}
