//! The confirmed visit: until it starts, staff may cancel it (with a refund); refunds,
//! charge-backs and stray payments MercadoPago reports are handled all along. Once it
//! has started, the request waits for its outcome: the vet's report (`completed`, the
//! owner gets it), or a no-show (`no_show`, the payment kept or refunded). The vet is
//! reminded after the visit's end, staff alerted at a deadline, and at the last the
//! request is completed without a report. (Histories from before reports: `completed`
//! once the visit's end plus a grace period has passed.)

use std::time::Duration;

use activities::{
    dispatch::Audience,
    payments::{CheckPayment, PaymentActivities, Verdict},
};
use chrono::{DateTime, Utc};
use domain::{Actor, RequestState};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use super::{
    ServiceRequestWorkflow,
    effects::{Woken, seconds, send_activity, to_utc},
    texts,
};

/// Confirmed visits end in `completed` (added after the first payment histories).
const VISIT_COMPLETION: &str = "visit-completion";

/// A started visit waits for its report or a no-show (added after the visit-records
/// histories).
const VISIT_REPORT: &str = "visit-report";

impl ServiceRequestWorkflow {
    /// Confirmed: until the visit starts a cancellation may come; then, after its end
    /// and the grace period, `completed`. Payment news is read all along.
    pub(super) async fn after_confirmation(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        if !Self::patched(ctx, VISIT_COMPLETION) {
            return Self::confirmed_until_cancelled(ctx).await;
        }
        let Some((start, end)) = ctx.state(|s| s.scheduled) else {
            let what = "a confirmed request has no visit time".to_owned();
            return Self::give_up(ctx, what).await;
        };
        if Self::wait_watching_payments(ctx, start).await? {
            return Self::cancel_now(ctx).await;
        }
        // From now on a cancellation is refused (the validator reads this).
        ctx.state_mut(|s| s.visit_started = true);
        if Self::patched(ctx, VISIT_REPORT) {
            return Self::await_outcome(ctx, end).await;
        }
        let grace = seconds(ctx.state(|s| s.input.policy.completion_grace_secs));
        if Self::wait_watching_payments(ctx, end + grace).await? {
            return Self::cancel_now(ctx).await;
        }
        ctx.state_mut(|s| s.closing = true);
        let reason = "the visit's time has passed".to_owned();
        Self::transition(ctx, RequestState::Completed, Actor::System, Some(reason)).await?;
        Self::visit_records_changed(ctx).await?;
        Self::notify(ctx, Audience::Owner, "completed", texts::owner_completed()).await
    }

    /// Waits until `until`, reading payment news as it comes; `true` when a
    /// cancellation arrived first.
    async fn wait_watching_payments(
        ctx: &mut WorkflowContext<Self>,
        until: DateTime<Utc>,
    ) -> WorkflowResult<bool> {
        loop {
            let Ok(wait) = (until - to_utc(ctx.workflow_time())).to_std() else {
                return Ok(false);
            };
            if wait.is_zero() {
                return Ok(false);
            }
            let news = |s: &Self| s.cancel.is_some() || !s.payment_events.is_empty();
            if Self::timer_or(ctx, wait.max(Duration::from_millis(1)), news).await? == Woken::Timer
            {
                return Ok(false);
            }
            if ctx.state(|s| s.cancel.is_some()) {
                return Ok(true);
            }
            Self::read_payment_news(ctx).await?;
        }
    }

    /// Histories from before completion existed: confirmed until a cancellation.
    async fn confirmed_until_cancelled(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        let request = ctx.state(|s| s.input.request);
        loop {
            ctx.wait_condition(|s| s.cancel.is_some() || !s.payment_events.is_empty())
                .await?;
            if ctx.state(|s| s.cancel.is_some()) {
                return Self::cancel_now(ctx).await;
            }
            let events = ctx.state_mut(|s| std::mem::take(&mut s.payment_events));
            for payment in events {
                let verdict = Self::step(
                    ctx,
                    PaymentActivities::check_payment,
                    CheckPayment { request, payment },
                    send_activity(),
                )
                .await?;
                if !matches!(verdict, Verdict::Approved { .. }) {
                    Self::weigh(ctx, verdict).await?;
                }
            }
        }
    }
}
