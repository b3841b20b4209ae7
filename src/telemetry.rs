//! Logging and request identity.
//!
//! Every request gets an id (the caller's `X-Request-Id` when it is sane,
//! otherwise a new UUIDv7). It is returned, logged, and written into audit
//! entries. Logs carry the route and status, never bodies, query strings,
//! tokens or names.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::audit::Origin;
use crate::config::LogFormat;
use crate::http::client::TrustedProxies;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only on a terminal: a log written to a file or a pipe carries
    // no escape codes.
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal());
    // try_init: tests start many apps in one process.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// A caller-supplied id is kept only if it is short and plain, so it cannot
/// smuggle anything into logs or audit entries.
fn acceptable_request_id(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

fn client_ip(req: &ServiceRequest, proxies: Option<&TrustedProxies>) -> Option<String> {
    let peer = req.peer_addr()?.ip();
    let client = match proxies.filter(|p| !p.is_empty()) {
        Some(proxies) => {
            let forwarded: Vec<&str> = req
                .headers()
                .get_all("x-forwarded-for")
                .filter_map(|v| v.to_str().ok())
                .collect();
            proxies.client(peer, &forwarded)
        }
        None => crate::http::client::canonical(peer),
    };
    Some(client.to_string())
}

/// Assigns the request id, opens the request's span, logs the outcome.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let proxies = req
        .app_data::<actix_web::web::Data<TrustedProxies>>()
        .cloned();
    let origin = Origin {
        request_id: request_id.clone(),
        client_ip: client_ip(&req, proxies.as_ref().map(|p| p.get_ref())),
    };
    req.extensions_mut().insert(origin);

    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        route = tracing::field::Empty,
    );
    let started = Instant::now();
    async move {
        let mut res = next.call(req).await?;
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "<unmatched>".to_owned());
        tracing::Span::current().record("route", route.as_str());
        let status = res.status().as_u16();
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        if status >= 500 {
            tracing::warn!(status, elapsed_ms, "request finished");
        } else {
            tracing::info!(status, elapsed_ms, "request finished");
        }
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            res.headers_mut()
                .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
        }
        Ok(res)
    }
    .instrument(span)
    .await
}

impl FromRequest for Origin {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let origin = req
            .extensions()
            .get::<Origin>()
            .cloned()
            .unwrap_or_else(|| Origin {
                request_id: uuid::Uuid::now_v7().to_string(),
                client_ip: req.peer_addr().map(|a| a.ip().to_string()),
            });
        std::future::ready(Ok(origin))
    }
}

#[cfg(test)]
mod tests {
    use super::acceptable_request_id;

    #[test]
    fn request_ids_are_kept_only_when_plain() {
        assert!(acceptable_request_id("abc-123_x.y:z"));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("a b"));
        assert!(!acceptable_request_id("line\nbreak"));
        assert!(!acceptable_request_id(&"x".repeat(65)));
    }
}
