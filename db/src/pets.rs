//! Pets and their vaccinations.
//! Every read skips soft-deleted rows.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    prelude::*,
    sql_types::{Nullable, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{OwnerId, PetSex};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Error, Page, schema::pets};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = pets)]
pub struct PetRow {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub species_id: Uuid,
    pub breed_id: Option<Uuid>,
    pub sex: PetSex,
    pub neutered: bool,
    pub birth_date: Option<NaiveDate>,
    pub microchip: Option<String>,
    pub deceased: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = pets)]
pub struct NewPet {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub species_id: Uuid,
    pub breed_id: Option<Uuid>,
    pub sex: PetSex,
    pub neutered: bool,
    pub birth_date: Option<NaiveDate>,
    pub microchip: Option<String>,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = pets)]
pub struct PetChanges {
    pub name: Option<String>,
    pub species_id: Option<Uuid>,
    pub breed_id: Option<Option<Uuid>>,
    pub sex: Option<PetSex>,
    pub neutered: Option<bool>,
    pub birth_date: Option<Option<NaiveDate>>,
    pub microchip: Option<Option<String>>,
    pub deceased: Option<bool>,
}

pub async fn insert_pet(conn: &mut AsyncPgConnection, new: &NewPet) -> Result<PetRow, Error> {
    Ok(diesel::insert_into(pets::table)
        .values(new)
        .returning(PetRow::as_returning())
        .get_result(conn)
        .await?)
}

/// A live pet; `owner` restricts to that owner's pets (an owner never sees others').
pub async fn pet(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    owner: Option<OwnerId>,
) -> Result<Option<PetRow>, Error> {
    let mut query = pets::table
        .find(id)
        .filter(pets::deleted_at.is_null())
        .select(PetRow::as_select())
        .into_boxed();
    if let Some(owner) = owner {
        query = query.filter(pets::owner_id.eq(owner.into_uuid()));
    }
    Ok(query.first(conn).await.optional()?)
}

pub async fn pets(
    conn: &mut AsyncPgConnection,
    owner: Option<OwnerId>,
    species: Option<Uuid>,
    page: Page,
) -> Result<Vec<PetRow>, Error> {
    let mut query = pets::table
        .filter(pets::deleted_at.is_null())
        .select(PetRow::as_select())
        .order(pets::created_at.asc())
        .limit(page.limit)
        .offset(page.offset)
        .into_boxed();
    if let Some(owner) = owner {
        query = query.filter(pets::owner_id.eq(owner.into_uuid()));
    }
    if let Some(species) = species {
        query = query.filter(pets::species_id.eq(species));
    }
    Ok(query.load(conn).await?)
}

pub async fn update_pet(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    owner: Option<OwnerId>,
    changes: &PetChanges,
) -> Result<Option<PetRow>, Error> {
    let Some(existing) = pet(conn, id, owner).await? else {
        return Ok(None);
    };
    Ok(diesel::update(pets::table.find(existing.id))
        .set((changes, pets::updated_at.eq(diesel::dsl::now)))
        .returning(PetRow::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

pub async fn delete_pet(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    owner: Option<OwnerId>,
) -> Result<bool, Error> {
    let Some(existing) = pet(conn, id, owner).await? else {
        return Ok(false);
    };
    diesel::update(pets::table.find(existing.id))
        .set(pets::deleted_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(true)
}

#[derive(Debug, Clone, diesel::QueryableByName, Serialize, Deserialize)]
pub struct VaccinationRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub pet_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub vaccine_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    pub batch: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Date)]
    pub applied_on: NaiveDate,
    #[diesel(sql_type = Nullable<diesel::sql_types::Date>)]
    pub next_due_on: Option<NaiveDate>,
}

pub async fn vaccinations(
    conn: &mut AsyncPgConnection,
    pet: Uuid,
) -> Result<Vec<VaccinationRow>, Error> {
    Ok(diesel::sql_query(
        "SELECT id, pet_id, vaccine_id, batch, applied_on, next_due_on FROM vaccine_applications \
         WHERE pet_id = $1 AND deleted_at IS NULL ORDER BY applied_on DESC",
    )
    .bind::<diesel::sql_types::Uuid, _>(pet)
    .load(conn)
    .await?)
}

pub async fn insert_vaccination(
    conn: &mut AsyncPgConnection,
    pet: Uuid,
    vaccine: Uuid,
    batch: Option<&str>,
    applied_on: NaiveDate,
    next_due_on: Option<NaiveDate>,
) -> Result<VaccinationRow, Error> {
    Ok(diesel::sql_query(
        "INSERT INTO vaccine_applications (id, pet_id, vaccine_id, batch, applied_on, next_due_on) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, pet_id, vaccine_id, batch, applied_on, next_due_on",
    )
    .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
    .bind::<diesel::sql_types::Uuid, _>(pet)
    .bind::<diesel::sql_types::Uuid, _>(vaccine)
    .bind::<Nullable<Text>, _>(batch)
    .bind::<diesel::sql_types::Date, _>(applied_on)
    .bind::<Nullable<diesel::sql_types::Date>, _>(next_due_on)
    .get_result(conn)
    .await?)
}
