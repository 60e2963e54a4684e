//! Vaccine reminders: the latest dose of each vaccine of each live pet whose next dose
//! falls due within a horizon, with how to reach its owner and what a booking of it
//! would need (where the owner last booked). A later dose replaces the earlier one, so
//! recording it clears the reminder.

use chrono::NaiveDate;
use diesel::{
    QueryableByName,
    sql_types::{Bool, Date, Int4, Nullable, Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::Error;

/// A dose due, and its owner.
#[derive(Debug, Clone, QueryableByName)]
pub struct DueDose {
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
    #[diesel(sql_type = SqlUuid)]
    pub owner_id: Uuid,
    #[diesel(sql_type = Text)]
    pub owner_name: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub phone: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub email: Option<String>,
    #[diesel(sql_type = Bool)]
    pub by_whatsapp: bool,
    #[diesel(sql_type = Bool)]
    pub by_email: bool,
    /// Where the booking link books: the address of the owner's latest request, else
    /// their first address.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub address_id: Option<Uuid>,
}

/// How long after its due date a dose is still reminded (a day whose run failed, doses
/// already overdue when reminders began).
pub const OVERDUE_DAYS: i32 = 30;

/// Doses due from `today - OVERDUE_DAYS` to `today + horizon_days`, by pet and vaccine; at most `limit`
/// after (`pet`, `vaccine`) `after`, so a long list is read in pages.
pub async fn due_doses(
    conn: &mut AsyncPgConnection,
    today: NaiveDate,
    horizon_days: i32,
    after: Option<(Uuid, Uuid)>,
    limit: i32,
) -> Result<Vec<DueDose>, Error> {
    let (after_pet, after_vaccine) = after.map_or((None, None), |(p, v)| (Some(p), Some(v)));
    Ok(diesel::sql_query(format!(
        "SELECT d.pet_id, d.pet, d.vaccine_id, d.vaccine, d.next_due_on AS due_on, \
           o.id AS owner_id, o.full_name AS owner_name, o.phone, \
           COALESCE(o.email, u.email) AS email, \
           o.vaccine_reminders_whatsapp AS by_whatsapp, o.vaccine_reminders_email AS by_email, \
           COALESCE( \
             (SELECT r.address_id FROM service_requests r \
              JOIN owner_addresses a ON a.id = r.address_id AND a.deleted_at IS NULL \
              WHERE r.owner_id = o.id ORDER BY r.created_at DESC LIMIT 1), \
             (SELECT a.id FROM owner_addresses a WHERE a.owner_id = o.id AND a.deleted_at IS NULL \
              ORDER BY a.created_at LIMIT 1)) AS address_id \
         FROM ({}) d \
         JOIN pets p ON p.id = d.pet_id \
         JOIN pet_owners o ON o.id = p.owner_id AND o.deleted_at IS NULL \
         LEFT JOIN users u ON u.id = o.user_id \
         WHERE d.next_due_on BETWEEN $1 - {OVERDUE_DAYS} AND $1 + $2 \
           AND ($3::uuid IS NULL OR (d.pet_id, d.vaccine_id) > ($3, $4)) \
         ORDER BY d.pet_id, d.vaccine_id LIMIT $5",
        crate::dashboards::LATEST_DOSES
    ))
    .bind::<Date, _>(today)
    .bind::<Int4, _>(horizon_days)
    .bind::<Nullable<SqlUuid>, _>(after_pet)
    .bind::<Nullable<SqlUuid>, _>(after_vaccine)
    .bind::<Int4, _>(limit)
    .load(conn)
    .await?)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// The live service with `code` (what a vaccine reminder books), if any.
pub async fn service_by_code(
    conn: &mut AsyncPgConnection,
    code: &str,
) -> Result<Option<Uuid>, Error> {
    use diesel::OptionalExtension;
    Ok(diesel::sql_query(
        "SELECT id FROM services WHERE code = $1 AND active AND deleted_at IS NULL",
    )
    .bind::<Text, _>(code)
    .get_result::<Id>(conn)
    .await
    .optional()?
    .map(|row| row.id))
}
