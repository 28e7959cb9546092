//! `/metrics`: counters kept lock-free while serving, rendered in the Prometheus text format, and
//! the stored-comment gauge read from the database.

use super::AppState;
use super::reputation::Rule;
use crate::engine::Verdict;
use crate::storage::Status;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the request-latency histogram buckets.
const LATENCY_BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0,
];

/// Counters for `/metrics`, updated lock-free.
#[derive(Default)]
pub struct Metrics {
    published: AtomicU64,
    held: AtomicU64,
    rejected: AtomicU64,
    /// Responses by status class 1xx..5xx.
    responses: [AtomicU64; 5],
    /// Cumulative histogram counts per bucket, plus the +Inf bucket.
    latency: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    latency_sum_micros: AtomicU64,
    /// Comments each site rule fired on, by [`Rule::index`].
    rules: [AtomicU64; Rule::ALL.len()],
}

impl Metrics {
    pub fn comment(&self, verdict: Verdict) {
        let counter = match verdict {
            Verdict::Published => &self.published,
            Verdict::Held => &self.held,
            Verdict::Rejected => &self.rejected,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a site rule that fired on a comment.
    pub fn rule(&self, rule: Rule) {
        self.rules[rule.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one answer by status class, and its latency.
    pub(super) fn request(&self, status: StatusCode, elapsed: std::time::Duration) {
        let class = (status.as_u16() / 100).clamp(1, 5) as usize - 1;
        self.responses[class].fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|&b| secs <= b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, model_version: &str) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP replyguard_comments_total Comments received, by classifier verdict."
        );
        let _ = writeln!(out, "# TYPE replyguard_comments_total counter");
        for (name, counter) in [
            ("published", &self.published),
            ("held", &self.held),
            ("rejected", &self.rejected),
        ] {
            let _ = writeln!(
                out,
                "replyguard_comments_total{{verdict=\"{name}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP replyguard_rule_verdicts_total Comments a site rule fired on, by rule."
        );
        let _ = writeln!(out, "# TYPE replyguard_rule_verdicts_total counter");
        for rule in Rule::ALL {
            let _ = writeln!(
                out,
                "replyguard_rule_verdicts_total{{rule=\"{}\"}} {}",
                rule.label(),
                self.rules[rule.index()].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP replyguard_http_responses_total HTTP responses by status class."
        );
        let _ = writeln!(out, "# TYPE replyguard_http_responses_total counter");
        for (i, counter) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "replyguard_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                counter.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP replyguard_http_request_duration_seconds Time to answer a request."
        );
        let _ = writeln!(
            out,
            "# TYPE replyguard_http_request_duration_seconds histogram"
        );
        let mut cumulative = 0;
        for (i, counter) in self.latency.iter().enumerate() {
            cumulative += counter.load(Ordering::Relaxed);
            let le = LATENCY_BUCKETS
                .get(i)
                .map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(
                out,
                "replyguard_http_request_duration_seconds_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "replyguard_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "replyguard_http_request_duration_seconds_count {cumulative}"
        );
        let _ = writeln!(out, "# HELP replyguard_model_info The model in service.");
        let _ = writeln!(out, "# TYPE replyguard_model_info gauge");
        let _ = writeln!(
            out,
            "replyguard_model_info{{version=\"{model_version}\"}} 1"
        );
        out
    }
}

pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = state.metrics.render(&state.models.current().version);
    if let Ok(counts) = state.store.count_by_status(None).await {
        body.push_str("# HELP replyguard_stored_comments Stored comments by moderation status.\n");
        body.push_str("# TYPE replyguard_stored_comments gauge\n");
        for status in [Status::Published, Status::Held, Status::Spam, Status::Trash] {
            let n = counts
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            body.push_str(&format!(
                "replyguard_stored_comments{{status=\"{}\"}} {n}\n",
                status.as_str()
            ));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
