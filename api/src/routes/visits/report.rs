//! The visit's report. The visit's vet (or staff) files it with `PUT` once the visit
//! has started; its author corrects it with `PUT` again (each change one more
//! revision; the same fields again change nothing) until staff lock it. Filing tells
//! the request's workflow, which completes the request and sends the owner the report.
//! The owner, the vet and staff read it, as JSON or as a PDF; the PDF also opens with
//! the signed `?link=` the owner was sent, without signing in.

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, NaiveDate, Utc};
use db::reports::{ReportFields, ReportRow, Saved, VisitRow};
use domain::{RequestId, links::ReportLink, paths};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{Viewer, files::ReportFile, visible_visit};
use crate::{
    AppState,
    auth::{AuthUser, StaffUser},
    error::{ApiError, FieldError, Problem},
    extract::{ApiJson, ApiQuery, PathId},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(show_report, save_report, lock_report, report_pdf))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/visits/{id}/report", get(show_report).put(save_report))
        .route("/visits/{id}/report/lock", post(lock_report))
        .route(
            &format!(
                "{}/{{id}}{}",
                paths::under_api(paths::VISITS),
                paths::REPORT_PDF
            ),
            get(report_pdf),
        )
}

/// Longest text of a report's field.
const MAX_TEXT: usize = 5000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    /// What the vet saw and measured.
    #[schema(example = "Mucosas rosadas, hidratación adecuada; dolor al palpar el oído derecho.")]
    pub findings: String,
    #[schema(example = "Otitis externa.")]
    pub diagnosis: String,
    #[schema(example = "Limpieza ótica; gotas con antibiótico cada 12 h durante 7 días.")]
    pub treatment: Option<String>,
    #[schema(example = "Evitar baños durante diez días.")]
    pub recommendations: Option<String>,
    /// The pet's weight in kilograms, more than 0 and at most 200, two decimals at most.
    #[schema(value_type = Option<String>, example = "12.5")]
    pub weight_kg: Option<Decimal>,
    /// The next check-up: after the visit, within two years.
    pub next_checkup_on: Option<NaiveDate>,
}

/// A visit's report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportView {
    pub visit_id: Uuid,
    pub findings: String,
    pub diagnosis: String,
    pub treatment: Option<String>,
    pub recommendations: Option<String>,
    #[schema(value_type = Option<String>, example = "12.5")]
    pub weight_kg: Option<Decimal>,
    pub next_checkup_on: Option<NaiveDate>,
    /// Who filed it (and alone may correct it).
    pub author_user_id: Uuid,
    pub author_name: String,
    /// 1 when filed, one more with each correction.
    pub revision: i32,
    pub filed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Locked by staff: no more corrections or files.
    pub locked: bool,
    pub files: Vec<ReportFile>,
    /// `GET` it (signed in) for the report as a PDF.
    pub pdf_url: String,
}

impl ReportView {
    pub(crate) fn new(row: ReportRow, files: Vec<db::reports::ReportFileRow>) -> Self {
        Self {
            pdf_url: format!("{}.pdf", super::report_url(row.visit_id)),
            weight_kg: row.weight(),
            visit_id: row.visit_id,
            findings: row.findings,
            diagnosis: row.diagnosis,
            treatment: row.treatment,
            recommendations: row.recommendations,
            next_checkup_on: row.next_checkup_on,
            author_user_id: row.author_user_id,
            author_name: row.author_name,
            revision: row.revision,
            filed_at: row.filed_at,
            updated_at: row.updated_at,
            locked: row.locked_at.is_some(),
            files: files
                .into_iter()
                .map(|f| ReportFile::new(row.visit_id, f))
                .collect(),
        }
    }
}

async fn view(conn: &mut db::Conn, row: ReportRow) -> Result<ReportView, ApiError> {
    let files = db::reports::files_of(conn, row.id).await?;
    Ok(ReportView::new(row, files))
}

#[utoipa::path(get, path = "/api/v1/visits/{id}/report", tag = "visits", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = ReportView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such visit or not the caller's, or no report filed yet", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// The visit's report, for its owner, its vet and staff.
async fn show_report(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<Json<ReportView>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    visible_visit(&user, &mut conn, id).await?;
    let row = db::reports::report(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("report"))?;
    Ok(Json(view(&mut conn, row).await?))
}

/// The visit may get a report now: it has started and was not called off. Started by
/// the clock, or else by its workflow's (which timers follow).
async fn open_for_report(state: &AppState, visit: &VisitRow) -> Result<(), ApiError> {
    let request = RequestId::from_uuid(visit.request_id);
    if !matches!(visit.status.as_str(), "scheduled" | "completed") {
        let why = format!("the visit is {}: it gets no report", visit.status);
        return Err(ApiError::conflict("request-state", why));
    }
    match visit.request_state.as_str() {
        "confirmed" if visit.start <= Utc::now() => Ok(()),
        "confirmed" if crate::workflow_client::visit_started(state, request).await => Ok(()),
        "confirmed" => Err(ApiError::conflict(
            "request-state",
            "the visit has not started yet",
        )),
        "completed" => Ok(()),
        other => Err(ApiError::conflict(
            "request-state",
            format!("the request is {other}: its visit gets no report"),
        )),
    }
}

fn optional(raw: Option<&str>, field: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    match raw.map(str::trim) {
        None | Some("") => None,
        Some(text) if text.chars().count() > MAX_TEXT => {
            errors.push(FieldError::new(
                field,
                format!("must be at most {MAX_TEXT} characters"),
            ));
            None
        }
        Some(text) => Some(text.to_owned()),
    }
}

/// The body's fields, checked; every problem named at once.
fn fields(body: ReportBody, visit: &VisitRow) -> Result<ReportFields, ApiError> {
    let mut errors = Vec::new();
    let mut required = |raw: &str, field: &str| match crate::error::text(raw, field, MAX_TEXT) {
        Ok(text) => text,
        Err(e) => {
            errors.push(e);
            String::new()
        }
    };
    let findings = required(&body.findings, "findings");
    let diagnosis = required(&body.diagnosis, "diagnosis");
    let treatment = optional(body.treatment.as_deref(), "treatment", &mut errors);
    let recommendations = optional(
        body.recommendations.as_deref(),
        "recommendations",
        &mut errors,
    );
    if let Some(weight) = body.weight_kg
        && (weight <= Decimal::ZERO || weight > Decimal::from(200) || weight.scale() > 2)
    {
        let why = "must be more than 0 and at most 200 kg, with two decimals at most";
        errors.push(FieldError::new("weight_kg", why));
    }
    if let Some(next) = body.next_checkup_on {
        let visit_day = domain::time::local_date(visit.start);
        if next <= visit_day || next > visit_day + chrono::Days::new(731) {
            let why = "must be after the visit's day and within two years of it";
            errors.push(FieldError::new("next_checkup_on", why));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(ReportFields {
        findings,
        diagnosis,
        treatment,
        recommendations,
        weight_kg: body.weight_kg.map(|w| w.normalize()),
        next_checkup_on: body.next_checkup_on,
    })
}

#[utoipa::path(put, path = "/api/v1/visits/{id}/report", tag = "visits", params(("id" = Uuid, Path)),
    request_body = ReportBody, security(("bearer" = [])),
    responses((status = 201, description = "Filed", body = ReportView),
        (status = 200, description = "Corrected (or the same again: unchanged)", body = ReportView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The owner; or not the report's author", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`request-state`: the visit has not started or was called off; `report-locked`: staff locked it", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Files the visit's report (its vet or staff, once the visit has started), or corrects
/// it (its author, until staff lock it).
async fn save_report(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<ReportBody>,
) -> Result<Response, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let (visit, viewer) = visible_visit(&user, &mut conn, id).await?;
    if viewer == Viewer::Owner {
        let why = "the visit's vet or staff file its report";
        return Err(ApiError::Forbidden(why.into()));
    }
    open_for_report(&state, &visit).await?;
    let fields = fields(body, &visit)?;
    let (status, row) = match db::reports::save_report(&mut conn, id, user.id, &fields).await? {
        Saved::Filed(row) => (StatusCode::CREATED, row),
        Saved::Corrected(row) => (StatusCode::OK, row),
        Saved::Locked => {
            let why = "staff locked the report: it can no longer be corrected";
            return Err(ApiError::conflict("report-locked", why));
        }
        Saved::NotAuthor => {
            let why = "only the report's author corrects it";
            return Err(ApiError::Forbidden(why.into()));
        }
    };
    let view = view(&mut conn, row).await?;
    drop(conn);
    if visit.request_state == "confirmed" {
        let request = RequestId::from_uuid(visit.request_id);
        crate::workflow_client::report_filed(&state, request).await;
    }
    Ok((status, Json(view)).into_response())
}

#[utoipa::path(post, path = "/api/v1/visits/{id}/report/lock", tag = "visits", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, description = "Locked (again: unchanged)", body = ReportView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such visit, or no report filed", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Staff lock the report: no more corrections or files.
async fn lock_report(
    StaffUser(user): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<Json<ReportView>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    visible_visit(&user, &mut conn, id).await?;
    let row = db::reports::lock_report(&mut conn, id, user.id)
        .await?
        .ok_or(ApiError::NotFound("report"))?;
    Ok(Json(view(&mut conn, row).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PdfParams {
    /// The signed link the owner was sent (then no sign-in is needed).
    pub link: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/visits/{id}/report.pdf", tag = "visits", params(("id" = Uuid, Path), PdfParams), security(("bearer" = []), ()),
    responses((status = 200, description = "The report as a PDF", content_type = "application/pdf"),
        (status = 401, description = "Neither signed in nor a valid link", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A link that is expired, forged or for another visit", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// The visit's report as a PDF: signed in (its owner, its vet, staff), or with the
/// link sent to the owner.
async fn report_pdf(
    user: Result<AuthUser, ApiError>,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    ApiQuery(params): ApiQuery<PdfParams>,
) -> Result<Response, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    match params.link {
        Some(link) => {
            let secret = state.settings.offer_link_secret.as_bytes();
            let link = ReportLink::verify(&link, secret, Utc::now().timestamp())
                .map_err(|e| ApiError::Forbidden(format!("link: {e}")))?;
            if link.visit != id {
                return Err(ApiError::Forbidden("link: it is for another visit".into()));
            }
        }
        None => {
            visible_visit(&user?, &mut conn, id).await?;
        }
    }
    let sheet = db::reports::report_sheet(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("report"))?;
    drop(conn);
    let pdf = tokio::task::spawn_blocking({
        let sheet = sheet.clone();
        move || documents::report::render(&sheet)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(|e| ApiError::Internal(e.into()))?;
    let mut response = pdf.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    crate::uploads::attachment(headers, &documents::report::file_name(&sheet))?;
    Ok(response)
}
