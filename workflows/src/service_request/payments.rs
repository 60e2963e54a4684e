//! Payment: a MercadoPago link for the frozen total, reminders, the webhooks' news and a
//! last search at the deadline; then `payed` and `confirmed`, or `expired` unpaid.

use std::time::Duration;

use activities::{
    dispatch::Audience,
    payments::{CheckPayment, CreatePreference, PaymentActivities, Verdict},
};
use chrono::{DateTime, Utc};
use domain::{Actor, RequestState};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use super::{
    ServiceRequestWorkflow,
    effects::{REFUSALS_HANDLED, Woken, db_activity, seconds, send_activity, to_utc},
    texts,
};

/// How collecting the payment ended.
pub(super) enum Collected {
    Paid(i64),
    Unpaid,
    /// A reassignment or cancellation arrived.
    Interrupted,
    /// MercadoPago refused the payment link: the request cannot be paid.
    Refused(String),
}

/// Payment news left unread by the payment phase is read later; at the end every
/// approved payment the visit is not paid with is refunded (added after the first
/// payment histories).
pub(super) const PAYMENTS_SETTLED: &str = "payments-settled";

impl ServiceRequestWorkflow {
    /// The payment link, reminders, and the webhooks' news until paid or the deadline
    /// (when MercadoPago is searched once more, in case a webhook was lost).
    pub(super) async fn collect_payment(
        ctx: &mut WorkflowContext<Self>,
    ) -> WorkflowResult<Collected> {
        let (request, policy, seq, scheduled) =
            ctx.state(|s| (s.input.request, s.input.policy, s.seq, s.scheduled));
        let started = to_utc(ctx.workflow_time());
        // Never later than the visit itself.
        let deadline = (started + seconds(policy.payment_deadline_secs))
            .min(scheduled.map_or(DateTime::<Utc>::MAX_UTC, |(start, _)| start));
        // An ordinary activity in every shape: its input (the link's expiry, from the
        // workflow's clock) is fixed in the history when it is scheduled, so a retry
        // after a worker dies sends MercadoPago the same body under the same idempotency
        // key. A local step's input is computed again when its task runs again, at
        // another time, and MercadoPago refuses a key reused with another body.
        let link = ctx
            .execute_activity(
                PaymentActivities::create_preference,
                CreatePreference {
                    request,
                    idempotency_key: domain::payments::preference_key(request, seq),
                    expires_at: deadline,
                },
                send_activity(),
            )
            .await;
        let link = match link {
            Ok(link) => link,
            Err(e) if Self::patched(ctx, REFUSALS_HANDLED) => {
                return Ok(Collected::Refused(format!("no payment link: {e}")));
            }
            Err(e) => return Err(e.into()),
        };
        ctx.state_mut(|s| s.payment_link = Some(link.url.clone()));
        let text = texts::owner_payment_link(&texts::when(scheduled), &link.url, deadline);
        Self::notify(ctx, Audience::Owner, "payment-link", text).await?;

        let mut reminders: u32 = 0;
        loop {
            let next_reminder = (policy.payment_reminder_secs > 0).then(|| {
                started
                    + seconds(policy.payment_reminder_secs)
                        * i32::try_from(reminders + 1).unwrap_or(i32::MAX)
            });
            let (wake_at, at_deadline) = match next_reminder {
                Some(at) if at < deadline => (at, false),
                _ => (deadline, true),
            };
            let wait = (wake_at - to_utc(ctx.workflow_time()))
                .to_std()
                .unwrap_or(Duration::ZERO);
            let news = |s: &Self| {
                !s.payment_events.is_empty() || s.reassign.is_some() || s.cancel.is_some()
            };
            let woken = Self::timer_or(ctx, wait.max(Duration::from_millis(1)), news).await?;
            if woken == Woken::Condition {
                if ctx.state(|s| s.reassign.is_some() || s.cancel.is_some()) {
                    return Ok(Collected::Interrupted);
                }
                // Until the news is weighed, a reassignment is refused as busy: the
                // visit may be paid by the time the workflow could act on it.
                ctx.state_mut(|s| s.checking_payment = true);
                let paid = Self::first_approved(ctx).await;
                ctx.state_mut(|s| s.checking_payment = false);
                if let Some(paid) = paid? {
                    return Ok(Collected::Paid(paid));
                }
                continue;
            }
            if at_deadline {
                ctx.state_mut(|s| s.checking_payment = true);
                let verdict = Self::reconcile(ctx).await;
                let paid = match verdict? {
                    Some(verdict) => Self::weigh(ctx, verdict).await,
                    // Unknown whether it was paid: staff were told; the time is released,
                    // and a payment found later is refunded when the request closes.
                    None => Ok(None),
                };
                ctx.state_mut(|s| s.checking_payment = false);
                return Ok(match paid? {
                    Some(paid) => Collected::Paid(paid),
                    None => Collected::Unpaid,
                });
            }
            reminders += 1;
            let url = ctx.state(|s| s.payment_link.clone()).unwrap_or_default();
            let key = format!("payment-reminder-{reminders}");
            let text = texts::owner_payment_reminder(&url, deadline);
            Self::notify(ctx, Audience::Owner, &key, text).await?;
        }
    }

    /// Checks the payments MercadoPago told of, in order, and weighs each: the first
    /// approved one, with the news after it left for when the visit is confirmed.
    async fn first_approved(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<Option<i64>> {
        let events = ctx.state_mut(|s| std::mem::take(&mut s.payment_events));
        for (i, &payment) in events.iter().enumerate() {
            let Some(verdict) = Self::check_payment(ctx, payment).await? else {
                continue;
            };
            if let Some(paid) = Self::weigh(ctx, verdict).await? {
                if Self::patched(ctx, PAYMENTS_SETTLED) {
                    // The rest is read once the visit is confirmed.
                    let rest = events[i + 1..].to_vec();
                    ctx.state_mut(|s| {
                        s.payment_events.splice(0..0, rest);
                    });
                }
                return Ok(Some(paid));
            }
        }
        Ok(None)
    }

    /// Acts on what a payment turned out to be; the approved payment's id, if it is one.
    pub(super) async fn weigh(
        ctx: &mut WorkflowContext<Self>,
        verdict: Verdict,
    ) -> WorkflowResult<Option<i64>> {
        match verdict {
            Verdict::Approved { payment } => return Ok(Some(payment)),
            Verdict::Rejected { payment } => {
                let key = format!("payment-rejected-{payment}");
                Self::notify(ctx, Audience::Owner, &key, texts::owner_payment_rejected()).await?;
            }
            Verdict::Mismatch {
                payment,
                amount,
                currency,
            } => {
                let key = format!("payment-mismatch-{payment}");
                let text = texts::staff_payment_mismatch(payment, &amount, &currency);
                Self::notify(ctx, Audience::Staff, &key, text).await?;
            }
            Verdict::Reversed { payment, status } => {
                let reason = format!("MercadoPago reports payment {payment} {status}");
                Self::note(ctx, reason).await?;
                let key = format!("payment-{status}-{payment}");
                let text = texts::staff_payment_reversed(payment, &status);
                Self::notify(ctx, Audience::Staff, &key, text).await?;
            }
            Verdict::Nothing => {}
        }
        Ok(None)
    }

    /// Paid: `payed`, the confirmation seam (calendar, sheet, invoice), `confirmed`, and
    /// owner and vet are told. `Err` with why when the visit cannot be confirmed (the
    /// caller compensates: refund, release, staff told).
    pub(super) async fn confirm(
        ctx: &mut WorkflowContext<Self>,
        payment: i64,
    ) -> WorkflowResult<Result<(), String>> {
        let request = ctx.state_mut(|s| {
            s.payment = Some(payment);
            s.input.request
        });
        let reason = format!("MercadoPago payment {payment} approved");
        Self::transition(ctx, RequestState::Payed, Actor::System, Some(reason)).await?;
        let confirmed = Self::step(
            ctx,
            PaymentActivities::confirm_visit,
            request,
            db_activity(),
        )
        .await;
        match confirmed {
            Ok(()) => {}
            Err(e) if Self::patched(ctx, REFUSALS_HANDLED) => {
                return Ok(Err(format!("the paid visit could not be confirmed: {e}")));
            }
            Err(e) => return Err(e.into()),
        }
        Self::transition(ctx, RequestState::Confirmed, Actor::System, None).await?;
        let when = texts::when(ctx.state(|s| s.scheduled));
        let text = texts::owner_confirmed(&when);
        Self::notify(ctx, Audience::Owner, "confirmed", text).await?;
        Self::notify(ctx, Audience::Vet, "confirmed", texts::vet_confirmed(&when)).await?;
        Self::start_visit_records(ctx).await?;
        Ok(Ok(()))
    }

    /// What MercadoPago says of a payment; `None` (noted, staff alerted) when it cannot
    /// say: refused (an unknown id), or away past the give-up time.
    pub(super) async fn check_payment(
        ctx: &mut WorkflowContext<Self>,
        payment: i64,
    ) -> WorkflowResult<Option<Verdict>> {
        let request = ctx.state(|s| s.input.request);
        let verdict = Self::step(
            ctx,
            PaymentActivities::check_payment,
            CheckPayment { request, payment },
            send_activity(),
        )
        .await;
        match verdict {
            Ok(verdict) => Ok(Some(verdict)),
            Err(e) if Self::patched(ctx, REFUSALS_HANDLED) => {
                Self::trouble(ctx, format!("payment {payment} could not be checked: {e}")).await?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every payment MercadoPago holds for the request, judged: the approved one wins.
    /// `None` (noted, staff alerted) when MercadoPago cannot be asked.
    pub(super) async fn reconcile(
        ctx: &mut WorkflowContext<Self>,
    ) -> WorkflowResult<Option<Verdict>> {
        let request = ctx.state(|s| s.input.request);
        let verdict = Self::step(
            ctx,
            PaymentActivities::reconcile_payments,
            request,
            send_activity(),
        )
        .await;
        match verdict {
            Ok(verdict) => Ok(Some(verdict)),
            Err(e) if Self::patched(ctx, REFUSALS_HANDLED) => {
                let what =
                    format!("MercadoPago could not be searched for this request's payments: {e}");
                Self::trouble(ctx, what).await?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Not paid by the deadline: `expired`, the vet's time released, both told.
    pub(super) async fn expire_unpaid(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        let (request, scheduled) = ctx.state(|s| (s.input.request, s.scheduled));
        Self::release_visit(ctx, request).await?;
        ctx.state_mut(|s| s.closing = true);
        let reason = "not paid by the deadline".to_owned();
        Self::transition(ctx, RequestState::Expired, Actor::System, Some(reason)).await?;
        let when = texts::when(scheduled);
        Self::notify(ctx, Audience::Owner, "unpaid", texts::owner_unpaid(&when)).await?;
        Self::notify(ctx, Audience::Vet, "unpaid", texts::vet_unpaid(&when)).await
    }
}
