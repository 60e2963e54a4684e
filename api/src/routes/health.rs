//! `/healthz`: the process is up. `/readyz`: PostgreSQL and Temporal answer.

use axum::{Json, Router, extract::State, http::StatusCode, routing::get};
use serde_json::{Value, json};

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, readyz))]
pub struct Docs;

#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "The process is up")))]
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "PostgreSQL and Temporal answer"),
        (status = 503, description = "One of them does not; `checks` says which"),
    )
)]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let deadline = std::time::Duration::from_secs(2);
    let database = tokio::time::timeout(deadline, db::ping(&state.pool)).await;
    let database_ok = matches!(database, Ok(Ok(())));
    let temporal_ok = config::temporal_answers(&state.temporal, deadline).await;
    let status = if database_ok && temporal_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    (
        status,
        Json(json!({
            "status": word(database_ok && temporal_ok),
            "checks": { "postgres": word(database_ok), "temporal": word(temporal_ok) },
        })),
    )
}
