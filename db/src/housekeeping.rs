//! Forgetting what is no longer needed, in bounded batches: sign-in attempts once the
//! throttle and an audit no longer need them, and processed webhook notifications once
//! the provider can no longer send them again.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::Error;

/// Sign-in attempts are kept this long (the throttle needs `LOGIN_WINDOW_SECS`; the rest
/// is for staff looking into an account).
pub const LOGIN_ATTEMPTS_KEPT: chrono::Duration = chrono::Duration::days(30);
/// Processed notifications are kept this long: MercadoPago stops re-sending long before.
pub const WEBHOOK_EVENTS_KEPT: chrono::Duration = chrono::Duration::days(90);
/// Rows deleted per statement, so that one run never holds long locks.
pub const BATCH: i64 = 5_000;

/// How many rows one pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub login_attempts: usize,
    pub webhook_events: usize,
}

/// One pass: at most [`BATCH`] rows of each table. Safe to run from any number of API
/// instances at once.
pub async fn prune(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> Result<Pruned, Error> {
    use diesel::sql_types::{BigInt, Timestamptz};
    let login_attempts = diesel::sql_query(
        "DELETE FROM login_attempts WHERE id IN \
         (SELECT id FROM login_attempts WHERE at < $1 LIMIT $2)",
    )
    .bind::<Timestamptz, _>(now - LOGIN_ATTEMPTS_KEPT)
    .bind::<BigInt, _>(BATCH)
    .execute(conn)
    .await?;
    let webhook_events = diesel::sql_query(
        "DELETE FROM webhook_events WHERE id IN \
         (SELECT id FROM webhook_events WHERE processed_at < $1 LIMIT $2)",
    )
    .bind::<Timestamptz, _>(now - WEBHOOK_EVENTS_KEPT)
    .bind::<BigInt, _>(BATCH)
    .execute(conn)
    .await?;
    // Codes sent matter for an hour's caps.
    diesel::sql_query(
        "DELETE FROM phone_code_sends WHERE id IN \
         (SELECT id FROM phone_code_sends WHERE sent_at < $1 LIMIT $2)",
    )
    .bind::<Timestamptz, _>(now - chrono::Duration::days(1))
    .bind::<BigInt, _>(BATCH)
    .execute(conn)
    .await?;
    Ok(Pruned {
        login_attempts,
        webhook_events,
    })
}
