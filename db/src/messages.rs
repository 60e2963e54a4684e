//! The ledger of messages sent to people: one row per purpose key, so a send is done once.

use diesel::{
    QueryableByName,
    sql_types::{Jsonb, Nullable, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::Error;

#[derive(Debug, Clone, QueryableByName)]
pub struct SentRow {
    #[diesel(sql_type = Nullable<Text>)]
    pub provider_id: Option<String>,
}

/// Records the intent to send under `key`; `Some` when it was already sent (with what
/// the provider answered), `None` when the caller should send now.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    key: &str,
    recipient: &str,
    template: &str,
    params: &[String],
) -> Result<Option<SentRow>, Error> {
    diesel::sql_query(
        "INSERT INTO outbound_messages (key, recipient, template, params) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (key) DO NOTHING",
    )
    .bind::<Text, _>(key)
    .bind::<Text, _>(recipient)
    .bind::<Text, _>(template)
    .bind::<Jsonb, _>(serde_json::json!(params))
    .execute(conn)
    .await?;
    let rows: Vec<SentRow> = diesel::sql_query(
        "SELECT provider_id FROM outbound_messages WHERE key = $1 AND sent_at IS NOT NULL",
    )
    .bind::<Text, _>(key)
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

pub async fn mark_sent(
    conn: &mut AsyncPgConnection,
    key: &str,
    provider_id: Option<&str>,
) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE outbound_messages SET sent_at = now(), provider_id = $2 WHERE key = $1 AND sent_at IS NULL",
    )
    .bind::<Text, _>(key)
    .bind::<Nullable<Text>, _>(provider_id)
    .execute(conn)
    .await?;
    Ok(())
}
