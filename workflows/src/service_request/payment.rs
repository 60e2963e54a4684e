//! Payment: a MercadoPago link for the frozen total, reminders, the webhooks' news and a
//! last search at the deadline; then `payed` and `confirmed`, or `expired` unpaid.

use std::time::Duration;

use activities::{
    dispatch::{Audience, DispatchActivities},
    payments::{CheckPayment, CreatePreference, PaymentActivities, Verdict},
};
use chrono::{DateTime, Utc};
use domain::{Actor, RequestState};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use super::{
    ServiceRequestWorkflow,
    effects::{Woken, db_activity, seconds, send_activity, to_utc},
    texts,
};

/// How collecting the payment ended.
pub(super) enum Collected {
    Paid(i64),
    Unpaid,
    /// A reassignment or cancellation arrived.
    Interrupted,
}

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
        let link = ctx
            .execute_activity(
                PaymentActivities::create_preference,
                CreatePreference {
                    request,
                    idempotency_key: format!("preference:{request}:{seq}"),
                    expires_at: deadline,
                },
                send_activity(),
            )
            .await?;
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
                let events = ctx.state_mut(|s| std::mem::take(&mut s.payment_events));
                for payment in events {
                    let verdict = ctx
                        .execute_activity(
                            PaymentActivities::check_payment,
                            CheckPayment { request, payment },
                            send_activity(),
                        )
                        .await?;
                    if let Some(paid) = Self::weigh(ctx, verdict).await? {
                        return Ok(Collected::Paid(paid));
                    }
                }
                continue;
            }
            if at_deadline {
                let verdict = ctx
                    .execute_activity(
                        PaymentActivities::reconcile_payments,
                        request,
                        send_activity(),
                    )
                    .await?;
                return Ok(match Self::weigh(ctx, verdict).await? {
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
    /// owner and vet are told.
    pub(super) async fn confirm(
        ctx: &mut WorkflowContext<Self>,
        payment: i64,
    ) -> WorkflowResult<()> {
        let request = ctx.state_mut(|s| {
            s.payment = Some(payment);
            s.input.request
        });
        let reason = format!("MercadoPago payment {payment} approved");
        Self::transition(ctx, RequestState::Payed, Actor::System, Some(reason)).await?;
        ctx.execute_activity(PaymentActivities::confirm_visit, request, db_activity())
            .await?;
        Self::transition(ctx, RequestState::Confirmed, Actor::System, None).await?;
        let when = texts::when(ctx.state(|s| s.scheduled));
        Self::notify(
            ctx,
            Audience::Owner,
            "confirmed",
            texts::owner_confirmed(&when),
        )
        .await?;
        Self::notify(ctx, Audience::Vet, "confirmed", texts::vet_confirmed(&when)).await
    }

    /// Not paid by the deadline: `expired`, the vet's time released, both told.
    pub(super) async fn expire_unpaid(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        let (request, scheduled) = ctx.state(|s| (s.input.request, s.scheduled));
        ctx.execute_activity(DispatchActivities::release_visit, request, db_activity())
            .await?;
        ctx.state_mut(|s| s.scheduled = None);
        let reason = "not paid by the deadline".to_owned();
        Self::transition(ctx, RequestState::Expired, Actor::System, Some(reason)).await?;
        let when = texts::when(scheduled);
        Self::notify(ctx, Audience::Owner, "unpaid", texts::owner_unpaid(&when)).await?;
        Self::notify(ctx, Audience::Vet, "unpaid", texts::vet_unpaid(&when)).await
    }
}
