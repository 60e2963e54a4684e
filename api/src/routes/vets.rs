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
use chrono::{DateTime, NaiveTime, Utc};
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
    set_specialties,
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
        .route("/vets", get(list_vets).post(create_vet))
        .route("/vets/search", get(search))
        .route("/vets/{id}", get(show_vet).patch(update_vet))
        .route("/vets/{id}/coverage-areas", get(list_areas).post(add_area))
        .route("/vets/{id}/coverage-areas/{area_id}", delete(delete_area))
        .route(
            "/vets/{id}/specialties",
            get(get_specialties).put(set_specialties),
        )
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
fn managed_vet(user: &AuthUser, id: VetId) -> Result<VetId, ApiError> {
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
    let full_name = required(&body.full_name, "full_name", 200, &mut errors);
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
    let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(password.expose()))
        .await
        .map_err(anyhow::Error::from)??;
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
#[serde(deny_unknown_fields)]
pub struct VetListParams {
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    /// default 0.
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
    let mut optional = |raw: &Option<String>, field: &str, max: usize| {
        raw.as_deref()
            .and_then(|raw| required(raw, field, max, &mut errors))
    };
    let changes = db::vets::VetChanges {
        full_name: optional(&body.full_name, "full_name", 200),
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
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub lat: f64,
    pub lon: f64,
    pub specialty_id: Option<Uuid>,
    /// With `to`: only vets free for the whole window (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

#[utoipa::path(get, path = "/api/v1/vets/search", tag = "vets", params(SearchParams), security(("bearer" = [])),
    responses((status = 200, body = [Vet]), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Staff: the active vets whose coverage holds the point (its border included),
/// optionally with a specialty.
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
    let mut conn = db::conn(&state.pool).await?;
    let rows = db::vets::vets_covering(&mut conn, point, params.specialty_id, window).await?;
    Ok(Json(rows.into_iter().map(Vet::from).collect()))
}

/// 204 when something was deleted, else 404 naming `what`.
fn deleted(done: bool, what: &'static str) -> Result<StatusCode, ApiError> {
    if done {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(what))
    }
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
