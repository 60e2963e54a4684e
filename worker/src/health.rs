//! The worker's health endpoints, on `WORKER_HEALTH_BIND` (an internal address):
//! `/healthz` is 200 while the worker polls its task queue (503 while it starts or
//! drains), `/readyz` is 200 when PostgreSQL and Temporal answer. An orchestrator
//! restarts a worker whose `/healthz` fails and sends no traffic decision on `/readyz`
//! (a worker takes no inbound traffic; it is for dashboards and deploy checks).

use std::sync::{
    Arc,
    atomic::{AtomicU8, Ordering},
};

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde_json::{Value, json};
use temporalio_client::Client;

/// Where the worker is in its life.
#[derive(Debug, Clone, Default)]
pub struct Phase(Arc<AtomicU8>);

impl Phase {
    const STARTING: u8 = 0;
    const POLLING: u8 = 1;
    const DRAINING: u8 = 2;

    pub fn polling(&self) {
        self.0.store(Self::POLLING, Ordering::SeqCst);
    }

    pub fn draining(&self) {
        self.0.store(Self::DRAINING, Ordering::SeqCst);
    }

    fn name(&self) -> &'static str {
        match self.0.load(Ordering::SeqCst) {
            Self::STARTING => "starting",
            Self::POLLING => "polling",
            _ => "draining",
        }
    }
}

#[derive(Clone)]
struct Health {
    phase: Phase,
    pool: db::Pool,
    client: Client,
}

pub fn router(phase: Phase, pool: db::Pool, client: Client) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(Health {
            phase,
            pool,
            client,
        })
}

async fn healthz(State(health): State<Health>) -> (StatusCode, Json<Value>) {
    let phase = health.phase.name();
    let status = if phase == "polling" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({ "status": phase })))
}

async fn readyz(State(health): State<Health>) -> (StatusCode, Json<Value>) {
    let deadline = std::time::Duration::from_secs(2);
    let database = tokio::time::timeout(deadline, db::ping(&health.pool)).await;
    let database_ok = matches!(database, Ok(Ok(())));
    let temporal_ok = config::temporal_answers(&health.client, deadline).await;
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let status = if database_ok && temporal_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "status": word(database_ok && temporal_ok),
            "checks": { "postgres": word(database_ok), "temporal": word(temporal_ok) },
        })),
    )
}
