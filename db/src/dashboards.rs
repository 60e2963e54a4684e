//! What each role's dashboard shows, read from PostgreSQL in one place: for staff, the
//! requests by state, those needing attention or stuck, today's and tomorrow's visits
//! and the payments to reconcile; for a vet, their open offers, upcoming visits and the
//! reports they owe; for an owner, their upcoming visits, payments due, vaccines due and
//! the reports of their visits. Every list is a page of its items plus their total.
//!
//! Each list is a `FROM … WHERE …` over a one-row `params` (`subject`: the vet or owner,
//! `now`), so every query takes the same four parameters.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    QueryableByName,
    pg::Pg,
    sql_types::{BigInt, Bool, Date, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{OwnerId, RequestState, VetId};
use uuid::Uuid;

use crate::{Error, Page, visits::Count};

/// A page of a list and how many there are in all.
#[derive(Debug, Clone)]
pub struct Section<T> {
    pub total: i64,
    pub items: Vec<T>,
}

async fn section<T>(
    conn: &mut AsyncPgConnection,
    subject: Option<Uuid>,
    now: DateTime<Utc>,
    page: Page,
    select: &str,
    from: &str,
    order: &str,
) -> Result<Section<T>, Error>
where
    T: QueryableByName<Pg> + Send + 'static,
{
    const WITH: &str = "WITH params AS (SELECT $1::uuid AS subject, $2::timestamptz AS now) ";
    let total = diesel::sql_query(format!("{WITH}SELECT count(*) AS n {from}"))
        .bind::<Nullable<SqlUuid>, _>(subject)
        .bind::<Timestamptz, _>(now)
        .get_result::<Count>(conn)
        .await?
        .n;
    let items = diesel::sql_query(format!(
        "{WITH}SELECT {select} {from} ORDER BY {order} LIMIT $3 OFFSET $4"
    ))
    .bind::<Nullable<SqlUuid>, _>(subject)
    .bind::<Timestamptz, _>(now)
    .bind::<BigInt, _>(page.limit)
    .bind::<BigInt, _>(page.offset)
    .load(conn)
    .await?;
    Ok(Section { total, items })
}

/// The local (Buenos Aires) day of `params.now`, plus `days`.
fn local_day(days: i32) -> String {
    format!(
        "((params.now AT TIME ZONE '{}')::date + {days})",
        domain::time::ZONE
    )
}

/// When a local day starts, as an instant.
fn day_start(day: &str) -> String {
    format!("({day}::timestamp AT TIME ZONE '{}')", domain::time::ZONE)
}

/// A visit as dashboards list it.
#[derive(Debug, Clone, QueryableByName)]
pub struct VisitItem {
    #[diesel(sql_type = SqlUuid)]
    pub visit_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub request_id: Uuid,
    #[diesel(sql_type = Text)]
    pub request_state: String,
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
    #[diesel(sql_type = Text)]
    pub vet_name: String,
}

const VISIT_ITEM: &str = "vi.id AS visit_id, r.id AS request_id, r.state::text AS request_state, \
     vi.status::text AS status, lower(vi.scheduled) AS start, upper(vi.scheduled) AS \"end\", \
     COALESCE(s.name, r.description) AS service, COALESCE(p.name, '-') AS pet, vt.full_name AS vet_name";

const VISITS: &str = "FROM params, visits vi \
     JOIN service_requests r ON r.id = vi.request_id \
     JOIN veterinarians vt ON vt.id = vi.vet_id \
     LEFT JOIN services s ON s.id = r.service_id \
     LEFT JOIN pets p ON p.id = r.pet_id \
     WHERE vi.deleted_at IS NULL";

#[derive(Debug, Clone, QueryableByName)]
pub struct StateCount {
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// A request staff should look at: a `needs attention:` note, or one that has not
/// moved for too long.
#[derive(Debug, Clone, QueryableByName)]
pub struct AttentionItem {
    #[diesel(sql_type = SqlUuid)]
    pub request_id: Uuid,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Text)]
    pub why: String,
    #[diesel(sql_type = Timestamptz)]
    pub since: DateTime<Utc>,
}

/// A payment whose money is not where it should be.
#[derive(Debug, Clone, QueryableByName)]
pub struct PaymentItem {
    #[diesel(sql_type = BigInt)]
    pub payment_id: i64,
    #[diesel(sql_type = SqlUuid)]
    pub request_id: Uuid,
    #[diesel(sql_type = Text)]
    pub request_state: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Text)]
    pub amount: String,
    #[diesel(sql_type = Text)]
    pub refunded_amount: String,
    #[diesel(sql_type = Text)]
    pub why: String,
}

pub struct StaffDashboard {
    pub by_state: Vec<StateCount>,
    pub attention: Section<AttentionItem>,
    pub stuck: Section<AttentionItem>,
    pub today: Section<VisitItem>,
    pub tomorrow: Section<VisitItem>,
    pub payments: Section<PaymentItem>,
}

/// How long a request may sit in a state that waits on people before it counts as
/// stuck; an unstarted workflow, after a few minutes.
const STUCK_AFTER: &str = "interval '48 hours'";
const UNSTARTED_AFTER: &str = "interval '10 minutes'";
/// How far back `needs attention` notes are shown.
const ATTENTION_DAYS: &str = "interval '7 days'";

pub async fn staff(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    page: Page,
) -> Result<StaffDashboard, Error> {
    let by_state = diesel::sql_query(
        "SELECT state::text AS state, count(*) AS n FROM service_requests GROUP BY state",
    )
    .load::<StateCount>(conn)
    .await?;
    let by_state = RequestState::ALL
        .iter()
        .map(|state| StateCount {
            state: state.as_str().to_owned(),
            n: by_state
                .iter()
                .find(|c| c.state == state.as_str())
                .map_or(0, |c| c.n),
        })
        .collect();
    let attention = section(
        conn,
        None,
        now,
        page,
        "r.id AS request_id, r.state::text AS state, h.reason AS why, h.occurred_at AS since",
        &format!(
            "FROM params, service_requests r \
             JOIN LATERAL (SELECT reason, occurred_at FROM state_history \
               WHERE request_id = r.id AND reason LIKE 'needs attention:%' \
               ORDER BY seq DESC LIMIT 1) h ON true \
             WHERE h.occurred_at > params.now - {ATTENTION_DAYS}"
        ),
        "h.occurred_at DESC, r.id",
    )
    .await?;
    let stuck = section(
        conn,
        None,
        now,
        page,
        "r.id AS request_id, r.state::text AS state, \
         CASE WHEN NOT r.workflow_started THEN 'its workflow has not started' \
              WHEN r.state = 'confirmed' THEN 'its visit ended two days ago and it is not completed' \
              ELSE 'no change for two days' END AS why, r.updated_at AS since",
        &format!(
            "FROM params, service_requests r \
             LEFT JOIN visits vi ON vi.request_id = r.id AND vi.deleted_at IS NULL \
               AND vi.status <> 'cancelled' \
             WHERE (NOT r.workflow_started AND r.created_at < params.now - {UNSTARTED_AFTER}) \
                OR (r.state IN ('pending', 'vet_asked', 'vet_accepted', 'coordinated', 'payed') \
                    AND r.updated_at < params.now - {STUCK_AFTER}) \
                OR (r.state = 'confirmed' AND upper(vi.scheduled) < params.now - {STUCK_AFTER})"
        ),
        "r.updated_at, r.id",
    )
    .await?;
    let visits_on = |days: i32| {
        format!(
            "{VISITS} AND vi.status <> 'cancelled' \
             AND lower(vi.scheduled) >= {} AND lower(vi.scheduled) < {}",
            day_start(&local_day(days)),
            day_start(&local_day(days + 1))
        )
    };
    let today = section(
        conn,
        None,
        now,
        page,
        VISIT_ITEM,
        &visits_on(0),
        "start, vi.id",
    )
    .await?;
    let tomorrow = section(
        conn,
        None,
        now,
        page,
        VISIT_ITEM,
        &visits_on(1),
        "start, vi.id",
    )
    .await?;
    let payments = section(
        conn,
        None,
        now,
        page,
        "pa.id AS payment_id, r.id AS request_id, r.state::text AS request_state, \
         pa.status::text AS status, pa.amount::text AS amount, pa.refunded_amount::text AS refunded_amount, \
         CASE WHEN pa.status IN ('charged_back', 'in_mediation') THEN 'disputed by the payer' \
              WHEN pa.status = 'approved' THEN 'kept for a request that did not happen' \
              ELSE 'pending for more than a day' END AS why",
        "FROM params, payments pa JOIN service_requests r ON r.id = pa.request_id \
         WHERE pa.status IN ('charged_back', 'in_mediation') \
            OR (pa.status = 'approved' AND r.state IN ('cancelled', 'expired') \
                AND pa.refunded_amount < pa.amount) \
            OR (pa.status IN ('pending', 'in_process', 'authorized') \
                AND pa.created_at < params.now - interval '1 day')",
        "pa.updated_at DESC, pa.id",
    )
    .await?;
    Ok(StaffDashboard {
        by_state,
        attention,
        stuck,
        today,
        tomorrow,
        payments,
    })
}

/// An offer waiting for the vet's answer.
#[derive(Debug, Clone, QueryableByName)]
pub struct OfferItem {
    #[diesel(sql_type = SqlUuid)]
    pub request_id: Uuid,
    #[diesel(sql_type = Int4)]
    pub offer_no: i32,
    #[diesel(sql_type = Timestamptz)]
    pub offered_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub expires_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub service: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub wanted_start: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub wanted_end: Option<DateTime<Utc>>,
}

pub struct VetDashboard {
    pub offers: Section<OfferItem>,
    pub upcoming: Section<VisitItem>,
    pub reports_due: Section<VisitItem>,
}

pub async fn vet(
    conn: &mut AsyncPgConnection,
    vet: VetId,
    now: DateTime<Utc>,
    page: Page,
) -> Result<VetDashboard, Error> {
    let subject = Some(vet.into_uuid());
    let offers = section(
        conn,
        subject,
        now,
        page,
        "o.request_id, o.offer_no, o.offered_at, o.expires_at, \
         COALESCE(s.name, r.description) AS service, lower(r.wanted) AS wanted_start, \
         upper(r.wanted) AS wanted_end",
        "FROM params, vet_offers o JOIN service_requests r ON r.id = o.request_id \
         LEFT JOIN services s ON s.id = r.service_id \
         WHERE o.vet_id = params.subject AND o.answer IS NULL AND r.state = 'vet_asked' \
           AND (o.expires_at IS NULL OR o.expires_at > params.now)",
        "o.expires_at NULLS LAST, o.request_id",
    )
    .await?;
    let upcoming = section(
        conn,
        subject,
        now,
        page,
        VISIT_ITEM,
        &format!(
            "{VISITS} AND vi.vet_id = params.subject AND vi.status = 'scheduled' \
             AND upper(vi.scheduled) >= params.now"
        ),
        "start, vi.id",
    )
    .await?;
    let reports_due = section(
        conn,
        subject,
        now,
        page,
        VISIT_ITEM,
        &format!(
            "{VISITS} AND vi.vet_id = params.subject AND r.state = 'confirmed' \
             AND vi.status = 'scheduled' AND lower(vi.scheduled) <= params.now \
             AND NOT EXISTS (SELECT 1 FROM visit_reports vr WHERE vr.visit_id = vi.id)"
        ),
        "start, vi.id",
    )
    .await?;
    Ok(VetDashboard {
        offers,
        upcoming,
        reports_due,
    })
}

/// A payment link the owner has yet to use.
#[derive(Debug, Clone, QueryableByName)]
pub struct PaymentDue {
    #[diesel(sql_type = SqlUuid)]
    pub request_id: Uuid,
    #[diesel(sql_type = Text)]
    pub link: String,
    #[diesel(sql_type = Text)]
    pub amount: String,
    #[diesel(sql_type = Timestamptz)]
    pub pay_by: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub service: String,
}

/// A vaccine whose next dose is due (or overdue).
#[derive(Debug, Clone, QueryableByName)]
pub struct VaccineDue {
    #[diesel(sql_type = SqlUuid)]
    pub pet_id: Uuid,
    #[diesel(sql_type = Text)]
    pub pet: String,
    #[diesel(sql_type = SqlUuid)]
    pub vaccine_id: Uuid,
    #[diesel(sql_type = Text)]
    pub vaccine: String,
    #[diesel(sql_type = Date)]
    pub due_on: NaiveDate,
    #[diesel(sql_type = Bool)]
    pub overdue: bool,
}

/// A report of one of the owner's visits.
#[derive(Debug, Clone, QueryableByName)]
pub struct ReportItem {
    #[diesel(sql_type = SqlUuid)]
    pub visit_id: Uuid,
    #[diesel(sql_type = Text)]
    pub pet: String,
    #[diesel(sql_type = Text)]
    pub diagnosis: String,
    #[diesel(sql_type = Timestamptz)]
    pub filed_at: DateTime<Utc>,
}

pub struct OwnerDashboard {
    pub upcoming: Section<VisitItem>,
    pub payments_due: Section<PaymentDue>,
    pub vaccines_due: Section<VaccineDue>,
    pub reports: Section<ReportItem>,
}

/// Vaccines due within this many days count as due soon.
pub const VACCINE_HORIZON_DAYS: i32 = 30;

/// The latest dose of each vaccine of each of the owner's live pets, with its next due
/// date (the `FROM` of the vaccines due; also what reminders read).
pub(crate) const LATEST_DOSES: &str = "SELECT DISTINCT ON (va.pet_id, va.vaccine_id) \
       va.pet_id, p.name AS pet, va.vaccine_id, v.name AS vaccine, va.next_due_on \
     FROM vaccine_applications va \
     JOIN pets p ON p.id = va.pet_id AND p.deleted_at IS NULL AND NOT p.deceased \
     JOIN vaccines v ON v.id = va.vaccine_id \
     WHERE va.deleted_at IS NULL \
     ORDER BY va.pet_id, va.vaccine_id, va.applied_on DESC, va.created_at DESC";

pub async fn owner(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    now: DateTime<Utc>,
    page: Page,
) -> Result<OwnerDashboard, Error> {
    let subject = Some(owner.into_uuid());
    let upcoming = section(
        conn,
        subject,
        now,
        page,
        VISIT_ITEM,
        &format!(
            "{VISITS} AND r.owner_id = params.subject AND vi.status = 'scheduled' \
             AND upper(vi.scheduled) >= params.now"
        ),
        "start, vi.id",
    )
    .await?;
    let payments_due = section(
        conn,
        subject,
        now,
        page,
        "r.id AS request_id, m.init_point AS link, m.amount::text AS amount, m.expires_at AS pay_by, \
         COALESCE(s.name, r.description) AS service",
        "FROM params, service_requests r \
         JOIN LATERAL (SELECT init_point, amount, expires_at FROM mp_preferences \
           WHERE request_id = r.id ORDER BY created_at DESC LIMIT 1) m ON true \
         LEFT JOIN services s ON s.id = r.service_id \
         WHERE r.owner_id = params.subject AND r.state = 'coordinated' \
           AND m.expires_at > params.now",
        "m.expires_at, r.id",
    )
    .await?;
    let vaccines_due = section(
        conn,
        subject,
        now,
        page,
        &format!(
            "d.pet_id, d.pet, d.vaccine_id, d.vaccine, d.next_due_on AS due_on, \
             d.next_due_on < {} AS overdue",
            local_day(0)
        ),
        &format!(
            "FROM params, ({LATEST_DOSES}) d JOIN pets p ON p.id = d.pet_id \
             WHERE p.owner_id = params.subject AND d.next_due_on IS NOT NULL \
               AND d.next_due_on <= {} + {VACCINE_HORIZON_DAYS}",
            local_day(0)
        ),
        "d.next_due_on, d.pet_id, d.vaccine_id",
    )
    .await?;
    let reports = section(
        conn,
        subject,
        now,
        page,
        "vi.id AS visit_id, COALESCE(p.name, '-') AS pet, vr.diagnosis, vr.filed_at",
        "FROM params, visit_reports vr JOIN visits vi ON vi.id = vr.visit_id \
         JOIN service_requests r ON r.id = vi.request_id \
         LEFT JOIN pets p ON p.id = r.pet_id \
         WHERE r.owner_id = params.subject AND vr.filed_at > params.now - interval '90 days'",
        "vr.filed_at DESC, vi.id",
    )
    .await?;
    Ok(OwnerDashboard {
        upcoming,
        payments_due,
        vaccines_due,
        reports,
    })
}
