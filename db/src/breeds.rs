//! The breeds of each species (reference data pets point to): read by everyone,
//! added by staff.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Error, schema::breeds};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = breeds)]
pub struct BreedRow {
    pub id: Uuid,
    pub species_id: Uuid,
    pub name: String,
}

pub async fn breeds_of(
    conn: &mut AsyncPgConnection,
    species_id: Uuid,
) -> Result<Vec<BreedRow>, Error> {
    Ok(breeds::table
        .filter(breeds::species_id.eq(species_id))
        .filter(breeds::deleted_at.is_null())
        .order(breeds::name.asc())
        .select(BreedRow::as_select())
        .load(conn)
        .await?)
}

pub async fn insert_breed(
    conn: &mut AsyncPgConnection,
    species_id: Uuid,
    name: &str,
) -> Result<BreedRow, Error> {
    Ok(diesel::insert_into(breeds::table)
        .values((
            breeds::id.eq(Uuid::now_v7()),
            breeds::species_id.eq(species_id),
            breeds::name.eq(name),
        ))
        .returning(BreedRow::as_returning())
        .get_result(conn)
        .await?)
}
