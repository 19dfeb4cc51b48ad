//! The node's operational metrics, exposed at `/metrics` in the text format Prometheus
//! scrapes (OpenMetrics 1.0, which Prometheus reads natively).
//!
//! Counters and histograms are incremented where the events happen: fd-web's request
//! middleware records each answer under its matched route template; the mail service counts
//! accepted messages (once committed), ingested ones and given-up ones, and outgoing
//! deliveries by outcome; live streams hold a [`LiveConnection`] for as long as they are
//! open. What lives in the database (jobs by state, the outbox's oldest unsent message) and
//! the connection pool are read at the scrape itself, so every node reports the same queue.
//!
//! Knows nothing of HTTP: fd-web passes the route and status in. Access (a bearer token,
//! off by default) is decided by `check_scrape`, which fd-web's handler calls.

use std::sync::{Arc, OnceLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::{App, AppError};

/// Request latency buckets, in seconds: 1 ms to 10 s.
const LATENCY_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route template (`/crm/v3/objects/tickets/{ticketId}`), never the raw path: the
    /// series stay bounded whatever ids or junk clients request.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamLabels {
    stream: &'static str,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// What a scrape's answer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScrapeAccess {
    /// The endpoint is off (no token configured): answer as if there were no such route.
    Disabled,
    /// A token is configured and the request did not present it.
    Unauthorized,
    Allowed,
}

/// The node's metrics registry.
pub struct Metrics {
    registry: Registry,
    token: OnceLock<String>,
    http_requests: Family<RequestLabels, Counter>,
    http_latency: LatencyFamily,
    mail_accepted: Counter,
    mail_processed: Counter,
    mail_failed: Counter,
    mail_sent: Family<OutcomeLabels, Counter>,
    live: Family<StreamLabels, Gauge>,
    jobs: Family<StateLabels, Gauge>,
    outbox_queued: Gauge,
    outbox_lag: Gauge<f64, std::sync::atomic::AtomicU64>,
    pool: Family<StateLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("frontdesk");
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            http_requests.clone(),
        );
        let http_latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time from receiving a request to its answer's head, by route template",
            prometheus_client::registry::Unit::Seconds,
            http_latency.clone(),
        );
        let mail_accepted = Counter::default();
        registry.register(
            "mail_accepted",
            "Inbound messages accepted and durably stored (SMTP, IMAP)",
            mail_accepted.clone(),
        );
        let mail_processed = Counter::default();
        registry.register(
            "mail_processed",
            "Inbound messages ingested into conversations",
            mail_processed.clone(),
        );
        let mail_failed = Counter::default();
        registry.register(
            "mail_failed",
            "Inbound messages whose ingestion was given up after its last attempt",
            mail_failed.clone(),
        );
        let mail_sent = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "mail_deliveries",
            "Attempts to deliver outgoing messages to the relay, by outcome",
            mail_sent.clone(),
        );
        let live = Family::<StreamLabels, Gauge>::default();
        registry.register(
            "live_connections",
            "Open live-event streams (agents' pages, chat visitors)",
            live.clone(),
        );
        let jobs = Family::<StateLabels, Gauge>::default();
        registry.register(
            "jobs",
            "Jobs in the queue by state (queued, running, failed), read at the scrape",
            jobs.clone(),
        );
        let outbox_queued = Gauge::default();
        registry.register(
            "outbox_queued_messages",
            "Outgoing messages waiting to be handed to the relay",
            outbox_queued.clone(),
        );
        let outbox_lag = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register_with_unit(
            "outbox_lag",
            "Age of the oldest outgoing message not yet sent (0 when none waits)",
            prometheus_client::registry::Unit::Seconds,
            outbox_lag.clone(),
        );
        let pool = Family::<StateLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Database connections: the pool's maximum, open now, in use now",
            pool.clone(),
        );
        Metrics {
            registry,
            token: OnceLock::new(),
            http_requests,
            http_latency,
            mail_accepted,
            mail_processed,
            mail_failed,
            mail_sent,
            live,
            jobs,
            outbox_queued,
            outbox_lag,
            pool,
        }
    }
}

/// Holds one live stream open in `frontdesk_live_connections`; dropping it closes it.
#[derive(Debug)]
pub struct LiveConnection {
    metrics: Arc<Metrics>,
    stream: &'static str,
}

impl Drop for LiveConnection {
    fn drop(&mut self) {
        self.metrics
            .live
            .get_or_create(&StreamLabels {
                stream: self.stream,
            })
            .dec();
    }
}

impl Metrics {
    /// Turns the endpoint on with this bearer token (once, at start; empty keeps it off).
    pub fn enable_scrape(&self, token: &str) -> Result<(), AppError> {
        let token = token.trim();
        if token.is_empty() {
            return Ok(());
        }
        if token.len() < 16 {
            return Err(AppError::invalid(
                "metrics_token",
                "the metrics token must be at least 16 characters",
            ));
        }
        self.token
            .set(token.to_string())
            .map_err(|_| AppError::Conflict("the metrics token is already set".into()))
    }

    /// Whether a scrape presenting `bearer` (the `Authorization: Bearer` value) is let in.
    pub fn check_scrape(&self, bearer: Option<&str>) -> ScrapeAccess {
        let Some(token) = self.token.get() else {
            return ScrapeAccess::Disabled;
        };
        match bearer {
            Some(b) if constant_time_eq(b.trim().as_bytes(), token.as_bytes()) => {
                ScrapeAccess::Allowed
            }
            _ => ScrapeAccess::Unauthorized,
        }
    }

    /// One answered HTTP request.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.http_requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.http_latency
            .get_or_create(&RouteLabels {
                method: method.to_string(),
                route: route.to_string(),
            })
            .observe(seconds);
    }

    pub(crate) fn mail_accepted(&self, n: u64) {
        self.mail_accepted.inc_by(n);
    }

    pub(crate) fn mail_processed(&self, n: u64) {
        self.mail_processed.inc_by(n);
    }

    pub(crate) fn mail_failed(&self) {
        self.mail_failed.inc();
    }

    /// An outgoing delivery attempt: `sent`, `not_sent`, `retried` or `failed`.
    pub(crate) fn mail_delivery(&self, outcome: &'static str) {
        self.mail_sent
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }
}

/// Compares without stopping at the first difference, so timing tells nothing of the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl App {
    /// This node's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Counts a live stream (`agent` pages, `chat` visitors) until the guard is dropped.
    pub fn live_connection(&self, stream: &'static str) -> LiveConnection {
        self.metrics
            .live
            .get_or_create(&StreamLabels { stream })
            .inc();
        LiveConnection {
            metrics: self.metrics.clone(),
            stream,
        }
    }

    /// The scrape: reads the queue and outbox gauges and the pool, then renders everything.
    pub async fn render_metrics(&self) -> Result<String, AppError> {
        let now = self.now();
        let mut tx = self.db().read().await?;
        let g = tx.ops_gauges(now).await?;
        tx.commit().await?;
        let m = &self.metrics;
        m.jobs
            .get_or_create(&StateLabels { state: "queued" })
            .set(g.jobs_queued);
        m.jobs
            .get_or_create(&StateLabels { state: "running" })
            .set(g.jobs_running);
        m.jobs
            .get_or_create(&StateLabels { state: "failed" })
            .set(g.jobs_failed);
        m.outbox_queued.set(g.outbox_queued);
        let lag_ms = g.outbox_oldest_at.map_or(0, |t| (now - t).max(0));
        m.outbox_lag.set(lag_ms as f64 / 1000.0);
        let pool = self.db().pool_usage();
        for (state, v) in [
            ("max", pool.max),
            ("open", pool.open),
            ("in_use", pool.in_use),
        ] {
            m.pool
                .get_or_create(&StateLabels { state })
                .set(i64::try_from(v).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &m.registry)
            .map_err(|e| AppError::Internal(format!("cannot render the metrics: {e}")))?;
        Ok(out)
    }
}
