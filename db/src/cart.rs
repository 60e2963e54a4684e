//! An owner's cart, and checkout: its items become service requests in one transaction,
//! recorded against an idempotency key, with their workflows started afterwards through
//! an outbox (`service_requests.workflow_started`).

use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{Binary, Bool, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{OwnerId, RequestId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Error;

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// The owner's open cart, created when there is none.
pub async fn open_cart(conn: &mut AsyncPgConnection, owner: OwnerId) -> Result<Uuid, Error> {
    diesel::sql_query(
        "INSERT INTO carts (id, owner_id) VALUES ($1, $2) \
         ON CONFLICT (owner_id) WHERE status = 'open' DO NOTHING",
    )
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(owner.into_uuid())
    .execute(conn)
    .await?;
    Ok(
        diesel::sql_query("SELECT id FROM carts WHERE owner_id = $1 AND status = 'open'")
            .bind::<SqlUuid, _>(owner.into_uuid())
            .get_result::<Id>(conn)
            .await?
            .id,
    )
}

/// The owner's open cart, if there is one (nothing is created).
pub async fn find_open_cart(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
) -> Result<Option<Uuid>, Error> {
    let rows: Vec<Id> =
        diesel::sql_query("SELECT id FROM carts WHERE owner_id = $1 AND status = 'open'")
            .bind::<SqlUuid, _>(owner.into_uuid())
            .load(conn)
            .await?;
    Ok(rows.into_iter().next().map(|r| r.id))
}

/// Locks the owner's open cart for a checkout; `None` when there is none.
pub async fn lock_open_cart(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
) -> Result<Option<Uuid>, Error> {
    let rows: Vec<Id> = diesel::sql_query(
        "SELECT id FROM carts WHERE owner_id = $1 AND status = 'open' FOR UPDATE",
    )
    .bind::<SqlUuid, _>(owner.into_uuid())
    .load(conn)
    .await?;
    Ok(rows.into_iter().next().map(|r| r.id))
}

pub async fn close_cart(conn: &mut AsyncPgConnection, cart: Uuid) -> Result<(), Error> {
    diesel::sql_query("UPDATE carts SET status = 'checked_out', updated_at = now() WHERE id = $1")
        .bind::<SqlUuid, _>(cart)
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, QueryableByName, Serialize, Deserialize)]
pub struct ItemRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub service_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub pet_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub address_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub vet_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    pub wanted_start: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub wanted_end: DateTime<Utc>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub turn_fee_group_id: Option<Uuid>,
    /// The quote shown when the item was added or last changed.
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub quote: Option<serde_json::Value>,
}

const ITEM_COLUMNS: &str = "id, service_id, pet_id, address_id, vet_id, lower(wanted) AS wanted_start, \
     upper(wanted) AS wanted_end, turn_fee_group_id, quote";

/// What an item is, as given.
#[derive(Debug, Clone)]
pub struct ItemFields {
    pub service_id: Uuid,
    pub pet_id: Uuid,
    pub address_id: Uuid,
    pub vet_id: Option<Uuid>,
    pub wanted_start: DateTime<Utc>,
    pub wanted_end: DateTime<Utc>,
    pub turn_fee_group_id: Option<Uuid>,
    pub quote: serde_json::Value,
}

pub async fn items(conn: &mut AsyncPgConnection, cart: Uuid) -> Result<Vec<ItemRow>, Error> {
    Ok(diesel::sql_query(format!(
        "SELECT {ITEM_COLUMNS} FROM cart_items WHERE cart_id = $1 AND deleted_at IS NULL ORDER BY id"
    ))
    .bind::<SqlUuid, _>(cart)
    .load(conn)
    .await?)
}

pub async fn insert_item(
    conn: &mut AsyncPgConnection,
    cart: Uuid,
    item: &ItemFields,
) -> Result<ItemRow, Error> {
    Ok(diesel::sql_query(format!(
        "INSERT INTO cart_items (id, cart_id, service_id, pet_id, address_id, vet_id, wanted, turn_fee_group_id, quote) \
         VALUES ($1, $2, $3, $4, $5, $6, tstzrange($7, $8, '[)'), $9, $10) RETURNING {ITEM_COLUMNS}"
    ))
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(cart)
    .bind::<SqlUuid, _>(item.service_id)
    .bind::<SqlUuid, _>(item.pet_id)
    .bind::<SqlUuid, _>(item.address_id)
    .bind::<Nullable<SqlUuid>, _>(item.vet_id)
    .bind::<Timestamptz, _>(item.wanted_start)
    .bind::<Timestamptz, _>(item.wanted_end)
    .bind::<Nullable<SqlUuid>, _>(item.turn_fee_group_id)
    .bind::<Jsonb, _>(&item.quote)
    .get_result(conn)
    .await?)
}

/// Replaces a live item of `cart`; `None` when there is no such item.
pub async fn update_item(
    conn: &mut AsyncPgConnection,
    cart: Uuid,
    id: Uuid,
    item: &ItemFields,
) -> Result<Option<ItemRow>, Error> {
    let rows: Vec<ItemRow> = diesel::sql_query(format!(
        "UPDATE cart_items SET service_id = $3, pet_id = $4, address_id = $5, vet_id = $6, \
           wanted = tstzrange($7, $8, '[)'), turn_fee_group_id = $9, quote = $10, updated_at = now() \
         WHERE id = $1 AND cart_id = $2 AND deleted_at IS NULL RETURNING {ITEM_COLUMNS}"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(cart)
    .bind::<SqlUuid, _>(item.service_id)
    .bind::<SqlUuid, _>(item.pet_id)
    .bind::<SqlUuid, _>(item.address_id)
    .bind::<Nullable<SqlUuid>, _>(item.vet_id)
    .bind::<Timestamptz, _>(item.wanted_start)
    .bind::<Timestamptz, _>(item.wanted_end)
    .bind::<Nullable<SqlUuid>, _>(item.turn_fee_group_id)
    .bind::<Jsonb, _>(&item.quote)
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

pub async fn delete_item(
    conn: &mut AsyncPgConnection,
    cart: Uuid,
    id: Uuid,
) -> Result<bool, Error> {
    let n = diesel::sql_query(
        "UPDATE cart_items SET deleted_at = now() WHERE id = $1 AND cart_id = $2 AND deleted_at IS NULL",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(cart)
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// A checkout already recorded under this key.
#[derive(Debug, Clone, QueryableByName)]
pub struct CheckoutRow {
    #[diesel(sql_type = Binary)]
    pub request_hash: Vec<u8>,
    #[diesel(sql_type = Nullable<Jsonb>)]
    pub response: Option<serde_json::Value>,
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = Bool)]
    inserted: bool,
}

/// Claims `key` for this owner inside the caller's transaction: `Ok(None)` when it is
/// new (the caller goes on), else the earlier checkout. A concurrent claim of the same
/// key waits here until the first transaction ends.
pub async fn claim_key(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    key: &str,
    hash: &[u8],
) -> Result<Option<CheckoutRow>, Error> {
    let claimed: Vec<Inserted> = diesel::sql_query(
        "INSERT INTO checkouts (owner_id, idempotency_key, request_hash) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING RETURNING true AS inserted",
    )
    .bind::<SqlUuid, _>(owner.into_uuid())
    .bind::<Text, _>(key)
    .bind::<Binary, _>(hash)
    .load(conn)
    .await?;
    if claimed.iter().any(|c| c.inserted) {
        return Ok(None);
    }
    Ok(Some(
        diesel::sql_query(
            "SELECT request_hash, response FROM checkouts WHERE owner_id = $1 AND idempotency_key = $2",
        )
        .bind::<SqlUuid, _>(owner.into_uuid())
        .bind::<Text, _>(key)
        .get_result(conn)
        .await?,
    ))
}

pub async fn record_response(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    key: &str,
    response: &serde_json::Value,
) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE checkouts SET response = $3 WHERE owner_id = $1 AND idempotency_key = $2",
    )
    .bind::<SqlUuid, _>(owner.into_uuid())
    .bind::<Text, _>(key)
    .bind::<Jsonb, _>(response)
    .execute(conn)
    .await?;
    Ok(())
}

/// What checkout freezes into a request (already inserted in `pending`).
#[derive(Debug, Clone)]
pub struct Frozen {
    pub owner_id: OwnerId,
    pub item: ItemRow,
    pub breakdown: serde_json::Value,
    pub total: String,
    pub checkout_key: String,
}

/// Fills in what checkout froze, and marks the workflow as not started yet (the outbox).
pub async fn freeze_request(
    conn: &mut AsyncPgConnection,
    id: RequestId,
    frozen: &Frozen,
) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE service_requests SET owner_id = $2, pet_id = $3, service_id = $4, address_id = $5, \
           wanted = tstzrange($6, $7, '[)'), turn_fee_group_id = $8, requested_vet_id = $9, \
           price_breakdown = $10, total = $11::numeric, currency = 'ARS', checkout_key = $12, \
           workflow_started = false \
         WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id.into_uuid())
    .bind::<SqlUuid, _>(frozen.owner_id.into_uuid())
    .bind::<SqlUuid, _>(frozen.item.pet_id)
    .bind::<SqlUuid, _>(frozen.item.service_id)
    .bind::<SqlUuid, _>(frozen.item.address_id)
    .bind::<Timestamptz, _>(frozen.item.wanted_start)
    .bind::<Timestamptz, _>(frozen.item.wanted_end)
    .bind::<Nullable<SqlUuid>, _>(frozen.item.turn_fee_group_id)
    .bind::<Nullable<SqlUuid>, _>(frozen.item.vet_id)
    .bind::<Jsonb, _>(&frozen.breakdown)
    .bind::<Text, _>(&frozen.total)
    .bind::<Text, _>(&frozen.checkout_key)
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    oldest: Option<DateTime<Utc>>,
}

/// Items in the cart, with the cart locked until the transaction ends (so two adds at
/// once count each other); `None` when a checkout closed it meanwhile.
pub async fn lock_and_count_items(
    conn: &mut AsyncPgConnection,
    cart: Uuid,
) -> Result<Option<i64>, Error> {
    let locked =
        diesel::sql_query("SELECT id FROM carts WHERE id = $1 AND status = 'open' FOR UPDATE")
            .bind::<SqlUuid, _>(cart)
            .execute(conn)
            .await?;
    if locked == 0 {
        return Ok(None);
    }
    Ok(diesel::sql_query(
        "SELECT count(*) AS n, NULL::timestamptz AS oldest FROM cart_items WHERE cart_id = $1",
    )
    .bind::<SqlUuid, _>(cart)
    .get_result::<Counted>(conn)
    .await
    .map(|c| Some(c.n))?)
}

/// The owner's requests still waiting for a vet, a time or a payment: what asks vets on
/// WhatsApp without anyone having paid.
pub async fn unpaid_open_requests(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
) -> Result<i64, Error> {
    Ok(diesel::sql_query(
        "SELECT count(*) AS n, NULL::timestamptz AS oldest FROM service_requests \
         WHERE owner_id = $1 AND state IN ('pending', 'vet_asked', 'vet_accepted', 'coordinated')",
    )
    .bind::<SqlUuid, _>(owner.into_uuid())
    .get_result::<Counted>(conn)
    .await?
    .n)
}

/// The owner's checkouts since `since` (this one included once claimed), and when the
/// oldest of them was.
pub async fn checkouts_since(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    since: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>), Error> {
    let row: Counted = diesel::sql_query(
        "SELECT count(*) AS n, min(created_at) AS oldest FROM checkouts \
         WHERE owner_id = $1 AND created_at > $2",
    )
    .bind::<SqlUuid, _>(owner.into_uuid())
    .bind::<Timestamptz, _>(since)
    .get_result(conn)
    .await?;
    Ok((row.n, row.oldest))
}
