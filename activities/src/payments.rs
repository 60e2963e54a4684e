//! Activities of payment: the MercadoPago preference, checking what a payment really is
//! (never trusting a webhook's word), reconciliation, refunds, and the seam where a
//! confirmed visit goes on to the calendar, the sheet and the invoice.

use std::{str::FromStr, sync::Arc};

use chrono::{DateTime, Utc};
use domain::{
    RequestId,
    payments::{LateNews, LatePayment},
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::{
    ApplicationFailure,
    activities::{ActivityContext, ActivityError},
};

use integrations::mercadopago::{MercadoPagoClient, MercadoPagoError, Payment, PreferenceRequest};

/// Where MercadoPago calls us back and sends the payer afterwards.
#[derive(Debug, Clone)]
pub struct PaymentLinks {
    /// `{PUBLIC_BASE_URL}/api/v1/webhooks/mercadopago`.
    pub notification_url: String,
    /// Where the payer lands after paying: this, then `/success`, `/pending` or
    /// `/failure` (a page of ours saying what happens next).
    pub return_base: String,
}

impl PaymentLinks {
    pub fn from_public_base(base: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            notification_url: format!("{base}{}", domain::paths::MERCADOPAGO_WEBHOOK),
            return_base: format!("{base}{}", domain::paths::PAYMENT_RETURN),
        }
    }
}

/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatePreference {
    pub request: RequestId,
    /// Derived by the workflow, so a retry (or a replay) asks for the same preference.
    pub idempotency_key: String,
    /// The payment deadline: the link stops working then.
    pub expires_at: DateTime<Utc>,
}

/// Close the request's payment links as of `at` (workflow time, so a retry closes the
/// same ones). FROZEN wire type.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpireLinks {
    pub request: RequestId,
    pub at: DateTime<Utc>,
}

/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentLink {
    pub preference_id: String,
    pub url: String,
}

/// What a payment means for the request, checked against MercadoPago and the frozen
/// price.
///
/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Approved, for the frozen amount and currency.
    Approved { payment: i64 },
    /// Rejected or cancelled: the owner may try again.
    Rejected { payment: i64 },
    /// Approved, but not for what was asked.
    Mismatch {
        payment: i64,
        amount: String,
        currency: String,
    },
    /// Refunded or charged back after the fact.
    Reversed { payment: i64, status: String },
    /// Pending, in process, or not this request's.
    Nothing,
}

/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckPayment {
    pub request: RequestId,
    pub payment: i64,
}

/// A full refund of one payment, under its idempotency key ([`domain::payments::refund_key`]).
/// FROZEN wire type: saved histories hold it; fields and variants are only added (a field
/// with a serde default), never renamed or removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefundPayment {
    pub request: RequestId,
    pub payment: i64,
    pub idempotency_key: String,
}

pub struct PaymentActivities {
    pool: db::Pool,
    mp: MercadoPagoClient,
    links: PaymentLinks,
}

impl PaymentActivities {
    pub fn new(pool: db::Pool, mp: MercadoPagoClient, links: PaymentLinks) -> Self {
        Self { pool, mp, links }
    }

    /// Reads the payment's verdict and records the payment.
    async fn judge(&self, request: RequestId, payment: &Payment) -> Result<Verdict, ActivityError> {
        if payment.external_reference.as_deref() != Some(&request.to_string()) {
            return Ok(Verdict::Nothing);
        }
        let mut conn = db::conn(&self.pool).await?;
        db::payments::record_payment(
            &mut conn,
            payment.id,
            request,
            &payment.status,
            payment.status_detail.as_deref(),
            &payment.amount.to_string(),
            &payment.currency,
            payment.date_approved,
            &payment.raw,
        )
        .await?;
        let charge = db::payments::charge(&mut conn, request)
            .await?
            .ok_or_else(|| non_retryable(format!("request {request} has no price")))?;
        let total = Decimal::from_str(&charge.total)
            .map_err(|e| non_retryable(format!("frozen total {}: {e}", charge.total)))?;
        let id = payment.id;
        Ok(match payment.status.as_str() {
            "approved" if payment.amount == total && payment.currency == charge.currency => {
                Verdict::Approved { payment: id }
            }
            "approved" => Verdict::Mismatch {
                payment: id,
                amount: money(payment.amount),
                currency: payment.currency.clone(),
            },
            "rejected" | "cancelled" => Verdict::Rejected { payment: id },
            "refunded" | "charged_back" => Verdict::Reversed {
                payment: id,
                status: payment.status.clone(),
            },
            _ => Verdict::Nothing,
        })
    }
}

/// An amount as people read it: two decimals (`12000.00`).
fn money(mut amount: Decimal) -> String {
    amount.rescale(2);
    amount.to_string()
}

fn non_retryable(message: String) -> ActivityError {
    ActivityError::application(ApplicationFailure::non_retryable(anyhow::anyhow!(message)))
}

/// A search with payments that could not be read is a permanent failure (the same
/// answer would come back), for the workflow to hand to staff.
fn unread(search: &integrations::mercadopago::Search) -> Result<(), ActivityError> {
    match search.unreadable.as_slice() {
        [] => Ok(()),
        [first, ..] => Err(mp_error(MercadoPagoError::Unexpected(format!(
            "{} of the request's payments cannot be read ({first})",
            search.unreadable.len()
        )))),
    }
}

fn mp_error(e: MercadoPagoError) -> ActivityError {
    if e.is_retryable() {
        anyhow::Error::from(e).into()
    } else {
        ActivityError::application(ApplicationFailure::non_retryable(e))
    }
}

#[activities]
impl PaymentActivities {
    /// A Checkout Pro preference for the frozen price, expiring at the deadline. Once per
    /// idempotency key: a retry finds the one recorded, or MercadoPago answers the same.
    #[activity(name = "create_preference")]
    pub async fn create_preference(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: CreatePreference,
    ) -> Result<PaymentLink, ActivityError> {
        crate::alive(&ctx, async move {
            let mut conn = db::conn(&self.pool).await?;
            if let Some(done) = db::payments::preference(&mut conn, &input.idempotency_key).await? {
                return Ok(PaymentLink {
                    preference_id: done.id,
                    url: done.init_point,
                });
            }
            let charge = db::payments::charge(&mut conn, input.request)
                .await?
                .ok_or_else(|| non_retryable(format!("request {} has no price", input.request)))?;
            drop(conn);
            let amount = Decimal::from_str(&charge.total)
                .map_err(|e| non_retryable(format!("frozen total {}: {e}", charge.total)))?;
            let preference = self
                .mp
                .create_preference(
                    &PreferenceRequest {
                        title: charge.title,
                        amount,
                        external_reference: input.request.to_string(),
                        notification_url: self.links.notification_url.clone(),
                        return_base: self.links.return_base.clone(),
                        expires_at: input.expires_at,
                        payer_email: charge.payer_email,
                        payer_name: charge.payer_name,
                    },
                    &input.idempotency_key,
                )
                .await
                .map_err(mp_error)?;
            let mut conn = db::conn(&self.pool).await?;
            db::payments::insert_preference(
                &mut conn,
                &preference.id,
                input.request,
                &input.idempotency_key,
                &preference.init_point,
                &charge.total,
                input.expires_at,
            )
            .await?;
            tracing::info!(request = %input.request, preference = %preference.id, "payment link created");
            Ok(PaymentLink {
                preference_id: preference.id,
                url: preference.init_point,
            })
        })
        .await
    }

    /// Fetches the payment from MercadoPago (a webhook only says "look at payment N")
    /// and judges it against the frozen price.
    #[activity(name = "check_payment")]
    pub async fn check_payment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: CheckPayment,
    ) -> Result<Verdict, ActivityError> {
        crate::alive(&ctx, async move {
            let payment = self.mp.payment(input.payment).await.map_err(mp_error)?;
            let verdict = self.judge(input.request, &payment).await?;
            tracing::info!(request = %input.request, payment = input.payment, status = %payment.status, ?verdict, "payment checked");
            Ok(verdict)
        })
        .await
    }

    /// Before giving up on a payment: asks MercadoPago for every payment of the request,
    /// in case a webhook was lost. The approved one wins; otherwise the latest verdict.
    #[activity(name = "reconcile_payments")]
    pub async fn reconcile_payments(
        self: Arc<Self>,
        ctx: ActivityContext,
        request: RequestId,
    ) -> Result<Verdict, ActivityError> {
        crate::alive(&ctx, async move {
            let search = self
                .mp
                .search(&request.to_string())
                .await
                .map_err(mp_error)?;
            let mut found = Verdict::Nothing;
            for payment in &search.payments {
                let verdict = self.judge(request, payment).await?;
                if matches!(verdict, Verdict::Approved { .. }) {
                    return Ok(verdict);
                }
                if matches!(verdict, Verdict::Mismatch { .. }) || found == Verdict::Nothing {
                    found = verdict;
                }
            }
            // A payment that cannot be read may be the approved one: nobody may take
            // the request for unpaid on the word of the others.
            unread(&search)?;
            Ok(found)
        })
        .await
    }

    /// Every approved payment MercadoPago holds for the request (for any amount): at the
    /// end of a request, each one the visit is not paid with is refunded.
    #[activity(name = "approved_payments")]
    pub async fn approved_payments(
        self: Arc<Self>,
        ctx: ActivityContext,
        request: RequestId,
    ) -> Result<Vec<i64>, ActivityError> {
        crate::alive(&ctx, async move {
            let search = self
                .mp
                .search(&request.to_string())
                .await
                .map_err(mp_error)?;
            // A payment that cannot be read may be one to refund: the workflow hands the
            // search to staff instead of closing with it unaccounted for.
            unread(&search)?;
            let mut approved = Vec::new();
            for payment in &search.payments {
                match self.judge(request, payment).await? {
                    Verdict::Approved { payment } | Verdict::Mismatch { payment, .. } => {
                        approved.push(payment);
                    }
                    _ => {}
                }
            }
            Ok(approved)
        })
        .await
    }

    /// Closes the request's open payment links as of `at` (a reassignment: the old
    /// link's visit is gone). A link MercadoPago no longer knows counts as closed.
    #[activity(name = "expire_payment_links")]
    pub async fn expire_payment_links(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: ExpireLinks,
    ) -> Result<u32, ActivityError> {
        crate::alive(&ctx, async move {
            let mut conn = db::conn(&self.pool).await?;
            let open = db::payments::open_preferences(&mut conn, input.request, input.at).await?;
            drop(conn);
            let mut closed = 0;
            for id in open {
                match self.mp.expire_preference(&id, input.at).await {
                    Ok(()) | Err(MercadoPagoError::Refused { status: 404, .. }) => {}
                    Err(e) => return Err(mp_error(e)),
                }
                let mut conn = db::conn(&self.pool).await?;
                db::payments::expire_preference(&mut conn, &id, input.at).await?;
                closed += 1;
            }
            tracing::info!(request = %input.request, closed, "payment links closed");
            Ok(closed)
        })
        .await
    }

    /// A closed request's payment news: the payment is fetched and recorded, and weighed
    /// against what was known of it when the news came.
    #[activity(name = "late_payment")]
    pub async fn late_payment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: LatePayment,
    ) -> Result<LateNews, ActivityError> {
        crate::alive(&ctx, async move {
            let payment = self.mp.payment(input.payment).await.map_err(mp_error)?;
            if payment.external_reference.as_deref() != Some(&input.request.to_string()) {
                return Ok(LateNews::Nothing);
            }
            self.judge(input.request, &payment).await?;
            let news = LateNews::weigh(input.known_status.as_deref(), &payment.status);
            tracing::warn!(request = %input.request, payment = input.payment, status = %payment.status, ?news, "payment news for a closed request");
            Ok(news)
        })
        .await
    }

    /// Refunds a payment in full, once per key, and records it.
    #[activity(name = "refund_payment")]
    pub async fn refund_payment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: RefundPayment,
    ) -> Result<String, ActivityError> {
        crate::alive(&ctx, async move {
            let refund = self
                .mp
                .refund(input.payment, &input.idempotency_key)
                .await
                .map_err(mp_error)?;
            let amount = money(refund.amount);
            let mut conn = db::conn(&self.pool).await?;
            db::payments::record_refund(&mut conn, input.payment, &amount).await?;
            tracing::info!(request = %input.request, payment = input.payment, refund = refund.id, "refunded");
            Ok(amount)
        })
        .await
    }

    /// The seam of a confirmed visit: the calendar event, the sheet row and the invoice
    /// go here. For now it checks the visit is booked.
    #[activity(name = "confirm_visit")]
    pub async fn confirm_visit(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: RequestId,
    ) -> Result<(), ActivityError> {
        let mut conn = db::conn(&self.pool).await?;
        let booked = db::visits::has_visit(&mut conn, request).await?;
        if !booked {
            return Err(non_retryable(format!(
                "request {request} has no booked visit"
            )));
        }
        Ok(())
    }
}
