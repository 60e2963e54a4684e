//! Proving an owner's WhatsApp number: the one pending code per owner (hashed), its
//! tries, and the mark `pet_owners.phone_verified_at`, cleared whenever the number
//! changes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::OwnerId;

use crate::{
    Error,
    schema::{outbound_messages, pet_owners, phone_codes},
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

/// Codes sent to the owner since `since` (the send ledger's `phone-code:<owner>:` keys).
pub async fn codes_sent_since(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    since: DateTime<Utc>,
) -> Result<i64, Error> {
    Ok(outbound_messages::table
        .filter(outbound_messages::key.like(format!("phone-code:{owner}:%")))
        .filter(outbound_messages::created_at.gt(since))
        .count()
        .get_result(conn)
        .await?)
}

/// Replaces the owner's pending code.
pub async fn store(
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
