//! Visits: a vet's time booked for a request (never two overlapping for one vet, by an
//! exclusion constraint), released when the request is reassigned or ends unpaid.

use crate::Error;
use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid},
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

/// What the messages, the calendar event and the sheet row about a booked visit say.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct VisitDetails {
    #[diesel(sql_type = SqlUuid)]
    pub visit_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    pub service: String,
    #[diesel(sql_type = Text)]
    pub pet: String,
    #[diesel(sql_type = Text)]
    pub owner_name: String,
    #[diesel(sql_type = Text)]
    pub neighborhood: String,
    /// Street, details and city: for the owner and for the vet after acceptance only.
    #[diesel(sql_type = Text)]
    pub address: String,
    #[diesel(sql_type = Text)]
    pub vet_name: String,
    /// The vet's email: their calendar's id when each vet has their own.
    #[diesel(sql_type = Text)]
    pub vet_email: String,
    #[diesel(sql_type = Timestamptz)]
    pub start: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub end: DateTime<Utc>,
    /// The visit's status (`scheduled`, `cancelled`, `completed` …).
    #[diesel(sql_type = Text)]
    pub status: String,
    /// The frozen total, e.g. `41040.00`.
    #[diesel(sql_type = Nullable<Text>)]
    pub total: Option<String>,
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// The request's state (`confirmed`, `completed`, `cancelled` …).
    #[diesel(sql_type = Text)]
    pub request_state: String,
    /// The visit's calendar event, once inserted.
    #[diesel(sql_type = Nullable<Text>)]
    pub calendar_event_id: Option<String>,
    /// The range of the visit's sheet row, once written (`Visitas!A7:L7`).
    #[diesel(sql_type = Nullable<Text>)]
    pub sheet_row: Option<String>,
}

/// The request's visit with what people are told about it; `None` when it has none.
pub async fn visit_details(
    conn: &mut AsyncPgConnection,
    request: RequestId,
) -> Result<Option<VisitDetails>, Error> {
    let rows: Vec<VisitDetails> = diesel::sql_query(
        "SELECT vi.id AS visit_id, COALESCE(s.name, r.description) AS service, \
                COALESCE(p.name, '-') AS pet, COALESCE(o.full_name, '-') AS owner_name, \
                COALESCE((SELECT n.name FROM neighborhoods n \
                           WHERE n.deleted_at IS NULL AND ST_Covers(n.area, a.location) \
                           ORDER BY n.name LIMIT 1), a.city, '-') AS neighborhood, \
                COALESCE(NULLIF(concat_ws(', ', a.street, NULLIF(a.details, ''), a.city), ''), '-') AS address, \
                v.full_name AS vet_name, u.email AS vet_email, lower(vi.scheduled) AS start, upper(vi.scheduled) AS \"end\", \
                vi.status::text AS status, r.total::text AS total, r.currency::text AS currency, \
                r.state::text AS request_state, vi.calendar_event_id, vi.sheet_row \
         FROM visits vi \
         JOIN service_requests r ON r.id = vi.request_id \
         JOIN veterinarians v ON v.id = vi.vet_id \
         JOIN users u ON u.id = v.user_id \
         LEFT JOIN services s ON s.id = r.service_id \
         LEFT JOIN pets p ON p.id = r.pet_id \
         LEFT JOIN pet_owners o ON o.id = r.owner_id \
         LEFT JOIN owner_addresses a ON a.id = r.address_id \
         WHERE vi.request_id = $1 AND vi.deleted_at IS NULL",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

/// Remembers the visit's calendar event (idempotent).
pub async fn record_calendar_event(
    conn: &mut AsyncPgConnection,
    request: RequestId,
    event_id: &str,
) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE visits SET calendar_event_id = $2, updated_at = now() \
         WHERE request_id = $1 AND calendar_event_id IS DISTINCT FROM $2",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .bind::<Text, _>(event_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Remembers where the visit's sheet row landed (idempotent).
pub async fn record_sheet_row(
    conn: &mut AsyncPgConnection,
    request: RequestId,
    range: &str,
) -> Result<(), Error> {
    diesel::sql_query(
        "UPDATE visits SET sheet_row = $2, updated_at = now() \
         WHERE request_id = $1 AND sheet_row IS DISTINCT FROM $2",
    )
    .bind::<SqlUuid, _>(request.into_uuid())
    .bind::<Text, _>(range)
    .execute(conn)
    .await?;
    Ok(())
}

/// A visit in a vet's agenda: where to go once they accepted; who to ask for (the
/// owner's name and phone) once the visit is paid.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct AgendaVisit {
    #[diesel(sql_type = SqlUuid)]
    pub visit_id: uuid::Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub request_id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    pub request_state: String,
    /// `scheduled`, `completed` or `cancelled`.
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Timestamptz)]
    pub start: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub end: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub service: String,
    #[diesel(sql_type = Text)]
    pub pet: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub street: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub details: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub city: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub owner_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub owner_phone: Option<String>,
}

/// The request states in which the vet is told who the owner is.
const PAID: &str = "('payed', 'confirmed', 'completed')";

/// `vet`'s visits: the upcoming ones (not yet ended) soonest first, or the past ones
/// latest first; a page of them.
pub async fn vet_visits(
    conn: &mut AsyncPgConnection,
    vet: VetId,
    upcoming: bool,
    now: DateTime<Utc>,
    limit: i64,
    offset: i64,
) -> Result<Vec<AgendaVisit>, Error> {
    let (filter, order) = if upcoming {
        ("upper(vi.scheduled) >= $2", "lower(vi.scheduled) ASC")
    } else {
        ("upper(vi.scheduled) < $2", "lower(vi.scheduled) DESC")
    };
    diesel::sql_query(format!(
        "SELECT vi.id AS visit_id, r.id AS request_id, r.state::text AS request_state, \
                vi.status::text AS status, lower(vi.scheduled) AS start, upper(vi.scheduled) AS \"end\", \
                COALESCE(s.name, r.description) AS service, COALESCE(p.name, '-') AS pet, \
                a.street, a.details, a.city, \
                CASE WHEN r.state::text IN {PAID} THEN o.full_name END AS owner_name, \
                CASE WHEN r.state::text IN {PAID} THEN o.phone END AS owner_phone \
         FROM visits vi \
         JOIN service_requests r ON r.id = vi.request_id \
         LEFT JOIN services s ON s.id = r.service_id \
         LEFT JOIN pets p ON p.id = r.pet_id \
         LEFT JOIN pet_owners o ON o.id = r.owner_id \
         LEFT JOIN owner_addresses a ON a.id = r.address_id \
         WHERE vi.vet_id = $1 AND vi.deleted_at IS NULL AND {filter} \
         ORDER BY {order}, vi.id LIMIT $3 OFFSET $4"
    ))
    .bind::<SqlUuid, _>(vet.into_uuid())
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(offset)
    .load(conn)
    .await
    .map_err(Into::into)
}
