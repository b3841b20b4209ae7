//! Prometheus metrics: request counts and latency histograms by route and status.
//!
//! Anonymous callers reach every route, so nothing they send may add a
//! series: the route label is the matched pattern (`/api/v1/users/{id}`,
//! or `<unmatched>`), never the concrete path; the method is one of the
//! standard ones or `other`; the status is the one the server chose. The
//! number of series is bounded by the routes × 10 methods × the statuses
//! the server can answer, and no id or invented text ever becomes a label.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use metrics::{counter, histogram, Label, Recorder};
use metrics_exporter_prometheus::{
    BuildError, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

const REQUESTS: &str = "sijill_http_requests_total";
const DURATION: &str = "sijill_http_request_duration_seconds";

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Latency samples wait, lock-free, in the recorder until they are folded
/// into the buckets: at the next render, or after this many requests,
/// whichever comes first. So memory stays bounded when nobody scrapes
/// (the exporter leaves this "upkeep" to whoever does not use its own
/// HTTP listener).
const UPKEEP_EVERY: u32 = 1024;

/// One recorder per served application, not the process-wide one of the
/// `metrics` facade: each application counts its own requests (the API
/// tests start many in one process and read each one's counts), and
/// `/metrics` is served by the application itself from the recorder's
/// handle, with no listener of the exporter's own.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    since_upkeep: AtomicU32,
}

impl Metrics {
    pub fn new() -> Result<Self, BuildError> {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)?
            .build_recorder();
        recorder.describe_counter(
            REQUESTS.into(),
            None,
            "HTTP requests by method, route and status.".into(),
        );
        recorder.describe_histogram(DURATION.into(), None, "HTTP request latency.".into());
        Ok(Metrics {
            handle: recorder.handle(),
            recorder,
            since_upkeep: AtomicU32::new(0),
        })
    }

    pub fn observe(&self, method: &'static str, route: String, status: u16, seconds: f64) {
        let labels = vec![
            Label::new("method", method),
            Label::new("route", route),
            Label::new("status", status.to_string()),
        ];
        metrics::with_local_recorder(&self.recorder, || {
            counter!(REQUESTS, labels.iter()).increment(1);
            histogram!(DURATION, labels).record(seconds);
        });
        // 2^32 is a multiple of UPKEEP_EVERY: the count may wrap.
        if self.since_upkeep.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            self.handle.run_upkeep();
        }
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// The method as a label: a standard method, or `other` for anything a
/// client invented (`FOO`, a random token per request …).
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    const STANDARD: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::PATCH, "PATCH"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    STANDARD
        .iter()
        .find(|(m, _)| m == method)
        .map_or("other", |(_, label)| label)
}

pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = method_label(req.method());
    let res = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "<unmatched>".to_owned());
        metrics.observe(
            method,
            route,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::new().unwrap();
        m.observe("GET", "/healthz".to_owned(), 200, 0.003);
        m.observe("GET", "/healthz".to_owned(), 200, 0.2);
        let text = m.render();
        assert!(text.contains(
            "sijill_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2"
        ));
        assert!(text.contains("le=\"0.0025\"} 0"));
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"0.25\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
    }

    /// Samples folded into the buckets between renders are all counted.
    #[test]
    fn upkeep_loses_no_sample() {
        let m = Metrics::new().unwrap();
        let n = UPKEEP_EVERY * 3 + 7;
        for _ in 0..n {
            m.observe("POST", "/api/v1/auth/login".to_owned(), 401, 0.001);
        }
        let text = m.render();
        let labels = r#"method="POST",route="/api/v1/auth/login",status="401""#;
        assert!(text.contains(&format!("sijill_http_requests_total{{{labels}}} {n}")));
        assert!(text.contains(&format!("le=\"0.001\"}} {n}")), "{text}");
        assert!(text.contains(&format!(
            "sijill_http_request_duration_seconds_count{{{labels}}} {n}"
        )));
    }

    #[test]
    fn invented_methods_share_one_label() {
        use actix_web::http::Method;
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for invented in ["FOO", "BREW", "X-7f3a9c"] {
            assert_eq!(
                method_label(&Method::from_bytes(invented.as_bytes()).unwrap()),
                "other"
            );
        }
    }
}
