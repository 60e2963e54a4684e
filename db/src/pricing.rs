//! What prices are made of: versioned prices per service (and vet), turn-fee groups and
//! discounts. Amounts travel as exact decimal text (`numeric::text`), never as floats.

use chrono::{NaiveDate, NaiveTime};
use diesel::{
    QueryableByName,
    sql_types::{Array, Date, Nullable, SmallInt, Text, Time, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Error;

/// The time zone prices, discounts and availability are defined in.
pub const LOCAL_TZ: &str = domain::time::ZONE;

#[derive(Debug, Clone, QueryableByName, Serialize, Deserialize)]
pub struct PriceRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub service_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub vet_id: Option<Uuid>,
    /// Exact decimal text.
    #[diesel(sql_type = Text)]
    pub amount: String,
    #[diesel(sql_type = Date)]
    pub valid_from: NaiveDate,
    #[diesel(sql_type = Nullable<Date>)]
    pub valid_until: Option<NaiveDate>,
}

const PRICE_COLUMNS: &str =
    "id, service_id, vet_id, amount::text AS amount, valid_from, valid_until";

/// The price of `service` valid on `date`: `vet`'s own if there is one, else the general.
pub async fn price_on(
    conn: &mut AsyncPgConnection,
    service: Uuid,
    vet: Option<Uuid>,
    date: NaiveDate,
) -> Result<Option<PriceRow>, Error> {
    let rows: Vec<PriceRow> = diesel::sql_query(format!(
        "SELECT {PRICE_COLUMNS} FROM prices \
         WHERE service_id = $1 AND (vet_id IS NULL OR vet_id = $2) \
           AND valid_from <= $3 AND (valid_until IS NULL OR valid_until > $3) \
         ORDER BY vet_id NULLS LAST LIMIT 1"
    ))
    .bind::<SqlUuid, _>(service)
    .bind::<Nullable<SqlUuid>, _>(vet)
    .bind::<Date, _>(date)
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

/// Every price of a service, past, current and scheduled; general ones first.
pub async fn prices_of(
    conn: &mut AsyncPgConnection,
    service: Uuid,
) -> Result<Vec<PriceRow>, Error> {
    Ok(diesel::sql_query(format!(
        "SELECT {PRICE_COLUMNS} FROM prices WHERE service_id = $1 \
         ORDER BY vet_id NULLS FIRST, valid_from"
    ))
    .bind::<SqlUuid, _>(service)
    .load(conn)
    .await?)
}

/// Schedules `amount` from `from` on for (service, vet): the price open at that date is
/// closed at that date (ranges are `[from, until)`), past prices stay as they are, and a price already scheduled
/// on or after `from` makes this a conflict (`prices_no_overlap`).
pub async fn schedule_price(
    conn: &mut AsyncPgConnection,
    service: Uuid,
    vet: Option<Uuid>,
    amount: &str,
    from: NaiveDate,
) -> Result<PriceRow, Error> {
    let amount = amount.to_owned();
    conn.transaction::<_, Error, _>(async move |conn| {
        // Serialise schedulers of the same price list.
        diesel::sql_query(
            "SELECT pg_advisory_xact_lock(hashtext($1::text || coalesce($2::text, '')))",
        )
        .bind::<SqlUuid, _>(service)
        .bind::<Nullable<SqlUuid>, _>(vet)
        .execute(conn)
        .await?;
        diesel::sql_query(
            "UPDATE prices SET valid_until = $3 \
             WHERE service_id = $1 AND vet_id IS NOT DISTINCT FROM $2 \
               AND valid_from < $3 AND (valid_until IS NULL OR valid_until > $3)",
        )
        .bind::<SqlUuid, _>(service)
        .bind::<Nullable<SqlUuid>, _>(vet)
        .bind::<Date, _>(from)
        .execute(conn)
        .await?;
        Ok(diesel::sql_query(format!(
            "INSERT INTO prices (id, service_id, vet_id, amount, valid_from) \
             VALUES ($1, $2, $3, $4::numeric, $5) RETURNING {PRICE_COLUMNS}"
        ))
        .bind::<SqlUuid, _>(Uuid::now_v7())
        .bind::<SqlUuid, _>(service)
        .bind::<Nullable<SqlUuid>, _>(vet)
        .bind::<Text, _>(&amount)
        .bind::<Date, _>(from)
        .get_result(conn)
        .await?)
    })
    .await
}

#[derive(Debug, Clone, QueryableByName, Serialize, Deserialize)]
pub struct TurnFeeRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    /// `fixed` or `percent`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub value: String,
}

const TURN_FEE_COLUMNS: &str = "id, code, name, kind::text AS kind, value::text AS value";

pub async fn turn_fee_groups(conn: &mut AsyncPgConnection) -> Result<Vec<TurnFeeRow>, Error> {
    Ok(diesel::sql_query(format!(
        "SELECT {TURN_FEE_COLUMNS} FROM turn_fee_groups WHERE deleted_at IS NULL ORDER BY code"
    ))
    .load(conn)
    .await?)
}

pub async fn turn_fee_group(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<TurnFeeRow>, Error> {
    let rows: Vec<TurnFeeRow> = diesel::sql_query(format!(
        "SELECT {TURN_FEE_COLUMNS} FROM turn_fee_groups WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind::<SqlUuid, _>(id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

pub async fn insert_turn_fee_group(
    conn: &mut AsyncPgConnection,
    code: &str,
    name: &str,
    kind: &str,
    value: &str,
) -> Result<TurnFeeRow, Error> {
    Ok(diesel::sql_query(format!(
        "INSERT INTO turn_fee_groups (id, code, name, kind, value) \
         VALUES ($1, $2, $3, $4::amount_kind, $5::numeric) RETURNING {TURN_FEE_COLUMNS}"
    ))
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<Text, _>(code)
    .bind::<Text, _>(name)
    .bind::<Text, _>(kind)
    .bind::<Text, _>(value)
    .get_result(conn)
    .await?)
}

#[derive(Debug, Clone, QueryableByName, Serialize, Deserialize)]
pub struct DiscountRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub service_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub value: String,
    #[diesel(sql_type = Date)]
    pub valid_from: NaiveDate,
    #[diesel(sql_type = Nullable<Date>)]
    pub valid_until: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Array<SmallInt>>)]
    pub weekdays: Option<Vec<i16>>,
    #[diesel(sql_type = Nullable<Time>)]
    pub time_from: Option<NaiveTime>,
    #[diesel(sql_type = Nullable<Time>)]
    pub time_until: Option<NaiveTime>,
}

const DISCOUNT_COLUMNS: &str = "id, name, service_id, kind::text AS kind, value::text AS value, \
     valid_from, valid_until, weekdays, time_from, time_until";

#[derive(Debug, Clone)]
pub struct NewDiscount {
    pub name: String,
    pub service_id: Option<Uuid>,
    pub kind: String,
    pub value: String,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub weekdays: Option<Vec<i16>>,
    pub time_from: Option<NaiveTime>,
    pub time_until: Option<NaiveTime>,
}

pub async fn discounts(conn: &mut AsyncPgConnection) -> Result<Vec<DiscountRow>, Error> {
    Ok(diesel::sql_query(format!(
        "SELECT {DISCOUNT_COLUMNS} FROM discounts WHERE deleted_at IS NULL ORDER BY valid_from, name"
    ))
    .load(conn)
    .await?)
}

/// The live discounts for `service` whose date range holds `date` (weekdays and hours
/// are the caller's to check).
pub async fn discounts_on(
    conn: &mut AsyncPgConnection,
    service: Uuid,
    date: NaiveDate,
) -> Result<Vec<DiscountRow>, Error> {
    Ok(diesel::sql_query(format!(
        "SELECT {DISCOUNT_COLUMNS} FROM discounts \
         WHERE deleted_at IS NULL AND (service_id IS NULL OR service_id = $1) \
           AND valid_from <= $2 AND (valid_until IS NULL OR valid_until > $2) \
         ORDER BY name, id"
    ))
    .bind::<SqlUuid, _>(service)
    .bind::<Date, _>(date)
    .load(conn)
    .await?)
}

pub async fn insert_discount(
    conn: &mut AsyncPgConnection,
    new: &NewDiscount,
) -> Result<DiscountRow, Error> {
    Ok(diesel::sql_query(format!(
        "INSERT INTO discounts (id, name, service_id, kind, value, valid_from, valid_until, weekdays, time_from, time_until) \
         VALUES ($1, $2, $3, $4::amount_kind, $5::numeric, $6, $7, $8, $9, $10) RETURNING {DISCOUNT_COLUMNS}"
    ))
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<Text, _>(&new.name)
    .bind::<Nullable<SqlUuid>, _>(new.service_id)
    .bind::<Text, _>(&new.kind)
    .bind::<Text, _>(&new.value)
    .bind::<Date, _>(new.valid_from)
    .bind::<Nullable<Date>, _>(new.valid_until)
    .bind::<Nullable<Array<SmallInt>>, _>(new.weekdays.clone())
    .bind::<Nullable<Time>, _>(new.time_from)
    .bind::<Nullable<Time>, _>(new.time_until)
    .get_result(conn)
    .await?)
}
