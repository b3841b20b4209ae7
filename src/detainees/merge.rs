//! Merging duplicate files, and undoing a merge.
//!
//! The survivor keeps its own values and takes what it lacks from the
//! duplicate; aliases, notes and custody events are combined; an accusation
//! of major crimes on either file stays on the survivor. The duplicate is
//! archived with `merged_into`. The survivor's content before the merge is
//! kept, so `unmerge` restores both files exactly — as long as the survivor
//! was not edited since (then 409: separate them by hand). A merge keeps
//! the graver accusation and any refusal to release (see
//! `merged_review_status`), and its content passes the rules of a PATCH.

use actix_web::post;
use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{Detainee, DetaineeFields, DetaineeView, ReviewStatus};
use super::scope::FileScope;
use super::store;
use crate::audit::Origin;
use crate::audit::{self, Actor, AuditAction, Changes, Fingerprints};
use crate::auth::{can, Authorized};
use crate::db::schema::{custody_events, merges};
use crate::db::{self, DbConnection, WriteTx};
use crate::domain::{parse_notes, MAX_NOTES_CHARS};
use crate::error::{AppError, Problem};
use crate::http::etag::ok_with_etag;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The file to fold into this one (it is archived, pointing here).
    pub duplicate_id: Uuid,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    fields: DetaineeFields,
    source_notes: Option<String>,
    review_status: ReviewStatus,
}

/// The survivor's content after taking in the duplicate, validated as a
/// PATCH would be (422 when the two together break a rule: more than 20
/// names, notes over the limit, dates out of order).
fn combine(
    survivor: &Detainee,
    duplicate: &Detainee,
) -> Result<(DetaineeFields, Option<String>), AppError> {
    let (s, d) = (survivor.fields.clone(), &duplicate.fields);
    let mut aliases = s.aliases.clone();
    let mut add = |name: &str| {
        if name != s.full_name
            && Some(name) != s.name_ar.as_deref()
            && !aliases.iter().any(|a| a == name)
        {
            aliases.push(name.to_owned());
        }
    };
    add(&d.full_name);
    if let Some(ar) = &d.name_ar {
        if s.name_ar.is_some() {
            add(ar);
        }
    }
    for alias in &d.aliases {
        add(alias);
    }
    let join = |a: &Option<String>, b: &Option<String>, label: String| match (a, b) {
        (Some(a), Some(b)) if a != b => Some(format!("{a}\n\n[{label}]\n{b}")),
        (None, Some(b)) => Some(b.clone()),
        (a, _) => a.clone(),
    };
    let label = format!("from {}", duplicate.reference);
    let fields = DetaineeFields {
        name_ar: s.name_ar.clone().or_else(|| d.name_ar.clone()),
        aliases,
        sex: if s.sex == super::model::Sex::Unknown {
            d.sex
        } else {
            s.sex
        },
        birth_date: s.birth_date.or(d.birth_date),
        place_of_origin: s
            .place_of_origin
            .clone()
            .or_else(|| d.place_of_origin.clone()),
        // What either file says a person is accused of is not lost by
        // merging: the graver category, any accusation of major crimes, and
        // both summaries.
        category: s.category.graver(d.category),
        major_crimes_accusation: s.major_crimes_accusation || d.major_crimes_accusation,
        accusation_summary: join(&s.accusation_summary, &d.accusation_summary, label.clone()),
        facility_id: s.facility_id.or(d.facility_id),
        detained_on: s.detained_on.or(d.detained_on),
        last_seen_on: s.last_seen_on.or(d.last_seen_on),
        released_on: s.released_on.or(d.released_on),
        notes: join(&s.notes, &d.notes, label.clone()),
        ..s.clone()
    }
    .validated()
    .map_err(merged_invalid)?;
    let source_notes = parse_notes(
        "source_notes",
        join(&survivor.source_notes, &duplicate.source_notes, label).as_deref(),
        MAX_NOTES_CHARS,
    )
    .map_err(merged_invalid)?;
    Ok((fields, source_notes))
}

/// The merged file's review status: the survivor's, reset as an edit would
/// reset it when the accusation changes — and a refusal to release either
/// file survives the merge, so that a caseworker cannot merge a withheld
/// file into a cleared copy of the same person and release that.
fn merged_review_status(
    survivor: &Detainee,
    duplicate: &Detainee,
    fields: &DetaineeFields,
) -> ReviewStatus {
    let withheld = ReviewStatus::ReleaseWithheld;
    if survivor.review_status == withheld || duplicate.review_status == withheld {
        withheld
    } else {
        survivor.review_status_after(fields)
    }
}

/// A rule the two files break together: say that it is the merge.
fn merged_invalid(err: AppError) -> AppError {
    match err {
        AppError::Invalid { detail, .. } => AppError::validation(format!(
            "the merged file would break a rule ({detail}); edit one of the files first"
        )),
        other => other,
    }
}

/// Both files, locked (in a fixed order, so that two opposite merges cannot
/// deadlock), if the caller may see both.
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
    let first = store::lock(conn, first, scope);
    let second = store::lock(conn, second, scope);
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

fn undecided_review(conn: &mut DbConnection, id: Uuid) -> Result<bool, AppError> {
    crate::reviews::store::undecided_exists(conn, id)
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
            if id == duplicate_id {
                return Err(AppError::conflict("a file cannot be merged into itself"));
            }
            let (survivor, duplicate) = locked_pair(conn, id, duplicate_id, scope)?;
            if survivor.archived_at.is_some() || duplicate.archived_at.is_some() {
                return Err(AppError::conflict("archived files cannot be merged"));
            }
            if undecided_review(conn, id)? || undecided_review(conn, duplicate_id)? {
                return Err(AppError::conflict(
                    "a file under an undecided review cannot be merged",
                ));
            }
            let (fields, source_notes) = combine(&survivor, &duplicate)?;
            let review_status = merged_review_status(&survivor, &duplicate, &fields);
            let now = db::to_utc(db::now());
            let mut next = Detainee {
                fields,
                source_notes,
                review_status,
                updated_at: now,
                updated_by: user_id,
                ..survivor.clone()
            };
            store::save(conn, &mut next)?;
            crate::search::index::update(conn, &next.indexed())?;
            let moved: Vec<String> = crate::detainees::custody::ids_of(conn, duplicate_id)?;
            diesel::update(
                custody_events::table
                    .filter(custody_events::detainee_id.eq(duplicate_id.to_string())),
            )
            .set(custody_events::detainee_id.eq(id.to_string()))
            .execute(conn.conn())?;
            let mut folded = Detainee {
                archived_at: Some(now),
                merged_into: Some(id),
                updated_at: now,
                updated_by: user_id,
                ..duplicate.clone()
            };
            store::save(conn, &mut folded)?;
            let snapshot = Snapshot {
                fields: survivor.fields.clone(),
                source_notes: survivor.source_notes.clone(),
                review_status: survivor.review_status,
            };
            diesel::insert_into(merges::table)
                .values((
                    merges::id.eq(Uuid::now_v7().to_string()),
                    merges::survivor_id.eq(id.to_string()),
                    merges::duplicate_id.eq(duplicate_id.to_string()),
                    merges::survivor_before
                        .eq(serde_json::to_string(&snapshot).map_err(AppError::internal)?),
                    merges::survivor_version.eq(next.version),
                    merges::moved_custody
                        .eq(serde_json::to_string(&moved).map_err(AppError::internal)?),
                    merges::merged_at.eq(now.naive_utc()),
                    merges::merged_by.eq(user_id.to_string()),
                ))
                .execute(conn.conn())?;
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
            let record: Option<(String, String, i64, String)> = merges::table
                .filter(merges::survivor_id.eq(id.to_string()))
                .filter(merges::duplicate_id.eq(duplicate_id.to_string()))
                .filter(merges::unmerged_at.is_null())
                .select((
                    merges::id,
                    merges::survivor_before,
                    merges::survivor_version,
                    merges::moved_custody,
                ))
                .order(merges::id.desc())
                .first(conn.conn())
                .optional()?;
            let Some((merge_id, before, version_after, moved)) = record else {
                return Err(AppError::NotFound);
            };
            if survivor.version != version_after || duplicate.merged_into != Some(id) {
                return Err(AppError::conflict(
                    "the file was edited since the merge; separate the two files by hand",
                ));
            }
            let snapshot: Snapshot = serde_json::from_str(&before).map_err(AppError::internal)?;
            let moved: Vec<String> = serde_json::from_str(&moved).map_err(AppError::internal)?;
            let now = db::to_utc(db::now());
            let mut restored = Detainee {
                fields: snapshot.fields,
                source_notes: snapshot.source_notes,
                review_status: snapshot.review_status,
                updated_at: now,
                updated_by: user_id,
                ..survivor.clone()
            };
            store::save(conn, &mut restored)?;
            crate::search::index::update(conn, &restored.indexed())?;
            diesel::update(custody_events::table.filter(custody_events::id.eq_any(moved.clone())))
                .set(custody_events::detainee_id.eq(duplicate_id.to_string()))
                .execute(conn.conn())?;
            let mut separated = Detainee {
                archived_at: None,
                merged_into: None,
                updated_at: now,
                updated_by: user_id,
                ..duplicate.clone()
            };
            store::save(conn, &mut separated)?;
            diesel::update(merges::table.find(merge_id))
                .set(merges::unmerged_at.eq(now.naive_utc()))
                .execute(conn.conn())?;
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
