//! The `metrics` facade's recorder: counters, gauges and bucketed histograms kept in memory
//! and rendered in Prometheus's text exposition format (version 0.0.4).
//!
//! pgplane's own, because the exporter crate brings a second `rand`, a sampling summary
//! engine and a clock crate for features `/metrics` does not use. Every histogram has buckets
//! (its configured ones, or Prometheus's default); there are no summaries.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

/// Prometheus's default histogram buckets (client libraries' `DefBuckets`), in seconds.
const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A histogram's cumulative state: one count per bucket upper bound, the sum and the count.
struct Buckets {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    sum_bits: AtomicU64,
    count: AtomicU64,
}

impl Buckets {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_bits: AtomicU64::new(0f64.to_bits()),
            count: AtomicU64::new(0),
        }
    }
}

impl HistogramFn for Buckets {
    fn record(&self, value: f64) {
        // Counts are per bucket here and made cumulative when rendered.
        if let Some(index) = self.bounds.iter().position(|bound| value <= *bound) {
            self.counts[index].fetch_add(1, Ordering::Relaxed);
        }
        let _ = self
            .sum_bits
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// The series of one kind, by key (name and labels).
type Series<T> = RwLock<HashMap<Key, Arc<T>>>;

/// Every series registered so far, and the buckets configured per histogram name.
#[derive(Default)]
pub struct Registry {
    counters: Series<AtomicU64>,
    gauges: Series<AtomicU64>,
    histograms: Series<Buckets>,
    bucket_bounds: HashMap<&'static str, &'static [f64]>,
}

/// The series for `key`, created on first use. Reads take the shared lock only.
fn series<T>(map: &Series<T>, key: &Key, create: impl FnOnce() -> T) -> Arc<T> {
    if let Some(found) = map.read().unwrap_or_else(|e| e.into_inner()).get(key) {
        return found.clone();
    }
    map.write()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key.clone())
        .or_insert_with(|| Arc::new(create()))
        .clone()
}

/// The series of one kind sorted by name, then labels, for a stable rendering.
fn sorted<T>(map: &Series<T>) -> Vec<(Key, Arc<T>)> {
    let mut all: Vec<(Key, Arc<T>)> = map
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    all.sort_by_cached_key(|(key, _)| (key.name().to_string(), label_pairs(key, None)));
    all
}

/// `{a="x",b="y"}` (with `extra` last, as `le` goes), or "" without labels.
fn label_pairs(key: &Key, extra: Option<(&str, &str)>) -> String {
    let pairs: Vec<String> = key
        .labels()
        .map(|label| (label.key(), label.value()))
        .chain(extra)
        .map(|(name, value)| format!("{name}=\"{}\"", escape(value)))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", pairs.join(","))
    }
}

/// A label value as the exposition format quotes it.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes `# TYPE` once per metric name, before its first series.
fn type_line(out: &mut String, last: &mut Option<String>, name: &str, kind: &str) {
    if last.as_deref() != Some(name) {
        let _ = writeln!(out, "# TYPE {name} {kind}");
        *last = Some(name.to_string());
    }
}

impl Registry {
    /// A registry whose histograms named in `bounds` use those bucket upper bounds.
    pub fn with_buckets(bounds: &[(&'static str, &'static [f64])]) -> Self {
        Self {
            bucket_bounds: bounds.iter().copied().collect(),
            ..Self::default()
        }
    }

    /// Every series in the text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut last = None;
        for (key, value) in sorted(&self.counters) {
            type_line(&mut out, &mut last, key.name(), "counter");
            let labels = label_pairs(&key, None);
            let _ = writeln!(
                out,
                "{}{labels} {}",
                key.name(),
                value.load(Ordering::Acquire)
            );
        }
        for (key, value) in sorted(&self.gauges) {
            type_line(&mut out, &mut last, key.name(), "gauge");
            let labels = label_pairs(&key, None);
            let value = f64::from_bits(value.load(Ordering::Acquire));
            let _ = writeln!(out, "{}{labels} {value}", key.name());
        }
        for (key, histogram) in sorted(&self.histograms) {
            let name = key.name();
            type_line(&mut out, &mut last, name, "histogram");
            let mut cumulative = 0;
            for (bound, count) in histogram.bounds.iter().zip(&histogram.counts) {
                cumulative += count.load(Ordering::Acquire);
                let le = label_pairs(&key, Some(("le", &bound.to_string())));
                let _ = writeln!(out, "{name}_bucket{le} {cumulative}");
            }
            let count = histogram.count.load(Ordering::Acquire);
            let sum = f64::from_bits(histogram.sum_bits.load(Ordering::Acquire));
            let labels = label_pairs(&key, None);
            let inf = label_pairs(&key, Some(("le", "+Inf")));
            let _ = writeln!(out, "{name}_bucket{inf} {count}");
            let _ = writeln!(out, "{name}_sum{labels} {sum}");
            let _ = writeln!(out, "{name}_count{labels} {count}");
        }
        out
    }
}

/// The recorder installed process-wide; it shares its registry with `/metrics`.
pub struct PrometheusRecorder(pub Arc<Registry>);

impl Recorder for PrometheusRecorder {
    // Descriptions are not rendered (no `# HELP` lines), as before.
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(series(&self.0.counters, key, || AtomicU64::new(0)))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(series(&self.0.gauges, key, || {
            AtomicU64::new(0f64.to_bits())
        }))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let bounds = self
            .0
            .bucket_bounds
            .get(key.name())
            .copied()
            .unwrap_or(&DEFAULT_BUCKETS);
        Histogram::from_arc(series(&self.0.histograms, key, || Buckets::new(bounds)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_cumulative_buckets() {
        static BOUNDS: [f64; 2] = [0.1, 1.0];
        let registry = Arc::new(Registry::with_buckets(&[("latency", &BOUNDS)]));
        let recorder = PrometheusRecorder(registry.clone());
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("requests_total", "route" => "a\"b").increment(2);
            metrics::counter!("requests_total", "route" => "a\"b").increment(1);
            metrics::gauge!("leader").set(1.0);
            metrics::gauge!("backlog").set(2.5);
            for value in [0.0625, 0.5, 0.75, 3.0] {
                metrics::histogram!("latency", "route" => "x").record(value);
            }
            metrics::histogram!("other").record(0.3);
        });
        let text = registry.render();
        let expected = "# TYPE requests_total counter\n\
            requests_total{route=\"a\\\"b\"} 3\n\
            # TYPE backlog gauge\nbacklog 2.5\n# TYPE leader gauge\nleader 1\n\
            # TYPE latency histogram\n\
            latency_bucket{route=\"x\",le=\"0.1\"} 1\n\
            latency_bucket{route=\"x\",le=\"1\"} 3\n\
            latency_bucket{route=\"x\",le=\"+Inf\"} 4\n\
            latency_sum{route=\"x\"} 4.3125\n\
            latency_count{route=\"x\"} 4\n";
        assert!(text.starts_with(expected), "{text}");
        // Unconfigured histograms get Prometheus's default buckets.
        assert!(
            text.contains("other_bucket{le=\"0.25\"} 0\nother_bucket{le=\"0.5\"} 1\n"),
            "{text}"
        );
    }
}
