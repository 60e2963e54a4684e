//! Calling a request off: the owner before paying, staff any time before the visit (a
//! paid one is refunded by the workflow).

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::post,
};
use domain::{Actor, RequestId};
use serde::Deserialize;
use utoipa::ToSchema;
use workflows::{Cancel, ServiceRequestWorkflow};

use crate::extract::{ApiJson, PathId};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, CommandAccepted, Problem},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(cancel))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new().route("/service-requests/{id}/cancel", post(cancel))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    /// Why; required of staff, kept in the history.
    #[serde(default)]
    pub reason: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/service-requests/{id}/cancel",
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The service request id")),
    request_body = CancelBody,
    responses(
        (status = 202, description = "`accepted`: the request is being cancelled (refunded if paid); `pending`: handed over with the outcome not known in time (the same call again is safe). `Location` is the request either way", body = crate::error::CommandAccepted),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too late for this caller, or already over", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
/// The owner cancels their own request before paying; staff cancel any, with a reason
/// (a paid one is refunded through MercadoPago).
async fn cancel(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<RequestId>,
    ApiJson(body): ApiJson<CancelBody>,
) -> Result<impl IntoResponse, ApiError> {
    let reason = body
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let actor = if user.is_staff {
        if reason.is_none() {
            return Err(ApiError::invalid("reason", "staff say why they cancel"));
        }
        Actor::Staff(user.id.into_uuid())
    } else {
        let owner = user
            .owner
            .ok_or_else(|| ApiError::Forbidden("owners and staff cancel requests".into()))?;
        let mut conn = db::conn(&state.pool).await?;
        let mine = db::requests::find_request(&mut conn, id)
            .await?
            .is_some_and(|r| r.request.owner_id == Some(owner.into_uuid()));
        if !mine {
            return Err(ApiError::NotFound("service request"));
        }
        Actor::Owner(owner)
    };
    crate::workflow_client::run_update(
        &state,
        id,
        ServiceRequestWorkflow::cancel,
        Cancel { actor, reason },
        "request-state",
        "the request cannot be cancelled",
        Some(workflows::update_ids::cancel(id, actor)),
    )
    .await?;
    let location = format!("/api/v1/service-requests/{id}");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location.clone())],
        Json(CommandAccepted {
            status: "accepted".into(),
            detail: "the request is being cancelled; a paid one is refunded".into(),
            location,
        }),
    ))
}
