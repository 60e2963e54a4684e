//! The service catalog and neighborhoods (GeoJSON plus distance coefficient): everyone
//! reads, staff write.

use axum::{
    Json, Router,
    extract::{Path, Query, State, rejection::JsonRejection, rejection::QueryRejection},
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get},
};
use db::catalog::NewService;
use domain::{LatLon, geo::Polygon};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, FieldError, Problem, parse_id},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_services,
    add_service,
    delete_service,
    list_neighborhoods,
    add_neighborhood,
    locate
))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/services", get(list_services).post(add_service))
        .route("/services/{id}", delete(delete_service))
        .route(
            "/neighborhoods",
            get(list_neighborhoods).post(add_neighborhood),
        )
        .route("/neighborhoods/locate", get(locate))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Service {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub duration_minutes: i32,
    /// The specialty a vet needs to take it.
    pub specialty_id: Option<Uuid>,
    pub active: bool,
}

impl From<db::catalog::ServiceRow> for Service {
    fn from(r: db::catalog::ServiceRow) -> Self {
        Self {
            id: r.id,
            code: r.code,
            name: r.name,
            description: r.description,
            duration_minutes: r.duration_minutes,
            specialty_id: r.specialty_id,
            active: r.active,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServiceBody {
    #[schema(example = "VAC-RAB")]
    pub code: String,
    #[schema(example = "Vacuna antirrábica")]
    pub name: String,
    pub description: Option<String>,
    #[schema(example = 30)]
    pub duration_minutes: i32,
    pub specialty_id: Option<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/services", tag = "catalog", responses((status = 200, body = [Service])))]
async fn list_services(State(state): State<AppState>) -> Result<Json<Vec<Service>>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    Ok(Json(
        db::catalog::services(&mut conn)
            .await?
            .into_iter()
            .map(Service::from)
            .collect(),
    ))
}

#[utoipa::path(post, path = "/api/v1/services", tag = "catalog", request_body = NewServiceBody, security(("bearer" = [])),
    responses((status = 201, body = Service), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_service(
    user: AuthUser,
    State(state): State<AppState>,
    body: Result<Json<NewServiceBody>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    user.require_staff()?;
    let Json(body) = body?;
    let mut errors = Vec::new();
    let code = body.code.trim().to_uppercase();
    if code.is_empty()
        || code.len() > 30
        || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        errors.push(FieldError::new(
            "code",
            "must be 1 to 30 letters, digits or dashes",
        ));
    }
    let name = crate::error::text(&body.name, "name", 200)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if !(5..=600).contains(&body.duration_minutes) {
        errors.push(FieldError::new(
            "duration_minutes",
            "must be between 5 and 600",
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = db::conn(&state.pool).await?;
    let row = db::catalog::insert_service(
        &mut conn,
        &NewService {
            code,
            name,
            description: body
                .description
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty()),
            duration_minutes: body.duration_minutes,
            specialty_id: body.specialty_id,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Service::from(row))))
}

#[utoipa::path(delete, path = "/api/v1/services/{id}", tag = "catalog", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn delete_service(
    user: AuthUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    user.require_staff()?;
    let id: Uuid = parse_id(&id, "id")?;
    let mut conn = db::conn(&state.pool).await?;
    if db::catalog::delete_service(&mut conn, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("service"))
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Neighborhood {
    pub id: Uuid,
    pub name: String,
    /// GeoJSON MultiPolygon, WGS 84.
    #[schema(value_type = Object)]
    pub area: serde_json::Value,
    /// Exact decimal as a string, e.g. `"1.150"`.
    #[schema(value_type = String, example = "1.150")]
    pub distance_coefficient: Decimal,
}

impl TryFrom<db::catalog::NeighborhoodRow> for Neighborhood {
    type Error = ApiError;
    fn try_from(r: db::catalog::NeighborhoodRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: r.id,
            name: r.name,
            area: serde_json::from_str(&r.area).map_err(anyhow::Error::from)?,
            distance_coefficient: r
                .distance_coefficient
                .parse()
                .map_err(anyhow::Error::from)?,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNeighborhoodBody {
    #[schema(example = "Palermo")]
    pub name: String,
    /// A GeoJSON Polygon, WGS 84.
    #[schema(value_type = Object)]
    pub area: serde_json::Value,
    /// Greater than 0, at most 3 decimals, as a string.
    #[schema(value_type = String, example = "1.150")]
    pub distance_coefficient: String,
}

#[utoipa::path(get, path = "/api/v1/neighborhoods", tag = "catalog", responses((status = 200, body = [Neighborhood])))]
async fn list_neighborhoods(
    State(state): State<AppState>,
) -> Result<Json<Vec<Neighborhood>>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let rows = db::catalog::neighborhoods(&mut conn).await?;
    Ok(Json(
        rows.into_iter()
            .map(Neighborhood::try_from)
            .collect::<Result<_, _>>()?,
    ))
}

#[utoipa::path(post, path = "/api/v1/neighborhoods", tag = "catalog", request_body = NewNeighborhoodBody, security(("bearer" = [])),
    responses((status = 201, body = Neighborhood), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn add_neighborhood(
    user: AuthUser,
    State(state): State<AppState>,
    body: Result<Json<NewNeighborhoodBody>, JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    user.require_staff()?;
    let Json(body) = body?;
    let mut errors = Vec::new();
    let name = crate::error::text(&body.name, "name", 100)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let polygon = Polygon::from_geojson(&body.area)
        .map_err(|e| errors.push(FieldError::new("area", e.to_string())))
        .ok();
    let coefficient = body
        .distance_coefficient
        .trim()
        .parse::<Decimal>()
        .ok()
        .filter(|c| *c > Decimal::ZERO && *c < Decimal::from(1000) && c.scale() <= 3);
    if coefficient.is_none() {
        errors.push(FieldError::new(
            "distance_coefficient",
            "must be a decimal above 0 and below 1000 with at most 3 decimals",
        ));
    }
    let (Some(polygon), Some(coefficient), true) = (polygon, coefficient, errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let mut conn = db::conn(&state.pool).await?;
    let row = db::catalog::insert_neighborhood(
        &mut conn,
        &name,
        &polygon.to_geojson().to_string(),
        &coefficient.to_string(),
    )
    .await?
    .map_err(|reason| ApiError::Validation(vec![FieldError::new("area", reason)]))?;
    Ok((StatusCode::CREATED, Json(Neighborhood::try_from(row)?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PointParams {
    pub lat: f64,
    pub lon: f64,
}

#[utoipa::path(get, path = "/api/v1/neighborhoods/locate", tag = "catalog", params(PointParams),
    responses((status = 200, body = Neighborhood),
        (status = 422, description = "The point is outside the service area (every neighborhood)", body = Problem)))]
/// The neighborhood containing a point; outside every one, the address is outside the
/// service area.
async fn locate(
    State(state): State<AppState>,
    params: Result<Query<PointParams>, QueryRejection>,
) -> Result<Json<Neighborhood>, ApiError> {
    let Query(params) =
        params.map_err(|e| ApiError::Validation(vec![FieldError::new("query", e.body_text())]))?;
    let point = LatLon::new(params.lat, params.lon).map_err(|e| {
        let field = e.field();
        ApiError::Validation(vec![FieldError::new(field, e.to_string())])
    })?;
    let mut conn = db::conn(&state.pool).await?;
    let row = db::catalog::neighborhood_at(&mut conn, point)
        .await?
        .ok_or_else(|| {
            ApiError::Validation(vec![FieldError::new(
                "lat",
                "the address is outside the service area",
            )])
        })?;
    Ok(Json(Neighborhood::try_from(row)?))
}
