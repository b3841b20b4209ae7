//! `/detainees/{id}/reviews` and `/reviews`: open, claim, decide, confirm,
//! dispute, withdraw, consult. Each step: lock the review, check the
//! transition (409), the actor (403), the input (422), then change the
//! review, the file's `review_status` and append one audit entry — in one
//! transaction.

use actix_web::http::header;
use actix_web::{get, post};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::{
    ClaimReview, ConfirmReview, Consultation, DecideReview, Decision, DisputeReview, EmbeddedFile,
    NewConsultation, OpenReview, ReducedFile, Review, ReviewState, ReviewView, WithdrawReview,
};
use super::scope::ReviewScope;
use super::store::{self, ReviewFilter};
use super::workflow::{self, Relation, Step, Subject};
use crate::audit::access::AccessAction;
use crate::audit::Origin;
use crate::audit::{self, AuditAction, Changes};
use crate::auth::{can, Authorized, Caller};
use crate::db::{self, DbConnection};
use crate::detainees::scope::{sees_source_notes, FileScope};
use crate::detainees::store as files;
use crate::detainees::Detainee;
use crate::domain::{
    parse_notes, parse_required_notes, parse_substantial_notes, MAX_NOTES_CHARS,
    MIN_RATIONALE_CHARS,
};
use crate::error::{AppError, Problem};
use crate::http::{Cursor, Page};
use crate::state::AppState;
use crate::users::Role;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReviewQuery {
    pub status: Option<ReviewState>,
    /// `true`: only undecided reviews of files accused of major crimes (the
    /// ones a family representative may speak to); `false`: all others.
    pub awaiting_consultation: Option<bool>,
    /// 1–200, default 50.
    #[param(value_type = Option<crate::http::pagination::PageLimit>)]
    pub limit: Option<i64>,
    #[param(value_type = Option<crate::http::pagination::IdCursor>)]
    pub cursor: Option<String>,
}

/// The file as this caller may see it inside a review: in lists (queues),
/// everyone gets the reduced view — who, and of what accused — so a queue
/// never carries notes or sources and stays light; a single review carries
/// the full file, except for family representatives.
fn embed(caller: &Caller, file: Detainee, in_list: bool) -> EmbeddedFile {
    if in_list || caller.user.role == Role::FamilyRepresentative {
        EmbeddedFile::Reduced(Box::new(ReducedFile::from(file)))
    } else {
        let visible = sees_source_notes(caller, &file);
        EmbeddedFile::Full(Box::new(file.view(visible)))
    }
}

/// Reviews with their consultations and files, for the caller.
fn views(
    conn: &mut DbConnection,
    caller: &Caller,
    reviews: Vec<(Review, Detainee)>,
    in_list: bool,
) -> Result<Vec<ReviewView>, AppError> {
    let ids: Vec<Uuid> = reviews.iter().map(|(r, _)| r.id).collect();
    let mut consultations = store::consultations_of(conn, &ids)?;
    Ok(reviews
        .into_iter()
        .map(|(review, file)| {
            let mine: Vec<Consultation> = consultations
                .extract_if(.., |c| c.review_id == review.id)
                .collect();
            ReviewView::new(review, mine, embed(caller, file, in_list))
        })
        .collect())
}

/// One review with its file as it is now (after a step changed both).
fn fresh_view(
    conn: &mut DbConnection,
    caller: &Caller,
    review: Review,
) -> Result<ReviewView, AppError> {
    let file = files::find_in_scope(conn, review.detainee_id, FileScope::All)?
        .ok_or_else(|| AppError::internal_msg("review without its file"))?;
    views(conn, caller, vec![(review, file)], false)?
        .pop()
        .ok_or_else(|| AppError::internal_msg("no view"))
}

fn record_views(state: &AppState, caller: &Caller, views: &[ReviewView], origin: &Origin) {
    let ids: Vec<Uuid> = views.iter().map(|v| v.detainee_id).collect();
    state
        .access_log
        .record(&caller.account(), AccessAction::DetaineeView, &ids, origin);
}

/// Ask for an independent review of one of your organisation's files.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = OpenReview,
    responses(
        (status = 201, description = "Opened; the file is pending_review", body = ReviewView, headers(("Location" = String))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "No such file in your organisation", body = Problem),
        (status = 409, description = "An undecided review exists (already_open), or the file is archived", body = Problem),
        (status = 422, description = "Invalid reason", body = Problem),
    )
)]
#[post("/detainees/{id}/reviews")]
pub async fn open(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::RequestReview>,
    id: web::Path<Uuid>,
    body: web::Json<OpenReview>,
) -> Result<HttpResponse, AppError> {
    let detainee_id = id.into_inner();
    let reason = parse_notes(
        "reason",
        body.into_inner().reason.as_deref(),
        MAX_NOTES_CHARS,
    )?;
    let caller = auth.caller;
    let scope = FileScope::of(&caller);
    let (actor, user_id) = (caller.actor(), caller.user.id);
    let view = state
        .db
        .write({
            let caller = caller.clone();
            move |conn| {
                let file = files::lock(conn, detainee_id, scope)?;
                if file.archived_at.is_some() {
                    return Err(AppError::conflict("the file is archived; restore it first"));
                }
                if store::undecided_exists(conn, detainee_id)? {
                    return Err(store::already_open());
                }
                let now = db::to_utc(db::now());
                let accusation = file.fields.accusation();
                let review = Review {
                    id: Uuid::now_v7(),
                    detainee_id,
                    file_organization_id: file.organization_id,
                    status: ReviewState::Open,
                    requested_by: user_id,
                    reason,
                    reviewer_id: None,
                    reviewer_organization_id: None,
                    decision: None,
                    rationale: None,
                    confirmed_by: None,
                    confirmation_note: None,
                    prior_review_status: file.review_status,
                    accusation_at_open: Some(accusation.clone()),
                    opened_at: now,
                    claimed_at: None,
                    decided_at: None,
                    confirmed_at: None,
                    withdrawn_at: None,
                    updated_at: now,
                };
                store::insert(conn, &review)?;
                let new_status = review.file_review_status(&accusation);
                let version = files::set_review_status(conn, detainee_id, new_status, user_id)?;
                let changes = Changes::new()
                    .created("detainee_id", detainee_id.to_string())
                    .created("status", review.status.as_str())
                    .created("reason", review.reason.clone())
                    .changed(
                        "file_review_status",
                        file.review_status.as_str(),
                        new_status.as_str(),
                    )
                    .changed("detainee_version", file.version, version);
                audit::append(
                    conn,
                    &actor,
                    AuditAction::ReviewOpen,
                    Some(review.id.to_string()),
                    changes,
                    &origin,
                )?;
                fresh_view(conn, &caller, review)
            }
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/reviews/{}", view.id)))
        .json(view))
}

/// The reviews of one file.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), ReviewQuery),
    responses(
        (status = 200, description = "A page of the file's reviews, oldest first", body = inline(Page<ReviewView>)),
        (status = 400, description = "Bad id or query", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Only the owner's caseworkers and auditors list a file's reviews", body = Problem),
        (status = 404, description = "No such file, or not visible to you", body = Problem),
    )
)]
#[get("/detainees/{id}/reviews")]
pub async fn list_for_file(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ReadFileReviews>,
    id: web::Path<Uuid>,
    query: web::Query<ReviewQuery>,
) -> Result<HttpResponse, AppError> {
    let detainee_id = id.into_inner();
    list_reviews(
        state,
        origin,
        auth.caller,
        query.into_inner(),
        Some(detainee_id),
    )
    .await
}

/// The reviews the caller may see: caseworkers those of their files,
/// reviewers those they may act on, family representatives those awaiting
/// a consultation, auditors all.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(ReviewQuery),
    responses(
        (status = 200, description = "A page of reviews", body = inline(Page<ReviewView>)),
        (status = 400, description = "Bad query", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Admins see no reviews", body = Problem),
    )
)]
#[get("/reviews")]
pub async fn list(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ReadReviews>,
    query: web::Query<ReviewQuery>,
) -> Result<HttpResponse, AppError> {
    list_reviews(state, origin, auth.caller, query.into_inner(), None).await
}

async fn list_reviews(
    state: web::Data<AppState>,
    origin: Origin,
    caller: Caller,
    query: ReviewQuery,
    detainee_id: Option<Uuid>,
) -> Result<HttpResponse, AppError> {
    let cursor = Cursor::<Uuid>::parse(query.limit, query.cursor.as_deref())?;
    let filter = ReviewFilter {
        detainee_id,
        status: query.status,
        awaiting_consultation: query.awaiting_consultation,
    };
    let (scope, file_scope) = (ReviewScope::of(&caller), FileScope::of(&caller));
    let page = state
        .db
        .read({
            let caller = caller.clone();
            move |conn| {
                if let Some(id) = detainee_id {
                    files::find_in_scope(conn, id, file_scope)?.ok_or(AppError::NotFound)?;
                }
                let rows = store::list(conn, scope, &filter, cursor.after, cursor.fetch())?;
                let page = cursor.page(rows, |(r, _)| r.id);
                Ok(Page {
                    items: views(conn, &caller, page.items, true)?,
                    next_cursor: page.next_cursor,
                })
            }
        })
        .await?;
    record_views(&state, &caller, &page.items, &origin);
    Ok(HttpResponse::Ok().json(page))
}

/// One review, with its consultations and the file (reduced for family representatives).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "The review", body = ReviewView),
        (status = 400, description = "Malformed id", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Admins see no reviews", body = Problem),
        (status = 404, description = "No such review, or not visible to you", body = Problem),
    )
)]
#[get("/reviews/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ReadReviews>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let caller = auth.caller;
    let scope = ReviewScope::of(&caller);
    let view = state
        .db
        .read({
            let caller = caller.clone();
            move |conn| {
                let found = store::find_in_scope(conn, id, scope)?.ok_or(AppError::NotFound)?;
                views(conn, &caller, vec![found], false)?
                    .pop()
                    .ok_or_else(|| AppError::internal_msg("no view"))
            }
        })
        .await?;
    record_views(&state, &caller, std::slice::from_ref(&view), &origin);
    Ok(HttpResponse::Ok().json(view))
}

/// What a step did, for the audit entry and the response.
struct Outcome {
    action: AuditAction,
    changes: Changes,
}

/// What a step's own work is given: the transaction, the review to change,
/// the file (locked) and who takes the step.
struct StepContext<'a> {
    conn: &'a mut DbConnection,
    review: &'a mut Review,
    file: &'a Detainee,
    caller: &'a Caller,
}

/// Run one workflow step in one transaction (see the module comment):
/// `workflow::may_take` decides whether the caller may take it, `apply`
/// does the step's own work.
async fn take_step(
    state: &AppState,
    origin: Origin,
    caller: Caller,
    review_id: Uuid,
    step: Step,
    apply: impl FnOnce(StepContext<'_>) -> Result<Outcome, AppError> + Send + 'static,
) -> Result<ReviewView, AppError> {
    state
        .db
        .write(move |conn| {
            // The file first, then the review (the order every path keeps):
            // each step judges the file as it is when the step commits, and
            // a concurrent edit of the file waits for it (or it for the edit).
            let detainee_id = store::file_of(conn, review_id)?.ok_or(AppError::NotFound)?;
            let file = files::lock(conn, detainee_id, FileScope::All)?;
            db::lock_row(conn, "reviews", &review_id.to_string())?;
            let mut review = store::find(conn, review_id)?.ok_or(AppError::NotFound)?;
            let before = review.status;
            let user = &caller.user;
            review.status = workflow::may_take(
                step,
                user.role,
                Relation::of(user.id, user.organization_id, &review, file.organization_id),
                Subject {
                    state: before,
                    major_crimes: file.fields.major_crimes_accusation,
                },
            )?;
            let Outcome { action, changes } = apply(StepContext {
                conn,
                review: &mut review,
                file: &file,
                caller: &caller,
            })?;
            review.updated_at = db::to_utc(db::now());
            store::update(conn, &review)?;
            // Every step is a write to the file: one more version, in SQL.
            let file_status = review.file_review_status(&file.fields.accusation());
            let version = files::set_review_status(conn, file.id, file_status, caller.user.id)?;
            let changes = changes
                .created("detainee_id", file.id.to_string())
                .changed("status", before.as_str(), review.status.as_str())
                .changed(
                    "file_review_status",
                    file.review_status.as_str(),
                    file_status.as_str(),
                )
                .changed("detainee_version", file.version, version);
            audit::append(
                conn,
                &caller.actor(),
                action,
                Some(review.id.to_string()),
                changes,
                &origin,
            )?;
            fresh_view(conn, &caller, review)
        })
        .await
}

/// Claim an open review. Two reviewers at once: one wins, the other gets 409.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = ClaimReview,
    responses(
        (status = 200, description = "Claimed: in_review", body = ReviewView),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a reviewer, or of the organisation that owns the file", body = Problem),
        (status = 404, description = "No such review", body = Problem),
        (status = 409, description = "Not open (invalid_transition, naming the state)", body = Problem),
    )
)]
#[post("/reviews/{id}/claim")]
pub async fn claim(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ActOnReview>,
    id: web::Path<Uuid>,
    _body: web::Json<ClaimReview>,
) -> Result<HttpResponse, AppError> {
    let view = take_step(
        &state,
        origin.clone(),
        auth.caller.clone(),
        id.into_inner(),
        Step::Claim,
        |StepContext { review, caller, .. }| {
            review.reviewer_id = Some(caller.user.id);
            review.reviewer_organization_id = Some(caller.user.organization_id);
            review.claimed_at = Some(db::to_utc(db::now()));
            Ok(Outcome {
                action: AuditAction::ReviewClaim,
                changes: Changes::new()
                    .created("reviewer_id", caller.user.id.to_string())
                    .created(
                        "reviewer_organization_id",
                        caller.user.organization_id.to_string(),
                    ),
            })
        },
    )
    .await?;
    record_views(&state, &auth.caller, std::slice::from_ref(&view), &origin);
    Ok(HttpResponse::Ok().json(view))
}

/// Decide: `cleared_for_release` or `release_withheld`, with a rationale of
/// at least 20 characters. Only the claimant decides. Clearing a file
/// accused of major crimes needs a family consultation first, then waits
/// for a second organisation's confirmation.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = DecideReview,
    responses(
        (status = 200, description = "Decided, or awaiting_confirmation", body = ReviewView),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not the claimant", body = Problem),
        (status = 404, description = "No such review", body = Problem),
        (status = 409, description = "Not in_review (invalid_transition), or no consultation yet (consultation_required)", body = Problem),
        (status = 422, description = "Rationale shorter than 20 characters", body = Problem),
    )
)]
#[post("/reviews/{id}/decision")]
pub async fn decide(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ActOnReview>,
    id: web::Path<Uuid>,
    body: web::Json<DecideReview>,
) -> Result<HttpResponse, AppError> {
    let DecideReview {
        decision,
        rationale,
    } = body.into_inner();
    let rationale = parse_substantial_notes(
        "rationale",
        &rationale,
        MIN_RATIONALE_CHARS,
        MAX_NOTES_CHARS,
    )?;
    let view = take_step(&state, origin.clone(), auth.caller.clone(), id.into_inner(), Step::Decide, move |StepContext { conn, review, file, .. }| {
        let major = file.fields.major_crimes_accusation;
        if major && decision == Decision::ClearedForRelease && store::consultations_of(conn, &[review.id])?.is_empty() {
            return Err(AppError::Conflict {
                code: crate::error::Code::ConsultationRequired,
                detail: "clearing a file accused of major crimes needs a consultation from a family representative first".into(),
            });
        }
        review.status = workflow::decided_state(major, decision);
        review.decision = Some(decision);
        review.rationale = Some(rationale.clone());
        review.decided_at = Some(db::to_utc(db::now()));
        Ok(Outcome {
            action: AuditAction::ReviewDecide,
            changes: Changes::new().created("decision", decision.as_str()).created("rationale", rationale),
        })
    })
    .await?;
    record_views(&state, &auth.caller, std::slice::from_ref(&view), &origin);
    Ok(HttpResponse::Ok().json(view))
}

/// Confirm a clearance (a reviewer of another independent organisation).
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = ConfirmReview,
    responses(
        (status = 200, description = "Confirmed: decided, cleared_for_release", body = ReviewView),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "The claimant, or a reviewer of the claimant's organisation", body = Problem),
        (status = 404, description = "No such review", body = Problem),
        (status = 409, description = "Not awaiting_confirmation (invalid_transition)", body = Problem),
        (status = 422, description = "Invalid note", body = Problem),
    )
)]
#[post("/reviews/{id}/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ActOnReview>,
    id: web::Path<Uuid>,
    body: web::Json<ConfirmReview>,
) -> Result<HttpResponse, AppError> {
    let note = parse_notes("note", body.into_inner().note.as_deref(), MAX_NOTES_CHARS)?;
    let view = take_step(
        &state,
        origin.clone(),
        auth.caller.clone(),
        id.into_inner(),
        Step::Confirm,
        move |StepContext { review, caller, .. }| {
            review.confirmed_by = Some(caller.user.id);
            review.confirmation_note = note.clone();
            review.confirmed_at = Some(db::to_utc(db::now()));
            Ok(Outcome {
                action: AuditAction::ReviewConfirm,
                changes: Changes::new()
                    .created("confirmed_by", caller.user.id.to_string())
                    .created("note", note),
            })
        },
    )
    .await?;
    record_views(&state, &auth.caller, std::slice::from_ref(&view), &origin);
    Ok(HttpResponse::Ok().json(view))
}

/// Dispute a clearance awaiting confirmation: back to `in_review`.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = DisputeReview,
    responses(
        (status = 200, description = "Disputed: in_review again", body = ReviewView),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "The claimant, or a reviewer of the claimant's organisation", body = Problem),
        (status = 404, description = "No such review", body = Problem),
        (status = 409, description = "Not awaiting_confirmation (invalid_transition)", body = Problem),
        (status = 422, description = "No reason", body = Problem),
    )
)]
#[post("/reviews/{id}/dispute")]
pub async fn dispute(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ActOnReview>,
    id: web::Path<Uuid>,
    body: web::Json<DisputeReview>,
) -> Result<HttpResponse, AppError> {
    let reason = parse_required_notes("reason", &body.into_inner().reason, MAX_NOTES_CHARS)?;
    let view = take_step(
        &state,
        origin.clone(),
        auth.caller.clone(),
        id.into_inner(),
        Step::Dispute,
        move |StepContext { review, caller, .. }| {
            let changes = Changes::new()
                .created("disputed_by", caller.user.id.to_string())
                .created("reason", reason)
                .changed(
                    "decision",
                    review.decision.map(|d| d.as_str()),
                    serde_json::Value::Null,
                );
            // The claimant decides again.
            review.decision = None;
            review.rationale = None;
            review.decided_at = None;
            Ok(Outcome {
                action: AuditAction::ReviewDispute,
                changes,
            })
        },
    )
    .await?;
    record_views(&state, &auth.caller, std::slice::from_ref(&view), &origin);
    Ok(HttpResponse::Ok().json(view))
}

/// Withdraw an undecided review (a caseworker of the owning organisation);
/// the file's `review_status` returns to what it was before.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = WithdrawReview,
    responses(
        (status = 200, description = "Withdrawn", body = ReviewView),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a caseworker", body = Problem),
        (status = 404, description = "No such review of your organisation's files", body = Problem),
        (status = 409, description = "Already decided or withdrawn (invalid_transition)", body = Problem),
        (status = 422, description = "Invalid reason", body = Problem),
    )
)]
#[post("/reviews/{id}/withdraw")]
pub async fn withdraw(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::RequestReview>,
    id: web::Path<Uuid>,
    body: web::Json<WithdrawReview>,
) -> Result<HttpResponse, AppError> {
    let reason = parse_notes(
        "reason",
        body.into_inner().reason.as_deref(),
        MAX_NOTES_CHARS,
    )?;
    let view = take_step(
        &state,
        origin.clone(),
        auth.caller.clone(),
        id.into_inner(),
        Step::Withdraw,
        move |StepContext { review, .. }| {
            review.withdrawn_at = Some(db::to_utc(db::now()));
            Ok(Outcome {
                action: AuditAction::ReviewWithdraw,
                changes: Changes::new().created("reason", reason),
            })
        },
    )
    .await?;
    record_views(&state, &auth.caller, std::slice::from_ref(&view), &origin);
    Ok(HttpResponse::Ok().json(view))
}

/// A family representative's statement on an undecided review of a file
/// accused of major crimes.
#[utoipa::path(
    tag = "reviews",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = NewConsultation,
    responses(
        (status = 201, description = "Recorded", body = Consultation, headers(("Location" = String))),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "Not a family representative", body = Problem),
        (status = 404, description = "No such review awaiting a consultation", body = Problem),
        (status = 409, description = "The review is decided or withdrawn (invalid_transition)", body = Problem),
        (status = 422, description = "Empty or too long statement", body = Problem),
    )
)]
#[post("/reviews/{id}/consultations")]
pub async fn consult(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::Consult>,
    id: web::Path<Uuid>,
    body: web::Json<NewConsultation>,
) -> Result<HttpResponse, AppError> {
    let NewConsultation {
        position,
        statement,
    } = body.into_inner();
    let statement = parse_required_notes("statement", &statement, MAX_NOTES_CHARS)?;
    let review_id = id.into_inner();
    let caller = auth.caller;
    let consultation = Consultation {
        id: Uuid::now_v7(),
        review_id,
        representative_id: caller.user.id,
        organization_id: caller.user.organization_id,
        position,
        statement,
        created_at: db::to_utc(db::now()),
    };
    let recorded = consultation.clone();
    let view = take_step(
        &state,
        origin.clone(),
        caller.clone(),
        review_id,
        Step::Consult,
        move |StepContext { conn, .. }| {
            store::insert_consultation(conn, &recorded)?;
            Ok(Outcome {
                action: AuditAction::ReviewConsult,
                changes: Changes::new()
                    .created("consultation_id", recorded.id.to_string())
                    .created("position", recorded.position.as_str())
                    .created("statement", recorded.statement.clone()),
            })
        },
    )
    .await?;
    record_views(&state, &caller, std::slice::from_ref(&view), &origin);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/reviews/{review_id}")))
        .json(consultation))
}
