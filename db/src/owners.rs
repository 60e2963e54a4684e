//! Pet owners and their addresses (the location a point in PostGIS).

use crate::{
    Error,
    schema::{owner_addresses, pet_owners},
};
use crate::{Page, escape_like};
use chrono::{DateTime, Utc};
use diesel::{
    dsl::sql,
    prelude::*,
    sql_types::{Double, Nullable, Text},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{LatLon, OwnerId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
    /// Vaccine reminders on WhatsApp, and by email.
    pub vaccine_reminders_whatsapp: bool,
    pub vaccine_reminders_email: bool,
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
    pub vaccine_reminders_whatsapp: Option<bool>,
    pub vaccine_reminders_email: Option<bool>,
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

/// Changes the profile; a new phone number is unverified until its code comes back.
pub async fn update_owner(
    conn: &mut AsyncPgConnection,
    id: OwnerId,
    changes: &OwnerChanges,
) -> Result<Option<OwnerRow>, Error> {
    use diesel_async::AsyncConnection;
    let changes = changes.clone();
    // One transaction, the row locked: a code verified for the old number cannot land
    // between clearing the mark and writing the new number.
    conn.transaction::<_, Error, _>(async move |conn| {
        let current: Option<Option<String>> = pet_owners::table
            .find(id.into_uuid())
            .filter(pet_owners::deleted_at.is_null())
            .select(pet_owners::phone)
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some(current) = current else {
            return Ok(None);
        };
        if let Some(phone) = &changes.phone
            && *phone != current
        {
            diesel::update(pet_owners::table.find(id.into_uuid()))
                .set(pet_owners::phone_verified_at.eq(None::<DateTime<Utc>>))
                .execute(conn)
                .await?;
        }
        Ok(diesel::update(pet_owners::table.find(id.into_uuid()))
            .filter(pet_owners::deleted_at.is_null())
            .set((&changes, pet_owners::updated_at.eq(diesel::dsl::now)))
            .returning(OwnerRow::as_returning())
            .get_result(conn)
            .await
            .optional()?)
    })
    .await
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
            // Staff booked them by phone: the number is known to reach them.
            pet_owners::phone_verified_at.eq(new.phone.as_ref().map(|_| Utc::now())),
        ))
        .returning(OwnerRow::as_returning())
        .get_result(conn)
        .await?)
}
