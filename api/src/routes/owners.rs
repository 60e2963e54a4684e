//! Owners: their profile and addresses, and the owners staff create (booked by phone)
//! with the login they may get.
//!
//! Who sees what: staff everything; an owner only their own record and addresses
//! (someone else's is "not found", never "forbidden", so ids leak nothing); a user who is
//! neither gets 403.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{delete, get},
};
use chrono::{DateTime, Utc};
use db::owners::{NewAddress, OwnerChanges};
use domain::{LatLon, OwnerId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::helpers::{ListParams, Listing, owner_scope, trimmed};
use crate::extract::{ApiJson, ApiQuery, PathId, PathIds};
use crate::{
    AppState,
    auth::{AuthUser, StaffUser},
    error::{ApiError, FieldError, Problem},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_owners,
    show_owner,
    update_owner,
    list_addresses,
    add_address,
    delete_address,
    create_owner
))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/owners", get(list_owners).post(create_owner))
        .route("/owners/{id}", get(show_owner).patch(update_owner))
        .route(
            "/owners/{id}/addresses",
            get(list_addresses).post(add_address),
        )
        .route(
            "/owners/{id}/addresses/{address_id}",
            delete(delete_address),
        )
}

/// The owner record `id`, if the caller may see it (404 otherwise).
fn visible_owner(user: &AuthUser, id: OwnerId) -> Result<OwnerId, ApiError> {
    match owner_scope(user)? {
        Some(own) if own != id => Err(ApiError::NotFound("owner")),
        _ => Ok(id),
    }
}

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
    /// Vaccine reminders on WhatsApp (when there is a phone).
    pub vaccine_reminders_whatsapp: bool,
    /// Vaccine reminders by email (when there is an address).
    pub vaccine_reminders_email: bool,
}

impl From<db::owners::OwnerRow> for Owner {
    fn from(r: db::owners::OwnerRow) -> Self {
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
            vaccine_reminders_whatsapp: r.vaccine_reminders_whatsapp,
            vaccine_reminders_email: r.vaccine_reminders_email,
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
    let rows = db::owners::owners(&mut conn, scope, params.q.as_deref(), page).await?;
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
    db::owners::owner(&mut conn, id)
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
    /// `false` stops vaccine reminders on WhatsApp.
    pub vaccine_reminders_whatsapp: Option<bool>,
    /// `false` stops vaccine reminders by email.
    pub vaccine_reminders_email: Option<bool>,
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
        .map(|n| crate::error::name(&n, "full_name", 200))
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
    // Every message of a booking goes to this number.
    let phone = body.phone.map(trimmed).map(|phone| {
        phone.and_then(|raw| {
            domain::names::whatsapp_number(&raw)
                .map_err(|e| errors.push(FieldError::new("phone", e)))
                .ok()
        })
    });
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let changes = OwnerChanges {
        full_name,
        phone,
        document_type_id: body.document_type_id,
        document_number,
        vat_condition_id: body.vat_condition_id,
        vaccine_reminders_whatsapp: body.vaccine_reminders_whatsapp,
        vaccine_reminders_email: body.vaccine_reminders_email,
    };
    let mut conn = db::conn(&state.pool).await?;
    db::owners::update_owner(&mut conn, id, &changes)
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

impl From<db::owners::AddressRow> for Address {
    fn from(r: db::owners::AddressRow) -> Self {
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
    db::owners::owner(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("owner"))?;
    let rows = db::owners::addresses(&mut conn, id).await?;
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
    db::owners::owner(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("owner"))?;
    let row = db::owners::insert_address(
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
    if db::owners::delete_address(&mut conn, id, address_id).await? {
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
    let full_name = crate::error::name(&body.full_name, "full_name", 200)
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
    let phone = trimmed(body.phone).and_then(|raw| {
        domain::names::whatsapp_number(&raw)
            .map_err(|e| errors.push(FieldError::new("phone", e)))
            .ok()
    });
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = db::conn(&state.pool).await?;
    let row = db::owners::insert_owner(
        &mut conn,
        &db::owners::NewOwner {
            full_name,
            email,
            phone,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Owner::from(row))))
}
