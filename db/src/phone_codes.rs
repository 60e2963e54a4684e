//! Proving an owner's WhatsApp number: the one pending code per owner (hashed), its
//! tries, and the mark `pet_owners.phone_verified_at`, cleared whenever the number
//! changes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::OwnerId;

use crate::{
    Error,
    schema::{pet_owners, phone_code_sends, phone_codes},
};

/// The owner's number and whether it is verified.
pub async fn phone_of(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
) -> Result<Option<(Option<String>, bool)>, Error> {
    let row: Option<(Option<String>, Option<DateTime<Utc>>)> = pet_owners::table
        .find(owner.into_uuid())
        .filter(pet_owners::deleted_at.is_null())
        .select((pet_owners::phone, pet_owners::phone_verified_at))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(phone, verified)| (phone, verified.is_some())))
}

/// Why a code was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The owner had `per_owner` codes this hour.
    OwnerCap,
    /// The number had `per_phone` codes this hour, whoever asked.
    PhoneCap,
}

/// Reserves a send and makes `code_hash` the owner's pending code, in one transaction
/// serialized per owner and per number, so that requests at once cannot pass the caps
/// together. The caller sends the message after this commits.
#[allow(clippy::too_many_arguments)]
pub async fn begin(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    phone: &str,
    code_hash: &[u8],
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
    per_owner: i64,
    per_phone: i64,
) -> Result<Result<(), Refused>, Error> {
    let phone = phone.to_owned();
    let code_hash = code_hash.to_owned();
    conn.transaction::<_, Error, _>(async move |conn| {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(&phone)
            .execute(conn)
            .await?;
        pet_owners::table
            .find(owner.into_uuid())
            .select(pet_owners::id)
            .for_update()
            .first::<uuid::Uuid>(conn)
            .await?;
        let hour_ago = now - chrono::Duration::hours(1);
        let by_owner: i64 = phone_code_sends::table
            .filter(phone_code_sends::owner_id.eq(owner.into_uuid()))
            .filter(phone_code_sends::sent_at.gt(hour_ago))
            .count()
            .get_result(conn)
            .await?;
        if by_owner >= per_owner {
            return Ok(Err(Refused::OwnerCap));
        }
        let by_phone: i64 = phone_code_sends::table
            .filter(phone_code_sends::phone.eq(&phone))
            .filter(phone_code_sends::sent_at.gt(hour_ago))
            .count()
            .get_result(conn)
            .await?;
        if by_phone >= per_phone {
            return Ok(Err(Refused::PhoneCap));
        }
        diesel::insert_into(phone_code_sends::table)
            .values((
                phone_code_sends::owner_id.eq(owner.into_uuid()),
                phone_code_sends::phone.eq(&phone),
                phone_code_sends::sent_at.eq(now),
            ))
            .execute(conn)
            .await?;
        store(conn, owner, &phone, &code_hash, expires_at).await?;
        Ok(Ok(()))
    })
    .await
}

/// Replaces the owner's pending code.
async fn store(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    phone: &str,
    code_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), Error> {
    diesel::insert_into(phone_codes::table)
        .values((
            phone_codes::owner_id.eq(owner.into_uuid()),
            phone_codes::phone.eq(phone),
            phone_codes::code_hash.eq(code_hash),
            phone_codes::expires_at.eq(expires_at),
            phone_codes::attempts.eq(0),
        ))
        .on_conflict(phone_codes::owner_id)
        .do_update()
        .set((
            phone_codes::phone.eq(phone),
            phone_codes::code_hash.eq(code_hash),
            phone_codes::expires_at.eq(expires_at),
            phone_codes::attempts.eq(0),
            phone_codes::created_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// What a try of a code came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Verified,
    Wrong {
        tries_left: i32,
    },
    NoCode,
    Expired,
    TooManyTries,
    /// The number changed since the code was sent.
    PhoneChanged,
}

/// Tries `code_hash` against the owner's pending code, atomically: a right code marks
/// the number verified and is used up; a wrong one counts (`max_tries` in all).
pub async fn check(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    code_hash: &[u8],
    max_tries: i32,
    now: DateTime<Utc>,
) -> Result<Check, Error> {
    let code_hash = code_hash.to_owned();
    conn.transaction::<_, Error, _>(async move |conn| {
        let pending: Option<(String, Vec<u8>, DateTime<Utc>, i32)> = phone_codes::table
            .find(owner.into_uuid())
            .select((
                phone_codes::phone,
                phone_codes::code_hash,
                phone_codes::expires_at,
                phone_codes::attempts,
            ))
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some((phone, expected, expires_at, attempts)) = pending else {
            return Ok(Check::NoCode);
        };
        if attempts >= max_tries {
            return Ok(Check::TooManyTries);
        }
        if expires_at <= now {
            return Ok(Check::Expired);
        }
        if expected != code_hash {
            diesel::update(phone_codes::table.find(owner.into_uuid()))
                .set(phone_codes::attempts.eq(attempts + 1))
                .execute(conn)
                .await?;
            return Ok(Check::Wrong {
                tries_left: max_tries - attempts - 1,
            });
        }
        diesel::delete(phone_codes::table.find(owner.into_uuid()))
            .execute(conn)
            .await?;
        let marked = diesel::update(pet_owners::table.find(owner.into_uuid()))
            .filter(pet_owners::phone.eq(&phone))
            .set(pet_owners::phone_verified_at.eq(now))
            .execute(conn)
            .await?;
        Ok(if marked == 1 {
            Check::Verified
        } else {
            Check::PhoneChanged
        })
    })
    .await
}
