//! `/detainees/{id}/attachments` and `/attachments/{id}`: the file's
//! caseworkers upload and archive, whoever sees the file reads
//! (`detainees::scope`), an admin purges. Family representatives never.

use actix_web::body::SizedStream;
use actix_web::http::{header, StatusCode};
use actix_web::{delete, get, post};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::model::{self as attachment, Attachment, AttachmentView, MediaType};
use super::range::{self, Wanted};
use super::store::{self, NewAttachment};
use crate::audit::access::AccessAction;
use crate::audit::{self, AuditAction, Changes, Origin};
use crate::auth::{can, Authorized, Caller};
use crate::db::DbConnection;
use crate::detainees::scope::FileScope;
use crate::detainees::store as files;
use crate::error::{AppError, Code, Problem};
use crate::http::{Cursor, Page};
use crate::state::AppState;

/// A file's attachment the caller may see: the attachment, if its file is
/// in the caller's scope.
fn visible(conn: &mut DbConnection, id: Uuid, scope: FileScope) -> Result<Attachment, AppError> {
    let attachment = store::find(conn, id)?.ok_or(AppError::NotFound)?;
    files::find_in_scope(conn, attachment.detainee_id, scope)?.ok_or(AppError::NotFound)?;
    Ok(attachment)
}

fn header_text<'a>(request: &'a HttpRequest, name: &str) -> Result<Option<&'a str>, AppError> {
    request
        .headers()
        .get(name)
        .map(|v| {
            v.to_str().map_err(|_| {
                AppError::bad_request(
                    Code::ValidationFailed,
                    format!("{name} must be ASCII (percent-encode other characters)"),
                )
            })
        })
        .transpose()
}

/// Attach evidence to a file: the raw body, its type and length, its
/// original name. Streamed to the store, encrypted and hashed as it comes.
#[utoipa::path(
    tag = "attachments",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The file"),
        ("Sijill-Filename" = String, Header, description = "The original file name, percent-encoded UTF-8"),
        ("Sijill-Description" = Option<String>, Header, description = "What it is, percent-encoded UTF-8, up to 2,000 characters"),
    ),
    request_body(content = serde_json::Value, content_type = "application/pdf", description = "The content, as bytes: application/pdf, image/jpeg, image/png, image/webp, text/plain (UTF-8), audio/mpeg, audio/ogg, audio/wav or video/mp4; its first bytes must agree. With its Content-Length (no chunked uploads), at most SIJILL_ATTACHMENT_MAX_BYTES"),
    responses(
        (status = 201, description = "Stored", body = AttachmentView, headers(("Location" = String))),
        (status = 400, description = "A bad file name or description, or a body shorter or longer than its Content-Length", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "No such file in your organisation", body = Problem),
        (status = 409, description = "The file is archived", body = Problem),
        (status = 411, description = "No Content-Length", body = Problem),
        (status = 413, description = "Larger than SIJILL_ATTACHMENT_MAX_BYTES", body = Problem),
        (status = 415, description = "A type not on the list", body = Problem),
        (status = 422, description = "Empty, or the content is not what its type says", body = Problem),
    )
)]
#[post("/detainees/{id}/attachments")]
pub async fn upload(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::WriteAttachments>,
    request: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let detainee_id = id.into_inner();
    let caller = auth.caller;
    let content_type = header_text(&request, "content-type")?.unwrap_or_default();
    let media_type = MediaType::from_content_type(content_type)?;
    let filename = attachment::filename(header_text(&request, "sijill-filename")?)?;
    let description = attachment::description(header_text(&request, "sijill-description")?)?;
    let declared = declared_length(&request, state.attachments.max_bytes)?;
    let scope = FileScope::of(&caller);
    // Before a byte is stored: the file must be the caller's, and open.
    let file = state
        .db
        .read(move |conn| files::find_in_scope(conn, detainee_id, scope))
        .await?
        .ok_or(AppError::NotFound)?;
    files::editable(&file)?;
    let key = state
        .db
        .data_key()
        .cloned()
        .ok_or_else(|| AppError::internal_msg("no data key"))?;
    let storage = &state.attachments.storage;
    let received = storage
        .receive(std::sync::Arc::clone(&key), media_type, declared, body)
        .await?;
    let new = NewAttachment {
        detainee_id,
        organization_id: file.organization_id,
        media_type,
        filename,
        description,
        uploaded_by: caller.user.id,
    };
    // An object of this content already recorded must still be whole in
    // the store before the new upload is dropped in its favour; if it is
    // not (lost, altered), this upload takes its place.
    let known = {
        let (organization, sha256) = (file.organization_id, received.sha256.clone());
        state
            .db
            .read(move |conn| store::object_of_content(conn, organization, &sha256))
            .await?
    };
    let broken = match known {
        Some(object) if !storage.holds(&object.stored_as, object.size()).await? => Some(object.id),
        _ => None,
    };
    let actor = caller.actor();
    let recorded = {
        let received = received.clone();
        state
            .db
            .write(move |tx| {
                let file = files::lock(tx, detainee_id, scope)?;
                files::editable(&file)?;
                let recorded = store::record(tx, new, &received, key.id(), broken.as_deref())?;
                let attachment = &recorded.attachment;
                let changes = Changes::new()
                    .created("detainee_id", detainee_id.to_string())
                    .created("sha256", attachment.sha256.clone())
                    .created("size", attachment.size)
                    .created("media_type", attachment.media_type.as_str())
                    .created("filename", attachment.filename.clone())
                    .created("description", attachment.description.clone())
                    .changed("content_restored", false, recorded.restored);
                audit::append(
                    tx,
                    &actor,
                    AuditAction::AttachmentCreate,
                    Some(attachment.id.to_string()),
                    changes,
                    &origin,
                )?;
                Ok(recorded)
            })
            .await
    };
    let recorded = match recorded {
        Ok(recorded) => recorded,
        Err(e) => {
            // Nothing half-stored: the record was not written, so neither
            // is the content.
            if let Err(removal) = storage.remove(&received.object_id).await {
                tracing::warn!(error = ?removal, "an unrecorded upload could not be removed");
            }
            return Err(e);
        }
    };
    if let Some(object) = &recorded.remove {
        if let Err(removal) = storage.remove(object).await {
            tracing::warn!(error = ?removal, "a redundant object could not be removed");
        }
    }
    if recorded.restored {
        tracing::warn!(
            attachment = %recorded.attachment.id,
            "an upload restored a content that had gone missing or changed in the store"
        );
    }
    let attachment = recorded.attachment;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/attachments/{}", attachment.id),
        ))
        .json(AttachmentView::from(attachment)))
}

/// `Content-Length`, required and within the limit: an upload that will
/// not fit is refused before a byte is read.
fn declared_length(request: &HttpRequest, max_bytes: u64) -> Result<u64, AppError> {
    let empty = || AppError::unprocessable(Code::EmptyAttachment, "the attachment is empty");
    let Some(value) = header_text(request, "content-length")? else {
        // Neither a length nor a chunked body: no body at all.
        if request.headers().contains_key(header::TRANSFER_ENCODING) {
            return Err(AppError::refused(
                StatusCode::LENGTH_REQUIRED,
                Code::LengthRequired,
                "an attachment needs its Content-Length (no chunked uploads)",
            ));
        }
        return Err(empty());
    };
    let declared: u64 = value.trim().parse().map_err(|_| {
        AppError::bad_request(Code::LengthMismatch, "Content-Length is not a number")
    })?;
    if declared > max_bytes {
        return Err(AppError::PayloadTooLarge);
    }
    if declared == 0 {
        return Err(empty());
    }
    Ok(declared)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttachmentQuery {
    /// Include archived attachments; default false.
    pub include_archived: Option<bool>,
    /// 1–200, default 50.
    #[param(value_type = Option<crate::http::pagination::PageLimit>)]
    pub limit: Option<i64>,
    #[param(value_type = Option<crate::http::pagination::IdCursor>)]
    pub cursor: Option<String>,
}

/// A file's attachments, oldest first.
#[utoipa::path(
    tag = "attachments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The file"), AttachmentQuery),
    responses(
        (status = 200, description = "A page of attachments", body = inline(Page<AttachmentView>)),
        (status = 400, description = "Bad query", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "A role that never reads files", body = Problem),
        (status = 404, description = "No such file, or not yours to see", body = Problem),
    )
)]
#[get("/detainees/{id}/attachments")]
pub async fn list(
    state: web::Data<AppState>,
    auth: Authorized<can::ReadAttachments>,
    id: web::Path<Uuid>,
    query: web::Query<AttachmentQuery>,
) -> Result<HttpResponse, AppError> {
    let detainee_id = id.into_inner();
    let query = query.into_inner();
    let cursor = Cursor::<Uuid>::parse(query.limit, query.cursor.as_deref())?;
    let include_archived = query.include_archived.unwrap_or(false);
    let scope = FileScope::of(&auth.caller);
    let page = state
        .db
        .read(move |conn| {
            files::find_in_scope(conn, detainee_id, scope)?.ok_or(AppError::NotFound)?;
            let rows = store::list_for_file(
                conn,
                detainee_id,
                include_archived,
                cursor.after,
                cursor.fetch(),
            )?;
            Ok(cursor.page(rows, |a| a.id))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page {
        items: page.items.into_iter().map(AttachmentView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One attachment's record.
#[utoipa::path(
    tag = "attachments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The attachment", body = AttachmentView),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "A role that never reads files", body = Problem),
        (status = 404, description = "No such attachment, or its file is not yours to see", body = Problem),
    )
)]
#[get("/attachments/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    auth: Authorized<can::ReadAttachments>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let scope = FileScope::of(&auth.caller);
    let attachment = state.db.read(move |conn| visible(conn, id, scope)).await?;
    Ok(HttpResponse::Ok().json(AttachmentView::from(attachment)))
}

/// The content, decrypted as it is sent. `Range: bytes=…` answers 206
/// with those bytes only (one range; several are answered whole).
#[utoipa::path(
    tag = "attachments",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path),
        ("Range" = Option<String>, Header, description = "bytes=FIRST-LAST, bytes=FIRST- or bytes=-SUFFIX"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag (the SHA-256) already held"),
    ),
    responses(
        (status = 200, description = "The content, in its own type (Content-Disposition: attachment; ETag: its SHA-256)", content(
            (String = "application/pdf"), (String = "image/jpeg"), (String = "image/png"), (String = "image/webp"),
            (String = "text/plain"), (String = "audio/mpeg"), (String = "audio/ogg"), (String = "audio/wav"), (String = "video/mp4"))),
        (status = 206, description = "The bytes asked for", content(
            (String = "application/pdf"), (String = "image/jpeg"), (String = "image/png"), (String = "image/webp"),
            (String = "text/plain"), (String = "audio/mpeg"), (String = "audio/ogg"), (String = "audio/wav"), (String = "video/mp4"))),
        (status = 304, description = "Unchanged (If-None-Match)"),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "A role that never reads files", body = Problem),
        (status = 404, description = "No such attachment, or its file is not yours to see", body = Problem),
        (status = 410, description = "Purged by an admin: the content is gone", body = Problem),
        (status = 416, description = "A range outside the content", body = Problem),
    )
)]
#[get("/attachments/{id}/content")]
pub async fn content(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ReadAttachments>,
    request: HttpRequest,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let scope = FileScope::of(&auth.caller);
    let (attachment, object) = state
        .db
        .read(move |conn| {
            let attachment = visible(conn, id, scope)?;
            let object = match &attachment.object_id {
                Some(object_id) => Some(store::object(conn, object_id)?),
                None => None,
            };
            Ok((attachment, object))
        })
        .await?;
    let Some(object) = object else {
        return Err(AppError::refused(
            StatusCode::GONE,
            Code::ContentPurged,
            "an admin purged this attachment's content; its record and hash remain",
        ));
    };
    let etag = format!("\"{}\"", attachment.sha256);
    let size = object.size();
    let wanted = range::wanted(header_text(&request, "range")?, size)?;
    let unchanged = header_text(&request, "if-none-match")?
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let key = state
        .db
        .data_key()
        .cloned()
        .ok_or_else(|| AppError::internal_msg("no data key"))?;
    let storage = &state.attachments.storage;
    let header = storage.header(&object.stored_as).await?;
    state.access_log.record_item(
        &auth.caller.account(),
        AccessAction::AttachmentDownload,
        attachment.detainee_id,
        attachment.id,
        &origin,
    );
    let mut response = match (&wanted, unchanged) {
        (_, true) => HttpResponse::NotModified(),
        (Wanted::Whole, false) => HttpResponse::Ok(),
        (Wanted::Part(_), false) => HttpResponse::PartialContent(),
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            range::content_disposition(&attachment.filename),
        ));
    if unchanged {
        return Ok(response.finish());
    }
    let bytes = match wanted {
        Wanted::Whole => 0..size,
        Wanted::Part(part) => {
            response.insert_header((
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size}", part.start, part.end - 1),
            ));
            part
        }
    };
    let body = storage
        .read(key, header, object.stored_as, size, bytes.clone())
        .map(|piece| {
            piece.map_err(|e| {
                // The response is under way: the connection is cut, and
                // the cause logged (a changed object is evidence tampered with).
                tracing::error!(error = %e, "an attachment could not be read back");
                std::io::Error::other(e.to_string())
            })
        });
    Ok(response
        .content_type(attachment.media_type.as_str())
        .body(SizedStream::new(bytes.end - bytes.start, body)))
}

/// Archive an attachment: hidden from the file's list, its content kept
/// until an admin purges it.
#[utoipa::path(
    tag = "attachments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "Archived", body = AttachmentView),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "No such attachment in your organisation", body = Problem),
        (status = 409, description = "Already archived", body = Problem),
    )
)]
#[delete("/attachments/{id}")]
pub async fn archive(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::WriteAttachments>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let caller = auth.caller;
    let (scope, actor, user_id) = (FileScope::of(&caller), caller.actor(), caller.user.id);
    let archived = state
        .db
        .write(move |tx| {
            let current = store::lock(tx, id)?.ok_or(AppError::NotFound)?;
            // The file as for an upload: the caller's, and not archived.
            let file = files::lock(tx, current.detainee_id, scope)?;
            files::editable(&file)?;
            if current.archived_at.is_some() {
                return Err(AppError::Conflict {
                    code: Code::AlreadyArchived,
                    detail: "the attachment is archived already".to_owned(),
                });
            }
            let archived = store::archive(tx, id, user_id)?;
            let changes = Changes::new().changed(
                "archived_at",
                serde_json::Value::Null,
                archived
                    .archived_at
                    .map(|t| crate::db::format_timestamp(t.naive_utc())),
            );
            audit::append(
                tx,
                &actor,
                AuditAction::AttachmentArchive,
                Some(id.to_string()),
                changes,
                &origin,
            )?;
            Ok(archived)
        })
        .await?;
    Ok(HttpResponse::Ok().json(AttachmentView::from(archived)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurgeRequest {
    /// Why the content must go (in the audit entry).
    #[schema(value_type = crate::domain::schema::RequiredNotes)]
    pub reason: String,
}

/// Remove an archived attachment's content for good: the one way content
/// is ever removed. The record, its hash and its audit entries remain.
#[utoipa::path(
    tag = "attachments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = PurgeRequest,
    responses(
        (status = 204, description = "Purged"),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such attachment", body = Problem),
        (status = 409, description = "Not archived first, or purged already", body = Problem),
        (status = 422, description = "No reason given", body = Problem),
    )
)]
#[post("/attachments/{id}/purge")]
pub async fn purge(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::PurgeAttachments>,
    id: web::Path<Uuid>,
    body: web::Json<PurgeRequest>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let reason = crate::domain::parse_required_notes(
        "reason",
        &body.into_inner().reason,
        crate::domain::MAX_NOTES_CHARS,
    )?;
    let caller: Caller = auth.caller;
    let (actor, user_id) = (caller.actor(), caller.user.id);
    let removed = state
        .db
        .write(move |tx| {
            let current = store::lock(tx, id)?.ok_or(AppError::NotFound)?;
            if current.archived_at.is_none() {
                return Err(AppError::Conflict {
                    code: Code::NotArchived,
                    detail: "archive the attachment before purging it".to_owned(),
                });
            }
            if current.purged_at.is_some() {
                return Err(AppError::conflict("the attachment is purged already"));
            }
            let removed = store::purge(tx, &current, user_id)?;
            let changes = Changes::new()
                .created("reason", reason)
                .created("sha256", current.sha256.clone())
                .created("detainee_id", current.detainee_id.to_string());
            audit::append(
                tx,
                &actor,
                AuditAction::AttachmentPurge,
                Some(id.to_string()),
                changes,
                &origin,
            )?;
            Ok(removed)
        })
        .await?;
    if let Some(stored_as) = removed {
        // After the commit: a failure here leaves an object no record
        // names, which `sijill attachments verify` reports.
        if let Err(e) = state.attachments.storage.remove(&stored_as).await {
            tracing::error!(error = ?e, "a purged object could not be removed from the store");
        }
    }
    Ok(HttpResponse::NoContent().finish())
}
