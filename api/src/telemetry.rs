//! Logs and metrics set-up. Logs go through `tracing` (text or JSON); metrics through the
//! `metrics` facade into one process-wide Prometheus recorder, rendered at `/metrics`.

mod prometheus;

use std::sync::{Arc, OnceLock};

use tracing_subscriber::EnvFilter;

use prometheus::PrometheusRecorder;
pub use prometheus::Registry;

use crate::config::LogFormat;

/// Request latency buckets, in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the log subscriber (`RUST_LOG` filters; default `info`). Logs go to stderr so that
/// commands whose stdout is data (`admin bootstrap`, `openapi`) stay clean.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

static PROMETHEUS: OnceLock<Option<Arc<Registry>>> = OnceLock::new();

/// The process-wide Prometheus registry, its recorder installed on first use. `None` only if
/// another recorder was installed first (then `/metrics` says so instead of lying).
pub fn prometheus() -> Option<Arc<Registry>> {
    PROMETHEUS
        .get_or_init(|| {
            let registry = Arc::new(Registry::with_buckets(&[
                ("pgplane_http_request_duration_seconds", &LATENCY_BUCKETS),
                (
                    "pgplane_sync_event_lag_seconds",
                    &crate::observability::LAG_BUCKETS,
                ),
            ]));
            metrics::set_global_recorder(PrometheusRecorder(registry.clone())).ok()?;
            Some(registry)
        })
        .clone()
}
