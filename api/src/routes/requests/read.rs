//! Reading a request: its detail and history (PostgreSQL), one's list of requests, and
//! the live view the workflow itself answers.

use axum::{Json, Router, extract::State, routing::get};
use chrono::{DateTime, Utc};
use db::requests::RequestDetail;
use domain::{OwnerId, RequestId, RequestState, VetAnswer, VetId, pricing::Breakdown};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use workflows::RequestStatus;

use crate::extract::{ApiQuery, PathId};
use crate::routes::helpers::Scoped;
use crate::{
    AppState,
    auth::{AuthUser, StaffUser},
    error::{ApiError, Problem},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, show, live))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/service-requests", get(list).post(super::create::create))
        .route("/service-requests/{id}", get(show))
        .route("/service-requests/{id}/live", get(live))
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
        (status = 404, description = "No such request, or not the caller's: staff read every request, an owner theirs, a vet the ones they were offered", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
    )
)]
/// The request as recorded in PostgreSQL, with its state history and offers. Staff read
/// every request and its owner theirs; a vet reads the requests they were offered (where
/// a `202` of their answer or `coordinate` points), with their own offers only and
/// without the owner's payment link.
async fn show(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<RequestId>,
) -> Result<Json<RequestView>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let detail = db::requests::find_request(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("service request"))?;
    let owns = user
        .owner
        .is_some_and(|owner| detail.request.owner_id == Some(owner.into_uuid()));
    if user.is_staff || owns {
        let mut view = RequestView::from(detail);
        view.payment_link = db::payments::payment_link(&mut conn, id).await?;
        return Ok(Json(view));
    }
    let Some(vet) = user.vet.map(VetId::into_uuid) else {
        return Err(ApiError::NotFound("service request"));
    };
    let offered =
        detail.request.vet_id == Some(vet) || detail.offers.iter().any(|o| o.vet_id == Some(vet));
    if !offered {
        return Err(ApiError::NotFound("service request"));
    }
    let mut view = RequestView::from(detail);
    view.offers
        .retain(|o| o.vet_id.map(VetId::into_uuid) == Some(vet));
    Ok(Json(view))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestListParams {
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// 0 to 100 000, default 0.
    #[param(minimum = 0, maximum = 100000)]
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
    Scoped { scope, .. }: Scoped,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<RequestListParams>,
) -> Result<Json<crate::routes::helpers::Listing<RequestSummary>>, ApiError> {
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
        (status = 403, description = "Staff only", body = Problem, content_type = "application/problem+json"),
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
    let status = crate::workflow_client::status(&state, id).await?;
    Ok(Json(status.into()))
}
