//! Owners, their addresses and pets, and the species and breeds pets refer to.
//! Every read skips soft-deleted rows.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    dsl::sql,
    prelude::*,
    sql_types::{Double, Nullable, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{LatLon, OwnerId, PetSex};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    Error,
    schema::{breeds, owner_addresses, pet_owners, pets},
};

/// Limit and offset of a list; the limit is capped.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = pet_owners)]
pub struct OwnerRow {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub full_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub document_type_id: Option<i16>,
    pub document_number: Option<String>,
    pub vat_condition_id: Option<i16>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Changes to an owner's profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = pet_owners)]
pub struct OwnerChanges {
    pub full_name: Option<String>,
    pub phone: Option<Option<String>>,
    pub document_type_id: Option<Option<i16>>,
    pub document_number: Option<Option<String>>,
    pub vat_condition_id: Option<Option<i16>>,
}

pub async fn owner(conn: &mut AsyncPgConnection, id: OwnerId) -> Result<Option<OwnerRow>, Error> {
    Ok(pet_owners::table
        .find(id.into_uuid())
        .filter(pet_owners::deleted_at.is_null())
        .select(OwnerRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Owners, newest first; `only` restricts to one (an owner listing themselves).
pub async fn owners(
    conn: &mut AsyncPgConnection,
    only: Option<OwnerId>,
    name_contains: Option<&str>,
    page: Page,
) -> Result<Vec<OwnerRow>, Error> {
    let mut query = pet_owners::table
        .filter(pet_owners::deleted_at.is_null())
        .select(OwnerRow::as_select())
        .order(pet_owners::created_at.desc())
        .limit(page.limit)
        .offset(page.offset)
        .into_boxed();
    if let Some(only) = only {
        query = query.filter(pet_owners::id.eq(only.into_uuid()));
    }
    if let Some(name) = name_contains {
        query = query.filter(pet_owners::full_name.ilike(format!("%{}%", escape_like(name))));
    }
    Ok(query.load(conn).await?)
}

/// `raw` with the LIKE wildcards escaped, for a "contains" filter.
pub(crate) fn escape_like(raw: &str) -> String {
    raw.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub async fn update_owner(
    conn: &mut AsyncPgConnection,
    id: OwnerId,
    changes: &OwnerChanges,
) -> Result<Option<OwnerRow>, Error> {
    Ok(diesel::update(pet_owners::table.find(id.into_uuid()))
        .filter(pet_owners::deleted_at.is_null())
        .set((changes, pet_owners::updated_at.eq(diesel::dsl::now)))
        .returning(OwnerRow::as_returning())
        .get_result(conn)
        .await
        .optional()?)
}

#[derive(Debug, Clone, Queryable, Serialize, Deserialize)]
pub struct AddressRow {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub label: Option<String>,
    pub street: String,
    pub details: Option<String>,
    pub city: String,
    pub lat: f64,
    pub lon: f64,
    pub created_at: DateTime<Utc>,
}

type AddressColumns = (
    owner_addresses::id,
    owner_addresses::owner_id,
    owner_addresses::label,
    owner_addresses::street,
    owner_addresses::details,
    owner_addresses::city,
    diesel::expression::SqlLiteral<Double>,
    diesel::expression::SqlLiteral<Double>,
    owner_addresses::created_at,
);

fn address_columns() -> AddressColumns {
    (
        owner_addresses::id,
        owner_addresses::owner_id,
        owner_addresses::label,
        owner_addresses::street,
        owner_addresses::details,
        owner_addresses::city,
        sql::<Double>("ST_Y(owner_addresses.location::geometry)"),
        sql::<Double>("ST_X(owner_addresses.location::geometry)"),
        owner_addresses::created_at,
    )
}

pub async fn addresses(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
) -> Result<Vec<AddressRow>, Error> {
    Ok(owner_addresses::table
        .filter(owner_addresses::owner_id.eq(owner.into_uuid()))
        .filter(owner_addresses::deleted_at.is_null())
        .order(owner_addresses::created_at.asc())
        .select(address_columns())
        .load(conn)
        .await?)
}

#[derive(Debug, Clone)]
pub struct NewAddress {
    pub label: Option<String>,
    pub street: String,
    pub details: Option<String>,
    pub city: Option<String>,
    pub location: LatLon,
}

pub async fn insert_address(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    new: &NewAddress,
) -> Result<AddressRow, Error> {
    let id = Uuid::now_v7();
    diesel::sql_query(
        "INSERT INTO owner_addresses (id, owner_id, label, street, details, city, location) \
         VALUES ($1, $2, $3, $4, $5, coalesce($6, 'Ciudad Autónoma de Buenos Aires'), \
                 ST_SetSRID(ST_MakePoint($7, $8), 4326)::geography)",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::Uuid, _>(owner.into_uuid())
    .bind::<Nullable<Text>, _>(new.label.as_deref())
    .bind::<Text, _>(&new.street)
    .bind::<Nullable<Text>, _>(new.details.as_deref())
    .bind::<Nullable<Text>, _>(new.city.as_deref())
    .bind::<Double, _>(new.location.lon)
    .bind::<Double, _>(new.location.lat)
    .execute(conn)
    .await?;
    Ok(owner_addresses::table
        .find(id)
        .select(address_columns())
        .first(conn)
        .await?)
}

/// Soft-deletes one of the owner's addresses; false when there was none.
pub async fn delete_address(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    id: Uuid,
) -> Result<bool, Error> {
    let n = diesel::update(owner_addresses::table.find(id))
        .filter(owner_addresses::owner_id.eq(owner.into_uuid()))
        .filter(owner_addresses::deleted_at.is_null())
        .set(owner_addresses::deleted_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

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

/// An owner without a login (booked by phone by staff).
#[derive(Debug, Clone)]
pub struct NewOwner {
    pub full_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

pub async fn insert_owner(conn: &mut AsyncPgConnection, new: &NewOwner) -> Result<OwnerRow, Error> {
    Ok(diesel::insert_into(pet_owners::table)
        .values((
            pet_owners::id.eq(OwnerId::new().into_uuid()),
            pet_owners::full_name.eq(&new.full_name),
            pet_owners::email.eq(new.email.as_deref()),
            pet_owners::phone.eq(new.phone.as_deref()),
        ))
        .returning(OwnerRow::as_returning())
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
