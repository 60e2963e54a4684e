//! Owners (profile, addresses), pets, and the breeds of each species.
//!
//! Who sees what: staff everything; an owner only their own owner record, addresses and
//! pets (someone else's is "not found", never "forbidden", so ids leak nothing); a user
//! who is neither gets 403. Breeds: everyone reads, staff write.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get},
};
use chrono::{DateTime, NaiveDate, Utc};
use db::pets::{NewAddress, NewPet, OwnerChanges, Page, PetChanges};
use domain::{LatLon, OwnerId, PetSex};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::extract::{ApiJson, ApiQuery, PathId, PathIds};
use crate::{
    AppState,
    auth::{AuthUser, StaffUser},
    error::{ApiError, FieldError, Problem},
    routes::reference::{NameBody, reference_name},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_owners,
    show_owner,
    update_owner,
    list_addresses,
    add_address,
    delete_address,
    list_pets,
    add_pet,
    show_pet,
    update_pet,
    delete_pet,
    list_breeds,
    add_breed,
    list_vaccines,
    add_vaccine,
    update_vaccine,
    delete_vaccine,
    list_vaccinations,
    add_vaccination,
    create_owner,
    create_owner_user
))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/owners", get(list_owners).post(create_owner))
        .route("/owners/{id}/user", axum::routing::post(create_owner_user))
        .route("/owners/{id}", get(show_owner).patch(update_owner))
        .route(
            "/owners/{id}/addresses",
            get(list_addresses).post(add_address),
        )
        .route(
            "/owners/{id}/addresses/{address_id}",
            delete(delete_address),
        )
        .route("/pets", get(list_pets).post(add_pet))
        .route(
            "/pets/{id}",
            get(show_pet).patch(update_pet).delete(delete_pet),
        )
        .route("/species/{id}/breeds", get(list_breeds).post(add_breed))
        .route("/vaccines", get(list_vaccines).post(add_vaccine))
        .route(
            "/vaccines/{id}",
            axum::routing::patch(update_vaccine).delete(delete_vaccine),
        )
        .route(
            "/pets/{id}/vaccinations",
            get(list_vaccinations).post(add_vaccination),
        )
}

/// `None` for staff (everything), `Some(owner)` for an owner (theirs only), else 403.
pub(crate) fn owner_scope(user: &AuthUser) -> Result<Option<OwnerId>, ApiError> {
    if user.is_staff {
        Ok(None)
    } else if let Some(owner) = user.owner {
        Ok(Some(owner))
    } else {
        Err(ApiError::Forbidden(
            "only pet owners and staff may do this".into(),
        ))
    }
}

/// The owner record `id`, if the caller may see it (404 otherwise).
fn visible_owner(user: &AuthUser, id: OwnerId) -> Result<OwnerId, ApiError> {
    match owner_scope(user)? {
        Some(own) if own != id => Err(ApiError::NotFound("owner")),
        _ => Ok(id),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// 1 to 200, default 50.
    pub limit: Option<i64>,
    /// default 0.
    pub offset: Option<i64>,
    /// Owners whose name contains this (staff).
    pub q: Option<String>,
    /// Pets of this owner (staff).
    pub owner_id: Option<Uuid>,
    /// Pets of this species.
    pub species_id: Option<Uuid>,
}

impl ListParams {
    fn page(&self) -> Result<Page, ApiError> {
        page(self.limit, self.offset)
    }
}

/// A page from `limit` (1 to 200, default 50) and `offset` (default 0).
pub(crate) fn page(limit: Option<i64>, offset: Option<i64>) -> Result<Page, ApiError> {
    let limit = limit.unwrap_or(50);
    let offset = offset.unwrap_or(0);
    let mut errors = Vec::new();
    if !(1..=200).contains(&limit) {
        errors.push(FieldError::new("limit", "must be between 1 and 200"));
    }
    if offset < 0 {
        errors.push(FieldError::new("offset", "must not be negative"));
    }
    if errors.is_empty() {
        Ok(Page { limit, offset })
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// A list page.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub limit: i64,
    pub offset: i64,
}

// ---- owners ---------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Owner {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub full_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// AFIP DocTipo: 80 CUIT, 86 CUIL, 96 DNI, 99 other.
    pub document_type_id: Option<i16>,
    pub document_number: Option<String>,
    /// AFIP CondicionIVAReceptorId.
    pub vat_condition_id: Option<i16>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<db::pets::OwnerRow> for Owner {
    fn from(r: db::pets::OwnerRow) -> Self {
        Self {
            id: r.id,
            user_id: r.user_id,
            full_name: r.full_name,
            email: r.email,
            phone: r.phone,
            document_type_id: r.document_type_id,
            document_number: r.document_number,
            vat_condition_id: r.vat_condition_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/owners", tag = "owners", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = Listing<Owner>), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
/// Staff: every owner (filter by name with `q`). An owner: themselves.
async fn list_owners(
    user: AuthUser,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Listing<Owner>>, ApiError> {
    let page = params.page()?;
    let scope = owner_scope(&user)?;
    let mut conn = db::conn(&state.pool).await?;
    let rows = db::pets::owners(&mut conn, scope, params.q.as_deref(), page).await?;
    Ok(Json(Listing {
        items: rows.into_iter().map(Owner::from).collect(),
        limit: page.limit,
        offset: page.offset,
    }))
}

#[utoipa::path(get, path = "/api/v1/owners/{id}", tag = "owners", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Owner), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn show_owner(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<OwnerId>,
) -> Result<Json<Owner>, ApiError> {
    let id = visible_owner(&user, id)?;
    let mut conn = db::conn(&state.pool).await?;
    db::pets::owner(&mut conn, id)
        .await?
        .map(|o| Json(o.into()))
        .ok_or(ApiError::NotFound("owner"))
}

/// Profile changes; omitted fields stay, `null` clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OwnerPatch {
    pub full_name: Option<String>,
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<i16>)]
    pub document_type_id: Option<Option<i16>>,
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<String>)]
    pub document_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<i16>)]
    pub vat_condition_id: Option<Option<i16>>,
}

fn trimmed(raw: Option<String>) -> Option<String> {
    raw.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

#[utoipa::path(patch, path = "/api/v1/owners/{id}", tag = "owners", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = OwnerPatch,
    responses((status = 200, body = Owner), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// An owner updates their profile (DNI/CUIT and VAT condition for invoices); staff any.
async fn update_owner(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<OwnerId>,
    ApiJson(body): ApiJson<OwnerPatch>,
) -> Result<Json<Owner>, ApiError> {
    let id = visible_owner(&user, id)?;
    let mut errors = Vec::new();
    let full_name = body
        .full_name
        .map(|n| crate::error::text(&n, "full_name", 200))
        .transpose()
        .unwrap_or_else(|e| {
            errors.push(e);
            None
        });
    let document_number = body.document_number.map(trimmed);
    if let Some(Some(number)) = &document_number
        && !(number.chars().all(|c| c.is_ascii_digit()) && (7..=11).contains(&number.len()))
    {
        errors.push(FieldError::new("document_number", "must be 7 to 11 digits"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let changes = OwnerChanges {
        full_name,
        phone: body.phone.map(trimmed),
        document_type_id: body.document_type_id,
        document_number,
        vat_condition_id: body.vat_condition_id,
    };
    let mut conn = db::conn(&state.pool).await?;
    db::pets::update_owner(&mut conn, id, &changes)
        .await?
        .map(|o| Json(o.into()))
        .ok_or(ApiError::NotFound("owner"))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Address {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub label: Option<String>,
    pub street: String,
    pub details: Option<String>,
    pub city: String,
    pub lat: f64,
    pub lon: f64,
    pub created_at: DateTime<Utc>,
}

impl From<db::pets::AddressRow> for Address {
    fn from(r: db::pets::AddressRow) -> Self {
        Self {
            id: r.id,
            owner_id: r.owner_id,
            label: r.label,
            street: r.street,
            details: r.details,
            city: r.city,
            lat: r.lat,
            lon: r.lon,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAddressBody {
    #[schema(example = "Casa")]
    pub label: Option<String>,
    #[schema(example = "Av. Corrientes 1234")]
    pub street: String,
    #[schema(example = "5° B")]
    pub details: Option<String>,
    pub city: Option<String>,
    #[schema(example = -34.6037)]
    pub lat: f64,
    #[schema(example = -58.3816)]
    pub lon: f64,
}

#[utoipa::path(get, path = "/api/v1/owners/{id}/addresses", tag = "owners", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = [Address]), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn list_addresses(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<OwnerId>,
) -> Result<Json<Vec<Address>>, ApiError> {
    let id = visible_owner(&user, id)?;
    let mut conn = db::conn(&state.pool).await?;
    db::pets::owner(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("owner"))?;
    let rows = db::pets::addresses(&mut conn, id).await?;
    Ok(Json(rows.into_iter().map(Address::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/owners/{id}/addresses", tag = "owners", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = NewAddressBody,
    responses((status = 201, body = Address), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Adds an address given as latitude and longitude (WGS 84).
async fn add_address(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<OwnerId>,
    ApiJson(body): ApiJson<NewAddressBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = visible_owner(&user, id)?;
    let mut errors = Vec::new();
    let street = crate::error::text(&body.street, "street", 200)
        .map_err(|e| errors.push(e))
        .ok();
    let location = match LatLon::new(body.lat, body.lon) {
        Ok(location) => Some(location),
        Err(e) => {
            let field = e.field();
            errors.push(FieldError::new(field, e.to_string()));
            None
        }
    };
    let (Some(street), Some(location)) = (street, location) else {
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = db::conn(&state.pool).await?;
    db::pets::owner(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("owner"))?;
    let row = db::pets::insert_address(
        &mut conn,
        id,
        &NewAddress {
            label: trimmed(body.label),
            street,
            details: trimmed(body.details),
            city: trimmed(body.city),
            location,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Address::from(row))))
}

#[utoipa::path(delete, path = "/api/v1/owners/{id}/addresses/{address_id}", tag = "owners", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("address_id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_address(
    user: AuthUser,
    State(state): State<AppState>,
    PathIds(id, address_id): PathIds<OwnerId, Uuid>,
) -> Result<StatusCode, ApiError> {
    let id = visible_owner(&user, id)?;
    let mut conn = db::conn(&state.pool).await?;
    if db::pets::delete_address(&mut conn, id, address_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("address"))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOwnerBody {
    #[schema(example = "Jorge Díaz")]
    pub full_name: String,
    /// Needed later to give the owner a login.
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/owners", tag = "owners", request_body = NewOwnerBody, security(("bearer" = [])),
    responses((status = 201, body = Owner), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Staff record an owner who booked by phone; they have no login until staff create one.
async fn create_owner(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewOwnerBody>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = Vec::new();
    let full_name = crate::error::text(&body.full_name, "full_name", 200)
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    let email = match trimmed(body.email) {
        Some(raw) => domain::Email::parse(&raw)
            .map(|e| Some(e.as_str().to_owned()))
            .unwrap_or_else(|e| {
                errors.push(FieldError::new("email", e.to_string()));
                None
            }),
        None => None,
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = db::conn(&state.pool).await?;
    let row = db::pets::insert_owner(
        &mut conn,
        &db::pets::NewOwner {
            full_name,
            email,
            phone: trimmed(body.phone),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Owner::from(row))))
}

/// The one-time link material for an owner's first password.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SetPasswordToken {
    pub user_id: Uuid,
    /// Give it to the owner (the welcome email will carry it); it works once.
    pub set_password_token: String,
    pub expires_at: DateTime<Utc>,
}

#[utoipa::path(post, path = "/api/v1/owners/{id}/user", tag = "owners", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 201, body = SetPasswordToken), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The owner already has a login, or the email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The owner has no email", body = Problem, content_type = "application/problem+json")))]
/// Staff give a phone-booked owner a login: a user without a password and a one-time
/// token, valid 7 days, to set it (`POST /api/v1/auth/set-password`).
async fn create_owner_user(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<OwnerId>,
) -> Result<impl IntoResponse, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let owner = db::pets::owner(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("owner"))?;
    if owner.user_id.is_some() {
        return Err(ApiError::Conflict {
            kind: "owner-has-user",
            detail: "this owner already has a login".into(),
        });
    }
    if owner.email.is_none() {
        return Err(ApiError::invalid("email", "the owner needs an email first"));
    }
    let (token, hash) = crate::auth::refresh_token();
    let expires_at = Utc::now() + chrono::Duration::days(7);
    let created = db::users::create_user_for_owner(&mut conn, id, &hash, expires_at).await?;
    let user_id = created.ok_or_else(|| ApiError::Conflict {
        kind: "owner-has-user",
        detail: "this owner got a login meanwhile".into(),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(SetPasswordToken {
            user_id: user_id.into_uuid(),
            set_password_token: token,
            expires_at,
        }),
    ))
}

// ---- pets -------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Pet {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub species_id: Uuid,
    pub breed_id: Option<Uuid>,
    pub sex: PetSex,
    pub neutered: bool,
    pub birth_date: Option<NaiveDate>,
    pub microchip: Option<String>,
    pub deceased: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<db::pets::PetRow> for Pet {
    fn from(r: db::pets::PetRow) -> Self {
        Self {
            id: r.id,
            owner_id: r.owner_id,
            name: r.name,
            species_id: r.species_id,
            breed_id: r.breed_id,
            sex: r.sex,
            neutered: r.neutered,
            birth_date: r.birth_date,
            microchip: r.microchip,
            deceased: r.deceased,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPetBody {
    /// Required for staff; an owner's pets are always their own.
    pub owner_id: Option<Uuid>,
    #[schema(example = "Luna")]
    pub name: String,
    pub species_id: Uuid,
    pub breed_id: Option<Uuid>,
    #[serde(default)]
    pub sex: PetSex,
    #[serde(default)]
    pub neutered: bool,
    pub birth_date: Option<NaiveDate>,
    pub microchip: Option<String>,
}

fn pet_name(raw: &str) -> Result<String, FieldError> {
    crate::error::text(raw, "name", 100)
}

fn check_birth_date(date: Option<NaiveDate>, errors: &mut Vec<FieldError>) {
    if date.is_some_and(|d| d > Utc::now().date_naive()) {
        errors.push(FieldError::new("birth_date", "must not be in the future"));
    }
}

#[utoipa::path(get, path = "/api/v1/pets", tag = "pets", params(ListParams), security(("bearer" = [])),
    responses((status = 200, body = Listing<Pet>), (status = 401, body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json")))]
/// An owner's pets; staff: every pet, or one owner's with `owner_id`.
async fn list_pets(
    user: AuthUser,
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Listing<Pet>>, ApiError> {
    let page = params.page()?;
    let owner = owner_scope(&user)?.or(params.owner_id.map(OwnerId::from_uuid));
    let mut conn = db::conn(&state.pool).await?;
    let rows = db::pets::pets(&mut conn, owner, params.species_id, page).await?;
    Ok(Json(Listing {
        items: rows.into_iter().map(Pet::from).collect(),
        limit: page.limit,
        offset: page.offset,
    }))
}

#[utoipa::path(post, path = "/api/v1/pets", tag = "pets", request_body = NewPetBody, security(("bearer" = [])),
    responses((status = 201, body = Pet), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn add_pet(
    user: AuthUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewPetBody>,
) -> Result<impl IntoResponse, ApiError> {
    let scope = owner_scope(&user)?;
    let mut errors = Vec::new();
    let owner = match (scope, body.owner_id) {
        (Some(own), None) => Some(own),
        (Some(own), Some(given)) if given == own.into_uuid() => Some(own),
        (Some(_), Some(_)) => return Err(ApiError::NotFound("owner")),
        (None, Some(given)) => Some(OwnerId::from_uuid(given)),
        (None, None) => {
            errors.push(FieldError::new(
                "owner_id",
                "staff must say whose pet this is",
            ));
            None
        }
    };
    let name = pet_name(&body.name).map_err(|e| errors.push(e)).ok();
    check_birth_date(body.birth_date, &mut errors);
    let (Some(owner), Some(name)) = (owner, name) else {
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = db::conn(&state.pool).await?;
    db::pets::owner(&mut conn, owner)
        .await?
        .ok_or_else(|| ApiError::invalid("owner_id", "unknown owner"))?;
    let row = db::pets::insert_pet(
        &mut conn,
        &NewPet {
            id: Uuid::now_v7(),
            owner_id: owner.into_uuid(),
            name,
            species_id: body.species_id,
            breed_id: body.breed_id,
            sex: body.sex,
            neutered: body.neutered,
            birth_date: body.birth_date,
            microchip: trimmed(body.microchip),
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Pet::from(row))))
}

#[utoipa::path(get, path = "/api/v1/pets/{id}", tag = "pets", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = Pet), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn show_pet(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<Json<Pet>, ApiError> {
    let scope = owner_scope(&user)?;
    let mut conn = db::conn(&state.pool).await?;
    db::pets::pet(&mut conn, id, scope)
        .await?
        .map(|p| Json(p.into()))
        .ok_or(ApiError::NotFound("pet"))
}

/// Pet changes; omitted fields stay, `null` clears.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PetPatch {
    pub name: Option<String>,
    pub species_id: Option<Uuid>,
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub breed_id: Option<Option<Uuid>>,
    pub sex: Option<PetSex>,
    pub neutered: Option<bool>,
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub birth_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<String>)]
    pub microchip: Option<Option<String>>,
    pub deceased: Option<bool>,
}

#[utoipa::path(patch, path = "/api/v1/pets/{id}", tag = "pets", params(("id" = Uuid, Path)), request_body = PetPatch,
    security(("bearer" = [])), responses((status = 200, body = Pet), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn update_pet(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<PetPatch>,
) -> Result<Json<Pet>, ApiError> {
    let scope = owner_scope(&user)?;
    let mut errors = Vec::new();
    let name = body
        .name
        .as_deref()
        .map(pet_name)
        .transpose()
        .map_err(|e| errors.push(e))
        .ok()
        .flatten();
    check_birth_date(body.birth_date.flatten(), &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let changes = PetChanges {
        name,
        species_id: body.species_id,
        breed_id: body.breed_id,
        sex: body.sex,
        neutered: body.neutered,
        birth_date: body.birth_date,
        microchip: body.microchip.map(trimmed),
        deceased: body.deceased,
    };
    let mut conn = db::conn(&state.pool).await?;
    db::pets::update_pet(&mut conn, id, scope, &changes)
        .await?
        .map(|p| Json(p.into()))
        .ok_or(ApiError::NotFound("pet"))
}

#[utoipa::path(delete, path = "/api/v1/pets/{id}", tag = "pets", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_pet(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<StatusCode, ApiError> {
    let scope = owner_scope(&user)?;
    let mut conn = db::conn(&state.pool).await?;
    if db::pets::delete_pet(&mut conn, id, scope).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("pet"))
    }
}

// ---- species and breeds --------------------------------------------------------------------

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
    let rows = db::pets::breeds_of(&mut conn, id).await?;
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
    let row = db::pets::insert_breed(&mut conn, id, &name).await?;
    Ok((
        StatusCode::CREATED,
        Json(Breed {
            id: row.id,
            species_id: row.species_id,
            name: row.name,
        }),
    ))
}

// ---- vaccines and vaccinations ---------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Vaccine {
    pub id: Uuid,
    /// The species it is for; none when it is for any.
    pub species_id: Option<Uuid>,
    pub name: String,
    /// Days until the next dose; none for a single dose.
    pub interval_days: Option<i32>,
}

impl From<db::pets::VaccineRow> for Vaccine {
    fn from(r: db::pets::VaccineRow) -> Self {
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
        db::pets::vaccines(&mut conn)
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
        db::pets::insert_vaccine(&mut conn, body.species_id, &name, body.interval_days).await?;
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
    db::pets::update_vaccine(
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

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Vaccination {
    pub id: Uuid,
    pub pet_id: Uuid,
    pub vaccine_id: Uuid,
    pub batch: Option<String>,
    pub applied_on: NaiveDate,
    pub next_due_on: Option<NaiveDate>,
}

impl From<db::pets::VaccinationRow> for Vaccination {
    fn from(r: db::pets::VaccinationRow) -> Self {
        Self {
            id: r.id,
            pet_id: r.pet_id,
            vaccine_id: r.vaccine_id,
            batch: r.batch,
            applied_on: r.applied_on,
            next_due_on: r.next_due_on,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVaccinationBody {
    pub vaccine_id: Uuid,
    #[schema(example = "A1234B")]
    pub batch: Option<String>,
    pub applied_on: NaiveDate,
    /// Computed from the vaccine's interval when omitted.
    pub next_due_on: Option<NaiveDate>,
}

#[utoipa::path(get, path = "/api/v1/pets/{id}/vaccinations", tag = "pets", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = [Vaccination]), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn list_vaccinations(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<Json<Vec<Vaccination>>, ApiError> {
    let scope = owner_scope(&user)?;
    let mut conn = db::conn(&state.pool).await?;
    db::pets::pet(&mut conn, id, scope)
        .await?
        .ok_or(ApiError::NotFound("pet"))?;
    let rows = db::pets::vaccinations(&mut conn, id).await?;
    Ok(Json(rows.into_iter().map(Vaccination::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/pets/{id}/vaccinations", tag = "pets", params(("id" = Uuid, Path)),
    request_body = NewVaccinationBody, security(("bearer" = [])),
    responses((status = 201, body = Vaccination), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Records a vaccine applied to the pet; the next due date defaults to the applied date
/// plus the vaccine's interval.
async fn add_vaccination(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<NewVaccinationBody>,
) -> Result<impl IntoResponse, ApiError> {
    let scope = owner_scope(&user)?;
    let mut errors = Vec::new();
    if body.applied_on > Utc::now().date_naive() {
        errors.push(FieldError::new("applied_on", "must not be in the future"));
    }
    if body.next_due_on.is_some_and(|due| due <= body.applied_on) {
        errors.push(FieldError::new("next_due_on", "must be after applied_on"));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = db::conn(&state.pool).await?;
    let pet = db::pets::pet(&mut conn, id, scope)
        .await?
        .ok_or(ApiError::NotFound("pet"))?;
    let vaccine = db::pets::vaccine(&mut conn, body.vaccine_id)
        .await?
        .filter(|v| v.species_id.is_none_or(|s| s == pet.species_id))
        .ok_or_else(|| {
            ApiError::invalid("vaccine_id", "unknown vaccine, or not for this species")
        })?;
    let next_due_on =
        domain::pets::next_due(body.applied_on, body.next_due_on, vaccine.interval_days);
    let batch = trimmed(body.batch);
    let row = db::pets::insert_vaccination(
        &mut conn,
        pet.id,
        vaccine.id,
        batch.as_deref(),
        body.applied_on,
        next_due_on,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Vaccination::from(row))))
}
