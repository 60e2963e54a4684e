//! Prometheus metrics of the API, served on their own listener (`API_METRICS_BIND`, never
//! on the public one): requests by route and status and their latency, the database
//! pool, the outbox's depth and MercadoPago webhooks by outcome. `docs/OPERATIONS.md`
//! lists the series and the alerts worth having on them.

use std::{sync::LazyLock, time::Instant};

use axum::{
    extract::{MatchedPath, Request},
    middleware::Next,
    response::Response,
};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_size: IntGauge,
    pool_available: IntGauge,
    pool_waiting: IntGauge,
    outbox_depth: IntGauge,
    webhooks: IntCounterVec,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let registry = Registry::new_custom(Some("amar_api".into()), None).expect("a registry");
    let requests = IntCounterVec::new(
        Opts::new(
            "http_requests_total",
            "Requests answered, by route, method and status",
        ),
        &["route", "method", "status"],
    )
    .expect("a counter");
    let latency = HistogramVec::new(
        HistogramOpts::new(
            "http_request_duration_seconds",
            "Time to answer, by route and method",
        )
        .buckets(vec![
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ]),
        &["route", "method"],
    )
    .expect("a histogram");
    let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("a gauge");
    let pool_size = gauge("db_pool_connections", "Connections the pool holds open");
    let pool_available = gauge("db_pool_available", "Open connections not in use");
    let pool_waiting = gauge("db_pool_waiting", "Requests waiting for a connection");
    let outbox_depth = gauge(
        "outbox_unstarted_requests",
        "Checked-out requests whose workflow is not started yet (at the last outbox pass, at most 100)",
    );
    let webhooks = IntCounterVec::new(
        Opts::new(
            "webhook_notifications_total",
            "MercadoPago notifications, by outcome: received, duplicate, bad_signature, malformed",
        ),
        &["outcome"],
    )
    .expect("a counter");
    for collector in [
        Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
        Box::new(latency.clone()),
        Box::new(pool_size.clone()),
        Box::new(pool_available.clone()),
        Box::new(pool_waiting.clone()),
        Box::new(outbox_depth.clone()),
        Box::new(webhooks.clone()),
    ] {
        registry.register(collector).expect("registered once");
    }
    Metrics {
        registry,
        requests,
        latency,
        pool_size,
        pool_available,
        pool_waiting,
        outbox_depth,
        webhooks,
    }
});

/// Middleware: counts and times every request under its route's template
/// (`/api/v1/pets/{id}`, never the id itself); a path no route matches is `unmatched`.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = &*METRICS;
    metrics
        .latency
        .with_label_values(&[route.as_str(), method.as_str()])
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .with_label_values(&[route.as_str(), method.as_str(), response.status().as_str()])
        .inc();
    response
}

/// The outbox found `n` requests to start.
pub fn outbox_depth(n: usize) {
    METRICS
        .outbox_depth
        .set(i64::try_from(n).unwrap_or(i64::MAX));
}

/// A MercadoPago notification ended so.
pub fn webhook(outcome: &'static str) {
    METRICS.webhooks.with_label_values(&[outcome]).inc();
}

/// Everything, in Prometheus's text format, with the pool as it is now.
pub fn render(pool: &db::Pool) -> String {
    let metrics = &*METRICS;
    let status = pool.status();
    metrics
        .pool_size
        .set(i64::try_from(status.size).unwrap_or(i64::MAX));
    metrics
        .pool_available
        .set(i64::try_from(status.available).unwrap_or(i64::MAX));
    metrics
        .pool_waiting
        .set(i64::try_from(status.waiting).unwrap_or(i64::MAX));
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&metrics.registry.gather(), &mut out)
        .expect("text encoding never fails");
    String::from_utf8(out).expect("the text format is UTF-8")
}

/// The metrics listener's router: `GET /metrics`.
pub fn router(pool: db::Pool) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let pool = pool.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    render(&pool),
                )
            }
        }),
    )
}
