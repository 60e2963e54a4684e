//! AFIP's shared state: WSAA's ticket (one per CUIT, service and environment, renewed
//! by one caller at a time) and the taxpayer's points of sale as AFIP lists them.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    OptionalExtension, QueryableByName,
    sql_types::{Bool, Date, Int4, Int8, Nullable, Text, Timestamptz},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::Error;

/// A WSAA ticket as cached (its `Debug` shows only its times).
#[derive(Clone, QueryableByName)]
pub struct TicketRow {
    #[diesel(sql_type = Text)]
    pub token: String,
    #[diesel(sql_type = Text)]
    pub sign: String,
    #[diesel(sql_type = Timestamptz)]
    pub generated_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for TicketRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TicketRow")
            .field("generated_at", &self.generated_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The cached ticket of (CUIT, service, environment).
pub async fn ticket(
    conn: &mut AsyncPgConnection,
    cuit: u64,
    service: &str,
    environment: &str,
) -> Result<Option<TicketRow>, Error> {
    Ok(diesel::sql_query(
        "SELECT token, sign, generated_at, expires_at FROM afip_tickets \
          WHERE cuit = $1 AND service = $2 AND environment = $3",
    )
    .bind::<Int8, _>(cuit as i64)
    .bind::<Text, _>(service)
    .bind::<Text, _>(environment)
    .get_result(conn)
    .await
    .optional()?)
}

/// Holds, until the transaction ends, the right to renew the ticket of (CUIT, service,
/// environment): one caller at a time asks WSAA.
pub async fn lock_ticket(
    conn: &mut AsyncPgConnection,
    cuit: u64,
    service: &str,
    environment: &str,
) -> Result<(), Error> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('afip-ticket:' || $1, 0))")
        .bind::<Text, _>(format!("{cuit}:{service}:{environment}"))
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores a new ticket (replacing the old).
pub async fn store_ticket(
    conn: &mut AsyncPgConnection,
    cuit: u64,
    service: &str,
    environment: &str,
    ticket: &TicketRow,
) -> Result<(), Error> {
    diesel::sql_query(
        "INSERT INTO afip_tickets (cuit, service, environment, token, sign, generated_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (cuit, service, environment) DO UPDATE SET token = $4, sign = $5, \
            generated_at = $6, expires_at = $7, updated_at = now()",
    )
    .bind::<Int8, _>(cuit as i64)
    .bind::<Text, _>(service)
    .bind::<Text, _>(environment)
    .bind::<Text, _>(&ticket.token)
    .bind::<Text, _>(&ticket.sign)
    .bind::<Timestamptz, _>(ticket.generated_at)
    .bind::<Timestamptz, _>(ticket.expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets the ticket (AFIP refused it).
pub async fn drop_ticket(
    conn: &mut AsyncPgConnection,
    cuit: u64,
    service: &str,
    environment: &str,
) -> Result<(), Error> {
    diesel::sql_query(
        "DELETE FROM afip_tickets WHERE cuit = $1 AND service = $2 AND environment = $3",
    )
    .bind::<Int8, _>(cuit as i64)
    .bind::<Text, _>(service)
    .bind::<Text, _>(environment)
    .execute(conn)
    .await?;
    Ok(())
}

/// A point of sale as AFIP lists it.
#[derive(Debug, Clone)]
pub struct PointOfSale {
    pub number: u32,
    pub emission: String,
    pub blocked: bool,
    pub closed_on: Option<NaiveDate>,
}

/// Replaces the taxpayer's points of sale with AFIP's list.
pub async fn store_points_of_sale(
    conn: &mut AsyncPgConnection,
    cuit: u64,
    points: &[PointOfSale],
) -> Result<(), Error> {
    use diesel_async::AsyncConnection;
    let points = points.to_vec();
    conn.transaction::<_, Error, _>(async move |conn| {
        diesel::sql_query("DELETE FROM afip_points_of_sale WHERE cuit = $1")
            .bind::<Int8, _>(cuit as i64)
            .execute(conn)
            .await?;
        for p in &points {
            diesel::sql_query(
                "INSERT INTO afip_points_of_sale (cuit, number, emission, blocked, closed_on) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind::<Int8, _>(cuit as i64)
            .bind::<Int4, _>(p.number as i32)
            .bind::<Text, _>(&p.emission)
            .bind::<Bool, _>(p.blocked)
            .bind::<Nullable<Date>, _>(p.closed_on)
            .execute(conn)
            .await?;
        }
        Ok(())
    })
    .await
}
