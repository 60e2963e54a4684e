//! Pets and their vaccinations.
//!
//! Who sees what: staff every pet; an owner only theirs (someone else's is "not
//! found"); a user who is neither gets 403.

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use chrono::{DateTime, NaiveDate, Utc};
use db::pets::{NewPet, PetChanges};
use domain::{OwnerId, PetSex};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::helpers::{ListParams, Listing, owner_scope, trimmed};
use crate::extract::{ApiJson, ApiQuery, PathId};
use crate::routes::helpers::Scoped;
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, FieldError, Problem},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_pets,
    add_pet,
    show_pet,
    update_pet,
    delete_pet,
    list_vaccinations,
    add_vaccination
))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pets", get(list_pets).post(add_pet))
        .route(
            "/pets/{id}",
            get(show_pet).patch(update_pet).delete(delete_pet),
        )
        .route(
            "/pets/{id}/vaccinations",
            get(list_vaccinations).post(add_vaccination),
        )
}

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
    crate::error::name(raw, "name", 50)
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
    responses((status = 201, body = Pet), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The `owner_id` is not an owner the caller may see", body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn add_pet(
    Scoped { scope, .. }: Scoped,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewPetBody>,
) -> Result<impl IntoResponse, ApiError> {
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
    db::owners::owner(&mut conn, owner)
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
    Scoped { scope, .. }: Scoped,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<Json<Pet>, ApiError> {
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
    Scoped { scope, .. }: Scoped,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<PetPatch>,
) -> Result<Json<Pet>, ApiError> {
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
    Scoped { scope, .. }: Scoped,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    if db::pets::delete_pet(&mut conn, id, scope).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("pet"))
    }
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
    Scoped { scope, .. }: Scoped,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<Json<Vec<Vaccination>>, ApiError> {
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
    Scoped { scope, .. }: Scoped,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<NewVaccinationBody>,
) -> Result<impl IntoResponse, ApiError> {
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
    let vaccine = db::vaccines::vaccine(&mut conn, body.vaccine_id)
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
