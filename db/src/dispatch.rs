//! What dispatch needs from the database: where and when a request's visit is wanted,
//! and the vets who can take it with what the ranking looks at.

use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{Array, BigInt, Double, Nullable, Text, Timestamptz, Uuid as SqlUuid},
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
    /// How long the visit takes (the service's duration).
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub duration_minutes: i32,
}

/// `None` for a request without an address or window (created directly by staff).
pub async fn target(
    conn: &mut AsyncPgConnection,
    request: RequestId,
) -> Result<Option<Target>, Error> {
    let rows: Vec<Target> = diesel::sql_query(
        "SELECT ST_Y(a.location::geometry) AS lat, ST_X(a.location::geometry) AS lon, \
                s.specialty_id, lower(r.wanted) AS wanted_start, upper(r.wanted) AS wanted_end, \
                r.requested_vet_id, COALESCE(s.duration_minutes, 60) AS duration_minutes \
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
    #[diesel(sql_type = BigInt)]
    offers_last_hour: i64,
}

/// The vets who cover the address, have the service's specialty and are available for
/// the whole wanted window (weekly slots, no time off), and were sent fewer than
/// `offer_cap` offers in the last hour (`0`: no cap), in the order offers go out (see
/// `domain::dispatch::rank`).
pub async fn candidates(
    conn: &mut AsyncPgConnection,
    target: &Target,
    offer_cap: u32,
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
        None,
    )
    .await?;
    let ids: Vec<Uuid> = vets.iter().map(|v| v.id).collect();
    let loads: Vec<Load> = diesel::sql_query(format!(
        "SELECT v.id, \
           (SELECT count(*) FROM visits x WHERE x.vet_id = v.id AND x.status <> 'cancelled' \
              AND x.deleted_at IS NULL \
              AND (lower(x.scheduled) AT TIME ZONE '{LOCAL_TZ}')::date = ($2 AT TIME ZONE '{LOCAL_TZ}')::date) AS visits, \
           (SELECT count(*) FROM vet_offers o WHERE o.vet_id = v.id AND o.answer IS NULL \
              AND o.expires_at > now()) AS offers, \
           (SELECT count(*) FROM vet_offers o WHERE o.vet_id = v.id \
              AND o.offered_at > now() - interval '1 hour') AS offers_last_hour \
         FROM veterinarians v WHERE v.id = ANY($1)"
    ))
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Timestamptz, _>(target.wanted_start)
    .load(conn)
    .await?;
    let candidates = loads
        .into_iter()
        .filter(|l| offer_cap == 0 || l.offers_last_hour < i64::from(offer_cap))
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

/// What an offer message says and where it goes: the vet's phone and first name, the
/// service, the pet, the neighbourhood (never the street before acceptance) and the
/// wanted window in local time.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct OfferContext {
    #[diesel(sql_type = Text)]
    pub vet_phone: String,
    #[diesel(sql_type = Text)]
    pub vet_name: String,
    #[diesel(sql_type = Text)]
    pub service: String,
    #[diesel(sql_type = Text)]
    pub pet: String,
    #[diesel(sql_type = Text)]
    pub neighborhood: String,
    /// e.g. `lun 30/11 10:00–12:00`.
    #[diesel(sql_type = Text)]
    pub window: String,
}

pub async fn offer_context(
    conn: &mut AsyncPgConnection,
    request: RequestId,
    vet: VetId,
) -> Result<Option<OfferContext>, Error> {
    let rows: Vec<OfferContext> = diesel::sql_query(format!(
        "SELECT v.phone AS vet_phone, v.full_name AS vet_name, \
                COALESCE(s.name, r.description) AS service, COALESCE(p.name, '-') AS pet, \
                COALESCE((SELECT n.name FROM neighborhoods n \
                           WHERE n.deleted_at IS NULL AND ST_Covers(n.area, a.location) \
                           ORDER BY n.name LIMIT 1), a.city) AS neighborhood, \
                to_char(lower(r.wanted) AT TIME ZONE '{LOCAL_TZ}', 'DD/MM HH24:MI') || '-' || \
                to_char(upper(r.wanted) AT TIME ZONE '{LOCAL_TZ}', 'HH24:MI') AS window \
         FROM service_requests r \
         JOIN veterinarians v ON v.id = $2 \
         JOIN owner_addresses a ON a.id = r.address_id \
         LEFT JOIN services s ON s.id = r.service_id \
         LEFT JOIN pets p ON p.id = r.pet_id \
         WHERE r.id = $1 AND r.wanted IS NOT NULL"
    ))
    .bind::<SqlUuid, _>(request.into_uuid())
    .bind::<SqlUuid, _>(vet.into_uuid())
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

/// A one-line summary of a request for the Temporal UI: service, pet, the owner's first
/// name, neighbourhood, local window (`Consulta · Luna · Ana · Palermo · 30/11 10:00-12:00`).
/// Never a phone, a document or a street address.
pub async fn request_summary(
    conn: &mut AsyncPgConnection,
    request: RequestId,
) -> Result<Option<String>, Error> {
    #[derive(QueryableByName)]
    struct Summary {
        #[diesel(sql_type = Text)]
        line: String,
    }
    let rows: Vec<Summary> = diesel::sql_query(format!(
        "SELECT concat_ws(' · ', COALESCE(s.name, r.description), p.name, \
                split_part(o.full_name, ' ', 1), \
                COALESCE((SELECT n.name FROM neighborhoods n \
                           WHERE n.deleted_at IS NULL AND ST_Covers(n.area, a.location) \
                           ORDER BY n.name LIMIT 1), a.city), \
                to_char(lower(r.wanted) AT TIME ZONE '{LOCAL_TZ}', 'DD/MM HH24:MI') || '-' || \
                to_char(upper(r.wanted) AT TIME ZONE '{LOCAL_TZ}', 'HH24:MI')) AS line \
         FROM service_requests r \
         LEFT JOIN services s ON s.id = r.service_id \
         LEFT JOIN pets p ON p.id = r.pet_id \
         LEFT JOIN pet_owners o ON o.id = r.owner_id \
         LEFT JOIN owner_addresses a ON a.id = r.address_id \
         WHERE r.id = $1"
    ))
    .bind::<SqlUuid, _>(request.into_uuid())
    .load(conn)
    .await?;
    Ok(rows.into_iter().next().map(|s| s.line))
}

/// Who to tell about a request: the owner's name, WhatsApp number and email, if known.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct OwnerContact {
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub phone: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<String>,
}

pub async fn owner_contact(
    conn: &mut AsyncPgConnection,
    request: RequestId,
) -> Result<Option<OwnerContact>, Error> {
    let rows: Vec<OwnerContact> = diesel::sql_query(
        "SELECT o.full_name AS name, o.phone, o.email FROM service_requests r \
         JOIN pet_owners o ON o.id = r.owner_id WHERE r.id = $1",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

/// The number of the latest offer of `request` made to `vet`, if any was (the cheap check
/// before asking the workflow, and what an answer without an offer number answers).
pub async fn latest_offer(
    conn: &mut AsyncPgConnection,
    request: RequestId,
    vet: VetId,
) -> Result<Option<i32>, Error> {
    #[derive(QueryableByName)]
    struct Latest {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        offer_no: Option<i32>,
    }
    let found: Latest = diesel::sql_query(
        "SELECT max(offer_no) AS offer_no FROM vet_offers WHERE request_id = $1 AND vet_id = $2",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .bind::<SqlUuid, _>(vet.into_uuid())
    .get_result(conn)
    .await?;
    Ok(found.offer_no)
}

/// The request's vet: (full name, WhatsApp number).
pub async fn vet_contact(
    conn: &mut AsyncPgConnection,
    request: RequestId,
) -> Result<Option<(String, String)>, Error> {
    #[derive(QueryableByName)]
    struct Contact {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        phone: String,
    }
    let rows: Vec<Contact> = diesel::sql_query(
        "SELECT v.full_name AS name, v.phone FROM service_requests r \
         JOIN veterinarians v ON v.id = r.vet_id WHERE r.id = $1",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .load(conn)
    .await?;
    Ok(rows.into_iter().next().map(|c| (c.name, c.phone)))
}
