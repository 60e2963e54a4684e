//! Service requests: create (starts the workflow), read (from PostgreSQL), the live view
//! (a workflow query) and a vet's answer (a workflow update).

use axum::{
    Json, Router,
    extract::{Path, State, rejection::JsonRejection},
    http::{StatusCode, header},
    response::IntoResponse,
    routing::{get, post},
};
use chrono::Utc;
use db::requests::{NewRequest, RequestDetail};
use diesel_async::AsyncConnection;
use domain::{Actor, Description, RequestId, VetAnswer, VetId};
use serde::{Deserialize, Serialize};
use temporalio_client::{
    WorkflowExecuteUpdateOptions, WorkflowIdReusePolicy, WorkflowQueryOptions,
    WorkflowStartOptions, errors::WorkflowQueryError, errors::WorkflowStartError,
    errors::WorkflowUpdateError,
};
use temporalio_common::search_attributes::SearchAttributes;
use workflows::{
    RequestStatus, ServiceRequestInput, ServiceRequestWorkflow, VetResponse, VetResponseOutcome,
    search,
};

use crate::{AppState, error::ApiError, error::FieldError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/service-requests", post(create))
        .route("/service-requests/{id}", get(show))
        .route("/service-requests/{id}/live", get(live))
        .route("/service-requests/{id}/vet-response", post(vet_response))
}

/// The temporary minimal body of the walking skeleton; checkout replaces it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Chosen by the client to make a retried POST safe; generated when absent.
    #[serde(default)]
    pub id: Option<uuid::Uuid>,
    pub description: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Created {
    pub id: RequestId,
    pub workflow_id: String,
    pub state: domain::RequestState,
}

fn parse_id(raw: &str) -> Result<RequestId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::Validation(vec![FieldError::new("id", "must be a UUID")]))
}

/// Writes the request row and starts its workflow, atomically as far as the caller can
/// tell: the row is committed only once Temporal has accepted the start, and the
/// workflow recreates the row should that commit be lost. A second POST with the same id
/// is rejected (409) by the primary key and, failing that, by the workflow id.
async fn create(
    State(state): State<AppState>,
    body: Result<Json<CreateRequest>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(body) = body?;
    let description = Description::parse(&body.description)
        .map_err(|e| ApiError::Validation(vec![FieldError::new("description", e.to_string())]))?;
    let id = body.id.map_or_else(RequestId::new, RequestId::from_uuid);
    let new = NewRequest {
        id,
        description: description.as_str().to_owned(),
        created_by: Actor::System,
    };
    let input = ServiceRequestInput {
        request: id,
        description: description.as_str().to_owned(),
        policy: state.settings.dispatch,
    };
    let options =
        WorkflowStartOptions::new(state.settings.temporal.task_queue.clone(), id.workflow_id())
            .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
            .search_attributes(SearchAttributes::new([
                search::REQUEST_ID.value_set(id.to_string()),
                search::REQUEST_STATE.value_set(domain::RequestState::Pending.as_str().to_owned()),
            ]))
            .build();

    let duplicate = || ApiError::Conflict {
        kind: "duplicate-request",
        detail: format!("a service request with id {id} already exists"),
    };
    let mut conn = db::conn(&state.pool).await?;
    let temporal = state.temporal.clone();
    conn.transaction::<_, ApiError, _>(async move |conn| {
        db::requests::insert_request(conn, &new, Utc::now())
            .await
            .map_err(|e| match e.unique_violation() {
                Some(_) => duplicate(),
                None => e.into(),
            })?;
        temporal
            .start_workflow(ServiceRequestWorkflow::run, input, options)
            .await
            .map_err(|e| match e {
                WorkflowStartError::AlreadyStarted { .. } => duplicate(),
                other => ApiError::Unavailable {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    detail: format!("could not start the workflow: {other}"),
                },
            })?;
        Ok(())
    })
    .await?;

    tracing::info!(request = %id, "service request created");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/service-requests/{id}"))],
        Json(Created {
            id,
            workflow_id: id.workflow_id(),
            state: domain::RequestState::Pending,
        }),
    ))
}

/// The request as recorded in PostgreSQL, with its state history and offers.
async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RequestDetail>, ApiError> {
    let id = parse_id(&id)?;
    let mut conn = db::conn(&state.pool).await?;
    db::requests::find_request(&mut conn, id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("service request"))
}

/// The workflow's own view, through a query with a deadline.
async fn live(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RequestStatus>, ApiError> {
    let id = parse_id(&id)?;
    let handle = state
        .temporal
        .get_workflow_handle::<ServiceRequestWorkflow>(id.workflow_id());
    let query = handle.query(
        ServiceRequestWorkflow::query_status,
        (),
        WorkflowQueryOptions::default(),
    );
    match tokio::time::timeout(state.settings.query_timeout, query).await {
        Ok(Ok(status)) => Ok(Json(status)),
        Ok(Err(WorkflowQueryError::NotFound(_))) => Err(ApiError::NotFound("service request")),
        Ok(Err(e)) => Err(ApiError::Unavailable {
            status: StatusCode::SERVICE_UNAVAILABLE,
            detail: format!("status query failed: {e}"),
        }),
        Err(_) => Err(ApiError::Unavailable {
            status: StatusCode::GATEWAY_TIMEOUT,
            detail: "the workflow did not answer the status query in time".to_owned(),
        }),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VetResponseBody {
    pub answer: VetAnswer,
    #[serde(default)]
    pub vet_id: Option<VetId>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct VetResponseResult {
    pub outcome: VetResponseOutcome,
}

/// A vet's answer, delivered as a workflow update so the caller learns at once whether
/// it counted (409 when the offer is no longer open).
async fn vet_response(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<VetResponseBody>, JsonRejection>,
) -> Result<Json<VetResponseResult>, ApiError> {
    let id = parse_id(&id)?;
    let Json(body) = body?;
    let handle = state
        .temporal
        .get_workflow_handle::<ServiceRequestWorkflow>(id.workflow_id());
    let update = handle.execute_update(
        ServiceRequestWorkflow::vet_response,
        VetResponse {
            answer: body.answer,
            vet: body.vet_id,
        },
        WorkflowExecuteUpdateOptions::default(),
    );
    match tokio::time::timeout(state.settings.query_timeout, update).await {
        Ok(Ok(outcome)) => Ok(Json(VetResponseResult { outcome })),
        // A finished workflow is "not found" to Temporal; to the vet the offer is closed.
        Ok(Err(WorkflowUpdateError::NotFound(_))) => {
            let mut conn = db::conn(&state.pool).await?;
            match db::requests::find_request(&mut conn, id).await? {
                Some(found) => Err(ApiError::Conflict {
                    kind: "offer-closed",
                    detail: format!("the request is {}, no offer is open", found.request.state),
                }),
                None => Err(ApiError::NotFound("service request")),
            }
        }
        Ok(Err(WorkflowUpdateError::Failed(failure))) => Err(ApiError::Conflict {
            kind: "offer-closed",
            detail: failure.message,
        }),
        Ok(Err(e)) => Err(ApiError::Unavailable {
            status: StatusCode::SERVICE_UNAVAILABLE,
            detail: format!("vet response update failed: {e}"),
        }),
        Err(_) => Err(ApiError::Unavailable {
            status: StatusCode::GATEWAY_TIMEOUT,
            detail: "the workflow did not accept the answer in time".to_owned(),
        }),
    }
}
