//! The breeds of each species: everyone reads, staff add.

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::extract::{ApiJson, PathId};
use crate::{
    AppState,
    auth::StaffUser,
    error::{ApiError, Problem},
    routes::reference::{NameBody, reference_name},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_breeds, add_breed))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new().route("/species/{id}/breeds", get(list_breeds).post(add_breed))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Breed {
    pub id: Uuid,
    pub species_id: Uuid,
    pub name: String,
}

#[utoipa::path(get, path = "/api/v1/species/{id}/breeds", tag = "reference", params(("id" = Uuid, Path)),
    responses((status = 200, body = [Breed])))]
async fn list_breeds(
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<Json<Vec<Breed>>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let rows = db::breeds::breeds_of(&mut conn, id).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| Breed {
                id: r.id,
                species_id: r.species_id,
                name: r.name,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/species/{id}/breeds", tag = "reference", params(("id" = Uuid, Path)),
    request_body = NameBody, security(("bearer" = [])),
    responses((status = 201, body = Breed), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn add_breed(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<impl IntoResponse, ApiError> {
    let name = reference_name(&body.name)?;
    let mut conn = db::conn(&state.pool).await?;
    let row = db::breeds::insert_breed(&mut conn, id, &name).await?;
    Ok((
        StatusCode::CREATED,
        Json(Breed {
            id: row.id,
            species_id: row.species_id,
            name: row.name,
        }),
    ))
}
