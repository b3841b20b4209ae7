use chrono::NaiveDateTime;
use diesel::prelude::*;
use uuid::Uuid;

use super::model::{Consultation, Review, ReviewState};
use super::scope::ReviewScope;
use crate::db::schema::{consultations, detainees, reviews};
use crate::db::{self, DbConnection};
use crate::detainees::store::DetaineeRow;
use crate::detainees::Detainee;
use crate::domain::{stored_optional_uuid, stored_uuid};
use crate::error::AppError;

#[derive(Queryable, Selectable)]
#[diesel(table_name = reviews)]
struct ReviewRow {
    id: String,
    detainee_id: String,
    file_organization_id: String,
    status: String,
    requested_by: String,
    reason: Option<String>,
    reviewer_id: Option<String>,
    reviewer_organization_id: Option<String>,
    decision: Option<String>,
    rationale: Option<String>,
    confirmed_by: Option<String>,
    confirmation_note: Option<String>,
    prior_review_status: String,
    accusation_at_open: Option<String>,
    opened_at: NaiveDateTime,
    claimed_at: Option<NaiveDateTime>,
    decided_at: Option<NaiveDateTime>,
    confirmed_at: Option<NaiveDateTime>,
    withdrawn_at: Option<NaiveDateTime>,
    updated_at: NaiveDateTime,
}

impl TryFrom<ReviewRow> for Review {
    type Error = AppError;
    fn try_from(row: ReviewRow) -> Result<Self, AppError> {
        Ok(Review {
            id: stored_uuid(&row.id)?,
            detainee_id: stored_uuid(&row.detainee_id)?,
            file_organization_id: stored_uuid(&row.file_organization_id)?,
            status: row.status.parse()?,
            requested_by: stored_uuid(&row.requested_by)?,
            reason: row.reason,
            reviewer_id: stored_optional_uuid(row.reviewer_id)?,
            reviewer_organization_id: stored_optional_uuid(row.reviewer_organization_id)?,
            decision: row.decision.map(|d| d.parse()).transpose()?,
            rationale: row.rationale,
            confirmed_by: stored_optional_uuid(row.confirmed_by)?,
            confirmation_note: row.confirmation_note,
            prior_review_status: row.prior_review_status.parse()?,
            accusation_at_open: row
                .accusation_at_open
                .map(|json| serde_json::from_str(&json))
                .transpose()
                .map_err(AppError::internal)?,
            opened_at: db::to_utc(row.opened_at),
            claimed_at: row.claimed_at.map(db::to_utc),
            decided_at: row.decided_at.map(db::to_utc),
            confirmed_at: row.confirmed_at.map(db::to_utc),
            withdrawn_at: row.withdrawn_at.map(db::to_utc),
            updated_at: db::to_utc(row.updated_at),
        })
    }
}

fn text(id: Option<Uuid>) -> Option<String> {
    id.map(|id| id.to_string())
}

pub fn insert(conn: &mut DbConnection, review: &Review) -> Result<(), AppError> {
    diesel::insert_into(reviews::table)
        .values((
            reviews::id.eq(review.id.to_string()),
            reviews::detainee_id.eq(review.detainee_id.to_string()),
            reviews::file_organization_id.eq(review.file_organization_id.to_string()),
            reviews::status.eq(review.status.as_str()),
            reviews::requested_by.eq(review.requested_by.to_string()),
            reviews::reason.eq(&review.reason),
            reviews::prior_review_status.eq(review.prior_review_status.as_str()),
            reviews::accusation_at_open.eq(review
                .accusation_at_open
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(AppError::internal)?),
            reviews::opened_at.eq(review.opened_at.naive_utc()),
            reviews::updated_at.eq(review.updated_at.naive_utc()),
        ))
        .execute(conn)
        .map_err(|e| match AppError::from(e) {
            // The partial unique index: another undecided review exists.
            AppError::Conflict { .. } => already_open(),
            other => other,
        })?;
    Ok(())
}

pub fn already_open() -> AppError {
    AppError::Conflict {
        code: crate::error::Code::AlreadyOpen,
        detail: "this file already has an undecided review".into(),
    }
}

/// Write the mutable columns; the row must be locked in this transaction.
pub fn update(conn: &mut DbConnection, review: &Review) -> Result<(), AppError> {
    diesel::update(reviews::table.find(review.id.to_string()))
        .set((
            reviews::status.eq(review.status.as_str()),
            reviews::reviewer_id.eq(text(review.reviewer_id)),
            reviews::reviewer_organization_id.eq(text(review.reviewer_organization_id)),
            reviews::decision.eq(review.decision.map(|d| d.as_str())),
            reviews::rationale.eq(&review.rationale),
            reviews::confirmed_by.eq(text(review.confirmed_by)),
            reviews::confirmation_note.eq(&review.confirmation_note),
            reviews::claimed_at.eq(review.claimed_at.map(|t| t.naive_utc())),
            reviews::decided_at.eq(review.decided_at.map(|t| t.naive_utc())),
            reviews::confirmed_at.eq(review.confirmed_at.map(|t| t.naive_utc())),
            reviews::withdrawn_at.eq(review.withdrawn_at.map(|t| t.naive_utc())),
            reviews::updated_at.eq(review.updated_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(conn: &mut DbConnection, id: Uuid) -> Result<Option<Review>, AppError> {
    reviews::table
        .find(id.to_string())
        .select(ReviewRow::as_select())
        .first(conn)
        .optional()?
        .map(Review::try_from)
        .transpose()
}

/// The file a review is about (never changes, so it is read without a lock:
/// the caller locks the file, then the review).
pub fn file_of(conn: &mut DbConnection, review_id: Uuid) -> Result<Option<Uuid>, AppError> {
    reviews::table
        .find(review_id.to_string())
        .select(reviews::detainee_id)
        .first::<String>(conn)
        .optional()?
        .map(|id| stored_uuid(&id))
        .transpose()
}

pub fn undecided_exists(conn: &mut DbConnection, detainee_id: Uuid) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        reviews::table
            .filter(reviews::detainee_id.eq(detainee_id.to_string()))
            .filter(reviews::status.eq_any(ReviewState::undecided_texts())),
    ))
    .get_result(conn)?)
}

#[derive(Debug, Default, Clone)]
pub struct ReviewFilter {
    pub detainee_id: Option<Uuid>,
    pub status: Option<ReviewState>,
    pub awaiting_consultation: Option<bool>,
}

/// Reviews in the caller's scope, each with its file (one query, joined).
pub fn list(
    conn: &mut DbConnection,
    scope: ReviewScope,
    filter: &ReviewFilter,
    after: Option<Uuid>,
    fetch: i64,
) -> Result<Vec<(Review, Detainee)>, AppError> {
    let mut query = reviews::table
        .inner_join(detainees::table)
        .select((ReviewRow::as_select(), DetaineeRow::as_select()))
        .into_boxed();
    match scope {
        ReviewScope::Organization(org) => {
            query = query.filter(reviews::file_organization_id.eq(org.to_string()))
        }
        // With a status asked for, the reviewer's scope is one simple
        // condition, which keeps the (status, id) index usable.
        ReviewScope::Reviewer { user, organization } => match filter.status {
            Some(ReviewState::Open) => {}
            Some(ReviewState::InReview) => {
                query = query.filter(reviews::reviewer_id.eq(user.to_string()))
            }
            Some(ReviewState::AwaitingConfirmation) => {
                query = query.filter(
                    reviews::reviewer_id
                        .eq(user.to_string())
                        .or(reviews::reviewer_organization_id.ne(organization.to_string())),
                )
            }
            Some(ReviewState::Decided | ReviewState::Withdrawn) => return Ok(Vec::new()),
            None => query = query.filter(crate::actionable_by_reviewer!(user, organization)),
        },
        ReviewScope::AwaitingConsultation => {
            query = query
                .filter(reviews::status.eq_any(ReviewState::undecided_texts()))
                .filter(detainees::major_crimes_accusation.eq(true))
        }
        ReviewScope::All => {}
        ReviewScope::Nothing => return Ok(Vec::new()),
    }
    if let Some(detainee) = filter.detainee_id {
        query = query.filter(reviews::detainee_id.eq(detainee.to_string()));
    }
    if let Some(status) = filter.status {
        query = query.filter(reviews::status.eq(status.as_str()));
    }
    match filter.awaiting_consultation {
        Some(true) => {
            query = query
                .filter(reviews::status.eq_any(ReviewState::undecided_texts()))
                .filter(detainees::major_crimes_accusation.eq(true))
        }
        Some(false) => {
            query = query.filter(
                reviews::status
                    .ne_all(ReviewState::undecided_texts())
                    .or(detainees::major_crimes_accusation.eq(false)),
            )
        }
        None => {}
    }
    if let Some(after) = after {
        query = query.filter(reviews::id.gt(after.to_string()));
    }
    query
        .order(reviews::id.asc())
        .limit(fetch)
        .load::<(ReviewRow, DetaineeRow)>(conn)?
        .into_iter()
        .map(|(review, file)| Ok((Review::try_from(review)?, Detainee::try_from(file)?)))
        .collect()
}

/// A review and its file, if the review is in the caller's scope (the same rules as `list`).
pub fn find_in_scope(
    conn: &mut DbConnection,
    id: Uuid,
    scope: ReviewScope,
) -> Result<Option<(Review, Detainee)>, AppError> {
    let Some(review) = find(conn, id)? else {
        return Ok(None);
    };
    let filter = ReviewFilter {
        detainee_id: Some(review.detainee_id),
        ..ReviewFilter::default()
    };
    // Cheap: a file has few reviews.
    Ok(list(conn, scope, &filter, None, 1_000)?
        .into_iter()
        .find(|(r, _)| r.id == id))
}

pub fn ids_for_file(conn: &mut DbConnection, detainee_id: Uuid) -> Result<Vec<String>, AppError> {
    Ok(reviews::table
        .filter(reviews::detainee_id.eq(detainee_id.to_string()))
        .select(reviews::id)
        .load(conn)?)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = consultations)]
struct ConsultationRow {
    id: String,
    review_id: String,
    representative_id: String,
    organization_id: String,
    position: String,
    statement: String,
    created_at: NaiveDateTime,
}

pub fn insert_consultation(conn: &mut DbConnection, c: &Consultation) -> Result<(), AppError> {
    diesel::insert_into(consultations::table)
        .values((
            consultations::id.eq(c.id.to_string()),
            consultations::review_id.eq(c.review_id.to_string()),
            consultations::representative_id.eq(c.representative_id.to_string()),
            consultations::organization_id.eq(c.organization_id.to_string()),
            consultations::position.eq(c.position.as_str()),
            consultations::statement.eq(&c.statement),
            consultations::created_at.eq(c.created_at.naive_utc()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The consultations of these reviews, oldest first.
pub fn consultations_of(
    conn: &mut DbConnection,
    review_ids: &[Uuid],
) -> Result<Vec<Consultation>, AppError> {
    if review_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = review_ids.iter().map(Uuid::to_string).collect();
    consultations::table
        .filter(consultations::review_id.eq_any(ids))
        .order(consultations::id.asc())
        .select(ConsultationRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|r| {
            Ok(Consultation {
                id: stored_uuid(&r.id)?,
                review_id: stored_uuid(&r.review_id)?,
                representative_id: stored_uuid(&r.representative_id)?,
                organization_id: stored_uuid(&r.organization_id)?,
                position: r.position.parse()?,
                statement: r.statement,
                created_at: db::to_utc(r.created_at),
            })
        })
        .collect()
}
