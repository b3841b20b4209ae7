//! Operations endpoints outside `/api/v1`: liveness, readiness, metrics, the OpenAPI document.

use actix_web::get;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::Problem;
use crate::metrics::Metrics;
use crate::state::AppState;

/// The process is alive.
#[utoipa::path(tag = "operations",
    responses((status = 200, description = "Alive")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers.
#[utoipa::path(tag = "operations",
    responses(
        (status = 200, description = "Ready"),
        (status = 503, description = "The database does not answer", body = Problem),
    ))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.db.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(err) => {
            tracing::warn!(error = ?err, "readiness check failed");
            actix_web::ResponseError::error_response(&crate::error::AppError::Unavailable(
                "database unreachable".into(),
            ))
        }
    }
}

/// Prometheus text exposition.
#[utoipa::path(tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render())
}

/// This document.
#[utoipa::path(tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document")))]
#[get("/openapi.json")]
pub async fn openapi(document: web::Data<crate::openapi::Document>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document.json())
}
