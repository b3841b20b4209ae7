//! The auditor's console (docs/console.md): pages served by sijill itself
//! at `/console/`, plain ES modules and CSS from `console/` in the
//! repository, embedded in the binary. They hold no case data and no
//! privilege: everything they show comes through the API with the
//! auditor's own token, which they keep in memory only.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::error::AppError;

/// What a console page may do: its own scripts, styles and API, nothing
/// inline, nothing from another origin, never inside a frame.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static [u8],
}

macro_rules! assets {
    ($($name:literal => $media_type:literal),+ $(,)?) => {
        &[$(Asset {
            name: $name,
            media_type: $media_type,
            body: include_bytes!(concat!("../../console/", $name)),
        }),+]
    };
}

const ASSETS: &[Asset] = assets! {
    "index.html" => "text/html; charset=utf-8",
    "console.css" => "text/css; charset=utf-8",
    "app.js" => "text/javascript; charset=utf-8",
    "api.js" => "text/javascript; charset=utf-8",
    "chain.js" => "text/javascript; charset=utf-8",
    "jcs.js" => "text/javascript; charset=utf-8",
};

/// `/console` → `/console/`, and the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/console", web::get().to(to_index))
        .route("/console", web::head().to(to_index))
        .route("/console/", web::get().to(index))
        .route("/console/", web::head().to(index))
        .route("/console/{name}", web::get().to(asset))
        .route("/console/{name}", web::head().to(asset));
}

async fn to_index() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/console/"))
        .finish()
}

async fn index() -> Result<HttpResponse, AppError> {
    serve("index.html")
}

async fn asset(name: web::Path<String>) -> Result<HttpResponse, AppError> {
    serve(&name)
}

fn serve(name: &str) -> Result<HttpResponse, AppError> {
    let asset = ASSETS
        .iter()
        .find(|a| a.name == name)
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(asset.media_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header(("Cross-Origin-Opener-Policy", "same-origin"))
        .insert_header(("Cross-Origin-Resource-Policy", "same-origin"))
        // no-store, not no-cache: a page must not come back from the
        // back/forward cache with the case data it showed.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(asset.body))
}
