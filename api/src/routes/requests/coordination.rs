//! Setting the visit's time (the accepted vet or staff) and sending a request back to
//! dispatch (staff).

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use chrono::{DateTime, Utc};
use domain::{Actor, RequestId, RequestState, VetId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use workflows::{Coordinate, CoordinateOutcome, Reassign, ServiceRequestWorkflow};

use crate::extract::{ApiJson, PathId};
use crate::{
    AppState,
    auth::{AuthUser, StaffUser},
    error::{ApiError, Problem},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(coordinate, reassign))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/service-requests/{id}/coordinate", post(coordinate))
        .route("/service-requests/{id}/reassign", post(reassign))
}

/// The vet the request is with now, as PostgreSQL knows it.
async fn current_vet(state: &AppState, id: RequestId) -> Result<Option<VetId>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let found = db::requests::find_request(&mut conn, id).await?;
    Ok(found.and_then(|f| f.request.vet_id).map(VetId::from_uuid))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoordinateBody {
    /// The visit's exact start; the visit must fit inside the wanted window.
    pub start: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Coordinated {
    pub state: RequestState,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[utoipa::path(
    post,
    path = "/api/v1/service-requests/{id}/coordinate",
    tag = "dispatch",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The service request id")),
    request_body = CoordinateBody,
    responses(
        (status = 200, body = Coordinated),
        (status = 202, description = "Handed over, outcome not known in time: look at `Location`; the same call again is safe", body = crate::error::CommandAccepted),
        (status = 403, description = "Not the accepted vet nor staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not waiting for a time, or the vet is booked then", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Outside the wanted window", body = Problem, content_type = "application/problem+json"),
    )
)]
/// The accepted vet (or staff) sets the visit's start: the vet's time is booked (never
/// twice for overlapping times) and the request is `coordinated`.
async fn coordinate(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<RequestId>,
    ApiJson(body): ApiJson<CoordinateBody>,
) -> Result<Json<Coordinated>, ApiError> {
    let actor = match (user.is_staff, user.vet) {
        (true, _) => Actor::Staff(user.id.into_uuid()),
        (false, Some(vet)) => Actor::Vet(vet),
        _ => return Err(ApiError::Forbidden("only the accepted vet or staff".into())),
    };
    let vet = match actor {
        Actor::Vet(vet) => {
            super::answers::require_offered(&state, id, vet).await?;
            Some(vet)
        }
        _ => current_vet(&state, id).await?,
    };
    let update_id = workflows::update_ids::coordinate(id, vet, body.start);
    let outcome = crate::workflow_client::run_update(
        &state,
        id,
        ServiceRequestWorkflow::coordinate,
        Coordinate {
            start: body.start,
            actor,
        },
        "request-state",
        "the request is not waiting for a time",
        Some(update_id),
    )
    .await?;
    match outcome {
        CoordinateOutcome::Coordinated { start, end } => Ok(Json(Coordinated {
            state: RequestState::Coordinated,
            start,
            end,
        })),
        CoordinateOutcome::Overlap => Err(ApiError::conflict(
            "vet-double-booked",
            "the vet already has a visit at that time",
        )),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignBody {
    /// Why, kept in the state history.
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/service-requests/{id}/reassign",
    tag = "dispatch",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The service request id")),
    request_body = ReassignBody,
    responses(
        (status = 202, description = "Dispatch starts again without the current vet; or, with a `CommandAccepted` body and `Location`, handed over with the outcome not known in time (the same call again is safe)", body = crate::error::CommandAccepted),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request has no vet to replace", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
/// Staff send an accepted or coordinated request back to dispatch, with a reason: the
/// vet's time is released and the vet is not asked again.
async fn reassign(
    StaffUser(user): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<RequestId>,
    ApiJson(body): ApiJson<ReassignBody>,
) -> Result<StatusCode, ApiError> {
    if body.reason.trim().is_empty() {
        return Err(ApiError::invalid("reason", "must not be blank"));
    }
    let vet = current_vet(&state, id).await?;
    crate::workflow_client::run_update(
        &state,
        id,
        ServiceRequestWorkflow::reassign,
        Reassign {
            actor: Actor::Staff(user.id.into_uuid()),
            reason: body.reason,
        },
        "request-state",
        "the request has no vet to replace",
        Some(workflows::update_ids::reassign(id, vet)),
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}
