//! Prometheus metrics, written by hand in the text exposition format.
//!
//! Hand-written rather than through a metrics crate's global recorder: each [`AppState`] owns
//! its counters, so tests can run several servers in one process and read each one's numbers,
//! and the exposition is a page of code with nothing hidden. Requests are counted by route
//! *template* (`/c/bank/{name}`), never by the path as sent, so bank names and content ids never
//! reach a metrics system and the number of series stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Request counters and latency histograms.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Recorded>,
}

#[derive(Debug, Default)]
struct Recorded {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Histogram>,
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request counts by (method, route, status) and latency histograms by (method, route).
type Snapshot = (
    Vec<((String, String, u16), u64)>,
    Vec<((String, String), Histogram)>,
);

impl Metrics {
    /// Records one request.
    pub fn record(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let mut recorded = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        *recorded
            .requests
            .entry((route.to_string(), method.to_string(), status))
            .or_insert(0) += 1;
        let histogram = recorded
            .latency
            .entry((route.to_string(), method.to_string()))
            .or_default();
        for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        histogram.count += 1;
        histogram.sum += seconds;
    }

    fn snapshot(&self) -> Snapshot {
        let recorded = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (
            recorded
                .requests
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            recorded
                .latency
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }
}

/// Middleware: times every request and counts it by route template, method and status.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let response = next.run(request).await;
    state.metrics().record(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`: Prometheus text exposition.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "Service",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String))
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body = render(&state);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
}

fn render(state: &AppState) -> String {
    let mut out = String::new();
    let (requests, latency) = state.metrics().snapshot();

    out.push_str(
        "# HELP takedown_http_requests_total HTTP requests by route template, method and status.\n",
    );
    out.push_str("# TYPE takedown_http_requests_total counter\n");
    for ((route, method, status), count) in &requests {
        let _ = writeln!(
            out,
            "takedown_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {count}",
            escape(route)
        );
    }

    out.push_str("# HELP takedown_http_request_duration_seconds Time to answer a request.\n");
    out.push_str("# TYPE takedown_http_request_duration_seconds histogram\n");
    for ((route, method), histogram) in &latency {
        let labels = format!("route=\"{}\",method=\"{method}\"", escape(route));
        for (bound, count) in BUCKETS.iter().zip(histogram.counts.iter()) {
            let _ = writeln!(
                out,
                "takedown_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "takedown_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
            histogram.count
        );
        let _ = writeln!(
            out,
            "takedown_http_request_duration_seconds_sum{{{labels}}} {}",
            histogram.sum
        );
        let _ = writeln!(
            out,
            "takedown_http_request_duration_seconds_count{{{labels}}} {}",
            histogram.count
        );
    }

    let engine = state.engine();
    let status = engine.index_status();
    out.push_str("# HELP takedown_index_ready Whether the matching index finished loading.\n");
    out.push_str("# TYPE takedown_index_ready gauge\n");
    let _ = writeln!(out, "takedown_index_ready {}", u8::from(status.ready));
    out.push_str("# HELP takedown_index_signals Signals held by the matching index, by type.\n");
    out.push_str("# TYPE takedown_index_signals gauge\n");
    for (signal_type, count) in &status.signals {
        let _ = writeln!(
            out,
            "takedown_index_signals{{signal_type=\"{signal_type}\"}} {count}"
        );
    }
    out.push_str("# HELP takedown_index_pdq_memory_bytes Heap bytes of the PDQ index.\n");
    out.push_str("# TYPE takedown_index_pdq_memory_bytes gauge\n");
    let _ = writeln!(
        out,
        "takedown_index_pdq_memory_bytes {}",
        status.pdq_memory_bytes
    );

    let counters = engine.counters();
    for (name, help, value) in [
        (
            "takedown_lookups_total",
            "Lookups served (by signal or by media).",
            counters.lookups.load(Ordering::Relaxed),
        ),
        (
            "takedown_matches_total",
            "Matches returned by lookups.",
            counters.matches.load(Ordering::Relaxed),
        ),
        (
            "takedown_hashed_total",
            "Files hashed.",
            counters.hashed.load(Ordering::Relaxed),
        ),
    ] {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} counter");
        let _ = writeln!(out, "{name} {value}");
    }
    out
}

/// Escapes a label value (backslash, quote, newline) as the exposition format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
