//! What dispatch needs from the database: where and when a request's visit is wanted,
//! and the vets who can take it with what the ranking looks at.

use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{Array, BigInt, Double, Nullable, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{LatLon, RequestId, VetId, dispatch::Candidate};
use uuid::Uuid;

use crate::{Error, pricing::LOCAL_TZ};

/// Where, when and what a checked-out request wants.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Target {
    #[diesel(sql_type = Double)]
    pub lat: f64,
    #[diesel(sql_type = Double)]
    pub lon: f64,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub specialty_id: Option<Uuid>,
    #[diesel(sql_type = Timestamptz)]
    pub wanted_start: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub wanted_end: DateTime<Utc>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub requested_vet_id: Option<Uuid>,
}

/// `None` for a request without an address or window (created directly by staff).
pub async fn target(
    conn: &mut AsyncPgConnection,
    request: RequestId,
) -> Result<Option<Target>, Error> {
    let rows: Vec<Target> = diesel::sql_query(
        "SELECT ST_Y(a.location::geometry) AS lat, ST_X(a.location::geometry) AS lon, \
                s.specialty_id, lower(r.wanted) AS wanted_start, upper(r.wanted) AS wanted_end, \
                r.requested_vet_id \
         FROM service_requests r \
         JOIN owner_addresses a ON a.id = r.address_id \
         LEFT JOIN services s ON s.id = r.service_id \
         WHERE r.id = $1 AND r.wanted IS NOT NULL",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

#[derive(QueryableByName)]
struct Load {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = BigInt)]
    visits: i64,
    #[diesel(sql_type = BigInt)]
    offers: i64,
}

/// The vets who cover the address, have the service's specialty and are available for
/// the whole wanted window (weekly slots, no time off), in the order offers go out
/// (see `domain::dispatch::rank`).
pub async fn candidates(
    conn: &mut AsyncPgConnection,
    target: &Target,
) -> Result<Vec<VetId>, Error> {
    let point = LatLon {
        lat: target.lat,
        lon: target.lon,
    };
    let vets = crate::vets::vets_covering(
        conn,
        point,
        target.specialty_id,
        Some((target.wanted_start, target.wanted_end)),
    )
    .await?;
    let ids: Vec<Uuid> = vets.iter().map(|v| v.id).collect();
    let loads: Vec<Load> = diesel::sql_query(format!(
        "SELECT v.id, \
           (SELECT count(*) FROM visits x WHERE x.vet_id = v.id AND x.status <> 'cancelled' \
              AND x.deleted_at IS NULL \
              AND (lower(x.scheduled) AT TIME ZONE '{LOCAL_TZ}')::date = ($2 AT TIME ZONE '{LOCAL_TZ}')::date) AS visits, \
           (SELECT count(*) FROM vet_offers o WHERE o.vet_id = v.id AND o.answer IS NULL \
              AND o.expires_at > now()) AS offers \
         FROM veterinarians v WHERE v.id = ANY($1)"
    ))
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Timestamptz, _>(target.wanted_start)
    .load(conn)
    .await?;
    let candidates = loads
        .into_iter()
        .map(|l| Candidate {
            vet: VetId::from_uuid(l.id),
            visits_that_day: u32::try_from(l.visits).unwrap_or(u32::MAX),
            open_offers: u32::try_from(l.offers).unwrap_or(u32::MAX),
        })
        .collect();
    Ok(domain::dispatch::rank(
        candidates,
        target.requested_vet_id.map(VetId::from_uuid),
    ))
}
