//! Service requests: create (starts the workflow), read (from PostgreSQL), the live view
//! (a workflow query) and a vet's answer (a workflow update).
//!
//! Owners create requests through checkout and read their own here; staff read all, and
//! create requests directly (the original skeleton path). Vets will answer through signed
//! links and their own API.

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::{get, post},
};
use chrono::DateTime;
use chrono::Utc;
use db::requests::{NewRequest, RequestDetail};
use diesel_async::AsyncConnection;
use domain::{
    Actor, Description, OwnerId, RequestId, RequestState, VetAnswer, VetId, pricing::Breakdown,
};
use serde::{Deserialize, Serialize};
use temporalio_client::{
    WorkflowQueryOptions, errors::WorkflowQueryError, errors::WorkflowStartError,
};
use utoipa::ToSchema;
use workflows::{
    RequestStatus, ServiceRequestInput, ServiceRequestWorkflow, VetResponse, VetResponseOutcome,
};

use crate::extract::{ApiJson, ApiQuery, PathId};
use crate::{
    AppState,
    auth::{AuthUser, StaffUser},
    error::{ApiError, Problem},
};

/// The endpoints of this module, for the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(create, list, show, live, vet_response))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/service-requests", get(list).post(create))
        .route("/service-requests/{id}", get(show))
        .route("/service-requests/{id}/live", get(live))
        .route("/service-requests/{id}/vet-response", post(vet_response))
}

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
        (status = 409, description = "A request with this id exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Temporal or PostgreSQL unavailable; nothing was written", body = Problem, content_type = "application/problem+json"),
    )
)]
/// Writes the request row and starts its workflow, atomically as far as the caller can
/// tell: the row is committed only once Temporal has accepted the start, and the
/// workflow recreates the row should that commit be lost. A second POST with the same id
/// is rejected (409) by the primary key and, failing that, by the workflow id.
async fn create(
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
            state: RequestState::Pending,
        }),
    ))
}

/// A service request as recorded in PostgreSQL.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RequestView {
    pub id: RequestId,
    pub state: RequestState,
    /// seq of the last state change applied.
    pub state_seq: i32,
    pub description: String,
    pub vet_id: Option<VetId>,
    pub owner_id: Option<OwnerId>,
    pub service_id: Option<uuid::Uuid>,
    pub pet_id: Option<uuid::Uuid>,
    /// The price frozen at checkout, line by line.
    pub price: Option<Breakdown>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every state change, oldest first.
    pub history: Vec<HistoryEntry>,
    /// Every offer made to a vet.
    pub offers: Vec<OfferView>,
    /// Where the owner pays (MercadoPago's checkout), once the visit is coordinated.
    pub payment_link: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub seq: i32,
    pub from_state: Option<RequestState>,
    pub to_state: RequestState,
    /// `system`, `owner:<id>`, `vet:<id>` or `staff:<id>`.
    pub actor: String,
    pub reason: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OfferView {
    pub offer_no: i32,
    pub vet_id: Option<VetId>,
    pub offered_at: DateTime<Utc>,
    pub followups_sent: i32,
    pub answer: Option<VetAnswer>,
    pub answered_at: Option<DateTime<Utc>>,
    /// When the offer closes (or closed) if unanswered.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<RequestDetail> for RequestView {
    fn from(detail: RequestDetail) -> Self {
        let r = detail.request;
        Self {
            id: RequestId::from_uuid(r.id),
            state: r.state,
            state_seq: r.state_seq,
            description: r.description,
            vet_id: r.vet_id.map(VetId::from_uuid),
            owner_id: r.owner_id.map(OwnerId::from_uuid),
            service_id: r.service_id,
            pet_id: r.pet_id,
            price: r
                .price_breakdown
                .and_then(|p| serde_json::from_value(p).ok()),
            created_at: r.created_at,
            updated_at: r.updated_at,
            history: detail
                .history
                .into_iter()
                .map(|h| HistoryEntry {
                    seq: h.seq,
                    from_state: h.from_state,
                    to_state: h.to_state,
                    actor: h.actor,
                    reason: h.reason,
                    occurred_at: h.occurred_at,
                })
                .collect(),
            offers: detail
                .offers
                .into_iter()
                .map(|o| OfferView {
                    offer_no: o.offer_no,
                    vet_id: o.vet_id.map(VetId::from_uuid),
                    offered_at: o.offered_at,
                    followups_sent: o.followups_sent,
                    answer: o.answer,
                    answered_at: o.answered_at,
                    expires_at: o.expires_at,
                })
                .collect(),
            payment_link: None,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/service-requests/{id}",
    tag = "service-requests",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The service request id")),
    responses(
        (status = 200, body = RequestView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
    )
)]
/// The request as recorded in PostgreSQL, with its state history and offers.
async fn show(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<RequestId>,
) -> Result<Json<RequestView>, ApiError> {
    let scope = crate::routes::helpers::owner_scope(&user)?;
    let mut conn = db::conn(&state.pool).await?;
    let detail = db::requests::find_request(&mut conn, id)
        .await?
        .filter(|detail| {
            scope.is_none_or(|owner| detail.request.owner_id == Some(owner.into_uuid()))
        })
        .ok_or(ApiError::NotFound("service request"))?;
    let mut view = RequestView::from(detail);
    view.payment_link = db::payments::payment_link(&mut conn, id).await?;
    Ok(Json(view))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RequestListParams {
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    /// default 0.
    pub offset: Option<i64>,
    /// Only requests in this state.
    pub state: Option<RequestState>,
}

/// A line of the requests list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RequestSummary {
    pub id: RequestId,
    pub state: RequestState,
    pub description: String,
    pub owner_id: Option<OwnerId>,
    pub vet_id: Option<VetId>,
    /// The frozen total, when checkout priced it.
    #[schema(value_type = Option<String>)]
    pub total: Option<rust_decimal::Decimal>,
    pub created_at: DateTime<Utc>,
}

#[utoipa::path(
    get,
    path = "/api/v1/service-requests",
    tag = "service-requests",
    security(("bearer" = [])),
    params(RequestListParams),
    responses(
        (status = 200, body = crate::routes::helpers::Listing<RequestSummary>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
/// An owner's own requests, newest first; staff see every request.
async fn list(
    user: AuthUser,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<RequestListParams>,
) -> Result<Json<crate::routes::helpers::Listing<RequestSummary>>, ApiError> {
    let scope = crate::routes::helpers::owner_scope(&user)?;
    let page = crate::routes::helpers::page(params.limit, params.offset)?;
    let mut conn = db::conn(&state.pool).await?;
    let rows = db::requests::list(&mut conn, scope, params.state, page).await?;
    Ok(Json(crate::routes::helpers::Listing {
        items: rows
            .into_iter()
            .map(|r| RequestSummary {
                id: RequestId::from_uuid(r.id),
                state: r.state,
                total: r
                    .price_breakdown
                    .and_then(|p| serde_json::from_value::<Breakdown>(p).ok())
                    .map(|b| b.total),
                description: r.description,
                owner_id: r.owner_id.map(OwnerId::from_uuid),
                vet_id: r.vet_id.map(VetId::from_uuid),
                created_at: r.created_at,
            })
            .collect(),
        limit: page.limit,
        offset: page.offset,
    }))
}

/// The workflow's own view of a request.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LiveStatus {
    pub request: RequestId,
    pub state: RequestState,
    pub seq: i32,
    pub followups_sent: u32,
    /// Whether the workflow is waiting for a vet's answer.
    pub awaiting_vet: bool,
    pub vet: Option<VetId>,
}

impl From<RequestStatus> for LiveStatus {
    fn from(s: RequestStatus) -> Self {
        Self {
            request: s.request,
            state: s.state,
            seq: s.seq,
            followups_sent: s.followups_sent,
            awaiting_vet: s.awaiting_vet,
            vet: s.vet,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/service-requests/{id}/live",
    tag = "service-requests",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The service request id")),
    responses(
        (status = 200, body = LiveStatus),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "No worker answered in time", body = Problem, content_type = "application/problem+json"),
    )
)]
/// The workflow's own view, through a query with a deadline.
async fn live(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<RequestId>,
) -> Result<Json<LiveStatus>, ApiError> {
    let handle = state
        .temporal
        .get_workflow_handle::<ServiceRequestWorkflow>(id.workflow_id());
    let query = handle.query(
        ServiceRequestWorkflow::query_status,
        (),
        WorkflowQueryOptions::default(),
    );
    match tokio::time::timeout(state.settings.query_timeout, query).await {
        Ok(Ok(status)) => Ok(Json(status.into())),
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VetResponseBody {
    pub answer: VetAnswer,
    #[serde(default)]
    pub vet_id: Option<VetId>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VetResponseResult {
    /// `accepted` or `rejected`.
    #[schema(value_type = String, example = "accepted")]
    pub outcome: VetResponseOutcome,
}

#[utoipa::path(
    post,
    path = "/api/v1/service-requests/{id}/vet-response",
    tag = "service-requests",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The service request id")),
    request_body = VetResponseBody,
    responses(
        (status = 200, body = VetResponseResult),
        (status = 202, description = "Handed over, outcome not known in time: look at `Location`; the same call again is safe", body = crate::error::PendingCommand),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No offer is open (answered, expired or finished)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
/// Staff record a vet's answer (given by phone, say), delivered as a workflow update so
/// the caller learns at once whether it counted (409 when the offer is no longer open).
async fn vet_response(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<RequestId>,
    ApiJson(body): ApiJson<VetResponseBody>,
) -> Result<Json<VetResponseResult>, ApiError> {
    let result = crate::routes::dispatch::deliver_answer(
        &state,
        id,
        VetResponse {
            answer: body.answer,
            vet: body.vet_id,
            offer_no: None,
            by_vet: false,
        },
    )
    .await?;
    Ok(Json(VetResponseResult {
        outcome: result.outcome,
    }))
}
