//! The service catalog and neighborhoods (GeoJSON plus distance coefficient): everyone
//! reads, staff write.

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use db::catalog::NewService;
use domain::{LatLon, geo::Polygon};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::extract::{ApiJson, ApiQuery, PathId};
use crate::{
    AppState,
    auth::StaffUser,
    error::{ApiError, FieldError, Problem},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_services,
    add_service,
    show_service,
    update_service,
    delete_service,
    list_neighborhoods,
    add_neighborhood,
    show_neighborhood,
    update_neighborhood,
    delete_neighborhood,
    locate
))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/services", get(list_services).post(add_service))
        .route(
            "/services/{id}",
            get(show_service)
                .patch(update_service)
                .delete(delete_service),
        )
        .route(
            "/neighborhoods",
            get(list_neighborhoods).post(add_neighborhood),
        )
        .route(
            "/neighborhoods/{id}",
            get(show_neighborhood)
                .patch(update_neighborhood)
                .delete(delete_neighborhood),
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
    responses((status = 201, body = Service), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn add_service(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewServiceBody>,
) -> Result<impl IntoResponse, ApiError> {
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
    check_duration(body.duration_minutes, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = db::conn(&state.pool).await?;
    let row = db::catalog::insert_service(
        &mut conn,
        &NewService {
            code,
            name,
            description: description(body.description),
            duration_minutes: body.duration_minutes,
            specialty_id: body.specialty_id,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Service::from(row))))
}

fn check_duration(minutes: i32, errors: &mut Vec<FieldError>) {
    if !(5..=600).contains(&minutes) {
        errors.push(FieldError::new(
            "duration_minutes",
            "must be between 5 and 600",
        ));
    }
}

/// Trimmed; blank is none.
fn description(raw: Option<String>) -> Option<String> {
    raw.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty())
}

#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "catalog", params(("id" = Uuid, Path)),
    responses((status = 200, body = Service), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn show_service(
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<Json<Service>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    db::catalog::service(&mut conn, id)
        .await?
        .map(|s| Json(s.into()))
        .ok_or(ApiError::NotFound("service"))
}

/// A partial update: omitted fields stay, `null` clears `description` and `specialty_id`.
/// The code is the service's stable key and does not change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub duration_minutes: Option<i32>,
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub specialty_id: Option<Option<Uuid>>,
    /// An inactive service is kept but cannot be booked.
    pub active: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/services/{id}", tag = "catalog", params(("id" = Uuid, Path)),
    request_body = ServicePatch, security(("bearer" = [])),
    responses((status = 200, body = Service), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn update_service(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<ServicePatch>,
) -> Result<Json<Service>, ApiError> {
    let mut errors = Vec::new();
    let name = body
        .name
        .as_deref()
        .map(|n| crate::error::text(n, "name", 200))
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    if let Some(minutes) = body.duration_minutes {
        check_duration(minutes, &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let changes = db::catalog::ServiceChanges {
        name,
        description: body.description.map(description),
        duration_minutes: body.duration_minutes,
        specialty_id: body.specialty_id,
        active: body.active,
    };
    let mut conn = db::conn(&state.pool).await?;
    db::catalog::update_service(&mut conn, id, &changes)
        .await?
        .map(|s| Json(s.into()))
        .ok_or(ApiError::NotFound("service"))
}

#[utoipa::path(delete, path = "/api/v1/services/{id}", tag = "catalog", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_service(
    _staff: StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<StatusCode, ApiError> {
    super::retire(&state, id, db::Retirable::Services, "service").await
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
    responses((status = 201, body = Neighborhood), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn add_neighborhood(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewNeighborhoodBody>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = Vec::new();
    let name = crate::error::text(&body.name, "name", 100)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let polygon = area(&body.area, &mut errors);
    let coefficient = coefficient(&body.distance_coefficient, &mut errors);
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
    .map_err(|reason| ApiError::invalid("area", reason))?;
    Ok((StatusCode::CREATED, Json(Neighborhood::try_from(row)?)))
}

fn area(raw: &serde_json::Value, errors: &mut Vec<FieldError>) -> Option<Polygon> {
    Polygon::from_geojson(raw)
        .map_err(|e| errors.push(FieldError::new("area", e.to_string())))
        .ok()
}

fn coefficient(raw: &str, errors: &mut Vec<FieldError>) -> Option<Decimal> {
    let coefficient = raw
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
    coefficient
}

#[utoipa::path(get, path = "/api/v1/neighborhoods/{id}", tag = "catalog", params(("id" = Uuid, Path)),
    responses((status = 200, body = Neighborhood), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn show_neighborhood(
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<Json<Neighborhood>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let row = db::catalog::neighborhood(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("neighborhood"))?;
    Ok(Json(row.try_into()?))
}

/// A partial update; omitted fields stay. A new coefficient applies to quotes from now on;
/// prices already frozen into requests keep theirs.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NeighborhoodPatch {
    pub name: Option<String>,
    /// A GeoJSON Polygon, WGS 84.
    #[schema(value_type = Option<Object>)]
    pub area: Option<serde_json::Value>,
    #[schema(value_type = Option<String>, example = "1.200")]
    pub distance_coefficient: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/neighborhoods/{id}", tag = "catalog", params(("id" = Uuid, Path)),
    request_body = NeighborhoodPatch, security(("bearer" = [])),
    responses((status = 200, body = Neighborhood), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn update_neighborhood(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<NeighborhoodPatch>,
) -> Result<Json<Neighborhood>, ApiError> {
    let mut errors = Vec::new();
    let name = body
        .name
        .as_deref()
        .map(|n| crate::error::text(n, "name", 100))
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    let polygon = body.area.as_ref().and_then(|a| area(a, &mut errors));
    let coefficient = body
        .distance_coefficient
        .as_deref()
        .and_then(|c| coefficient(c, &mut errors));
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = db::conn(&state.pool).await?;
    let row = db::catalog::update_neighborhood(
        &mut conn,
        id,
        name.as_deref(),
        polygon.map(|p| p.to_geojson().to_string()).as_deref(),
        coefficient.map(|c| c.to_string()).as_deref(),
    )
    .await?
    .map_err(|reason| ApiError::invalid("area", reason))?
    .ok_or(ApiError::NotFound("neighborhood"))?;
    Ok(Json(row.try_into()?))
}

#[utoipa::path(delete, path = "/api/v1/neighborhoods/{id}", tag = "catalog", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
/// Takes the neighborhood out of the service area (soft delete).
async fn delete_neighborhood(
    _staff: StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<StatusCode, ApiError> {
    super::retire(&state, id, db::Retirable::Neighborhoods, "neighborhood").await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PointParams {
    pub lat: f64,
    pub lon: f64,
}

#[utoipa::path(get, path = "/api/v1/neighborhoods/locate", tag = "catalog", params(PointParams),
    responses((status = 200, body = Neighborhood),
        (status = 422, description = "The point is outside the service area (every neighborhood)", body = Problem, content_type = "application/problem+json")))]
/// The neighborhood containing a point; outside every one, the address is outside the
/// service area.
async fn locate(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<PointParams>,
) -> Result<Json<Neighborhood>, ApiError> {
    let point = LatLon::new(params.lat, params.lon).map_err(|e| {
        let field = e.field();
        ApiError::invalid(field, e.to_string())
    })?;
    let mut conn = db::conn(&state.pool).await?;
    let row = db::catalog::neighborhood_at(&mut conn, point)
        .await?
        .ok_or_else(|| ApiError::invalid("lat", "the address is outside the service area"))?;
    Ok(Json(Neighborhood::try_from(row)?))
}
