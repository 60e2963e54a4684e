//! Service requests: creation, the state projection with its history, vet offers, and
//! the outbox of requests whose workflow has not started yet.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, upsert::excluded};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{Actor, RequestId, RequestState, StateChange, VetAnswer, VetId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Error,
    schema::{service_requests, state_history, vet_offers},
};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = service_requests)]
pub struct RequestRow {
    pub id: uuid::Uuid,
    pub state: RequestState,
    pub state_seq: i32,
    pub description: String,
    pub vet_id: Option<uuid::Uuid>,
    pub owner_id: Option<uuid::Uuid>,
    pub service_id: Option<uuid::Uuid>,
    pub pet_id: Option<uuid::Uuid>,
    /// The price frozen at checkout (a `domain::pricing::Breakdown`).
    pub price_breakdown: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = state_history)]
pub struct HistoryRow {
    pub seq: i32,
    pub from_state: Option<RequestState>,
    pub to_state: RequestState,
    pub actor: String,
    pub reason: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = vet_offers)]
pub struct OfferRow {
    pub offer_no: i32,
    pub vet_id: Option<uuid::Uuid>,
    pub offered_at: DateTime<Utc>,
    pub followups_sent: i32,
    pub answer: Option<VetAnswer>,
    pub answered_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What the API knows when a request is created.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub id: RequestId,
    pub description: String,
    pub created_by: Actor,
}

/// Inserts the request in `pending` with history entry 0. Fails with a unique violation
/// (see [`Error::unique_violation`]) when the id already exists.
pub async fn insert_request(
    conn: &mut AsyncPgConnection,
    new: &NewRequest,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    diesel::insert_into(service_requests::table)
        .values((
            service_requests::id.eq(new.id.into_uuid()),
            service_requests::state.eq(RequestState::Pending),
            service_requests::state_seq.eq(0),
            service_requests::description.eq(&new.description),
            service_requests::created_at.eq(now),
            service_requests::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    diesel::insert_into(state_history::table)
        .values((
            state_history::request_id.eq(new.id.into_uuid()),
            state_history::seq.eq(0),
            state_history::to_state.eq(RequestState::Pending),
            state_history::actor.eq(new.created_by.to_string()),
            state_history::occurred_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Applies one state change: appends it to the history and moves the projection, in one
/// transaction (`completed` and `no_show` mark the visit row so too). Idempotent on (request,
/// seq): recording the same change again does nothing, and an older change never
/// overwrites a newer state.
///
/// The row is created if it is missing (its creator's commit may have been lost after
/// the workflow started), from `description`.
pub async fn record_transition(
    conn: &mut AsyncPgConnection,
    request: RequestId,
    description: &str,
    change: &StateChange,
    vet: Option<VetId>,
) -> Result<bool, Error> {
    let id = request.into_uuid();
    let description = description.to_owned();
    let change = change.clone();
    conn.transaction::<_, Error, _>(async move |conn| {
        diesel::insert_into(service_requests::table)
            .values((
                service_requests::id.eq(id),
                service_requests::state.eq(RequestState::Pending),
                service_requests::state_seq.eq(0),
                service_requests::description.eq(&description),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        let inserted = diesel::insert_into(state_history::table)
            .values((
                state_history::request_id.eq(id),
                state_history::seq.eq(change.seq),
                state_history::from_state.eq(change.from),
                state_history::to_state.eq(change.to),
                state_history::actor.eq(change.actor.to_string()),
                state_history::reason.eq(&change.reason),
                state_history::occurred_at.eq(change.at),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if inserted == 1 {
            diesel::update(service_requests::table)
                .filter(service_requests::id.eq(id))
                .filter(service_requests::state_seq.lt(change.seq))
                .set((
                    service_requests::state.eq(change.to),
                    service_requests::state_seq.eq(change.seq),
                    // Back to dispatch detaches the vet; otherwise a change attaches
                    // one or keeps the current.
                    service_requests::vet_id.eq(diesel::dsl::sql::<
                        diesel::sql_types::Nullable<diesel::sql_types::Uuid>,
                    >("CASE WHEN ")
                    .bind::<diesel::sql_types::Bool, _>(change.to == RequestState::VetAsked)
                    .sql(" THEN NULL ELSE COALESCE(")
                    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(
                        vet.map(VetId::into_uuid),
                    )
                    .sql(", vet_id) END")),
                    service_requests::updated_at.eq(diesel::dsl::now),
                ))
                .execute(conn)
                .await?;
            let visit_status = match change.to {
                // The visit took place, or the owner was not there: its row says so too.
                RequestState::Completed => Some("completed"),
                RequestState::NoShow => Some("no_show"),
                _ => None,
            };
            if let Some(status) = visit_status {
                diesel::sql_query(
                    "UPDATE visits SET status = $2::visit_status, updated_at = now() \
                     WHERE request_id = $1 AND status = 'scheduled' AND deleted_at IS NULL",
                )
                .bind::<diesel::sql_types::Uuid, _>(id)
                .bind::<diesel::sql_types::Text, _>(status)
                .execute(conn)
                .await?;
            }
        }
        Ok(inserted == 1)
    })
    .await
}

/// One offer of a request to a vet, as the workflow last saw it.
///
/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OfferRecord {
    pub request: RequestId,
    pub offer_no: i32,
    pub vet: Option<VetId>,
    pub offered_at: DateTime<Utc>,
    pub followups_sent: i32,
    pub answer: Option<(VetAnswer, DateTime<Utc>)>,
    /// When the offer stops being open: its planned expiry, or earlier when it closed
    /// (another vet won, the request moved on). Absent in the staff-dispatched path.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Upserts an offer. Idempotent, and monotonic: a replayed older record never lowers the
/// follow-up count nor erases an answer.
pub async fn record_offer(conn: &mut AsyncPgConnection, offer: &OfferRecord) -> Result<(), Error> {
    let (answer, answered_at) = offer
        .answer
        .map_or((None, None), |(a, at)| (Some(a), Some(at)));
    diesel::insert_into(vet_offers::table)
        .values((
            vet_offers::request_id.eq(offer.request.into_uuid()),
            vet_offers::offer_no.eq(offer.offer_no),
            vet_offers::vet_id.eq(offer.vet.map(VetId::into_uuid)),
            vet_offers::offered_at.eq(offer.offered_at),
            vet_offers::followups_sent.eq(offer.followups_sent),
            vet_offers::answer.eq(answer),
            vet_offers::answered_at.eq(answered_at),
            vet_offers::expires_at.eq(offer.expires_at),
        ))
        .on_conflict((vet_offers::request_id, vet_offers::offer_no))
        .do_update()
        .set((
            vet_offers::followups_sent.eq(diesel::dsl::sql::<diesel::sql_types::Int4>(
                "GREATEST(vet_offers.followups_sent, excluded.followups_sent)",
            )),
            vet_offers::answer.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<crate::schema::sql_types::VetAnswer>,
            >("COALESCE(vet_offers.answer, excluded.answer)")),
            vet_offers::answered_at.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            >(
                "COALESCE(vet_offers.answered_at, excluded.answered_at)"
            )),
            vet_offers::vet_id.eq(excluded(vet_offers::vet_id)),
            // An offer only ever closes earlier (LEAST ignores NULL).
            vet_offers::expires_at.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
            >(
                "LEAST(vet_offers.expires_at, excluded.expires_at)"
            )),
            vet_offers::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A request with its full history and offers, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestDetail {
    #[serde(flatten)]
    pub request: RequestRow,
    pub history: Vec<HistoryRow>,
    pub offers: Vec<OfferRow>,
}

/// The sequence number of the request's last recorded state change (`None`: no such
/// request).
pub async fn state_seq(conn: &mut AsyncPgConnection, id: RequestId) -> Result<Option<i32>, Error> {
    Ok(service_requests::table
        .find(id.into_uuid())
        .select(service_requests::state_seq)
        .first(conn)
        .await
        .optional()?)
}

pub async fn find_request(
    conn: &mut AsyncPgConnection,
    id: RequestId,
) -> Result<Option<RequestDetail>, Error> {
    let id = id.into_uuid();
    let Some(request) = service_requests::table
        .find(id)
        .select(RequestRow::as_select())
        .first(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let history = state_history::table
        .filter(state_history::request_id.eq(id))
        .order(state_history::seq.asc())
        .select(HistoryRow::as_select())
        .load(conn)
        .await?;
    let offers = vet_offers::table
        .filter(vet_offers::request_id.eq(id))
        .order(vet_offers::offer_no.asc())
        .select(OfferRow::as_select())
        .load(conn)
        .await?;
    Ok(Some(RequestDetail {
        request,
        history,
        offers,
    }))
}

/// Requests, newest first: `owner` narrows to one owner's, `state` to one state.
pub async fn list(
    conn: &mut AsyncPgConnection,
    owner: Option<domain::OwnerId>,
    state: Option<RequestState>,
    page: crate::Page,
) -> Result<Vec<RequestRow>, Error> {
    let mut query = service_requests::table
        .select(RequestRow::as_select())
        .order((
            service_requests::created_at.desc(),
            service_requests::id.desc(),
        ))
        .limit(page.limit)
        .offset(page.offset)
        .into_boxed();
    if let Some(owner) = owner {
        query = query.filter(service_requests::owner_id.eq(owner.into_uuid()));
    }
    if let Some(state) = state {
        query = query.filter(service_requests::state.eq(state));
    }
    Ok(query.load(conn).await?)
}

/// A request whose workflow has not been started yet.
#[derive(Debug, Clone, QueryableByName)]
pub struct Unstarted {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub description: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub owner_id: Option<Uuid>,
}

/// The outbox: requests whose workflow has not been started, oldest first.
pub async fn unstarted(conn: &mut AsyncPgConnection, limit: i64) -> Result<Vec<Unstarted>, Error> {
    Ok(diesel::sql_query(
        "SELECT id, description, owner_id FROM service_requests WHERE NOT workflow_started \
         ORDER BY created_at LIMIT $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await?)
}

pub async fn mark_started(conn: &mut AsyncPgConnection, id: RequestId) -> Result<(), Error> {
    diesel::sql_query("UPDATE service_requests SET workflow_started = true WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(id.into_uuid())
        .execute(conn)
        .await?;
    Ok(())
}
