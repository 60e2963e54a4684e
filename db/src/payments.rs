//! Payments: the MercadoPago preferences made for a request, the payments reported for
//! it, and the webhook events received. Amounts travel as exact decimal text
//! (`numeric::text`), never as floats.

use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::RequestId;

use crate::Error;

/// What a request's payment is for: its frozen total and who pays.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Charge {
    /// The frozen total, e.g. `41040.00`.
    #[diesel(sql_type = Text)]
    pub total: String,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub payer_email: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub payer_name: Option<String>,
}

pub async fn charge(
    conn: &mut AsyncPgConnection,
    request: RequestId,
) -> Result<Option<Charge>, Error> {
    let rows: Vec<Charge> = diesel::sql_query(
        "SELECT r.total::text AS total, r.currency::text AS currency, \
                COALESCE(s.name || ' - ' || p.name, r.description) AS title, \
                o.email AS payer_email, o.full_name AS payer_name \
         FROM service_requests r \
         LEFT JOIN services s ON s.id = r.service_id \
         LEFT JOIN pets p ON p.id = r.pet_id \
         LEFT JOIN pet_owners o ON o.id = r.owner_id \
         WHERE r.id = $1 AND r.total IS NOT NULL",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct PreferenceRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub init_point: String,
}

/// The preference already made under `idempotency_key`, if any.
pub async fn preference(
    conn: &mut AsyncPgConnection,
    idempotency_key: &str,
) -> Result<Option<PreferenceRow>, Error> {
    let rows: Vec<PreferenceRow> =
        diesel::sql_query("SELECT id, init_point FROM mp_preferences WHERE idempotency_key = $1")
            .bind::<Text, _>(idempotency_key)
            .load(conn)
            .await?;
    Ok(rows.into_iter().next())
}

/// The latest payment link of a request.
pub async fn payment_link(
    conn: &mut AsyncPgConnection,
    request: RequestId,
) -> Result<Option<String>, Error> {
    let rows: Vec<PreferenceRow> = diesel::sql_query(
        "SELECT id, init_point FROM mp_preferences WHERE request_id = $1 ORDER BY created_at DESC LIMIT 1",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .load(conn)
    .await?;
    Ok(rows.into_iter().next().map(|p| p.init_point))
}

/// The request's payment links still open at `at`.
pub async fn open_preferences(
    conn: &mut AsyncPgConnection,
    request: RequestId,
    at: DateTime<Utc>,
) -> Result<Vec<String>, Error> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let rows: Vec<Id> = diesel::sql_query(
        "SELECT id FROM mp_preferences WHERE request_id = $1 AND expires_at > $2 ORDER BY created_at",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .bind::<Timestamptz, _>(at)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Preference `id` stopped taking payments at `at`.
pub async fn expire_preference(
    conn: &mut AsyncPgConnection,
    id: &str,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE mp_preferences SET expires_at = $2 WHERE id = $1 AND expires_at > $2",
    )
    .bind::<Text, _>(id)
    .bind::<Timestamptz, _>(at)
    .execute(conn)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_preference(
    conn: &mut AsyncPgConnection,
    id: &str,
    request: RequestId,
    idempotency_key: &str,
    init_point: &str,
    amount: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), Error> {
    diesel::sql_query(
        "INSERT INTO mp_preferences (id, request_id, idempotency_key, init_point, amount, expires_at) \
         VALUES ($1, $2, $3, $4, $5::numeric, $6) ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(id)
    .bind::<SqlUuid, _>(request.into_uuid())
    .bind::<Text, _>(idempotency_key)
    .bind::<Text, _>(init_point)
    .bind::<Text, _>(amount)
    .bind::<Timestamptz, _>(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// What our records say of payment `id`'s status, if we ever saw it.
pub async fn status(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<String>, Error> {
    #[derive(QueryableByName)]
    struct Status {
        #[diesel(sql_type = Text)]
        status: String,
    }
    let rows: Vec<Status> =
        diesel::sql_query("SELECT status::text AS status FROM payments WHERE id = $1")
            .bind::<BigInt, _>(id)
            .load(conn)
            .await?;
    Ok(rows.into_iter().next().map(|r| r.status))
}

/// Records a payment as MercadoPago last reported it (status only moves with the report).
#[allow(clippy::too_many_arguments)]
pub async fn record_payment(
    conn: &mut AsyncPgConnection,
    id: i64,
    request: RequestId,
    status: &str,
    status_detail: Option<&str>,
    amount: &str,
    currency: &str,
    date_approved: Option<DateTime<Utc>>,
    raw: &serde_json::Value,
) -> Result<(), Error> {
    diesel::sql_query(
        "INSERT INTO payments (id, request_id, status, status_detail, amount, currency, date_approved, raw) \
         VALUES ($1, $2, $3::payment_status, $4, $5::numeric, $6, $7, $8) \
         ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, status_detail = EXCLUDED.status_detail, \
           date_approved = EXCLUDED.date_approved, raw = EXCLUDED.raw, updated_at = now()",
    )
    .bind::<BigInt, _>(id)
    .bind::<SqlUuid, _>(request.into_uuid())
    .bind::<Text, _>(status)
    .bind::<Nullable<Text>, _>(status_detail)
    .bind::<Text, _>(amount)
    .bind::<Text, _>(currency)
    .bind::<Nullable<Timestamptz>, _>(date_approved)
    .bind::<Jsonb, _>(raw)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn record_refund(
    conn: &mut AsyncPgConnection,
    payment: i64,
    amount: &str,
) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE payments SET refunded_amount = $2::numeric, status = 'refunded', updated_at = now() WHERE id = $1",
    )
    .bind::<BigInt, _>(payment)
    .bind::<Text, _>(amount)
    .execute(conn)
    .await?;
    Ok(())
}

/// Stores a webhook event once (per notification): `Some(id)` when new, `None` for a
/// repeat delivery.
pub async fn store_event(
    conn: &mut AsyncPgConnection,
    provider: &str,
    event_type: &str,
    data_id: &str,
    action: &str,
    notification_id: &str,
    payload: &serde_json::Value,
) -> Result<Option<i64>, Error> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let rows: Vec<Id> = diesel::sql_query(
        "INSERT INTO webhook_events (provider, event_type, data_id, action, notification_id, payload) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT ON CONSTRAINT webhook_events_once DO NOTHING RETURNING id",
    )
    .bind::<Text, _>(provider)
    .bind::<Text, _>(event_type)
    .bind::<Text, _>(data_id)
    .bind::<Text, _>(action)
    .bind::<Text, _>(notification_id)
    .bind::<Jsonb, _>(payload)
    .load(conn)
    .await?;
    Ok(rows.into_iter().next().map(|r| r.id))
}

#[derive(Debug, Clone, QueryableByName)]
pub struct PendingEvent {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub event_type: String,
    #[diesel(sql_type = Text)]
    pub data_id: String,
}

/// Events stored but not yet handed to a workflow, oldest first.
pub async fn unprocessed_events(
    conn: &mut AsyncPgConnection,
    limit: i64,
) -> Result<Vec<PendingEvent>, Error> {
    Ok(diesel::sql_query(
        "SELECT id, event_type, data_id FROM webhook_events WHERE processed_at IS NULL \
         ORDER BY id LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

pub async fn mark_processed(
    conn: &mut AsyncPgConnection,
    id: i64,
    request: Option<&str>,
) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE webhook_events SET processed_at = now(), request_id = $2 WHERE id = $1",
    )
    .bind::<BigInt, _>(id)
    .bind::<Nullable<Text>, _>(request)
    .execute(conn)
    .await?;
    Ok(())
}
