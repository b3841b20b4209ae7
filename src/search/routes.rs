//! `POST /detainees/search`: names never travel in a URL.

use actix_web::{get, post};
use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::keys::{query_keys, SCORED};
use super::names::{best_field, tokens, TokenMatch, MIN_SCORE};
use super::store;
use crate::audit::access::AccessAction;
use crate::audit::Origin;
use crate::auth::{can, Authorized};
use crate::detainees::model::{Category, DetaineeView};
use crate::detainees::scope::FileScope;
use crate::detainees::store::{self as files, DetaineeFilter};
use crate::detainees::{Detainee, DetaineeStatus, ReviewStatus};
use crate::domain::{parse_text, MAX_NAME_CHARS};
use crate::error::{AppError, Problem};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"q": "Mohamad Abdelrahman Al-Hassan", "status": "disappeared", "limit": 10}))]
pub struct SearchRequest {
    /// A name in any script or spelling, 1–200 characters.
    #[schema(value_type = crate::domain::schema::Label)]
    pub q: String,
    pub status: Option<DetaineeStatus>,
    pub category: Option<Category>,
    pub review_status: Option<ReviewStatus>,
    pub facility_id: Option<Uuid>,
    /// Include archived files; default false.
    pub include_archived: Option<bool>,
    /// 1–100, default 20.
    #[serde(default, deserialize_with = "crate::domain::json_integer")]
    #[schema(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchedToken {
    pub query: String,
    pub record: String,
    pub similarity: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MatchedOn {
    /// `full_name`, `name_ar` or `aliases`.
    pub field: String,
    /// The name as it stands in that field.
    pub value: String,
    pub tokens: Vec<MatchedToken>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    pub file: DetaineeView,
    /// In [0, 1]; best first.
    pub score: f64,
    pub matched_on: MatchedOn,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub items: Vec<SearchHit>,
}

fn matched_on(field: &str, value: String, tokens: Vec<TokenMatch>) -> MatchedOn {
    MatchedOn {
        field: field.to_owned(),
        value,
        tokens: tokens
            .into_iter()
            .map(
                |TokenMatch {
                     query,
                     record,
                     similarity,
                 }| MatchedToken {
                    query,
                    record,
                    similarity,
                },
            )
            .collect(),
    }
}

/// Find people by name, whatever the spelling or script of the query and of
/// the record; ranked, each hit saying why it matched.
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    request_body = SearchRequest,
    responses(
        (status = 200, description = "Hits, best first (no cursor)", body = SearchResults),
        (status = 400, description = "Malformed body", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "This role has no access to files", body = Problem),
        (status = 422, description = "Empty or too long query, or limit outside 1–100", body = Problem),
    )
)]
#[post("/detainees/search")]
pub async fn search(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ReadDetainees>,
    body: web::Json<SearchRequest>,
) -> Result<HttpResponse, AppError> {
    let request = body.into_inner();
    let q = parse_text("q", &request.q, MAX_NAME_CHARS)?;
    let limit = request.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(AppError::validation("limit must be between 1 and 100"));
    }
    let query = tokens(&q);
    if query.is_empty() {
        return Err(AppError::validation("q has no name in it"));
    }
    let keys = query_keys(&query);
    let scope = FileScope::of(&auth.caller);
    let filter = DetaineeFilter {
        status: request.status,
        category: request.category,
        review_status: request.review_status,
        facility_id: request.facility_id,
        include_archived: request.include_archived.unwrap_or(false),
        ..DetaineeFilter::default()
    };
    let common = state.common_keys.clone();
    let hits = state
        .db
        .read(move |conn| {
            let candidates = store::candidates(conn, &keys, scope, &common)?;
            let names = store::in_rounds(&candidates, &filter, |round| {
                files::names(conn, scope, round, SCORED as i64)
            })?;
            let mut ranked: Vec<(Uuid, f64, MatchedOn)> = names
                .iter()
                .filter_map(|(id, names)| {
                    let (field, value, best) = best_field(&query, &names.fields())?;
                    (best.score >= MIN_SCORE).then(|| {
                        (
                            *id,
                            (best.score * 1000.0).round() / 1000.0,
                            matched_on(field, value, best.matched),
                        )
                    })
                })
                .collect();
            // Ties in creation order (ids are time-ordered).
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            ranked.truncate(limit as usize);
            // Whole files only for the hits returned.
            let hit_filter = DetaineeFilter {
                ids: Some(ranked.iter().map(|(id, _, _)| *id).collect()),
                ..filter
            };
            let mut found: HashMap<Uuid, Detainee> =
                files::list(conn, scope, &hit_filter, None, limit)?
                    .into_iter()
                    .map(|file| (file.id, file))
                    .collect();
            Ok(ranked
                .into_iter()
                .filter_map(|(id, score, matched_on)| {
                    Some(SearchHit {
                        file: found.remove(&id)?.view(false),
                        score,
                        matched_on,
                    })
                })
                .collect::<Vec<_>>())
        })
        .await?;
    let ids: Vec<Uuid> = hits.iter().map(|h| h.file.id).collect();
    state.access_log.record(
        &auth.caller.account(),
        AccessAction::DetaineeSearch,
        &ids,
        &origin,
    );
    Ok(HttpResponse::Ok().json(SearchResults { items: hits }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DuplicateHit {
    pub file: DetaineeView,
    /// In [0, 1]; best first.
    pub score: f64,
    /// Why this file is likely the same person (or why less so).
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Duplicates {
    pub items: Vec<DuplicateHit>,
}

/// Files the caller may see that are likely the same person as this one:
/// names in any spelling or script, birth date, place of origin, sex and
/// facility, each with its reasons.
#[utoipa::path(
    tag = "detainees",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, description = "Likely duplicates, best first", body = Duplicates),
        (status = 400, description = "Malformed id", body = Problem),
        (status = 401, description = "Not logged in", body = Problem),
        (status = 403, description = "This role has no access to files", body = Problem),
        (status = 404, description = "No such file, or not visible to you", body = Problem),
    )
)]
#[get("/detainees/{id}/duplicates")]
pub async fn duplicates(
    state: web::Data<AppState>,
    origin: Origin,
    auth: Authorized<can::ReadDetainees>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let scope = FileScope::of(&auth.caller);
    let common = state.common_keys.clone();
    let (file, candidates) = state
        .db
        .read(move |conn| {
            let file = files::find_in_scope(conn, id, scope)?.ok_or(AppError::NotFound)?;
            let mut keys: Vec<String> = Vec::new();
            for (_, value) in file.names() {
                for key in query_keys(&tokens(value)) {
                    if !keys.contains(&key) {
                        keys.push(key);
                    }
                }
            }
            let mut candidates = store::candidates(conn, &keys, scope, &common)?;
            candidates.retain(|c| *c != id);
            let others: Vec<Detainee> =
                store::in_rounds(&candidates, &DetaineeFilter::default(), |round| {
                    files::list(conn, scope, round, None, SCORED as i64)
                })?;
            Ok((file, others))
        })
        .await?;
    let mut hits: Vec<DuplicateHit> = candidates
        .into_iter()
        .filter_map(|other| {
            let (score, reasons) = super::duplicates::likeness(&file, &other);
            (score >= super::duplicates::MIN_DUPLICATE_SCORE).then(|| DuplicateHit {
                score: (score * 1000.0).round() / 1000.0,
                reasons,
                file: other.view(false),
            })
        })
        .collect();
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.file.reference.cmp(&b.file.reference))
    });
    hits.truncate(20);
    let mut seen: Vec<Uuid> = hits.iter().map(|h| h.file.id).collect();
    seen.push(id);
    state.access_log.record(
        &auth.caller.account(),
        AccessAction::DetaineeView,
        &seen,
        &origin,
    );
    Ok(HttpResponse::Ok().json(Duplicates { items: hits }))
}
