//! Staff create a request by phone (no address or window): the row and its workflow,
//! started in the same transaction's shadow (the row is rolled back if Temporal refuses).

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
};
use chrono::Utc;
use db::requests::NewRequest;
use diesel_async::AsyncConnection;
use domain::{Actor, Description, RequestId, RequestState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use workflows::{ServiceRequestInput, ServiceRequestWorkflow};

use crate::extract::ApiJson;
use crate::workflow_client::{Start, start};
use crate::{
    AppState,
    auth::StaffUser,
    error::{ApiError, Problem},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(create))]
pub struct Docs;

/// The temporary minimal body of the walking skeleton; checkout replaces it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Chosen by the client to make a retried POST safe; generated when absent.
    #[serde(default)]
    pub id: Option<uuid::Uuid>,
    /// What is needed, 1 to 2000 characters.
    #[schema(example = "Vacuna antirrábica para Luna")]
    pub description: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Created {
    pub id: RequestId,
    pub workflow_id: String,
    pub state: RequestState,
}

#[utoipa::path(
    post,
    path = "/api/v1/service-requests",
    tag = "service-requests",
    security(("bearer" = [])),
    request_body = CreateRequest,
    responses(
        (status = 201, description = "Created; the workflow has started", body = Created),
        (status = 400, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Staff only", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this id exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Temporal or PostgreSQL unavailable; nothing was written", body = Problem, content_type = "application/problem+json"),
    )
)]
/// Writes the request row and starts its workflow, atomically as far as the caller can
/// tell: the row is committed only once Temporal has accepted the start, and the
/// workflow recreates the row should that commit be lost. A second POST with the same id
/// is rejected (409) by the primary key and, failing that, by the workflow id.
pub(super) async fn create(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let description = Description::parse(&body.description)
        .map_err(|e| ApiError::invalid("description", e.to_string()))?;
    let id = body.id.map_or_else(RequestId::new, RequestId::from_uuid);
    let new = NewRequest {
        id,
        description: description.as_str().to_owned(),
        created_by: Actor::System,
    };
    let input = ServiceRequestInput::new(
        id,
        description.as_str().to_owned(),
        state.settings.dispatch,
        workflows::DispatchMode::Staff,
    );
    let summary = format!("staff-created · {}", description.as_str());
    let options = crate::outbox::start_options(&state, id, None, Some(summary));

    let duplicate = || {
        ApiError::conflict(
            "duplicate-request",
            format!("a service request with id {id} already exists"),
        )
    };
    let mut conn = db::conn(&state.pool).await?;
    let (temporal, deadline) = (state.temporal.clone(), state.settings.update_timeout);
    conn.transaction::<_, ApiError, _>(async move |conn| {
        db::requests::insert_request(conn, &new, Utc::now())
            .await
            .map_err(|e| match e.unique_violation() {
                Some(_) => duplicate(),
                None => e.into(),
            })?;
        match start(
            &temporal,
            deadline,
            ServiceRequestWorkflow::run,
            input,
            options,
        )
        .await?
        {
            Start::Started => Ok(()),
            Start::AlreadyStarted => Err(duplicate()),
        }
    })
    .await?;

    tracing::info!(request = %id, "service request created");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/service-requests/{id}"))],
        Json(Created {
            id,
            workflow_id: id.workflow_id(),
            state: RequestState::Pending,
        }),
    ))
}
