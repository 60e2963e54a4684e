//! Veterinarians (staff create them), their coverage areas as GeoJSON polygons, and the
//! search for vets covering a point. A vet manages their own areas; staff any vet's;
//! anyone else is told the vet does not exist.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get},
};
use chrono::{DateTime, Utc};
use db::vets::{CoverageError, NewVet};
use domain::{Cuit, Email, LatLon, Password, VetId, geo::Polygon};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::extract::{ApiJson, ApiQuery, PathId, PathIds};
use crate::{
    AppState,
    auth::{self, AuthUser, StaffUser},
    error::{ApiError, FieldError, Problem},
    routes::helpers::Listing,
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_vet,
    list_vets,
    show_vet,
    update_vet,
    list_areas,
    add_area,
    delete_area,
    search,
    get_specialties,
    set_specialties
))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/vets", get(list_vets).post(create_vet))
        .route("/vets/search", get(search))
        .route("/vets/{id}", get(show_vet).patch(update_vet))
        .route("/vets/{id}/coverage-areas", get(list_areas).post(add_area))
        .route("/vets/{id}/coverage-areas/{area_id}", delete(delete_area))
        .route(
            "/vets/{id}/specialties",
            get(get_specialties).put(set_specialties),
        )
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Vet {
    pub id: VetId,
    pub user_id: Uuid,
    pub full_name: String,
    pub license_number: String,
    pub cuit: String,
    pub phone: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<db::vets::VetRow> for Vet {
    fn from(r: db::vets::VetRow) -> Self {
        Self {
            id: VetId::from_uuid(r.id),
            user_id: r.user_id,
            full_name: r.full_name,
            license_number: r.license_number,
            cuit: r.cuit,
            phone: r.phone,
            active: r.active,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVetBody {
    pub email: String,
    /// 10 to 128 characters; the vet signs in with it.
    pub password: String,
    pub full_name: String,
    #[schema(example = "MP 12345")]
    pub license_number: String,
    #[schema(example = "20-12345678-6")]
    pub cuit: String,
    #[schema(example = "+5491155550000")]
    pub phone: String,
}

/// The vet `raw`, if the caller may manage it: staff any, a vet themselves (404 else).
pub(super) fn managed_vet(user: &AuthUser, id: VetId) -> Result<VetId, ApiError> {
    if user.is_staff || user.vet == Some(id) {
        Ok(id)
    } else {
        Err(ApiError::NotFound("vet"))
    }
}

fn required(raw: &str, field: &str, max: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    crate::error::text(raw, field, max)
        .map_err(|e| errors.push(e))
        .ok()
}

#[utoipa::path(post, path = "/api/v1/vets", tag = "vets", request_body = NewVetBody, security(("bearer" = [])),
    responses((status = 201, body = Vet), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Staff create a vet: their login and profile, in one transaction.
async fn create_vet(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewVetBody>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = Vec::new();
    let email = Email::parse(&body.email)
        .map_err(|e| errors.push(FieldError::new("email", e.to_string())))
        .ok();
    let password = Password::parse(&body.password)
        .map_err(|e| errors.push(FieldError::new("password", e.to_string())))
        .ok();
    let full_name = crate::error::name(&body.full_name, "full_name", 200)
        .map_err(|e| errors.push(e))
        .ok();
    let license_number = required(&body.license_number, "license_number", 50, &mut errors);
    let cuit = Cuit::parse(&body.cuit)
        .map_err(|e| errors.push(FieldError::new("cuit", e.to_string())))
        .ok();
    let phone = required(&body.phone, "phone", 30, &mut errors);
    let (
        Some(email),
        Some(password),
        Some(full_name),
        Some(license_number),
        Some(cuit),
        Some(phone),
    ) = (email, password, full_name, license_number, cuit, phone)
    else {
        return Err(ApiError::Validation(errors));
    };
    let password_hash = auth::hash_password_bounded(password.expose().to_owned()).await?;
    let mut conn = db::conn(&state.pool).await?;
    let vet = db::vets::create_vet(
        &mut conn,
        &NewVet {
            email,
            password_hash,
            full_name,
            license_number,
            cuit,
            phone,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Vet::from(vet))))
}

#[utoipa::path(get, path = "/api/v1/vets/{id}", tag = "vets", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Vet), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn show_vet(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<VetId>,
) -> Result<Json<Vet>, ApiError> {
    let id = managed_vet(&user, id)?;
    let mut conn = db::conn(&state.pool).await?;
    db::vets::vet(&mut conn, id)
        .await?
        .map(|v| Json(v.into()))
        .ok_or(ApiError::NotFound("vet"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VetListParams {
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// 0 to 100 000, default 0.
    #[param(minimum = 0, maximum = 100000)]
    pub offset: Option<i64>,
    /// Vets whose name contains this.
    pub q: Option<String>,
    /// Only active (`true`) or inactive (`false`) vets.
    pub active: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/vets", tag = "vets", params(VetListParams), security(("bearer" = [])),
    responses((status = 200, body = Listing<Vet>), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Staff: every vet, newest first.
async fn list_vets(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<VetListParams>,
) -> Result<Json<Listing<Vet>>, ApiError> {
    let page = crate::routes::helpers::page(params.limit, params.offset)?;
    let q = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let mut conn = db::conn(&state.pool).await?;
    let rows = db::vets::vets(&mut conn, q, params.active, page).await?;
    Ok(Json(Listing {
        items: rows.into_iter().map(Vet::from).collect(),
        limit: page.limit,
        offset: page.offset,
    }))
}

/// A partial update; omitted fields stay. A vet may change their name and phone; the
/// license number and `active` (an inactive vet gets no new offers) are staff's.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VetPatch {
    pub full_name: Option<String>,
    pub phone: Option<String>,
    pub license_number: Option<String>,
    pub active: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/vets/{id}", tag = "vets", params(("id" = Uuid, Path)),
    request_body = VetPatch, security(("bearer" = [])),
    responses((status = 200, body = Vet), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn update_vet(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<VetId>,
    ApiJson(body): ApiJson<VetPatch>,
) -> Result<Json<Vet>, ApiError> {
    let id = managed_vet(&user, id)?;
    if !user.is_staff && (body.license_number.is_some() || body.active.is_some()) {
        return Err(ApiError::Forbidden(
            "only staff change a vet's license number or active state".into(),
        ));
    }
    let mut errors = Vec::new();
    // The vet's name goes into owners' messages: a name, not any text.
    let full_name = body.full_name.as_deref().and_then(|raw| {
        crate::error::name(raw, "full_name", 200)
            .map_err(|e| errors.push(e))
            .ok()
    });
    let mut optional = |raw: &Option<String>, field: &str, max: usize| {
        raw.as_deref()
            .and_then(|raw| required(raw, field, max, &mut errors))
    };
    let changes = db::vets::VetChanges {
        full_name,
        phone: optional(&body.phone, "phone", 30),
        license_number: optional(&body.license_number, "license_number", 50),
        active: body.active,
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = db::conn(&state.pool).await?;
    db::vets::update_vet(&mut conn, id, &changes)
        .await?
        .map(|v| Json(v.into()))
        .ok_or(ApiError::NotFound("vet"))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CoverageArea {
    pub id: Uuid,
    pub vet_id: Uuid,
    pub name: String,
    /// GeoJSON Polygon, WGS 84.
    #[schema(value_type = Object)]
    pub area: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<db::vets::CoverageRow> for CoverageArea {
    type Error = ApiError;
    fn try_from(r: db::vets::CoverageRow) -> Result<Self, ApiError> {
        Ok(Self {
            id: r.id,
            vet_id: r.vet_id,
            name: r.name,
            area: serde_json::from_str(&r.area).map_err(anyhow::Error::from)?,
            created_at: r.created_at,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAreaBody {
    #[schema(example = "Palermo y alrededores")]
    pub name: String,
    /// A GeoJSON Polygon in WGS 84: closed rings, valid geometry.
    #[schema(value_type = Object)]
    pub area: serde_json::Value,
}

#[utoipa::path(get, path = "/api/v1/vets/{id}/coverage-areas", tag = "vets", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = [CoverageArea]), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn list_areas(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<VetId>,
) -> Result<Json<Vec<CoverageArea>>, ApiError> {
    let id = managed_vet(&user, id)?;
    let mut conn = db::conn(&state.pool).await?;
    db::vets::vet(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("vet"))?;
    let rows = db::vets::coverage_areas(&mut conn, id).await?;
    Ok(Json(
        rows.into_iter()
            .map(CoverageArea::try_from)
            .collect::<Result<_, _>>()?,
    ))
}

#[utoipa::path(post, path = "/api/v1/vets/{id}/coverage-areas", tag = "vets", params(("id" = Uuid, Path)),
    request_body = NewAreaBody, security(("bearer" = [])),
    responses((status = 201, body = CoverageArea), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid polygon; `errors` says why", body = Problem, content_type = "application/problem+json")))]
/// Adds a coverage area. Malformed GeoJSON, open rings, out-of-range coordinates and
/// invalid geometry (self-intersections...) are refused with the reason.
async fn add_area(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<VetId>,
    ApiJson(body): ApiJson<NewAreaBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = managed_vet(&user, id)?;
    let mut errors = Vec::new();
    let name = required(&body.name, "name", 100, &mut errors);
    let polygon = Polygon::from_geojson(&body.area)
        .map_err(|e| errors.push(FieldError::new("area", e.to_string())))
        .ok();
    let (Some(name), Some(polygon)) = (name, polygon) else {
        return Err(ApiError::Validation(errors));
    };
    let mut conn = db::conn(&state.pool).await?;
    db::vets::vet(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("vet"))?;
    let row = db::vets::add_coverage_area(&mut conn, id, &name, &polygon.to_geojson().to_string())
        .await
        .map_err(|e| match e {
            CoverageError::Invalid(reason) => ApiError::invalid("area", reason),
            CoverageError::Db(e) => e.into(),
        })?;
    Ok((StatusCode::CREATED, Json(CoverageArea::try_from(row)?)))
}

#[utoipa::path(delete, path = "/api/v1/vets/{id}/coverage-areas/{area_id}", tag = "vets",
    params(("id" = Uuid, Path), ("area_id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_area(
    user: AuthUser,
    State(state): State<AppState>,
    PathIds(id, area_id): PathIds<VetId, Uuid>,
) -> Result<StatusCode, ApiError> {
    let id = managed_vet(&user, id)?;
    let mut conn = db::conn(&state.pool).await?;
    if db::vets::delete_coverage_area(&mut conn, id, area_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("coverage area"))
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub lat: f64,
    pub lon: f64,
    pub specialty_id: Option<Uuid>,
    /// With `to`: only vets free for the whole window (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// 1 to 200, default 50: the vets in name order, a page at a time (hundreds may
    /// cover a point).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// 0 to 100 000, default 0.
    #[param(minimum = 0, maximum = 100000)]
    pub offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/vets/search", tag = "vets", params(SearchParams), security(("bearer" = [])),
    responses((status = 200, body = [Vet]), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Staff: the active vets whose coverage holds the point (its border included),
/// optionally with a specialty, in name order, a page at a time (`limit`, `offset`).
async fn search(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<SearchParams>,
) -> Result<Json<Vec<Vet>>, ApiError> {
    let point = LatLon::new(params.lat, params.lon).map_err(|e| {
        let field = e.field();
        ApiError::invalid(field, e.to_string())
    })?;
    let window = match (params.from, params.to) {
        (None, None) => None,
        (Some(from), Some(to)) if to > from => Some((from, to)),
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid("to", "must be after from"));
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid("from", "goes with to"));
        }
        (Some(_), None) => {
            return Err(ApiError::invalid("to", "goes with from"));
        }
    };
    let page = crate::routes::helpers::page(params.limit, params.offset)?;
    let mut conn = db::conn(&state.pool).await?;
    // Without a window, from the directory in memory; the weekly hours and time off a
    // window needs are PostgreSQL's.
    let rows = match window {
        None => {
            state
                .vets
                .search(&mut conn, point, params.specialty_id, page)
                .await?
        }
        Some(_) => {
            db::vets::vets_covering(&mut conn, point, params.specialty_id, window, Some(page))
                .await?
        }
    };
    Ok(Json(rows.into_iter().map(Vet::from).collect()))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Specialties {
    pub specialty_ids: Vec<Uuid>,
}

#[utoipa::path(get, path = "/api/v1/vets/{id}/specialties", tag = "vets", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Specialties), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_specialties(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<VetId>,
) -> Result<Json<Specialties>, ApiError> {
    let id = managed_vet(&user, id)?;
    let mut conn = db::conn(&state.pool).await?;
    db::vets::vet(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("vet"))?;
    Ok(Json(Specialties {
        specialty_ids: db::vets::specialties_of(&mut conn, id).await?,
    }))
}

#[utoipa::path(put, path = "/api/v1/vets/{id}/specialties", tag = "vets", params(("id" = Uuid, Path)),
    request_body = Specialties, security(("bearer" = [])),
    responses((status = 200, body = Specialties), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Replaces the vet's specialties.
async fn set_specialties(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<VetId>,
    ApiJson(body): ApiJson<Specialties>,
) -> Result<Json<Specialties>, ApiError> {
    let id = managed_vet(&user, id)?;
    let mut conn = db::conn(&state.pool).await?;
    db::vets::vet(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("vet"))?;
    db::vets::set_specialties(&mut conn, id, &body.specialty_ids).await?;
    Ok(Json(Specialties {
        specialty_ids: db::vets::specialties_of(&mut conn, id).await?,
    }))
}
