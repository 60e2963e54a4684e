//! The owner's cart and checkout.
//!
//! One open cart per owner. Each item is a visit to book (service, one of the owner's
//! pets, one of their addresses, a wanted window, a turn-fee group, optionally a vet they
//! ask for) and shows its current quote. Checkout, with an `Idempotency-Key`, re-quotes
//! every item, freezes each price into a service request in `pending`, closes the cart,
//! and starts one workflow per request (through the outbox: if Temporal is away, they
//! start when it is back). A retry with the same key answers the same; the same key with
//! another body is refused; concurrent submissions make one set of requests.

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::IntoResponse,
    routing::{get, patch, post},
};
use chrono::{DateTime, Utc};
use db::cart::{ItemFields, ItemRow};
use domain::{OwnerId, pricing::Breakdown};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::extract::{ApiJson, PathId};
use crate::{
    AppState,
    auth::AuthUser,
    booking::{
        checkout::{CheckoutResult, check_out},
        quote::{QuoteBody, quote},
    },
    error::{ApiError, FieldError, Problem},
    idempotency::IdempotencyKey,
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(show_cart, add_item, update_item, delete_item, checkout))]
pub struct Docs;

pub fn router(limits: &crate::limits::RateLimits) -> Router<AppState> {
    let checkout = Router::new().route("/cart/checkout", post(checkout));
    crate::limits::limit(checkout, "checkout", limits.checkout)
        .route("/cart", get(show_cart))
        .route("/cart/items", post(add_item))
        .route("/cart/items/{id}", patch(update_item).delete(delete_item))
}

/// A signed-in pet owner, whose cart it is: anyone else is 403 before the path or the
/// body is read (staff book through an owner's account for now).
struct CartOwner(OwnerId);

impl axum::extract::FromRequestParts<AppState> for CartOwner {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        Ok(Self(cart_owner(&user)?))
    }
}

/// The cart belongs to pet owners (staff book through an owner's account for now).
fn cart_owner(user: &AuthUser) -> Result<OwnerId, ApiError> {
    user.owner
        .ok_or_else(|| ApiError::Forbidden("only pet owners have a cart".into()))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CartItem {
    pub id: Uuid,
    pub service_id: Uuid,
    pub pet_id: Uuid,
    pub address_id: Uuid,
    pub vet_id: Option<Uuid>,
    pub wanted_start: DateTime<Utc>,
    pub wanted_end: DateTime<Utc>,
    pub turn_fee_group_id: Option<Uuid>,
    /// The price now; none when the item can no longer be priced (see `problem`).
    pub quote: Option<Breakdown>,
    /// Why it cannot be priced now (e.g. the service was retired).
    pub problem: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Cart {
    /// None until the first item is added.
    pub id: Option<Uuid>,
    pub items: Vec<CartItem>,
    /// The sum of the items' current totals.
    #[schema(value_type = String, example = "25000.00")]
    pub total: Decimal,
    #[schema(example = "ARS")]
    pub currency: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    pub service_id: Uuid,
    pub pet_id: Uuid,
    pub address_id: Uuid,
    /// The window the owner wants the visit in: from at least the minimum notice ahead…
    pub wanted_start: DateTime<Utc>,
    /// …to within the booking horizon; long enough for the service.
    pub wanted_end: DateTime<Utc>,
    pub turn_fee_group_id: Option<Uuid>,
    pub vet_id: Option<Uuid>,
}

/// A partial change of an item; omitted fields stay, `null` clears the optional ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemPatch {
    pub service_id: Option<Uuid>,
    pub pet_id: Option<Uuid>,
    pub address_id: Option<Uuid>,
    pub wanted_start: Option<DateTime<Utc>>,
    pub wanted_end: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub turn_fee_group_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "crate::double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub vet_id: Option<Option<Uuid>>,
}

impl ItemBody {
    fn quote_body(&self) -> QuoteBody {
        QuoteBody {
            service_id: self.service_id,
            pet_id: self.pet_id,
            address_id: self.address_id,
            start: self.wanted_start,
            turn_fee_group_id: self.turn_fee_group_id,
            vet_id: self.vet_id,
        }
    }

    fn from_row(row: &ItemRow) -> Self {
        Self {
            service_id: row.service_id,
            pet_id: row.pet_id,
            address_id: row.address_id,
            wanted_start: row.wanted_start,
            wanted_end: row.wanted_end,
            turn_fee_group_id: row.turn_fee_group_id,
            vet_id: row.vet_id,
        }
    }
}

/// Checks the window against the booking rules and the service's duration, then quotes.
async fn validated_quote(
    state: &AppState,
    conn: &mut diesel_async::AsyncPgConnection,
    owner: OwnerId,
    body: &ItemBody,
) -> Result<(Breakdown, ItemFields), ApiError> {
    let now = Utc::now();
    let rules = state.settings.booking;
    let mut errors = Vec::new();
    if body.wanted_start < now + rules.min_notice {
        errors.push(FieldError::new(
            "wanted_start",
            format!(
                "must be at least {} minutes from now",
                rules.min_notice.num_minutes()
            ),
        ));
    }
    if body.wanted_end > now + rules.horizon {
        errors.push(FieldError::new(
            "wanted_end",
            format!("must be within {} days from now", rules.horizon.num_days()),
        ));
    }
    if body.wanted_end <= body.wanted_start {
        errors.push(FieldError::new("wanted_end", "must be after wanted_start"));
    } else if let Some(service) = db::catalog::service(conn, body.service_id).await?
        && (body.wanted_end - body.wanted_start).num_minutes() < i64::from(service.duration_minutes)
    {
        errors.push(FieldError::new(
            "wanted_end",
            format!(
                "the window must fit the service's {} minutes",
                service.duration_minutes
            ),
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let quote = quote(conn, Some(owner), &body.quote_body()).await?;
    let fields = ItemFields {
        service_id: body.service_id,
        pet_id: body.pet_id,
        address_id: body.address_id,
        vet_id: body.vet_id,
        wanted_start: body.wanted_start,
        wanted_end: body.wanted_end,
        turn_fee_group_id: body.turn_fee_group_id,
        quote: serde_json::to_value(&quote.breakdown).map_err(anyhow::Error::from)?,
    };
    Ok((quote.breakdown, fields))
}

/// The item with its current quote (or why it has none).
async fn priced(
    conn: &mut diesel_async::AsyncPgConnection,
    owner: OwnerId,
    row: ItemRow,
) -> Result<CartItem, ApiError> {
    let body = ItemBody::from_row(&row);
    let (quote, problem) = match quote(conn, Some(owner), &body.quote_body()).await {
        Ok(q) => (Some(q.breakdown), None),
        Err(ApiError::Validation(errors)) => (
            None,
            Some(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        ),
        Err(other) => return Err(other),
    };
    Ok(CartItem {
        id: row.id,
        service_id: row.service_id,
        pet_id: row.pet_id,
        address_id: row.address_id,
        vet_id: row.vet_id,
        wanted_start: row.wanted_start,
        wanted_end: row.wanted_end,
        turn_fee_group_id: row.turn_fee_group_id,
        quote,
        problem,
    })
}

#[utoipa::path(get, path = "/api/v1/cart", tag = "cart", security(("bearer" = [])),
    responses((status = 200, body = Cart), (status = 403, body = Problem, content_type = "application/problem+json")))]
/// The owner's open cart, each item priced now.
async fn show_cart(user: AuthUser, State(state): State<AppState>) -> Result<Json<Cart>, ApiError> {
    let owner = cart_owner(&user)?;
    let mut conn = db::conn(&state.pool).await?;
    let cart = db::cart::find_open_cart(&mut conn, owner).await?;
    let mut items = Vec::new();
    if let Some(cart) = cart {
        for row in db::cart::items(&mut conn, cart).await? {
            items.push(priced(&mut conn, owner, row).await?);
        }
    }
    let mut total = items
        .iter()
        .filter_map(|i| i.quote.as_ref().map(|q| q.total))
        .sum::<Decimal>();
    total.rescale(2); // "0.00" for an empty cart, like every other amount

    Ok(Json(Cart {
        id: cart,
        items,
        total,
        currency: "ARS".into(),
    }))
}

#[utoipa::path(post, path = "/api/v1/cart/items", tag = "cart", request_body = ItemBody, security(("bearer" = [])),
    responses((status = 201, body = CartItem), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`cart-full`: the cart already holds `CART_MAX_ITEMS` items; `cart-busy`: a checkout is closing it, try again", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Adds a visit to the cart, priced.
async fn add_item(
    CartOwner(owner): CartOwner,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ItemBody>,
) -> Result<impl IntoResponse, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let (breakdown, fields) = validated_quote(&state, &mut conn, owner, &body).await?;
    let max = state.settings.booking.max_cart_items;
    let row =
        diesel_async::AsyncConnection::transaction::<_, ApiError, _>(&mut *conn, async |conn| {
            // A checkout in another tab may close the cart between finding and locking
            // it: then the open cart is the new one.
            let mut cart = db::cart::open_cart(conn, owner).await?;
            let mut count = db::cart::lock_and_count_items(conn, cart).await?;
            if count.is_none() {
                cart = db::cart::open_cart(conn, owner).await?;
                count = db::cart::lock_and_count_items(conn, cart).await?;
            }
            let count = count.ok_or_else(|| {
                ApiError::conflict("cart-busy", "the cart is being checked out; try again")
            })?;
            if count >= max {
                return Err(ApiError::conflict(
                    "cart-full",
                    format!("a cart holds at most {max} items; check out or remove some"),
                ));
            }
            Ok(db::cart::insert_item(conn, cart, &fields).await?)
        })
        .await?;
    let mut item = priced(&mut conn, owner, row).await?;
    item.quote = Some(breakdown);
    Ok((StatusCode::CREATED, Json(item)))
}

#[utoipa::path(patch, path = "/api/v1/cart/items/{id}", tag = "cart", params(("id" = Uuid, Path)),
    request_body = ItemPatch, security(("bearer" = [])),
    responses((status = 200, body = CartItem), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
/// Changes an item; it is re-validated and re-priced as a whole.
async fn update_item(
    CartOwner(owner): CartOwner,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
    ApiJson(body): ApiJson<ItemPatch>,
) -> Result<Json<CartItem>, ApiError> {
    let patch = body;
    let mut conn = db::conn(&state.pool).await?;
    let cart = db::cart::find_open_cart(&mut conn, owner)
        .await?
        .ok_or(ApiError::NotFound("cart item"))?;
    let existing = db::cart::items(&mut conn, cart)
        .await?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or(ApiError::NotFound("cart item"))?;
    let current = ItemBody::from_row(&existing);
    let body = ItemBody {
        service_id: patch.service_id.unwrap_or(current.service_id),
        pet_id: patch.pet_id.unwrap_or(current.pet_id),
        address_id: patch.address_id.unwrap_or(current.address_id),
        wanted_start: patch.wanted_start.unwrap_or(current.wanted_start),
        wanted_end: patch.wanted_end.unwrap_or(current.wanted_end),
        turn_fee_group_id: patch.turn_fee_group_id.unwrap_or(current.turn_fee_group_id),
        vet_id: patch.vet_id.unwrap_or(current.vet_id),
    };
    let (breakdown, fields) = validated_quote(&state, &mut conn, owner, &body).await?;
    let row = db::cart::update_item(&mut conn, cart, id, &fields)
        .await?
        .ok_or(ApiError::NotFound("cart item"))?;
    let mut item = priced(&mut conn, owner, row).await?;
    item.quote = Some(breakdown);
    Ok(Json(item))
}

#[utoipa::path(delete, path = "/api/v1/cart/items/{id}", tag = "cart", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn delete_item(
    CartOwner(owner): CartOwner,
    State(state): State<AppState>,
    PathId(id): PathId<Uuid>,
) -> Result<StatusCode, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let cart = db::cart::find_open_cart(&mut conn, owner)
        .await?
        .ok_or(ApiError::NotFound("cart item"))?;
    if db::cart::delete_item(&mut conn, cart, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("cart item"))
    }
}

/// Optional; the default checks out every item.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    /// Only these items (the rest stay in a new cart). Default: all.
    pub item_ids: Option<Vec<Uuid>>,
}

#[utoipa::path(post, path = "/api/v1/cart/checkout", tag = "cart", request_body = CheckoutBody, security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "Unique per checkout; a retry with the same key answers the same")),
    responses((status = 201, body = CheckoutResult), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`phone-unverified`: the owner's WhatsApp number is not verified yet (`POST /api/v1/me/phone/code`); `too-many-open-requests`: the owner would have more than `OWNER_MAX_UNPAID_REQUESTS` requests waiting for a vet, a time or a payment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No key, the key reused with another body, an empty cart, or an item that cannot be booked", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "More than `OWNER_MAX_CHECKOUTS_PER_HOUR` checkouts this hour; see `Retry-After`", body = Problem, content_type = "application/problem+json")))]
/// Turns the cart into service requests at the current prices and starts their workflows.
async fn checkout(
    CartOwner(owner): CartOwner,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let key = IdempotencyKey::from_headers(&headers)?;
    let parsed: CheckoutBody = if body.iter().all(u8::is_ascii_whitespace) {
        CheckoutBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid("body", e.to_string()))?
    };
    let result = check_out(&state, owner, key, parsed.item_ids).await?;
    Ok((StatusCode::CREATED, Json(result)))
}
