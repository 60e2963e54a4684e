//! One read per role that a frontend draws its home screen from, without N calls:
//! staff (`GET /dashboards/staff`), a vet (`GET /vets/{id}/dashboard`, theirs, or any
//! for staff) and an owner (`GET /owners/{id}/dashboard`, theirs, or any for staff).
//! Each list is one page (`limit`, `offset`, the same for every list) with its total.

use axum::{Json, Router, extract::State, routing::get};
use chrono::{DateTime, NaiveDate, Utc};
use db::dashboards::{self as dash, Section};
use domain::{OwnerId, RequestId, VetId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    AppState,
    auth::{AuthUser, StaffUser},
    error::{ApiError, Problem},
    extract::{ApiQuery, PathId},
    routes::helpers::{PageParams, Scoped},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(staff_dashboard, vet_dashboard, owner_dashboard))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboards/staff", get(staff_dashboard))
        .route("/vets/{id}/dashboard", get(vet_dashboard))
        .route("/owners/{id}/dashboard", get(owner_dashboard))
}

/// A page of a list, and how many there are in all.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct List<T> {
    pub total: i64,
    pub items: Vec<T>,
}

fn list<R, T: From<R>>(section: Section<R>) -> List<T> {
    List {
        total: section.total,
        items: section.items.into_iter().map(T::from).collect(),
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DashboardVisit {
    pub visit_id: Uuid,
    pub request_id: RequestId,
    pub request_state: String,
    /// `scheduled`, `completed`, `cancelled` or `no_show`.
    pub status: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub service: String,
    pub pet: String,
    pub vet_name: String,
}

impl From<dash::VisitItem> for DashboardVisit {
    fn from(v: dash::VisitItem) -> Self {
        Self {
            visit_id: v.visit_id,
            request_id: RequestId::from_uuid(v.request_id),
            request_state: v.request_state,
            status: v.status,
            start: v.start,
            end: v.end,
            service: v.service,
            pet: v.pet,
            vet_name: v.vet_name,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StateCount {
    pub state: String,
    pub count: i64,
}

/// A request to look at, and why.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttentionItem {
    pub request_id: RequestId,
    pub state: String,
    pub why: String,
    pub since: DateTime<Utc>,
}

impl From<dash::AttentionItem> for AttentionItem {
    fn from(a: dash::AttentionItem) -> Self {
        Self {
            request_id: RequestId::from_uuid(a.request_id),
            state: a.state,
            why: a.why,
            since: a.since,
        }
    }
}

/// A payment to reconcile, and why.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentItem {
    /// MercadoPago's payment id.
    pub payment_id: i64,
    pub request_id: RequestId,
    pub request_state: String,
    pub status: String,
    #[schema(example = "12000.00")]
    pub amount: String,
    #[schema(example = "0.00")]
    pub refunded_amount: String,
    pub why: String,
}

impl From<dash::PaymentItem> for PaymentItem {
    fn from(p: dash::PaymentItem) -> Self {
        Self {
            payment_id: p.payment_id,
            request_id: RequestId::from_uuid(p.request_id),
            request_state: p.request_state,
            status: p.status,
            amount: p.amount,
            refunded_amount: p.refunded_amount,
            why: p.why,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StaffDashboard {
    /// Every state, with how many requests are in it.
    pub requests_by_state: Vec<StateCount>,
    /// A `needs attention:` note in the last seven days (the latest per request).
    pub needing_attention: List<AttentionItem>,
    /// Waiting on people for two days, a visit over and not completed, or a workflow
    /// that has not started.
    pub stuck: List<AttentionItem>,
    /// Visits of today and tomorrow (Buenos Aires days), not cancelled, soonest first.
    pub visits_today: List<DashboardVisit>,
    pub visits_tomorrow: List<DashboardVisit>,
    /// Disputed, kept for a request that did not happen, or pending for over a day.
    pub payments_to_reconcile: List<PaymentItem>,
}

const RESPONSES_422: &str = "`limit` or `offset` out of range";

#[utoipa::path(get, path = "/api/v1/dashboards/staff", tag = "dashboards", params(PageParams), security(("bearer" = [])),
    responses((status = 200, body = StaffDashboard),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not staff", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = RESPONSES_422, body = Problem, content_type = "application/problem+json")))]
/// Staff's day: requests by state, what needs attention or is stuck, today's and
/// tomorrow's visits, payments to reconcile.
async fn staff_dashboard(
    StaffUser(_): StaffUser,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<StaffDashboard>, ApiError> {
    let page = params.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let d = dash::staff(&mut conn, Utc::now(), page).await?;
    Ok(Json(StaffDashboard {
        requests_by_state: d
            .by_state
            .into_iter()
            .map(|c| StateCount {
                state: c.state,
                count: c.n,
            })
            .collect(),
        needing_attention: list(d.attention),
        stuck: list(d.stuck),
        visits_today: list(d.today),
        visits_tomorrow: list(d.tomorrow),
        payments_to_reconcile: list(d.payments),
    }))
}

/// An offer waiting for the vet's answer: what and when, never where (the street comes
/// with acceptance).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OpenOffer {
    pub request_id: RequestId,
    pub offer_no: i32,
    pub offered_at: DateTime<Utc>,
    /// When the offer closes unanswered.
    pub answer_by: Option<DateTime<Utc>>,
    pub service: String,
    pub wanted_start: Option<DateTime<Utc>>,
    pub wanted_end: Option<DateTime<Utc>>,
}

impl From<dash::OfferItem> for OpenOffer {
    fn from(o: dash::OfferItem) -> Self {
        Self {
            request_id: RequestId::from_uuid(o.request_id),
            offer_no: o.offer_no,
            offered_at: o.offered_at,
            answer_by: o.expires_at,
            service: o.service,
            wanted_start: o.wanted_start,
            wanted_end: o.wanted_end,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VetDashboard {
    /// Soonest deadline first.
    pub open_offers: List<OpenOffer>,
    /// Not yet ended, soonest first (`GET /vets/{id}/visits` has where to go).
    pub upcoming_visits: List<DashboardVisit>,
    /// Started, confirmed, no report yet: `PUT /visits/{id}/report`.
    pub reports_to_file: List<DashboardVisit>,
}

#[utoipa::path(get, path = "/api/v1/vets/{id}/dashboard", tag = "dashboards", params(("id" = Uuid, Path), PageParams), security(("bearer" = [])),
    responses((status = 200, body = VetDashboard),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such vet, or not the caller (unless staff)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = RESPONSES_422, body = Problem, content_type = "application/problem+json")))]
/// A vet's day: open offers with their deadlines, upcoming visits, reports to file.
async fn vet_dashboard(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<VetId>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<VetDashboard>, ApiError> {
    if !(user.is_staff || user.vet == Some(id)) {
        return Err(ApiError::NotFound("vet"));
    }
    let page = params.page()?;
    let mut conn = db::conn(&state.pool).await?;
    db::vets::vet(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("vet"))?;
    let d = dash::vet(&mut conn, id, Utc::now(), page).await?;
    Ok(Json(VetDashboard {
        open_offers: list(d.offers),
        upcoming_visits: list(d.upcoming),
        reports_to_file: list(d.reports_due),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentDue {
    pub request_id: RequestId,
    /// MercadoPago's checkout.
    pub link: String,
    #[schema(example = "12000.00")]
    pub amount: String,
    pub pay_by: DateTime<Utc>,
    pub service: String,
}

impl From<dash::PaymentDue> for PaymentDue {
    fn from(p: dash::PaymentDue) -> Self {
        Self {
            request_id: RequestId::from_uuid(p.request_id),
            link: p.link,
            amount: p.amount,
            pay_by: p.pay_by,
            service: p.service,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VaccineDue {
    pub pet_id: Uuid,
    pub pet: String,
    pub vaccine_id: Uuid,
    pub vaccine: String,
    pub due_on: NaiveDate,
    /// Due before today.
    pub overdue: bool,
}

impl From<dash::VaccineDue> for VaccineDue {
    fn from(v: dash::VaccineDue) -> Self {
        Self {
            pet_id: v.pet_id,
            pet: v.pet,
            vaccine_id: v.vaccine_id,
            vaccine: v.vaccine,
            due_on: v.due_on,
            overdue: v.overdue,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportItem {
    pub visit_id: Uuid,
    pub pet: String,
    pub diagnosis: String,
    pub filed_at: DateTime<Utc>,
    /// `GET` it (signed in) for the report.
    pub url: String,
}

impl From<dash::ReportItem> for ReportItem {
    fn from(r: dash::ReportItem) -> Self {
        Self {
            url: crate::routes::visits::report_url(r.visit_id),
            visit_id: r.visit_id,
            pet: r.pet,
            diagnosis: r.diagnosis,
            filed_at: r.filed_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OwnerDashboard {
    /// Booked and not yet ended, soonest first.
    pub upcoming_visits: List<DashboardVisit>,
    /// Coordinated visits waiting for the payment, soonest deadline first.
    pub payments_due: List<PaymentDue>,
    /// Vaccines due within 30 days, or overdue, soonest first.
    pub vaccines_due: List<VaccineDue>,
    /// Reports of the last 90 days, newest first.
    pub reports: List<ReportItem>,
}

#[utoipa::path(get, path = "/api/v1/owners/{id}/dashboard", tag = "dashboards", params(("id" = Uuid, Path), PageParams), security(("bearer" = [])),
    responses((status = 200, body = OwnerDashboard),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an owner nor staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such owner, or not the caller (unless staff)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = RESPONSES_422, body = Problem, content_type = "application/problem+json")))]
/// An owner's home: upcoming visits, payments due, vaccines due, reports to read.
async fn owner_dashboard(
    Scoped { scope, .. }: Scoped,
    State(state): State<AppState>,
    PathId(id): PathId<OwnerId>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<Json<OwnerDashboard>, ApiError> {
    if scope.is_some_and(|own| own != id) {
        return Err(ApiError::NotFound("owner"));
    }
    let page = params.page()?;
    let mut conn = db::conn(&state.pool).await?;
    db::owners::owner(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("owner"))?;
    let d = dash::owner(&mut conn, id, Utc::now(), page).await?;
    Ok(Json(OwnerDashboard {
        upcoming_visits: list(d.upcoming),
        payments_due: list(d.payments_due),
        vaccines_due: list(d.vaccines_due),
        reports: list(d.reports),
    }))
}
