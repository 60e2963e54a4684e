//! A vet's agenda: their visits, upcoming or past, with where to go (the street and its
//! details: a visit is booked only once they accepted) and, once the visit is paid,
//! whom to ask for (the owner's name and phone). Only the vet and staff see it; anyone
//! else is told the vet does not exist. A visit moved to another vet leaves this
//! agenda.

use axum::{Json, Router, extract::State, routing::get};
use chrono::{DateTime, Utc};
use domain::{RequestId, VetId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, Problem},
    extract::{ApiQuery, PathId},
    routes::helpers::{Listing, page},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(vet_visits), components(schemas(When)))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new().route("/vets/{id}/visits", get(vet_visits))
}

/// Which visits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// Not yet ended, soonest first (the default).
    #[default]
    Upcoming,
    /// Ended, latest first.
    Past,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AgendaParams {
    /// `upcoming` (default) or `past`.
    pub when: Option<When>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// 0 to 100 000, default 0.
    #[param(minimum = 0, maximum = 100000)]
    pub offset: Option<i64>,
}

/// Where the visit is.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VisitPlace {
    pub street: String,
    pub details: Option<String>,
    pub city: String,
}

/// Whom to ask for: told once the visit is paid.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VisitOwner {
    pub name: String,
    /// WhatsApp, E.164.
    pub phone: Option<String>,
}

/// A visit in the agenda.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AgendaVisit {
    pub visit_id: Uuid,
    pub request_id: RequestId,
    /// The request's state (`coordinated`, `confirmed`, `completed`, `cancelled` …).
    pub request_state: String,
    /// `scheduled`, `completed` or `cancelled`.
    pub status: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub service: String,
    pub pet: String,
    /// None for a request staff created without an address.
    pub place: Option<VisitPlace>,
    /// None until the visit is paid.
    pub owner: Option<VisitOwner>,
}

impl From<db::visits::AgendaVisit> for AgendaVisit {
    fn from(row: db::visits::AgendaVisit) -> Self {
        let place = match (row.street, row.city) {
            (Some(street), Some(city)) => Some(VisitPlace {
                street,
                details: row.details.filter(|d| !d.trim().is_empty()),
                city,
            }),
            _ => None,
        };
        Self {
            visit_id: row.visit_id,
            request_id: RequestId::from_uuid(row.request_id),
            request_state: row.request_state,
            status: row.status,
            start: row.start,
            end: row.end,
            service: row.service,
            pet: row.pet,
            place,
            owner: row.owner_name.map(|name| VisitOwner {
                name,
                phone: row.owner_phone,
            }),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/vets/{id}/visits", tag = "vets", params(("id" = Uuid, Path), AgendaParams), security(("bearer" = [])),
    responses((status = 200, body = Listing<AgendaVisit>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such vet, or not the caller (unless staff)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`when`, `limit` or `offset` out of range", body = Problem, content_type = "application/problem+json")))]
/// The vet's visits, upcoming (soonest first) or past (latest first): where to go, and
/// once paid whom to ask for.
async fn vet_visits(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<VetId>,
    ApiQuery(params): ApiQuery<AgendaParams>,
) -> Result<Json<Listing<AgendaVisit>>, ApiError> {
    if !(user.is_staff || user.vet == Some(id)) {
        return Err(ApiError::NotFound("vet"));
    }
    let page = page(params.limit, params.offset)?;
    let mut conn = db::conn(&state.pool).await?;
    db::vets::vet(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("vet"))?;
    let upcoming = params.when.unwrap_or_default() == When::Upcoming;
    let rows = db::visits::vet_visits(&mut conn, id, upcoming, Utc::now(), page.limit, page.offset)
        .await?;
    Ok(Json(Listing {
        items: rows.into_iter().map(AgendaVisit::from).collect(),
        limit: page.limit,
        offset: page.offset,
    }))
}
