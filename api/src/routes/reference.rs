//! Reference data: the named lists (species, specialties, study types) through one set
//! of handlers, and AFIP's code tables. Everyone reads; staff write.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    routing::get,
};
use db::reference::NamedList;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::extract::{ApiJson, PathIds};
use crate::{
    AppState,
    auth::StaffUser,
    error::{ApiError, Problem},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(list, create, rename, remove, document_types, vat_conditions))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/document-types", get(document_types))
        .route("/vat-conditions", get(vat_conditions))
        // Static routes (/pets, /vets, ...) win over this capture in axum's router.
        .route("/{list}", get(list).post(create))
        .route("/{list}/{id}", axum::routing::patch(rename).delete(remove))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    #[schema(example = "Perro")]
    pub name: String,
}

/// A name of 1 to 100 characters, trimmed.
pub fn reference_name(raw: &str) -> Result<String, ApiError> {
    crate::error::text(raw, "name", 100).map_err(ApiError::from)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Named {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Code {
    /// AFIP's code.
    pub id: i16,
    pub name: String,
}

fn named_list(slug: &str) -> Result<NamedList, ApiError> {
    NamedList::from_slug(slug).ok_or(ApiError::NotFound("resource"))
}

#[utoipa::path(get, path = "/api/v1/{list}", operation_id = "list_reference", tag = "reference",
    params(("list" = String, Path, description = "`species`, `specialties` or `study-types`")),
    responses((status = 200, body = [Named]), (status = 404, body = Problem, content_type = "application/problem+json")))]
/// Everyone reads the named lists.
async fn list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<Vec<Named>>, ApiError> {
    let list = named_list(&slug)?;
    let mut conn = db::conn(&state.pool).await?;
    let rows = db::reference::list(&mut conn, list).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| Named {
                id: r.id,
                name: r.name,
            })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/{list}", operation_id = "add_reference", tag = "reference", request_body = NameBody, security(("bearer" = [])),
    params(("list" = String, Path, description = "`species`, `specialties` or `study-types`")),
    responses((status = 201, body = Named), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not one of the lists", body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create(
    _staff: StaffUser,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<impl IntoResponse, ApiError> {
    let list = named_list(&slug)?;
    let name = reference_name(&body.name)?;
    let mut conn = db::conn(&state.pool).await?;
    let row = db::reference::insert(&mut conn, list, &name).await?;
    Ok((
        StatusCode::CREATED,
        Json(Named {
            id: row.id,
            name: row.name,
        }),
    ))
}

#[utoipa::path(patch, path = "/api/v1/{list}/{id}", tag = "reference", request_body = NameBody, security(("bearer" = [])),
    params(("list" = String, Path), ("id" = Uuid, Path)),
    responses((status = 200, body = Named), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn rename(
    _staff: StaffUser,
    State(state): State<AppState>,
    PathIds(slug, id): PathIds<String, Uuid>,
    ApiJson(body): ApiJson<NameBody>,
) -> Result<Json<Named>, ApiError> {
    let list = named_list(&slug)?;
    let name = reference_name(&body.name)?;
    let mut conn = db::conn(&state.pool).await?;
    db::reference::rename(&mut conn, list, id, &name)
        .await?
        .map(|r| {
            Json(Named {
                id: r.id,
                name: r.name,
            })
        })
        .ok_or(ApiError::NotFound("entry"))
}

#[utoipa::path(delete, path = "/api/v1/{list}/{id}", tag = "reference", security(("bearer" = [])),
    params(("list" = String, Path), ("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
/// Soft delete: gone from lists; what already refers to it keeps working.
async fn remove(
    _staff: StaffUser,
    State(state): State<AppState>,
    PathIds(slug, id): PathIds<String, Uuid>,
) -> Result<StatusCode, ApiError> {
    let list = named_list(&slug)?;
    super::retire(&state, id, db::reference::retirable(list), "entry").await
}

#[utoipa::path(get, path = "/api/v1/document-types", tag = "reference", responses((status = 200, body = [Code])))]
/// AFIP document types (DocTipo).
async fn document_types(State(state): State<AppState>) -> Result<Json<Vec<Code>>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let rows = db::reference::document_types(&mut conn).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| Code {
                id: r.id,
                name: r.name,
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/vat-conditions", tag = "reference", responses((status = 200, body = [Code])))]
/// AFIP VAT conditions of the buyer (CondicionIVAReceptorId).
async fn vat_conditions(State(state): State<AppState>) -> Result<Json<Vec<Code>>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let rows = db::reference::vat_conditions(&mut conn).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| Code {
                id: r.id,
                name: r.name,
            })
            .collect(),
    ))
}
