//! The vaccine catalogue.

use diesel::sql_types::{Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Error;

#[derive(Debug, Clone, diesel::QueryableByName, Serialize, Deserialize)]
pub struct VaccineRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub species_id: Option<Uuid>,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Nullable<diesel::sql_types::Integer>)]
    pub interval_days: Option<i32>,
}

pub async fn vaccines(conn: &mut AsyncPgConnection) -> Result<Vec<VaccineRow>, Error> {
    Ok(diesel::sql_query(
        "SELECT id, species_id, name, interval_days FROM vaccines WHERE deleted_at IS NULL ORDER BY name",
    )
    .load(conn)
    .await?)
}

pub async fn vaccine(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Option<VaccineRow>, Error> {
    let rows: Vec<VaccineRow> = diesel::sql_query(
        "SELECT id, species_id, name, interval_days FROM vaccines WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}

pub async fn insert_vaccine(
    conn: &mut AsyncPgConnection,
    species: Option<Uuid>,
    name: &str,
    interval_days: Option<i32>,
) -> Result<VaccineRow, Error> {
    Ok(diesel::sql_query(
        "INSERT INTO vaccines (id, species_id, name, interval_days) VALUES ($1, $2, $3, $4) \
         RETURNING id, species_id, name, interval_days",
    )
    .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(species)
    .bind::<Text, _>(name)
    .bind::<Nullable<diesel::sql_types::Integer>, _>(interval_days)
    .get_result(conn)
    .await?)
}

/// Changes a live vaccine (`None` leaves a field, `Some(None)` clears it); `None` when
/// there is no such vaccine.
pub async fn update_vaccine(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    name: Option<&str>,
    species: Option<Option<Uuid>>,
    interval_days: Option<Option<i32>>,
) -> Result<Option<VaccineRow>, Error> {
    let rows: Vec<VaccineRow> = diesel::sql_query(
        "UPDATE vaccines SET name = COALESCE($2, name), \
           species_id = CASE WHEN $3 THEN $4 ELSE species_id END, \
           interval_days = CASE WHEN $5 THEN $6 ELSE interval_days END, updated_at = now() \
         WHERE id = $1 AND deleted_at IS NULL RETURNING id, species_id, name, interval_days",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<Nullable<Text>, _>(name)
    .bind::<diesel::sql_types::Bool, _>(species.is_some())
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(species.flatten())
    .bind::<diesel::sql_types::Bool, _>(interval_days.is_some())
    .bind::<Nullable<diesel::sql_types::Integer>, _>(interval_days.flatten())
    .load(conn)
    .await?;
    Ok(rows.into_iter().next())
}
