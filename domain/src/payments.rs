//! Payments as far as they are rules and not calls: what news of a payment that came
//! after its request ended means, and the MercadoPago idempotency key of each payment
//! operation (one function per key, used by every workflow that asks).

use serde::{Deserialize, Serialize};

use crate::RequestId;

/// News of a payment whose request is over (its workflow closed). FROZEN wire type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatePayment {
    pub request: RequestId,
    pub payment: i64,
    /// What our records said of the payment when the news came (`None`: never seen).
    pub known_status: Option<String>,
}

/// What to do about a [`LatePayment`]. FROZEN wire type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LateNews {
    /// Approved, and nobody will use it: refund it.
    Refund,
    /// A payment we held changed after the end (charged back, refunded, in mediation):
    /// staff must know.
    Changed { from: String, to: String },
    /// Nothing new: the visit's own payment told again, a rejection, not this request's.
    Nothing,
}

impl LateNews {
    /// Weighs MercadoPago's `status` against what we knew.
    pub fn weigh(known: Option<&str>, status: &str) -> Self {
        match (known, status) {
            (Some(known), status) if known == status => Self::Nothing,
            // (Recorded as approved while the request ran is the visit's payment, told
            // again: the arm above. A stray one was refunded then, or staff told why not.)
            (_, "approved") => Self::Refund,
            (Some(from), to) if from == "approved" || from == "refunded" => Self::Changed {
                from: from.to_owned(),
                to: to.to_owned(),
            },
            _ => Self::Nothing,
        }
    }
}

/// The MercadoPago idempotency key of refunding `payment` of `request`: one refund per
/// payment, whoever asks (the request's workflow, a late payment's).
pub fn refund_key(request: RequestId, payment: i64) -> String {
    format!("refund:{request}:{payment}")
}

/// The idempotency key of the payment link made at state-history step `seq`: a retry or a
/// replay asks for the same preference; a new coordination (a later step) for a new one.
pub fn preference_key(request: RequestId, seq: i32) -> String {
    format!("preference:{request}:{seq}")
}

#[cfg(test)]
mod tests {
    use super::LateNews;

    #[test]
    fn late_news_is_weighed_against_what_was_known() {
        // A payment nobody will use goes back; the visit's own, told again, stays.
        assert_eq!(LateNews::weigh(None, "approved"), LateNews::Refund);
        assert_eq!(
            LateNews::weigh(Some("approved"), "approved"),
            LateNews::Nothing
        );
        // A held payment that moved is for staff.
        assert_eq!(
            LateNews::weigh(Some("approved"), "charged_back"),
            LateNews::Changed {
                from: "approved".into(),
                to: "charged_back".into()
            }
        );
        assert!(matches!(
            LateNews::weigh(Some("refunded"), "charged_back"),
            LateNews::Changed { .. }
        ));
        // Already refunded, a rejection, a pending one: nothing to do.
        assert_eq!(
            LateNews::weigh(Some("refunded"), "refunded"),
            LateNews::Nothing
        );
        assert_eq!(LateNews::weigh(None, "rejected"), LateNews::Nothing);
        // Pending until after the end: nobody will use it either.
        assert_eq!(
            LateNews::weigh(Some("pending"), "approved"),
            LateNews::Refund
        );
    }
}
