//! The ledger of messages sent to people: one row per purpose key, so a send is done
//! once. A send is claimed with a lease before the message leaves and marked after:
//! sent, refused (the claim is freed), or uncertain (it may have left; never resent).

use std::time::Duration;

use diesel::{
    QueryableByName,
    sql_types::{BigInt, Bool, Jsonb, Nullable, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::Error;

/// A message about to be sent.
pub struct NewMessage<'a> {
    /// `whatsapp` or `email`.
    pub channel: &'a str,
    /// What it is for (`offer:<request>:<offer>:<attempt>`, `notice:…`): one send each.
    pub key: &'a str,
    pub recipient: &'a str,
    pub template: &'a str,
    pub params: &'a [String],
}

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The caller holds the lease: send now, then mark.
    Won,
    /// Sent already, with what the provider answered.
    Sent { provider_id: Option<String> },
    /// Another attempt holds a live lease.
    Held,
    /// An earlier send may have left (interrupted, or unanswered): not to be repeated.
    Uncertain,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Bool)]
    sent: bool,
    #[diesel(sql_type = Nullable<Text>)]
    provider_id: Option<String>,
    #[diesel(sql_type = Bool)]
    held: bool,
}

/// Claims the send of `message` for `lease`. The claim is one statement, the row's
/// insert or, for a key seen before, its conditional update, so of two attempts racing
/// for the same key only one wins; a lease that ran out unmarked turns the row uncertain.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    message: &NewMessage<'_>,
    lease: Duration,
) -> Result<Claim, Error> {
    let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    let won = diesel::sql_query(
        "INSERT INTO outbound_messages \
             (key, channel, recipient, template, params, claimed_until, attempts) \
         VALUES ($1, $5, $2, $3, $4, now() + $6 * interval '1 millisecond', 1) \
         ON CONFLICT (key) DO UPDATE \
         SET claimed_until = EXCLUDED.claimed_until, attempts = outbound_messages.attempts + 1 \
         WHERE outbound_messages.sent_at IS NULL AND outbound_messages.uncertain_at IS NULL \
           AND outbound_messages.claimed_until IS NULL",
    )
    .bind::<Text, _>(message.key)
    .bind::<Text, _>(message.recipient)
    .bind::<Text, _>(message.template)
    .bind::<Jsonb, _>(serde_json::json!(message.params))
    .bind::<Text, _>(message.channel)
    .bind::<BigInt, _>(lease_ms)
    .execute(conn)
    .await?;
    if won == 1 {
        return Ok(Claim::Won);
    }
    diesel::sql_query(
        "UPDATE outbound_messages SET uncertain_at = now(), claimed_until = NULL \
         WHERE key = $1 AND sent_at IS NULL AND uncertain_at IS NULL AND claimed_until < now()",
    )
    .bind::<Text, _>(message.key)
    .execute(conn)
    .await?;
    let row: Row = diesel::sql_query(
        "SELECT sent_at IS NOT NULL AS sent, provider_id, claimed_until IS NOT NULL AS held \
         FROM outbound_messages WHERE key = $1",
    )
    .bind::<Text, _>(message.key)
    .get_result(conn)
    .await?;
    Ok(if row.sent {
        Claim::Sent {
            provider_id: row.provider_id,
        }
    } else if row.held {
        Claim::Held
    } else {
        Claim::Uncertain
    })
}

/// The provider accepted the message.
pub async fn mark_sent(
    conn: &mut AsyncPgConnection,
    key: &str,
    provider_id: Option<&str>,
) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE outbound_messages SET sent_at = now(), provider_id = $2, claimed_until = NULL \
         WHERE key = $1 AND sent_at IS NULL",
    )
    .bind::<Text, _>(key)
    .bind::<Nullable<Text>, _>(provider_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The message did not leave (refused, or never delivered): a later attempt may send,
/// even if the claim was meanwhile taken for interrupted (this attempt knows it was not).
pub async fn release(conn: &mut AsyncPgConnection, key: &str) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE outbound_messages SET claimed_until = NULL, uncertain_at = NULL \
         WHERE key = $1 AND sent_at IS NULL",
    )
    .bind::<Text, _>(key)
    .execute(conn)
    .await?;
    Ok(())
}

/// The message may have left: it is never sent again under this key.
pub async fn mark_uncertain(conn: &mut AsyncPgConnection, key: &str) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE outbound_messages SET uncertain_at = now(), claimed_until = NULL \
         WHERE key = $1 AND sent_at IS NULL",
    )
    .bind::<Text, _>(key)
    .execute(conn)
    .await?;
    Ok(())
}
