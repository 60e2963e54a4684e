//! Checkout: the owner's open cart (or some of its items) becomes service requests in
//! `pending`, each at its price re-quoted now and frozen, in one transaction keyed by the
//! caller's `Idempotency-Key` (a retry answers the same; concurrent submissions make one
//! set of requests). Then their workflows start, now if Temporal answers promptly, else
//! through the outbox.

use chrono::Utc;
use db::cart::{Frozen, ItemFields, ItemRow};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use domain::{Actor, Description, OwnerId, RequestId, RequestState, pricing::Breakdown};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::quote::{QuoteBody, quote};
use crate::{
    AppState,
    error::{ApiError, FieldError},
    idempotency::{self, IdempotencyKey},
};

/// One request checkout made.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckedOut {
    pub id: RequestId,
    pub workflow_id: String,
    pub cart_item_id: Uuid,
    #[schema(example = "Consulta para Luna")]
    pub description: String,
    pub state: RequestState,
    /// The frozen price.
    pub breakdown: Breakdown,
    /// The price differs from the one the cart showed; it is charged at the current one.
    pub price_changed: bool,
    /// What the cart showed, when it changed.
    #[schema(value_type = Option<String>)]
    pub previous_total: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckoutResult {
    pub requests: Vec<CheckedOut>,
    #[schema(value_type = String, example = "25000.00")]
    pub total: Decimal,
    pub currency: String,
    /// The cart items whose price changed since they were quoted.
    pub changed_items: Vec<Uuid>,
}

/// Checks out `wanted` items of `owner`'s cart (all when `None`) under `key`.
pub async fn check_out(
    state: &AppState,
    owner: OwnerId,
    key: IdempotencyKey,
    wanted: Option<Vec<Uuid>>,
) -> Result<CheckoutResult, ApiError> {
    // What was asked, in a canonical form (order and repeats do not matter).
    let mut wanted = wanted;
    if let Some(ids) = &mut wanted {
        ids.sort_unstable();
        ids.dedup();
    }
    let hash = idempotency::request_hash(&wanted)?;
    let mut conn = db::conn(&state.pool).await?;
    let result: CheckoutResult = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            if let Some(earlier) = idempotency::claim(conn, owner, &key, &hash).await? {
                return Ok(earlier);
            }

            let cart = db::cart::lock_open_cart(conn, owner)
                .await?
                .ok_or_else(|| ApiError::invalid("cart", "the cart is empty"))?;
            let all = db::cart::items(conn, cart).await?;
            let chosen = choose_items(&all, wanted.as_deref())?;
            within_caps(state, conn, owner, chosen.len()).await?;
            let mut result = CheckoutResult {
                requests: Vec::with_capacity(chosen.len()),
                total: Decimal::ZERO,
                currency: "ARS".into(),
                changed_items: Vec::new(),
            };
            for (n, item) in chosen.iter().enumerate() {
                let request = freeze_item(conn, owner, &key, n, item).await?;
                result.total += request.breakdown.total;
                if request.price_changed {
                    result.changed_items.push(item.id);
                }
                result.requests.push(request);
            }
            db::cart::close_cart(conn, cart).await?;
            carry_over(conn, owner, &all, &chosen).await?;
            idempotency::record(conn, owner, &key, &result).await?;
            Ok(result)
        })
        .await?;
    drop(conn);
    start_workflows(state, owner, &result).await;
    tracing::info!(owner = %owner, requests = result.requests.len(), "checkout");
    Ok(result)
}

/// A new checkout of `new_requests` items (its key just claimed, in this transaction)
/// within the owner's caps:
/// checkouts per hour, and then requests waiting for a vet, a time or a payment — each
/// of which asks vets on WhatsApp. Refused, the claim rolls back with the transaction.
async fn within_caps(
    state: &AppState,
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    new_requests: usize,
) -> Result<(), ApiError> {
    let rules = state.settings.booking;
    if rules.require_verified_phone {
        let verified = db::phone_codes::phone_of(conn, owner)
            .await?
            .is_some_and(|(_, verified)| verified);
        if !verified {
            return Err(ApiError::conflict(
                "phone-unverified",
                "verify your WhatsApp number first (POST /api/v1/me/phone/code): \
                         every message about the visit goes there",
            ));
        }
    }
    let hour = chrono::Duration::hours(1);
    let (recent, oldest) = db::cart::checkouts_since(conn, owner, Utc::now() - hour).await?;
    if recent > rules.max_checkouts_per_hour {
        let free_at = oldest.map_or(Utc::now() + hour, |t| t + hour);
        return Err(ApiError::TooManyRequests {
            detail: format!(
                "at most {} checkouts an hour; try again later",
                rules.max_checkouts_per_hour
            ),
            retry_after_secs: u64::try_from((free_at - Utc::now()).num_seconds().max(1))
                .unwrap_or(1),
        });
    }
    let waiting = db::cart::unpaid_open_requests(conn, owner).await?;
    if waiting + i64::try_from(new_requests).unwrap_or(i64::MAX) > rules.max_unpaid_requests {
        return Err(ApiError::conflict(
            "too-many-open-requests",
            format!(
                "you have {waiting} requests waiting for a vet, a time or a payment; at most {} \
                 at once: pay or cancel one first",
                rules.max_unpaid_requests
            ),
        ));
    }
    Ok(())
}

/// The items to check out: all of them, or exactly those `wanted` (each must be in the
/// cart); never none.
fn choose_items(all: &[ItemRow], wanted: Option<&[Uuid]>) -> Result<Vec<ItemRow>, ApiError> {
    let chosen: Vec<ItemRow> = match wanted {
        None => all.to_vec(),
        Some(ids) => {
            let chosen: Vec<ItemRow> = all
                .iter()
                .filter(|i| ids.contains(&i.id))
                .cloned()
                .collect();
            if chosen.len() != ids.len() {
                return Err(ApiError::invalid(
                    "item_ids",
                    "not all of these are items of your cart",
                ));
            }
            chosen
        }
    };
    if chosen.is_empty() {
        return Err(ApiError::invalid("cart", "the cart is empty"));
    }
    Ok(chosen)
}

/// Item `n` becomes a `pending` request at its price now, frozen; a refusal names the
/// item (`items[n].…`).
async fn freeze_item(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    key: &IdempotencyKey,
    n: usize,
    item: &ItemRow,
) -> Result<CheckedOut, ApiError> {
    let quote = quote(conn, Some(owner), &QuoteBody::of_item(item))
        .await
        .map_err(|e| match e {
            ApiError::Validation(errors) => ApiError::Validation(
                errors
                    .into_iter()
                    .map(|e| FieldError::new(format!("items[{n}].{}", e.field), e.message))
                    .collect(),
            ),
            other => other,
        })?;
    if item.wanted_start < Utc::now() {
        return Err(ApiError::invalid(
            format!("items[{n}].wanted_start"),
            "is in the past",
        ));
    }
    let previous: Option<Breakdown> = item
        .quote
        .clone()
        .and_then(|q| serde_json::from_value(q).ok());
    let previous_total = previous.map(|p| p.total);
    let price_changed = previous_total != Some(quote.breakdown.total);
    let service = db::catalog::service(conn, item.service_id)
        .await?
        .ok_or_else(|| ApiError::invalid("item_ids", "a service is gone"))?;
    let pet = db::pets::pet(conn, item.pet_id, Some(owner))
        .await?
        .ok_or_else(|| ApiError::invalid("item_ids", "a pet is gone"))?;
    let description = Description::parse(&format!("{} para {}", service.name, pet.name))
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("description: {e}")))?;
    let id = RequestId::new();
    db::requests::insert_request(
        conn,
        &db::requests::NewRequest {
            id,
            description: description.as_str().to_owned(),
            created_by: Actor::Owner(owner),
        },
        Utc::now(),
    )
    .await?;
    db::cart::freeze_request(
        conn,
        id,
        &Frozen {
            owner_id: owner,
            item: item.clone(),
            breakdown: serde_json::to_value(&quote.breakdown).map_err(anyhow::Error::from)?,
            total: quote.breakdown.total.to_string(),
            checkout_key: key.as_str().to_owned(),
        },
    )
    .await?;
    Ok(CheckedOut {
        id,
        workflow_id: id.workflow_id(),
        cart_item_id: item.id,
        description: description.as_str().to_owned(),
        state: RequestState::Pending,
        breakdown: quote.breakdown,
        price_changed,
        previous_total: if price_changed { previous_total } else { None },
    })
}

/// The items not checked out move to the owner's next cart.
async fn carry_over(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    all: &[ItemRow],
    chosen: &[ItemRow],
) -> Result<(), ApiError> {
    let rest: Vec<&ItemRow> = all
        .iter()
        .filter(|i| !chosen.iter().any(|c| c.id == i.id))
        .collect();
    if rest.is_empty() {
        return Ok(());
    }
    let next = db::cart::open_cart(conn, owner).await?;
    for item in rest {
        db::cart::insert_item(
            conn,
            next,
            &ItemFields {
                service_id: item.service_id,
                pet_id: item.pet_id,
                address_id: item.address_id,
                vet_id: item.vet_id,
                wanted_start: item.wanted_start,
                wanted_end: item.wanted_end,
                turn_fee_group_id: item.turn_fee_group_id,
                quote: item.quote.clone().unwrap_or(serde_json::Value::Null),
            },
        )
        .await?;
    }
    Ok(())
}

/// After the commit: starts the workflows now if Temporal answers within 2 s; the outbox
/// starts whatever is not (and a replay finds them already started). The owner is not
/// kept waiting on an unreachable Temporal.
async fn start_workflows(state: &AppState, owner: OwnerId, result: &CheckoutResult) {
    let start_now = async {
        for request in &result.requests {
            if let Err(e) =
                crate::outbox::start(state, request.id, &request.description, Some(owner)).await
            {
                tracing::warn!(request = %request.id, error = %e, "could not start the workflow now");
            }
        }
    };
    if tokio::time::timeout(std::time::Duration::from_secs(2), start_now)
        .await
        .is_err()
    {
        tracing::warn!(owner = %owner, "Temporal is slow or away; the outbox will start the workflows");
    }
}
