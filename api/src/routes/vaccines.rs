//! The vaccine catalogue: everyone reads, staff write.

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::extract::{ApiJson, PathId};
use crate::{
    AppState,
    auth::StaffUser,
    error::{ApiError, Problem},
    routes::reference::reference_name,
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_vaccines, add_vaccine, update_vaccine, delete_vaccine))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/vaccines", get(list_vaccines).post(add_vaccine))
        .route(
            "/vaccines/{id}",
            axum::routing::patch(update_vaccine).delete(delete_vaccine),
        )
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Vaccine {
    pub id: Uuid,
    /// The species it is for; none when it is for any.
    pub species_id: Option<Uuid>,
    pub name: String,
    /// Days until the next dose; none for a single dose.
    pub interval_days: Option<i32>,
}

impl From<db::vaccines::VaccineRow> for Vaccine {
    fn from(r: db::vaccines::VaccineRow) -> Self {
        Self {
            id: r.id,
            species_id: r.species_id,
            name: r.name,
            interval_days: r.interval_days,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVaccineBody {
    pub species_id: Option<Uuid>,
    #[schema(example = "Antirrábica")]
    pub name: String,
    #[schema(example = 365)]
    pub interval_days: Option<i32>,
}

#[utoipa::path(get, path = "/api/v1/vaccines", tag = "reference", responses((status = 200, body = [Vaccine])))]
async fn list_vaccines(State(state): State<AppState>) -> Result<Json<Vec<Vaccine>>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    Ok(Json(
        db::vaccines::vaccines(&mut conn)
            .await?
            .into_iter()
            .map(Vaccine::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/vaccines", tag = "reference", request_body = NewVaccineBody, security(("bearer" = [])),
    responses((status = 201, body = Vaccine), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn add_vaccine(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewVaccineBody>,
) -> Result<impl IntoResponse, ApiError> {
    let name = reference_name(&body.name)?;
    check_interval(body.interval_days)?;
    let mut conn = db::conn(&state.pool).await?;
    let row =
        db::vaccines::insert_vaccine(&mut conn, body.species_id, &name, body.interval_days).await?;
    Ok((StatusCode::CREATED, Json(Vaccine::from(row))))
}

fn check_interval(days: Option<i32>) -> Result<(), ApiError> {
    if days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(ApiError::invalid("interval_days", "must be 1 to 3650 days"));
    }
    Ok(())
}

/// A partial update; omitted fields stay, `null` clears `species_id` and `interval_days`.
/// Next due dates already recorded keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VaccinePatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub species_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<i32>)]
    pub interval_days: Option<Option<i32>>,
}

#[utoipa::path(patch, path = "/api/v1/vaccines/{id}", tag = "reference", params(("id" = Uuid, Path)),
    request_body = VaccinePatch, security(("bearer" = [])),
    responses((status = 200, body = Vaccine), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn update_vaccine(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<VaccinePatch>,
) -> Result<Json<Vaccine>, ApiError> {
    let name = body.name.as_deref().map(reference_name).transpose()?;
    check_interval(body.interval_days.flatten())?;
    let mut conn = db::conn(&state.pool).await?;
    db::vaccines::update_vaccine(
        &mut conn,
        id,
        name.as_deref(),
        body.species_id,
        body.interval_days,
    )
    .await?
    .map(|v| Json(v.into()))
    .ok_or(ApiError::NotFound("vaccine"))
}

#[utoipa::path(delete, path = "/api/v1/vaccines/{id}", tag = "reference", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
/// Retires a vaccine (soft delete): it is no longer offered; past applications stay.
async fn delete_vaccine(
    _staff: StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<StatusCode, ApiError> {
    super::retire(&state, id, db::Retirable::Vaccines, "vaccine").await
}
