//! The service's Prometheus metrics, served at `/metrics` in the text exposition format.

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

fn latency() -> Histogram {
    // 50 µs to about 1.6 s.
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

/// Counters, gauges and histograms, cheap to clone.
#[derive(Clone, Debug)]
pub struct Metrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    registry: Registry,
    requests: Family<Labels, Counter>,
    request_seconds: Family<Labels, Histogram, fn() -> Histogram>,
    commands: Family<Labels, Counter>,
    commit_seconds: Histogram,
    batch_size: Histogram,
    webhooks: Family<Labels, Counter>,
    journal_seq: Gauge,
    open_positions: Gauge,
    price_age: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("levfarm");
        let requests = Family::<Labels, Counter>::default();
        let request_seconds = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency as fn() -> Histogram,
        );
        let commands = Family::<Labels, Counter>::default();
        let commit_seconds = latency();
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 9));
        let webhooks = Family::<Labels, Counter>::default();
        let journal_seq = Gauge::default();
        let open_positions = Gauge::default();
        let price_age = Gauge::default();
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        registry.register(
            "http_request_seconds",
            "HTTP request latency by route",
            request_seconds.clone(),
        );
        registry.register(
            "commands",
            "Commands by operation and outcome (stored, refused)",
            commands.clone(),
        );
        registry.register(
            "journal_commit_seconds",
            "Time to make one batch of commands durable",
            commit_seconds.clone(),
        );
        registry.register(
            "journal_batch_commands",
            "Commands per durable batch",
            batch_size.clone(),
        );
        registry.register("webhooks", "Webhook deliveries by outcome", webhooks.clone());
        registry.register("journal_seq", "The journal's last sequence number", journal_seq.clone());
        registry.register("open_positions", "Positions open", open_positions.clone());
        registry.register(
            "price_age_seconds",
            "Wall-clock seconds since the last price",
            price_age.clone(),
        );
        Metrics(Arc::new(Inner {
            registry,
            requests,
            request_seconds,
            commands,
            commit_seconds,
            batch_size,
            webhooks,
            journal_seq,
            open_positions,
            price_age,
        }))
    }
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16, seconds: f64) {
        self.0
            .requests
            .get_or_create(&vec![("route", route.to_string()), ("status", status.to_string())])
            .inc();
        self.0.request_seconds.get_or_create(&vec![("route", route.to_string())]).observe(seconds);
    }

    pub fn command(&self, op: &str, outcome: &str) {
        self.0
            .commands
            .get_or_create(&vec![("op", op.to_string()), ("outcome", outcome.to_string())])
            .inc();
    }

    pub fn commit(&self, seconds: f64, commands: usize, seq: u64) {
        self.0.commit_seconds.observe(seconds);
        self.0.batch_size.observe(commands as f64);
        self.0.journal_seq.set(i64::try_from(seq).unwrap_or(i64::MAX));
    }

    pub fn webhook(&self, outcome: &str) {
        self.0.webhooks.get_or_create(&vec![("outcome", outcome.to_string())]).inc();
    }

    pub fn open_positions(&self, n: usize) {
        self.0.open_positions.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub fn price_age(&self, seconds: u64) {
        self.0.price_age.set(i64::try_from(seconds).unwrap_or(i64::MAX));
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.0.registry).is_err() {
            out.clear();
        }
        out
    }
}
