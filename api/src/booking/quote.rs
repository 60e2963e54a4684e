//! Pricing one visit: the base price valid that day (the vet's own or the general one)
//! × the neighbourhood's distance coefficient, + the turn-fee surcharge, − the discounts
//! valid then. Every refusal is a `422` naming the field. Used by `POST /quotes`, the
//! cart (each item shows its quote) and checkout (which freezes it).

use chrono::{DateTime, NaiveDateTime, Utc};
use db::cart::ItemRow;
use domain::{
    LatLon, OwnerId,
    pricing::{Adjustment, Breakdown, PriceTerms},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    error::ApiError,
    routes::pricing::{Discount, TurnFeeGroup, decimal},
};

// ---- quotes -------------------------------------------------------------------------------------

/// What a visit's price depends on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteBody {
    pub service_id: Uuid,
    /// One of the caller's pets.
    pub pet_id: Uuid,
    /// One of the pet owner's addresses.
    pub address_id: Uuid,
    /// When the visit would start (the start of the wanted window); its local date picks
    /// the price, its local weekday and time the discounts.
    pub start: DateTime<Utc>,
    pub turn_fee_group_id: Option<Uuid>,
    /// A vet the owner asks for; their own price applies when they have one.
    pub vet_id: Option<Uuid>,
}

impl QuoteBody {
    /// What a cart item's price depends on.
    pub fn of_item(item: &ItemRow) -> Self {
        Self {
            service_id: item.service_id,
            pet_id: item.pet_id,
            address_id: item.address_id,
            start: item.wanted_start,
            turn_fee_group_id: item.turn_fee_group_id,
            vet_id: item.vet_id,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    pub service_id: Uuid,
    pub pet_id: Uuid,
    pub address_id: Uuid,
    pub start: DateTime<Utc>,
    /// The start in Buenos Aires time.
    #[schema(value_type = String, example = "2026-12-07T10:00:00")]
    pub local_start: NaiveDateTime,
    pub turn_fee_group_id: Option<Uuid>,
    pub vet_id: Option<Uuid>,
    /// The price row used.
    pub price_id: Uuid,
    pub neighborhood_id: Uuid,
    pub breakdown: Breakdown,
}

/// Prices one visit. `scope` is the caller's owner scope: the pet must be theirs. Every
/// refusal is a 422 naming the field.
pub async fn quote(
    conn: &mut diesel_async::AsyncPgConnection,
    scope: Option<OwnerId>,
    body: &QuoteBody,
) -> Result<Quote, ApiError> {
    let service = db::catalog::service(conn, body.service_id)
        .await?
        .filter(|s| s.active)
        .ok_or_else(|| ApiError::invalid("service_id", "unknown or inactive service"))?;
    let pet = db::pets::pet(conn, body.pet_id, scope)
        .await?
        .ok_or_else(|| ApiError::invalid("pet_id", "unknown pet"))?;
    let address = db::owners::addresses(conn, OwnerId::from_uuid(pet.owner_id))
        .await?
        .into_iter()
        .find(|a| a.id == body.address_id)
        .ok_or_else(|| ApiError::invalid("address_id", "not an address of the pet's owner"))?;
    let vet = match body.vet_id {
        Some(id) => Some(
            db::vets::vet(conn, domain::VetId::from_uuid(id))
                .await?
                .filter(|v| v.active)
                .ok_or_else(|| ApiError::invalid("vet_id", "unknown or inactive vet"))?,
        ),
        None => None,
    };
    let local_start = domain::time::local(body.start).naive_local();
    let date = local_start.date();
    let price = db::pricing::price_on(conn, service.id, body.vet_id, date)
        .await?
        .ok_or_else(|| {
            ApiError::invalid("service_id", format!("the service has no price on {date}"))
        })?;
    let point = LatLon::new(address.lat, address.lon).map_err(|e| ApiError::Internal(e.into()))?;
    let neighborhood = db::catalog::neighborhood_at(conn, point)
        .await?
        .ok_or_else(|| {
            ApiError::invalid("address_id", "the address is outside the service area")
        })?;
    let surcharge = match body.turn_fee_group_id {
        Some(id) => {
            let group = db::pricing::turn_fee_group(conn, id)
                .await?
                .ok_or_else(|| ApiError::invalid("turn_fee_group_id", "unknown turn-fee group"))?;
            let group = TurnFeeGroup::try_from(group)?;
            Some(Adjustment {
                name: group.name,
                kind: group.kind,
                value: group.value,
            })
        }
        None => None,
    };
    let discounts = db::pricing::discounts_on(conn, service.id, date)
        .await?
        .into_iter()
        .map(Discount::try_from)
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .map(Discount::rule)
        .filter(|rule| rule.applies_at(local_start))
        .map(|rule| rule.adjustment)
        .collect();
    let base_label = match (&vet, price.vet_id) {
        (Some(vet), Some(_)) => format!("{}'s price", vet.full_name),
        _ => "general".to_owned(),
    };
    let breakdown = domain::pricing::price(&PriceTerms {
        base: decimal(&price.amount)?,
        base_label,
        neighborhood: neighborhood.name.clone(),
        coefficient: decimal(&neighborhood.distance_coefficient)?,
        surcharge,
        discounts,
    });
    Ok(Quote {
        service_id: service.id,
        pet_id: pet.id,
        address_id: address.id,
        start: body.start,
        local_start,
        turn_fee_group_id: body.turn_fee_group_id,
        vet_id: body.vet_id,
        price_id: price.id,
        neighborhood_id: neighborhood.id,
        breakdown,
    })
}
