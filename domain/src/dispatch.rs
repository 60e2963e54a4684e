//! Who is offered a visit first, and the signed links vets answer offers with.
//!
//! Ranking rule (documented for staff, tested below):
//! 1. the vet the owner asked for, if they are a candidate;
//! 2. then fewest visits already booked that local day (spread the work);
//! 3. then fewest offers currently open (don't pile offers on one vet);
//! 4. then the vet id, so the order is total and the same on every replay.

use crate::VetId;

/// A vet who covers the address, has the specialty and is available in the window, with
/// what the ranking looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub vet: VetId,
    pub visits_that_day: u32,
    pub open_offers: u32,
}

/// The candidates in the order offers go out.
pub fn rank(mut candidates: Vec<Candidate>, requested: Option<VetId>) -> Vec<VetId> {
    candidates.sort_by(|a, b| {
        let key = |c: &Candidate| {
            (
                Some(c.vet) != requested,
                c.visits_that_day,
                c.open_offers,
                c.vet.into_uuid(),
            )
        };
        key(a).cmp(&key(b))
    });
    candidates.dedup_by(|a, b| a.vet == b.vet);
    candidates.into_iter().map(|c| c.vet).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn vet(n: u128) -> VetId {
        VetId::from_uuid(Uuid::from_u128(n))
    }

    fn candidate(n: u128, visits: u32, offers: u32) -> Candidate {
        Candidate {
            vet: vet(n),
            visits_that_day: visits,
            open_offers: offers,
        }
    }

    #[test]
    fn fewest_visits_then_fewest_open_offers_then_id() {
        let ranked = rank(
            vec![
                candidate(1, 2, 0),
                candidate(2, 0, 3),
                candidate(3, 0, 1),
                candidate(4, 1, 0),
                candidate(5, 0, 1),
            ],
            None,
        );
        assert_eq!(ranked, [vet(3), vet(5), vet(2), vet(4), vet(1)]);
    }

    #[test]
    fn the_requested_vet_goes_first_when_they_are_a_candidate() {
        let all = vec![candidate(1, 0, 0), candidate(2, 5, 5)];
        assert_eq!(rank(all.clone(), Some(vet(2))), [vet(2), vet(1)]);
        assert_eq!(
            rank(all, Some(vet(9))),
            [vet(1), vet(2)],
            "not a candidate: ignored"
        );
    }

    #[test]
    fn the_order_does_not_depend_on_the_input_order_and_nobody_appears_twice() {
        let a = vec![candidate(1, 1, 1), candidate(2, 1, 1), candidate(1, 1, 1)];
        let mut b = a.clone();
        b.reverse();
        assert_eq!(rank(a, None), rank(b, None));
        assert_eq!(
            rank(vec![candidate(7, 0, 0), candidate(7, 0, 0)], None),
            [vet(7)]
        );
        assert!(rank(Vec::new(), None).is_empty());
    }
}

/// What an offer link carries: signed, bound to one request, vet and offer, expiring with
/// the offer. (That it works once is the offer's business: an answered offer is closed.)
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OfferToken {
    #[serde(rename = "r")]
    pub request: crate::RequestId,
    #[serde(rename = "v")]
    pub vet: VetId,
    /// The offer's number within the request (1, 2, …).
    #[serde(rename = "o")]
    pub offer_no: i32,
    /// Unix seconds after which the link no longer works.
    #[serde(rename = "e")]
    pub expires_at: i64,
}

pub use crate::links::TokenError;

impl crate::links::Expiring for OfferToken {
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

impl OfferToken {
    /// `payload.signature`, both base64url without padding; HMAC-SHA256 over the payload.
    pub fn sign(&self, secret: &[u8]) -> String {
        crate::links::sign(self, secret)
    }

    /// The token, if `raw` was signed with `secret` and has not expired at `now`.
    pub fn verify(raw: &str, secret: &[u8], now: i64) -> Result<Self, TokenError> {
        crate::links::verify(raw, secret, now)
    }
}

#[cfg(test)]
mod token_tests {
    use super::*;
    use uuid::Uuid;

    const SECRET: &[u8] = b"a link secret of enough length!!";

    fn token() -> OfferToken {
        OfferToken {
            request: crate::RequestId::from_uuid(Uuid::from_u128(42)),
            vet: VetId::from_uuid(Uuid::from_u128(7)),
            offer_no: 2,
            expires_at: 1_000,
        }
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let raw = token().sign(SECRET);
        assert_eq!(OfferToken::verify(&raw, SECRET, 999), Ok(token()));
        assert_eq!(
            OfferToken::verify(&raw, SECRET, 1_000),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn a_tampered_or_foreign_link_is_refused() {
        use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
        let raw = token().sign(SECRET);
        assert_eq!(
            OfferToken::verify(&raw, b"another secret, another server!!", 0),
            Err(TokenError::BadSignature)
        );
        // Someone else's vet id in the payload, the old signature kept.
        let (_, signature) = raw.split_once('.').expect("two parts");
        let forged = OfferToken {
            vet: VetId::from_uuid(Uuid::from_u128(8)),
            ..token()
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("json"));
        assert_eq!(
            OfferToken::verify(&format!("{payload}.{signature}"), SECRET, 0),
            Err(TokenError::BadSignature)
        );
        for junk in ["", "abc", "a.b", "..", "%%%.%%%"] {
            assert!(OfferToken::verify(junk, SECRET, 0).is_err(), "{junk:?}");
        }
    }
}
