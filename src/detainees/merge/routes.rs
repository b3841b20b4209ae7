//! `POST /detainees/{id}/merge` and `/unmerge`: the two files locked, the
//! rule (`super`) applied, the rows moved (`super::store`), one audit entry
//! per file.

use actix_web::post;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::{self, NewMerge};
use super::{self as rule, Snapshot};
use crate::audit::{self, Actor, AuditAction, Changes, Fingerprints, Origin};
use crate::auth::{can, Authorized};
use crate::db::{self, WriteTx};
use crate::detainees::model::{Detainee, DetaineeView};
use crate::detainees::scope::FileScope;
use crate::detainees::store as files;
use crate::error::{AppError, Problem};
use crate::http::etag::ok_with_etag;
use crate::reviews::store as reviews;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The file to fold into this one (it is archived, pointing here).
    pub duplicate_id: Uuid,
}

/// Both files, locked in id order (so that two merges of the same pair
/// cannot deadlock; both locks are attempted whatever the first gives).
/// The file in the path that is missing or out of reach is 404; a
/// `duplicate_id` that is is a bad value in the body (422).
fn locked_pair(
    conn: &mut WriteTx<'_>,
    survivor: Uuid,
    duplicate: Uuid,
    scope: FileScope,
) -> Result<(Detainee, Detainee), AppError> {
    let (first, second) = if survivor < duplicate {
        (survivor, duplicate)
    } else {
        (duplicate, survivor)
    };
    let first = files::lock(conn, first, scope);
    let second = files::lock(conn, second, scope);
    let (survivor_file, duplicate_file) = if survivor < duplicate {
        (first, second)
    } else {
        (second, first)
    };
    let duplicate_file = duplicate_file.map_err(|err| match err {
        AppError::NotFound => {
            AppError::validation("duplicate_id names no file of your organisation")
        }
        other => other,
    });
    Ok((survivor_file?, duplicate_file?))
}

/// Fold `duplicate_id` into this file (caseworkers of the organisation that owns both).
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The surviving file", body = DetaineeView, headers(("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "The file is not in your organisation", body = Problem),
        (status = 409, description = "Archived, the same file, or under an undecided review", body = Problem),
        (status = 422, description = "duplicate_id names no file of your organisation, or the two files together would break a rule (more than 20 names, notes over the limit, dates out of order)", body = Problem),
    )
)]
#[post("/detainees/{id}/merge")]
pub async fn merge(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::WriteDetainees>,
    id: web::Path<Uuid>,
    body: web::Json<MergeRequest>,
) -> Result<HttpResponse, AppError> {
    let (id, duplicate_id) = (id.into_inner(), body.into_inner().duplicate_id);
    let caller = auth.caller;
    let (actor, scope, user_id) = (caller.actor(), FileScope::of(&caller), caller.user.id);
    let fingerprints = state.fingerprints.clone();
    let survivor = state
        .db
        .write(move |conn| {
            rule::check_distinct(id, duplicate_id)?;
            let (survivor, duplicate) = locked_pair(conn, id, duplicate_id, scope)?;
            let under_review = reviews::undecided_exists(conn, id)?
                || reviews::undecided_exists(conn, duplicate_id)?;
            rule::check_mergeable(&survivor, &duplicate, under_review)?;
            let merged = rule::merged(&survivor, &duplicate)?;
            let now = db::to_utc(db::now());
            let mut next = Detainee {
                fields: merged.fields,
                source_notes: merged.source_notes,
                review_status: merged.review_status,
                updated_at: now,
                updated_by: user_id,
                ..survivor.clone()
            };
            files::save(conn, &mut next)?;
            crate::search::index::update(conn, &next.indexed())?;
            let moved = store::move_custody(conn, duplicate_id, id)?;
            let mut folded = Detainee {
                archived_at: Some(now),
                merged_into: Some(id),
                updated_at: now,
                updated_by: user_id,
                ..duplicate.clone()
            };
            files::save(conn, &mut folded)?;
            store::record(
                conn,
                NewMerge {
                    survivor_id: id,
                    duplicate_id,
                    before: &Snapshot::of(&survivor),
                    survivor_version: next.version,
                    moved_custody: &moved,
                    merged_at: now,
                    merged_by: user_id,
                },
            )?;
            let pair = Pair {
                survivor: (&survivor, &next),
                duplicate: (&duplicate, &folded),
                custody: &moved,
            };
            audit_pair(
                conn,
                &actor,
                &fingerprints,
                &origin,
                AuditAction::DetaineeMerge,
                pair,
            )?;
            Ok(next)
        })
        .await?;
    Ok(ok_with_etag(&survivor.view(true)))
}

/// The two files of a merge (or unmerge), each before and after, and the
/// custody records that moved between them.
struct Pair<'a> {
    survivor: (&'a Detainee, &'a Detainee),
    duplicate: (&'a Detainee, &'a Detainee),
    custody: &'a [String],
}

/// One audit entry per file touched.
fn audit_pair(
    conn: &mut WriteTx<'_>,
    actor: &Actor,
    fingerprints: &Fingerprints,
    origin: &Origin,
    action: AuditAction,
    pair: Pair<'_>,
) -> Result<(), AppError> {
    let Pair {
        survivor,
        duplicate,
        custody,
    } = pair;
    let stamp =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| db::format_timestamp(t.naive_utc()));
    let (before, after) = survivor;
    let changes = Changes::diff(&before.fields, &after.fields, &[])
        .changed(
            "source_notes",
            fingerprints.source_notes(&before.source_notes),
            fingerprints.source_notes(&after.source_notes),
        )
        .changed(
            "review_status",
            before.review_status.as_str(),
            after.review_status.as_str(),
        )
        .changed("version", before.version, after.version)
        .created("other_file", duplicate.0.id.to_string())
        .created("custody_moved", serde_json::json!(custody));
    audit::append(
        conn,
        actor,
        action,
        Some(after.id.to_string()),
        changes,
        origin,
    )?;
    let (before, after) = duplicate;
    let changes = Changes::new()
        .changed(
            "archived_at",
            stamp(before.archived_at),
            stamp(after.archived_at),
        )
        .changed(
            "merged_into",
            before.merged_into.map(|i| i.to_string()),
            after.merged_into.map(|i| i.to_string()),
        )
        .changed("version", before.version, after.version)
        .created("other_file", survivor.1.id.to_string());
    audit::append(
        conn,
        actor,
        action,
        Some(after.id.to_string()),
        changes,
        origin,
    )?;
    Ok(())
}

/// Undo the merge of `duplicate_id` into this file.
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The survivor as it was before the merge", body = DetaineeView, headers(("ETag" = String))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "No such merge of files in your organisation", body = Problem),
        (status = 409, description = "The survivor was edited since the merge", body = Problem),
        (status = 422, description = "duplicate_id names no file of your organisation", body = Problem),
    )
)]
#[post("/detainees/{id}/unmerge")]
pub async fn unmerge(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::WriteDetainees>,
    id: web::Path<Uuid>,
    body: web::Json<MergeRequest>,
) -> Result<HttpResponse, AppError> {
    let (id, duplicate_id) = (id.into_inner(), body.into_inner().duplicate_id);
    let caller = auth.caller;
    let (actor, scope, user_id) = (caller.actor(), FileScope::of(&caller), caller.user.id);
    let fingerprints = state.fingerprints.clone();
    let survivor = state
        .db
        .write(move |conn| {
            let (survivor, duplicate) = locked_pair(conn, id, duplicate_id, scope)?;
            let Some(record) = store::find_open(conn, id, duplicate_id)? else {
                return Err(AppError::NotFound);
            };
            if survivor.version != record.survivor_version || duplicate.merged_into != Some(id) {
                return Err(AppError::conflict(
                    "the file was edited since the merge; separate the two files by hand",
                ));
            }
            let now = db::to_utc(db::now());
            let mut restored = Detainee {
                fields: record.before.fields,
                source_notes: record.before.source_notes,
                review_status: record.before.review_status,
                updated_at: now,
                updated_by: user_id,
                ..survivor.clone()
            };
            files::save(conn, &mut restored)?;
            crate::search::index::update(conn, &restored.indexed())?;
            let moved = record.moved_custody;
            store::return_custody(conn, &moved, duplicate_id)?;
            let mut separated = Detainee {
                archived_at: None,
                merged_into: None,
                updated_at: now,
                updated_by: user_id,
                ..duplicate.clone()
            };
            files::save(conn, &mut separated)?;
            store::close(conn, &record.id, now)?;
            let pair = Pair {
                survivor: (&survivor, &restored),
                duplicate: (&duplicate, &separated),
                custody: &moved,
            };
            audit_pair(
                conn,
                &actor,
                &fingerprints,
                &origin,
                AuditAction::DetaineeUnmerge,
                pair,
            )?;
            Ok(restored)
        })
        .await?;
    Ok(ok_with_etag(&survivor.view(true)))
}
