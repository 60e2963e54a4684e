//! A visit and its outcome: `GET /visits/{id}` (the visit, for its owner, its vet and
//! staff), the report ([`report`]: filed and corrected by the vet, locked by staff,
//! read by the owner, also as a PDF), its files ([`files`]) and a no-show
//! ([`no_show`]). Someone else's visit is "not found".

mod files;
mod no_show;
mod report;

use axum::{Json, Router, extract::State, routing::get};
use chrono::{DateTime, Utc};
use db::reports::VisitRow;
use domain::{RequestId, VetId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, Problem},
    extract::PathId,
};

pub use report::ReportView;

#[derive(utoipa::OpenApi)]
#[openapi(paths(show_visit))]
pub struct Docs;

/// The visits' part of the API document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut doc = Docs::openapi();
    doc.merge(report::Docs::openapi());
    doc.merge(files::Docs::openapi());
    doc.merge(no_show::Docs::openapi());
    doc
}

/// `max_file_bytes`: the largest report file accepted (the studies' limit).
pub fn router(max_file_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/visits/{id}", get(show_visit))
        .merge(report::router())
        .merge(files::router(max_file_bytes))
        .merge(no_show::router())
}

/// How the caller stands to a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Viewer {
    Owner,
    Vet,
    Staff,
}

/// The visit `id` and how the caller stands to it; 404 for anyone else's.
pub(crate) async fn visible_visit(
    user: &AuthUser,
    conn: &mut db::Conn,
    id: Uuid,
) -> Result<(VisitRow, Viewer), ApiError> {
    let visit = db::reports::visit(conn, id)
        .await?
        .ok_or(ApiError::NotFound("visit"))?;
    let viewer = if user.is_staff {
        Viewer::Staff
    } else if user.vet.is_some_and(|v| v.into_uuid() == visit.vet_id) {
        Viewer::Vet
    } else if user
        .owner
        .is_some_and(|o| Some(o.into_uuid()) == visit.owner_id)
    {
        Viewer::Owner
    } else {
        return Err(ApiError::NotFound("visit"));
    };
    Ok((visit, viewer))
}

/// The report as far as the visit's view tells.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportSummary {
    pub revision: i32,
    pub filed_at: DateTime<Utc>,
    pub locked: bool,
    /// `GET` it (signed in) for the report.
    pub url: String,
    /// `GET` it (signed in) for the report as a PDF.
    pub pdf_url: String,
}

/// A visit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Visit {
    pub id: Uuid,
    pub request_id: RequestId,
    /// The request's state: `confirmed`, `completed`, `no_show`, `cancelled` …
    pub request_state: String,
    /// `scheduled`, `completed`, `cancelled` or `no_show`.
    pub status: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub vet_id: VetId,
    pub vet_name: String,
    pub pet_id: Option<Uuid>,
    pub pet: Option<String>,
    pub service: Option<String>,
    /// None until the report is filed.
    pub report: Option<ReportSummary>,
}

pub(crate) fn report_url(visit: Uuid) -> String {
    format!("{}/{visit}/report", domain::paths::VISITS)
}

#[utoipa::path(get, path = "/api/v1/visits/{id}", tag = "visits", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Visit),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such visit, or not the caller's (the owner's, the vet's; staff see all)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// The visit: when, who, for what, and its report once filed.
async fn show_visit(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<Json<Visit>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let (visit, _) = visible_visit(&user, &mut conn, id).await?;
    let report = db::reports::report(&mut conn, id).await?;
    Ok(Json(Visit {
        id: visit.visit_id,
        request_id: RequestId::from_uuid(visit.request_id),
        request_state: visit.request_state,
        status: visit.status,
        start: visit.start,
        end: visit.end,
        vet_id: VetId::from_uuid(visit.vet_id),
        vet_name: visit.vet_name,
        pet_id: visit.pet_id,
        pet: visit.pet,
        service: visit.service,
        report: report.map(|r| ReportSummary {
            revision: r.revision,
            filed_at: r.filed_at,
            locked: r.locked_at.is_some(),
            url: report_url(id),
            pdf_url: format!("{}.pdf", report_url(id)),
        }),
    }))
}
