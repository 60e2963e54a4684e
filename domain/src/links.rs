//! Signed links: a small JSON payload and its HMAC-SHA256, both base64url without
//! padding (`payload.signature`), with an expiry inside. Offer links
//! ([`crate::dispatch::OfferToken`]) and report links ([`ReportLink`]) are made this
//! way with the secret the worker and the API share; what each payload holds keeps one
//! kind from being read as the other.

use serde::{Deserialize, Serialize, de::DeserializeOwned};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the link is malformed")]
    Malformed,
    #[error("the link's signature is not ours")]
    BadSignature,
    #[error("the link has expired")]
    Expired,
}

/// A payload that carries when it stops working (Unix seconds).
pub trait Expiring {
    fn expires_at(&self) -> i64;
}

/// `payload.signature` of `value`.
pub fn sign<T: Serialize>(value: &T, secret: &[u8]) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default());
    let signature = URL_SAFE_NO_PAD.encode(mac(secret, payload.as_bytes()));
    format!("{payload}.{signature}")
}

/// The payload of `raw`, if it was signed with `secret` and has not expired at `now`.
pub fn verify<T: DeserializeOwned + Expiring>(
    raw: &str,
    secret: &[u8],
    now: i64,
) -> Result<T, TokenError> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use hmac::Mac;
    let (payload, signature) = raw.split_once('.').ok_or(TokenError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    let mut check =
        <hmac::Hmac<sha2::Sha256>>::new_from_slice(secret).map_err(|_| TokenError::BadSignature)?;
    check.update(payload.as_bytes());
    // Constant-time comparison.
    check
        .verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed)?;
    let token: T = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    if now >= token.expires_at() {
        return Err(TokenError::Expired);
    }
    Ok(token)
}

fn mac(secret: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::Mac;
    let mut mac =
        <hmac::Hmac<sha2::Sha256>>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The kind mark of a report link's payload.
const REPORT: &str = "report";

/// A link to a visit's report as a PDF, sent to its owner: whoever holds it reads that
/// one report, without signing in, until it expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportLink {
    #[serde(rename = "k")]
    kind: String,
    #[serde(rename = "vi")]
    pub visit: uuid::Uuid,
    #[serde(rename = "e")]
    pub expires_at: i64,
}

impl Expiring for ReportLink {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

impl ReportLink {
    /// How long a report link works: 90 days.
    pub const LIFETIME_SECS: i64 = 90 * 24 * 60 * 60;

    pub fn new(visit: uuid::Uuid, expires_at: i64) -> Self {
        Self {
            kind: REPORT.to_owned(),
            visit,
            expires_at,
        }
    }

    pub fn sign(&self, secret: &[u8]) -> String {
        sign(self, secret)
    }

    /// The link, if `raw` is a report link signed with `secret`, unexpired at `now`.
    pub fn verify(raw: &str, secret: &[u8], now: i64) -> Result<Self, TokenError> {
        let link: Self = verify(raw, secret, now)?;
        if link.kind != REPORT {
            return Err(TokenError::Malformed);
        }
        Ok(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::OfferToken;
    use uuid::Uuid;

    const SECRET: &[u8] = b"a link secret of enough length!!";

    #[test]
    fn a_report_link_opens_its_report_until_it_expires() {
        let link = ReportLink::new(Uuid::from_u128(5), 1_000);
        let raw = link.sign(SECRET);
        assert_eq!(ReportLink::verify(&raw, SECRET, 999), Ok(link));
        assert_eq!(
            ReportLink::verify(&raw, SECRET, 1_000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            ReportLink::verify(&raw, b"another secret, another server!!", 0),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn an_offer_link_is_not_a_report_link_nor_the_other_way_round() {
        let offer = OfferToken {
            request: crate::RequestId::from_uuid(Uuid::from_u128(42)),
            vet: crate::VetId::from_uuid(Uuid::from_u128(7)),
            offer_no: 2,
            expires_at: 1_000,
        };
        let raw = offer.sign(SECRET);
        assert_eq!(
            ReportLink::verify(&raw, SECRET, 0),
            Err(TokenError::Malformed)
        );
        let report = ReportLink::new(Uuid::from_u128(5), 1_000).sign(SECRET);
        assert_eq!(
            OfferToken::verify(&report, SECRET, 0),
            Err(TokenError::Malformed)
        );
    }
}
