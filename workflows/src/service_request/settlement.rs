//! Settlement: every payment accounted for. News read in every phase; before the
//! workflow ends, and before dispatch starts again after a reassignment, MercadoPago is
//! searched and every approved payment the visit is not paid with is refunded; refunds
//! themselves, and closing the payment links of a visit that is gone.

use activities::{
    dispatch::Audience,
    payments::{ExpireLinks, PaymentActivities, RefundPayment, Verdict},
};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use super::{
    ServiceRequestWorkflow,
    effects::{REFUSALS_HANDLED, send_activity, summarized, to_utc},
    payments::PAYMENTS_SETTLED,
    texts,
};

/// Payment news that arrives while the payments are being settled is read before the
/// workflow ends (added after the saga histories).
const NEWS_READ_TO_THE_END: &str = "news-read-to-the-end";

/// A reassignment or a cancellation closes the request's payment links: the visit they
/// were for is gone (added after the saga histories).
const OLD_LINKS_CLOSED: &str = "old-links-closed";

/// A reassignment refunds what was paid for the visit that is gone before dispatch
/// starts again (added after the saga histories).
const REDISPATCH_REFUNDS: &str = "redispatch-refunds";

/// Why a payment the visit is not paid with is refunded.
#[derive(Clone, Copy)]
enum Stray {
    /// Paid twice (two tabs), or through an old link.
    Extra,
    /// Paid for the visit of the vet a reassignment took off.
    Reassigned,
}

impl Stray {
    fn when(self) -> &'static str {
        match self {
            Self::Extra => "the request closed",
            Self::Reassigned => "the vet was reassigned",
        }
    }
}

impl ServiceRequestWorkflow {
    /// Reads the payment news that came in: an approved payment the visit is not paid
    /// with (a second tab, an old link) is refunded at once; refunds and charge-backs
    /// are noted and staff told.
    pub(super) async fn read_payment_news(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        Self::read_news_refunding(ctx, Stray::Extra).await
    }

    async fn read_news_refunding(
        ctx: &mut WorkflowContext<Self>,
        why: Stray,
    ) -> WorkflowResult<()> {
        let events = ctx.state_mut(|s| std::mem::take(&mut s.payment_events));
        for payment in events {
            let Some(verdict) = Self::check_payment(ctx, payment).await? else {
                continue;
            };
            match verdict {
                Verdict::Approved { payment } | Verdict::Mismatch { payment, .. } => {
                    if ctx.state(|s| s.payment != Some(payment)) {
                        Self::refund_stray(ctx, payment, why).await?;
                    }
                }
                // The news of a refund we made ourselves.
                Verdict::Reversed { payment, .. }
                    if ctx.state(|s| s.refunded.contains(&payment)) => {}
                verdict => {
                    Self::weigh(ctx, verdict).await?;
                }
            }
        }
        Ok(())
    }

    /// Before the workflow ends: waits for updates still running, reads the news left,
    /// and asks MercadoPago for every approved payment of the request; each one the
    /// visit is not paid with is refunded, and owner and staff are told.
    pub(super) async fn settle_payments(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        Self::settle_payments_once(ctx).await?;
        // News that came while settling (the API counted it delivered) is read too, until
        // none is left: the workflow never ends with a payment it was told of unread.
        if ctx.state(|s| !s.payment_events.is_empty()) && Self::patched(ctx, NEWS_READ_TO_THE_END) {
            while ctx.state(|s| !s.payment_events.is_empty()) {
                Self::read_payment_news(ctx).await?;
            }
        }
        Ok(())
    }

    async fn settle_payments_once(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.state_mut(|s| s.closing = true);
        let handlers = ctx.clone();
        ctx.wait_condition(move |_| handlers.all_handlers_finished())
            .await?;
        if !Self::patched(ctx, PAYMENTS_SETTLED) {
            return Ok(());
        }
        Self::refund_every_stray(ctx, Stray::Extra).await
    }

    /// Before dispatch starts again after a reassignment (behind
    /// [`REDISPATCH_REFUNDS`]): the visit the payment links were for is gone, so every
    /// payment made through them is refunded, and owner and staff are told.
    pub(super) async fn refund_before_redispatch(
        ctx: &mut WorkflowContext<Self>,
    ) -> WorkflowResult<()> {
        if ctx.state(|s| s.payment_link.is_none()) || !ctx.patched(REDISPATCH_REFUNDS) {
            return Ok(());
        }
        Self::refund_every_stray(ctx, Stray::Reassigned).await
    }

    /// Reads the news left, then asks MercadoPago for every approved payment of the
    /// request: each one the visit is not paid with is refunded.
    async fn refund_every_stray(ctx: &mut WorkflowContext<Self>, why: Stray) -> WorkflowResult<()> {
        Self::read_news_refunding(ctx, why).await?;
        if ctx.state(|s| s.payment_link.is_none()) {
            return Ok(());
        }
        let request = ctx.state(|s| s.input.request);
        let approved = Self::step(
            ctx,
            PaymentActivities::approved_payments,
            request,
            send_activity(),
        )
        .await;
        let approved = match approved {
            Ok(approved) => approved,
            Err(e) => {
                let what = format!(
                    "{}, but MercadoPago could not be searched for payments to refund: {e}",
                    why.when()
                );
                return Self::trouble(ctx, what).await;
            }
        };
        for payment in approved {
            if ctx.state(|s| s.payment != Some(payment) && !s.refunded.contains(&payment)) {
                Self::refund_stray(ctx, payment, why).await?;
            }
        }
        Ok(())
    }

    /// Refunds a payment the visit is not paid with; owner and staff are told. A refund
    /// MercadoPago refuses is noted for staff to do by hand.
    async fn refund_stray(
        ctx: &mut WorkflowContext<Self>,
        payment: i64,
        why: Stray,
    ) -> WorkflowResult<()> {
        let Some(amount) = Self::refund(ctx, payment).await? else {
            return Ok(());
        };
        let (note, key, owner, staff) = match why {
            Stray::Extra => (
                format!("payment {payment} was not needed: refunded {amount}"),
                format!("stray-refund-{payment}"),
                texts::owner_stray_refund(&amount),
                texts::staff_stray_refund(payment, &amount),
            ),
            Stray::Reassigned => (
                format!("payment {payment} was for the vet taken off: refunded {amount}"),
                format!("reassigned-refund-{payment}"),
                texts::owner_reassigned_refund(&amount),
                texts::staff_reassigned_refund(payment, &amount),
            ),
        };
        Self::note(ctx, note).await?;
        Self::notify(ctx, Audience::Owner, &key, owner).await?;
        Self::notify(ctx, Audience::Staff, &key, staff).await
    }

    /// Refunds a payment in full (once per payment, whoever asks again); the amount, or
    /// `None` when MercadoPago refused, which is noted for staff to refund by hand.
    pub(super) async fn refund(
        ctx: &mut WorkflowContext<Self>,
        payment: i64,
    ) -> WorkflowResult<Option<String>> {
        let request = ctx.state(|s| s.input.request);
        let refunded = Self::step(
            ctx,
            PaymentActivities::refund_payment,
            RefundPayment {
                request,
                payment,
                idempotency_key: domain::payments::refund_key(request, payment),
            },
            send_activity(),
        )
        .await;
        match refunded {
            Ok(amount) => {
                ctx.state_mut(|s| s.refunded.push(payment));
                if ctx.state(|s| s.payment == Some(payment)) {
                    Self::ask_for_credit_note(ctx).await?;
                }
                Ok(Some(amount))
            }
            Err(e) if Self::patched(ctx, REFUSALS_HANDLED) => {
                let what =
                    format!("payment {payment} could not be refunded, refund it by hand: {e}");
                Self::trouble(ctx, what).await?;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Closes the request's payment links at MercadoPago (behind [`OLD_LINKS_CLOSED`]).
    /// Best effort: a payment that still gets through is refunded when the request
    /// ends, or by its late-payment workflow after.
    pub(super) async fn close_payment_links(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        if ctx.state(|s| s.payment_link.is_none()) || !Self::patched(ctx, OLD_LINKS_CLOSED) {
            return Ok(());
        }
        let request = ctx.state(|s| s.input.request);
        let at = to_utc(ctx.workflow_time());
        let closed = Self::step(
            ctx,
            PaymentActivities::expire_payment_links,
            ExpireLinks { request, at },
            summarized(send_activity(), "close the payment links".into()),
        )
        .await;
        if let Err(e) = closed {
            Self::trouble(ctx, format!("the old payment link stays open: {e}")).await?;
        }
        Ok(())
    }
}
