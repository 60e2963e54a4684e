//! Users, their roles, refresh-token families and login attempts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{Email, OwnerId, UserId, VetId};
use uuid::Uuid;

use crate::{
    Error,
    schema::{login_attempts, password_tokens, pet_owners, refresh_tokens, users, veterinarians},
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: Option<String>,
    pub full_name: String,
    pub is_staff: bool,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
}

/// A user with what they may act as.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: UserRow,
    pub owner: Option<OwnerId>,
    pub vet: Option<VetId>,
}

/// Registers a pet owner: the user and its owner record, in one transaction.
pub async fn register_owner(
    conn: &mut AsyncPgConnection,
    email: &Email,
    password_hash: &str,
    full_name: &str,
    phone: Option<&str>,
) -> Result<Account, Error> {
    let user_id = UserId::new().into_uuid();
    let owner_id = OwnerId::new();
    let email = email.as_str().to_owned();
    let password_hash = password_hash.to_owned();
    let full_name = full_name.to_owned();
    let phone = phone.map(ToOwned::to_owned);
    conn.transaction::<_, Error, _>(async move |conn| {
        let user = diesel::insert_into(users::table)
            .values((
                users::id.eq(user_id),
                users::email.eq(&email),
                users::password_hash.eq(Some(&password_hash)),
                users::full_name.eq(&full_name),
            ))
            .returning(UserRow::as_returning())
            .get_result(conn)
            .await?;
        diesel::insert_into(pet_owners::table)
            .values((
                pet_owners::id.eq(owner_id.into_uuid()),
                pet_owners::user_id.eq(Some(user_id)),
                pet_owners::full_name.eq(&full_name),
                pet_owners::email.eq(Some(&email)),
                pet_owners::phone.eq(phone.as_deref()),
            ))
            .execute(conn)
            .await?;
        Ok(Account {
            user,
            owner: Some(owner_id),
            vet: None,
        })
    })
    .await
}

/// The live (not deleted) user with this email, with roles.
pub async fn find_by_email(
    conn: &mut AsyncPgConnection,
    email: &Email,
) -> Result<Option<Account>, Error> {
    account(conn, Which::Email(email.as_str())).await
}

/// The live user with this id, with roles.
pub async fn find_by_id(
    conn: &mut AsyncPgConnection,
    id: UserId,
) -> Result<Option<Account>, Error> {
    account(conn, Which::Id(id.into_uuid())).await
}

enum Which<'a> {
    Id(Uuid),
    Email(&'a str),
}

/// The live user `which` names, with its live owner and vet records, in one statement
/// (every authenticated request asks for it).
async fn account(conn: &mut AsyncPgConnection, which: Which<'_>) -> Result<Option<Account>, Error> {
    let query = users::table
        .left_join(
            pet_owners::table.on(pet_owners::user_id
                .eq(users::id.nullable())
                .and(pet_owners::deleted_at.is_null())),
        )
        .left_join(
            veterinarians::table.on(veterinarians::user_id
                .eq(users::id)
                .and(veterinarians::deleted_at.is_null())),
        )
        .filter(users::deleted_at.is_null())
        .select((
            UserRow::as_select(),
            pet_owners::id.nullable(),
            veterinarians::id.nullable(),
        ))
        .into_boxed();
    let query = match which {
        Which::Id(id) => query.filter(users::id.eq(id)),
        Which::Email(email) => query.filter(users::email.eq(email)),
    };
    let row = query
        .first::<(UserRow, Option<Uuid>, Option<Uuid>)>(conn)
        .await
        .optional()?;
    Ok(row.map(|(user, owner, vet)| Account {
        user,
        owner: owner.map(OwnerId::from_uuid),
        vet: vet.map(VetId::from_uuid),
    }))
}

/// Records a login attempt; returns the failures in the window for the email and for
/// the address, counting this one.
pub async fn record_login_attempt(
    conn: &mut AsyncPgConnection,
    email: &str,
    address: Option<&str>,
    succeeded: bool,
) -> Result<i64, Error> {
    Ok(diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::email.eq(email),
            login_attempts::address.eq(address),
            login_attempts::succeeded.eq(succeeded),
        ))
        .returning(login_attempts::id)
        .get_result(conn)
        .await?)
}

/// An attempt recorded as failed (before its password was checked) that succeeded.
pub async fn mark_login_succeeded(conn: &mut AsyncPgConnection, attempt: i64) -> Result<(), Error> {
    diesel::update(login_attempts::table.find(attempt))
        .set(login_attempts::succeeded.eq(true))
        .execute(conn)
        .await?;
    Ok(())
}

/// Failures since its last success (within `since`) of one sign-in key, and when the
/// latest was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyFailures {
    pub count: i64,
    pub last: Option<DateTime<Utc>>,
}

/// The sign-in throttle's three counters: this email from this address, this email
/// from anywhere, this address for any email.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignInFailures {
    pub pair: KeyFailures,
    pub account: KeyFailures,
    pub address: KeyFailures,
}

#[derive(QueryableByName)]
struct FailureRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pair_n: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    pair_last: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    account_n: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    account_last: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    address_n: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    address_last: Option<DateTime<Utc>>,
}

/// The failed attempts since `since` that came after each key's last success, in one
/// query on the (email, at) and (address, at) indexes. The address's count is every
/// failure in the window: a success from the address (on an account of the guesser's
/// own) does not reset it.
pub async fn sign_in_failures(
    conn: &mut AsyncPgConnection,
    email: &str,
    address: &str,
    since: DateTime<Utc>,
) -> Result<SignInFailures, Error> {
    use diesel::sql_types::{Text, Timestamptz};
    let row: FailureRow = diesel::sql_query(
        "WITH recent AS ( \
           SELECT email = $1 AS mine, address IS NOT DISTINCT FROM $2 AS here, succeeded, at \
           FROM login_attempts WHERE at > $3 AND (email = $1 OR address = $2)), \
         ok AS ( \
           SELECT coalesce(max(at) FILTER (WHERE mine AND here AND succeeded), '-infinity') AS pair, \
                  coalesce(max(at) FILTER (WHERE mine AND succeeded), '-infinity') AS account, \
                  '-infinity'::timestamptz AS address \
           FROM recent) \
         SELECT \
           count(at) FILTER (WHERE mine AND here AND NOT succeeded AND at > ok.pair) AS pair_n, \
           max(at) FILTER (WHERE mine AND here AND NOT succeeded AND at > ok.pair) AS pair_last, \
           count(at) FILTER (WHERE mine AND NOT succeeded AND at > ok.account) AS account_n, \
           max(at) FILTER (WHERE mine AND NOT succeeded AND at > ok.account) AS account_last, \
           count(at) FILTER (WHERE here AND NOT succeeded AND at > ok.address) AS address_n, \
           max(at) FILTER (WHERE here AND NOT succeeded AND at > ok.address) AS address_last \
         FROM ok LEFT JOIN recent ON true GROUP BY ok.pair, ok.account, ok.address",
    )
    .bind::<Text, _>(email)
    .bind::<Text, _>(address)
    .bind::<Timestamptz, _>(since)
    .get_result(conn)
    .await?;
    Ok(SignInFailures {
        pair: KeyFailures {
            count: row.pair_n,
            last: row.pair_last,
        },
        account: KeyFailures {
            count: row.account_n,
            last: row.account_last,
        },
        address: KeyFailures {
            count: row.address_n,
            last: row.address_last,
        },
    })
}

/// A stored refresh token.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert_refresh_token(
    conn: &mut AsyncPgConnection,
    user: UserId,
    family: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), Error> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(Uuid::now_v7()),
            refresh_tokens::user_id.eq(user.into_uuid()),
            refresh_tokens::family_id.eq(family),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// What happened to a refresh token presented for rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Valid: it is now used and the replacement stored in `family` for `user`,
    /// expiring when this one did (a session ends a fixed time after sign-in, however
    /// often it is refreshed).
    Rotated {
        user: UserId,
        family: Uuid,
        expires_at: DateTime<Utc>,
    },
    /// Already used or revoked: a replay. The whole family is now revoked.
    Reused,
    /// The account was disabled or deleted since: the whole family is now revoked.
    Disabled,
    Expired,
    Unknown,
}

/// Marks a refresh token used and stores its `replacement` in the same family, in one
/// transaction: of two concurrent uses, one rotates and the other is a reuse (which
/// revokes the family); a crash in between leaves the old token usable, never a used
/// token without its successor.
pub async fn use_refresh_token(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    replacement: &[u8],
    now: DateTime<Utc>,
) -> Result<Rotation, Error> {
    let token_hash = token_hash.to_owned();
    let replacement = replacement.to_owned();
    conn.transaction::<_, Error, _>(async move |conn| {
        let Some(row) = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(&token_hash))
            .select(RefreshRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
        else {
            return Ok(Rotation::Unknown);
        };
        if row.used_at.is_some() || row.revoked_at.is_some() {
            revoke_family(conn, row.family_id, now).await?;
            return Ok(Rotation::Reused);
        }
        if row.expires_at <= now {
            return Ok(Rotation::Expired);
        }
        let active = users::table
            .find(row.user_id)
            .filter(users::deleted_at.is_null())
            .select(users::is_active)
            .first::<bool>(conn)
            .await
            .optional()?
            .unwrap_or(false);
        if !active {
            revoke_family(conn, row.family_id, now).await?;
            return Ok(Rotation::Disabled);
        }
        diesel::update(refresh_tokens::table.find(row.id))
            .set(refresh_tokens::used_at.eq(now))
            .execute(conn)
            .await?;
        insert_refresh_token(
            conn,
            UserId::from_uuid(row.user_id),
            row.family_id,
            &replacement,
            row.expires_at,
        )
        .await?;
        Ok(Rotation::Rotated {
            user: UserId::from_uuid(row.user_id),
            family: row.family_id,
            expires_at: row.expires_at,
        })
    })
    .await
}

/// Revokes every token of the family the given token belongs to (logout).
pub async fn revoke_family_of(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let family = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(refresh_tokens::family_id)
        .first::<Uuid>(conn)
        .await
        .optional()?;
    match family {
        Some(family) => {
            revoke_family(conn, family, now).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

async fn revoke_family(
    conn: &mut AsyncPgConnection,
    family: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    diesel::update(refresh_tokens::table)
        .filter(refresh_tokens::family_id.eq(family))
        .filter(refresh_tokens::revoked_at.is_null())
        .set(refresh_tokens::revoked_at.eq(now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Creates the login of an owner who had none (booked by phone): a user without a
/// password, attached to the owner, and a one-time token (stored hashed) to set it.
/// `None` when the owner does not exist, already has a user, or has no email.
pub async fn create_user_for_owner(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<Option<UserId>, Error> {
    let token_hash = token_hash.to_owned();
    conn.transaction::<_, Error, _>(async move |conn| {
        let found: Option<(Option<Uuid>, Option<String>, String)> = pet_owners::table
            .find(owner.into_uuid())
            .filter(pet_owners::deleted_at.is_null())
            .select((
                pet_owners::user_id,
                pet_owners::email,
                pet_owners::full_name,
            ))
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some((None, Some(email), full_name)) = found else {
            return Ok(None);
        };
        let user = UserId::new();
        diesel::insert_into(users::table)
            .values((
                users::id.eq(user.into_uuid()),
                users::email.eq(&email),
                users::full_name.eq(&full_name),
            ))
            .execute(conn)
            .await?;
        diesel::update(pet_owners::table.find(owner.into_uuid()))
            .set(pet_owners::user_id.eq(Some(user.into_uuid())))
            .execute(conn)
            .await?;
        diesel::insert_into(password_tokens::table)
            .values((
                password_tokens::id.eq(Uuid::now_v7()),
                password_tokens::user_id.eq(user.into_uuid()),
                password_tokens::token_hash.eq(&token_hash),
                password_tokens::expires_at.eq(expires_at),
            ))
            .execute(conn)
            .await?;
        Ok(Some(user))
    })
    .await
}

/// A new one-time token for the login staff created for `owner`, while it has no
/// password yet: the earlier unused tokens stop working. `None` when the owner has no
/// login or its password is set already; otherwise the user, email and full name.
pub async fn reissue_password_token(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<Option<(UserId, String, String)>, Error> {
    let token_hash = token_hash.to_owned();
    conn.transaction::<_, Error, _>(async move |conn| {
        let found: Option<(Uuid, String, String)> = pet_owners::table
            .inner_join(users::table.on(users::id.nullable().eq(pet_owners::user_id)))
            .filter(pet_owners::id.eq(owner.into_uuid()))
            .filter(pet_owners::deleted_at.is_null())
            .filter(users::password_hash.is_null())
            .select((users::id, users::email, users::full_name))
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let Some((user, email, full_name)) = found else {
            return Ok(None);
        };
        diesel::update(
            password_tokens::table
                .filter(password_tokens::user_id.eq(user))
                .filter(password_tokens::used_at.is_null()),
        )
        .set(password_tokens::expires_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
        diesel::insert_into(password_tokens::table)
            .values((
                password_tokens::id.eq(Uuid::now_v7()),
                password_tokens::user_id.eq(user),
                password_tokens::token_hash.eq(&token_hash),
                password_tokens::expires_at.eq(expires_at),
            ))
            .execute(conn)
            .await?;
        Ok(Some((UserId::from_uuid(user), email, full_name)))
    })
    .await
}

/// Sets a password with a one-time token: works once, before it expires.
/// Whether a one-time password token is usable now (known, unused, unexpired): checked
/// before any password is hashed for it.
pub async fn password_token_usable(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> Result<bool, Error> {
    let found: i64 = password_tokens::table
        .filter(password_tokens::token_hash.eq(token_hash))
        .filter(password_tokens::used_at.is_null())
        .filter(password_tokens::expires_at.gt(now))
        .count()
        .get_result(conn)
        .await?;
    Ok(found > 0)
}

/// Whether an account with this email exists (checked before a password is hashed for
/// a new one; the insert's unique constraint still decides a race).
pub async fn email_taken(conn: &mut AsyncPgConnection, email: &Email) -> Result<bool, Error> {
    let found: i64 = users::table
        .filter(users::email.eq(email.as_str()))
        .count()
        .get_result(conn)
        .await?;
    Ok(found > 0)
}

pub async fn set_password_with_token(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<UserId>, Error> {
    let token_hash = token_hash.to_owned();
    let password_hash = password_hash.to_owned();
    conn.transaction::<_, Error, _>(async move |conn| {
        let user: Option<Uuid> = diesel::update(password_tokens::table)
            .filter(password_tokens::token_hash.eq(&token_hash))
            .filter(password_tokens::used_at.is_null())
            .filter(password_tokens::expires_at.gt(now))
            .set(password_tokens::used_at.eq(now))
            .returning(password_tokens::user_id)
            .get_result(conn)
            .await
            .optional()?;
        let Some(user) = user else {
            return Ok(None);
        };
        diesel::update(users::table.find(user))
            .set((
                users::password_hash.eq(Some(&password_hash)),
                users::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
        Ok(Some(UserId::from_uuid(user)))
    })
    .await
}
