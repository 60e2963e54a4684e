//! Idempotent endpoints: the caller's `Idempotency-Key`, the hash of what it asked, and
//! claim-or-replay. Inside the caller's transaction, [`claim`] records the key (a
//! concurrent request with the same key waits on it until the first commits) and answers
//! the stored response of a retry; the same key with another body is refused. Checkout
//! uses it; the next idempotent endpoint reuses it.

use axum::http::HeaderMap;
use diesel_async::AsyncPgConnection;
use domain::OwnerId;
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// The `Idempotency-Key` header: 1 to 200 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key of a request, or `422` naming `Idempotency-Key`.
    pub fn from_headers(headers: &HeaderMap) -> Result<Self, ApiError> {
        let field = "Idempotency-Key";
        let key = headers
            .get("idempotency-key")
            .ok_or_else(|| {
                ApiError::invalid(
                    field,
                    "the header is required (a unique value per call, e.g. a UUID)",
                )
            })?
            .to_str()
            .map_err(|_| ApiError::invalid(field, "must be visible ASCII"))?
            .trim()
            .to_owned();
        if key.is_empty() || key.len() > 200 {
            return Err(ApiError::invalid(field, "must be 1 to 200 characters"));
        }
        Ok(Self(key))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The hash of what was asked, in a canonical form (the caller sorts what order does
/// not matter in): a retry must ask the same.
pub fn request_hash<T: Serialize>(asked: &T) -> Result<Vec<u8>, ApiError> {
    let bytes = serde_json::to_vec(asked).map_err(anyhow::Error::from)?;
    Ok(Sha256::digest(bytes).to_vec())
}

/// Claims `key` for `owner`: `None` when it is new (go on, then [`record`]), the first
/// response when it is a retry of the same request; `422` when the key was used for
/// another one.
pub async fn claim<T: DeserializeOwned>(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    key: &IdempotencyKey,
    hash: &[u8],
) -> Result<Option<T>, ApiError> {
    let Some(earlier) = db::cart::claim_key(conn, owner, key.as_str(), hash).await? else {
        return Ok(None);
    };
    if earlier.request_hash != hash {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            "already used for a different request; use a new key",
        ));
    }
    let response = earlier
        .response
        .ok_or_else(|| anyhow::anyhow!("a claimed key without a response"))?;
    Ok(Some(
        serde_json::from_value(response).map_err(anyhow::Error::from)?,
    ))
}

/// Stores the response a retry with `key` will get, in the same transaction.
pub async fn record<T: Serialize>(
    conn: &mut AsyncPgConnection,
    owner: OwnerId,
    key: &IdempotencyKey,
    response: &T,
) -> Result<(), ApiError> {
    let value = serde_json::to_value(response).map_err(anyhow::Error::from)?;
    db::cart::record_response(conn, owner, key.as_str(), &value).await?;
    Ok(())
}
