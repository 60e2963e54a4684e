//! A vet's schedule: the weekly hours they work (local time) and their time off. The vet
//! manages their own; staff any vet's; anyone else is told the vet does not exist.

use super::{helpers::deleted, vets::managed_vet};
use crate::extract::{ApiJson, PathId, PathIds};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, FieldError, Problem},
};
use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get},
};
use chrono::{DateTime, NaiveTime, Utc};
use domain::VetId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_availability,
    add_availability,
    delete_availability,
    list_time_off,
    add_time_off,
    delete_time_off
))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/vets/{id}/availability",
            get(list_availability).post(add_availability),
        )
        .route(
            "/vets/{id}/availability/{slot_id}",
            delete(delete_availability),
        )
        .route("/vets/{id}/time-off", get(list_time_off).post(add_time_off))
        .route("/vets/{id}/time-off/{time_off_id}", delete(delete_time_off))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Slot {
    pub id: Uuid,
    /// ISO weekday: 1 = Monday ... 7 = Sunday.
    pub weekday: i16,
    /// Local time (America/Argentina/Buenos_Aires), `HH:MM:SS`.
    #[schema(value_type = String, example = "09:00:00")]
    pub starts_at: NaiveTime,
    #[schema(value_type = String, example = "13:00:00")]
    pub ends_at: NaiveTime,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSlot {
    #[schema(example = 1)]
    pub weekday: i16,
    #[schema(value_type = String, example = "09:00")]
    pub starts_at: String,
    #[schema(value_type = String, example = "13:00")]
    pub ends_at: String,
}

fn local_time(raw: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(raw, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S"))
        .map_err(|_| errors.push(FieldError::new(field, "must be a time like 09:30")))
        .ok()
}

#[utoipa::path(get, path = "/api/v1/vets/{id}/availability", tag = "vets", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = [Slot]), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn list_availability(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<VetId>,
) -> Result<Json<Vec<Slot>>, ApiError> {
    let id = managed_vet(&user, id)?;
    let mut conn = db::conn(&state.pool).await?;
    db::vets::vet(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("vet"))?;
    let rows = db::vets::availability(&mut conn, id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| Slot {
                id: r.id,
                weekday: r.weekday,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/vets/{id}/availability", tag = "vets", params(("id" = Uuid, Path)),
    request_body = NewSlot, security(("bearer" = [])),
    responses((status = 201, body = Slot), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Adds a weekly slot in local time.
async fn add_availability(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<VetId>,
    ApiJson(body): ApiJson<NewSlot>,
) -> Result<impl IntoResponse, ApiError> {
    let id = managed_vet(&user, id)?;
    let mut errors = Vec::new();
    if !(1..=7).contains(&body.weekday) {
        errors.push(FieldError::new(
            "weekday",
            "must be 1 (Monday) to 7 (Sunday)",
        ));
    }
    let starts = local_time(&body.starts_at, "starts_at", &mut errors);
    let ends = local_time(&body.ends_at, "ends_at", &mut errors);
    if let (Some(s), Some(e)) = (starts, ends)
        && e <= s
    {
        errors.push(FieldError::new("ends_at", "must be after starts_at"));
    }
    let (Some(starts), Some(ends), true) = (starts, ends, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let mut conn = db::conn(&state.pool).await?;
    db::vets::vet(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("vet"))?;
    let r = db::vets::add_availability(&mut conn, id, body.weekday, starts, ends).await?;
    Ok((
        StatusCode::CREATED,
        Json(Slot {
            id: r.id,
            weekday: r.weekday,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/vets/{id}/availability/{slot_id}", tag = "vets",
    params(("id" = Uuid, Path), ("slot_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_availability(
    user: AuthUser,
    State(state): State<AppState>,
    PathIds(id, slot_id): PathIds<VetId, Uuid>,
) -> Result<StatusCode, ApiError> {
    let id = managed_vet(&user, id)?;
    let mut conn = db::conn(&state.pool).await?;
    deleted(
        db::vets::delete_availability(&mut conn, id, slot_id).await?,
        "availability slot",
    )
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TimeOff {
    pub id: Uuid,
    pub starts: DateTime<Utc>,
    pub ends: DateTime<Utc>,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTimeOff {
    pub starts: DateTime<Utc>,
    pub ends: DateTime<Utc>,
    pub reason: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/vets/{id}/time-off", tag = "vets", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = [TimeOff]), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn list_time_off(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<VetId>,
) -> Result<Json<Vec<TimeOff>>, ApiError> {
    let id = managed_vet(&user, id)?;
    let mut conn = db::conn(&state.pool).await?;
    db::vets::vet(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("vet"))?;
    let rows = db::vets::time_off(&mut conn, id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| TimeOff {
                id: r.id,
                starts: r.starts,
                ends: r.ends,
                reason: r.reason,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/vets/{id}/time-off", tag = "vets", params(("id" = Uuid, Path)),
    request_body = NewTimeOff, security(("bearer" = [])),
    responses((status = 201, body = TimeOff), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// An exception to the weekly availability: the vet is away for `[starts, ends)`.
async fn add_time_off(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<VetId>,
    ApiJson(body): ApiJson<NewTimeOff>,
) -> Result<impl IntoResponse, ApiError> {
    let id = managed_vet(&user, id)?;
    if body.ends <= body.starts {
        return Err(ApiError::invalid("ends", "must be after starts"));
    }
    let reason = body
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    let mut conn = db::conn(&state.pool).await?;
    db::vets::vet(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("vet"))?;
    let r = db::vets::add_time_off(&mut conn, id, body.starts, body.ends, reason).await?;
    Ok((
        StatusCode::CREATED,
        Json(TimeOff {
            id: r.id,
            starts: r.starts,
            ends: r.ends,
            reason: r.reason,
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/vets/{id}/time-off/{time_off_id}", tag = "vets",
    params(("id" = Uuid, Path), ("time_off_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_time_off(
    user: AuthUser,
    State(state): State<AppState>,
    PathIds(id, time_off_id): PathIds<VetId, Uuid>,
) -> Result<StatusCode, ApiError> {
    let id = managed_vet(&user, id)?;
    let mut conn = db::conn(&state.pool).await?;
    deleted(
        db::vets::delete_time_off(&mut conn, id, time_off_id).await?,
        "time off",
    )
}
