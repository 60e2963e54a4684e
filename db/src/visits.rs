//! Visits: a vet's time booked for a request (never two overlapping for one vet, by an
//! exclusion constraint), released when the request is reassigned or ends unpaid.

use crate::Error;
use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{RequestId, VetId};

/// What booking the vet's time gave.
///
/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Booking {
    Booked,
    /// The vet already has a visit overlapping that time.
    Overlap,
}

/// Books the vet for the visit and sets the request's start, in one transaction.
/// Idempotent: the request's live visit at that same time and vet counts as booked. The
/// `visits_vet_not_double_booked` exclusion constraint settles concurrent bookings.
pub async fn book_visit(
    conn: &mut AsyncPgConnection,
    request: RequestId,
    vet: VetId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Booking, Error> {
    use diesel_async::AsyncConnection;
    let result = conn
        .transaction::<_, Error, _>(async move |conn| {
            let existing: i64 = diesel::sql_query(
                "SELECT count(*) AS n FROM visits WHERE request_id = $1 AND vet_id = $2 \
                   AND scheduled = tstzrange($3, $4) AND status <> 'cancelled' AND deleted_at IS NULL",
            )
            .bind::<SqlUuid, _>(request.into_uuid())
            .bind::<SqlUuid, _>(vet.into_uuid())
            .bind::<Timestamptz, _>(start)
            .bind::<Timestamptz, _>(end)
            .get_result::<Count>(conn)
            .await?
            .n;
            if existing == 0 {
                // One visit row per request: a new time, or a new vet after a
                // reassignment, reuses it. The exclusion constraint checks the update too.
                diesel::sql_query(
                    "INSERT INTO visits (id, request_id, vet_id, scheduled) \
                     VALUES (gen_random_uuid(), $1, $2, tstzrange($3, $4)) \
                     ON CONFLICT (request_id) DO UPDATE SET vet_id = EXCLUDED.vet_id, \
                       scheduled = EXCLUDED.scheduled, status = 'scheduled', deleted_at = NULL, \
                       updated_at = now()",
                )
                .bind::<SqlUuid, _>(request.into_uuid())
                .bind::<SqlUuid, _>(vet.into_uuid())
                .bind::<Timestamptz, _>(start)
                .bind::<Timestamptz, _>(end)
                .execute(conn)
                .await?;
            }
            diesel::sql_query(
                "UPDATE service_requests SET scheduled_start = $2, updated_at = now() WHERE id = $1",
            )
            .bind::<SqlUuid, _>(request.into_uuid())
            .bind::<Timestamptz, _>(start)
            .execute(conn)
            .await?;
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Ok(Booking::Booked),
        Err(e) if e.constraint() == Some("visits_vet_not_double_booked") => Ok(Booking::Overlap),
        Err(e) => Err(e),
    }
}

#[derive(QueryableByName)]
pub(crate) struct Count {
    #[diesel(sql_type = BigInt)]
    pub(crate) n: i64,
}

/// Cancels the request's live visit (reassignment, expiry), freeing the vet's time, and
/// clears its start. Idempotent.
pub async fn release_visit(conn: &mut AsyncPgConnection, request: RequestId) -> Result<(), Error> {
    release(conn, request).await?;
    diesel::sql_query(
        "UPDATE service_requests SET scheduled_start = NULL, updated_at = now() WHERE id = $1",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .execute(conn)
    .await?;
    Ok(())
}

async fn release(conn: &mut AsyncPgConnection, request: RequestId) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE visits SET status = 'cancelled', updated_at = now() \
         WHERE request_id = $1 AND status <> 'cancelled' AND deleted_at IS NULL",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether the request has a live (not cancelled) visit.
pub async fn has_visit(conn: &mut AsyncPgConnection, request: RequestId) -> Result<bool, Error> {
    let found: i64 = diesel::sql_query(
        "SELECT count(*) AS n FROM visits WHERE request_id = $1 AND status <> 'cancelled' \
           AND deleted_at IS NULL",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .get_result::<Count>(conn)
    .await?
    .n;
    Ok(found > 0)
}
