//! Cancellation, by the owner before payment or by staff: a payment is found and
//! refunded, the vet's time released, `cancelled`, and everyone told. Giving up on a
//! request that cannot go on ends the same way, with a `needs attention` note.

use activities::{dispatch::Audience, payments::Verdict};
use domain::{Actor, RequestState};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use super::{Cancel, OfferStatus, ServiceRequestWorkflow, effects::ATTENTION, texts};

impl ServiceRequestWorkflow {
    /// A cancellation: a payment is refunded, the vet's time released, `cancelled`.
    pub(super) async fn cancel_now(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.state_mut(|s| s.closing = true);
        Self::let_coordination_settle(ctx).await?;
        let (request, mut payment, had_vet, link) = ctx.state(|s| {
            (
                s.input.request,
                s.payment,
                s.vet.is_some(),
                s.payment_link.is_some(),
            )
        });
        if payment.is_none() && link {
            // The owner may have paid a moment ago, the news not here yet: ask
            // MercadoPago, so that a payment is never kept for a cancelled visit.
            if let Some(Verdict::Approved { payment: found }) = Self::reconcile(ctx).await? {
                payment = Some(found);
            }
        }
        let Cancel { actor, reason } = ctx
            .state_mut(|s| s.cancel.take())
            .unwrap_or_else(|| unreachable!("called with a cancellation pending"));
        ctx.state_mut(|s| {
            for offer in &mut s.offers {
                if offer.status == OfferStatus::Open {
                    offer.status = OfferStatus::Closed;
                }
            }
        });
        // Nobody may pay for a visit that is not happening.
        Self::close_payment_links(ctx).await?;
        let mut refunded = None;
        if let Some(payment) = payment {
            refunded = Self::refund(ctx, payment).await?;
        }
        Self::release_visit(ctx, request).await?;
        let reason = match (&reason, &refunded) {
            (Some(r), Some(amount)) => Some(format!("{r} (refunded {amount})")),
            (None, Some(amount)) => Some(format!("refunded {amount}")),
            (r, None) => r.clone(),
        };
        Self::transition(ctx, RequestState::Cancelled, actor, reason).await?;
        let text = texts::owner_cancelled(refunded.as_deref());
        Self::notify(ctx, Audience::Owner, "cancelled", text).await?;
        if had_vet {
            Self::notify(ctx, Audience::Vet, "cancelled", texts::vet_cancelled()).await?;
        }
        Self::visit_records_changed(ctx).await
    }

    /// The request cannot go on (a provider refused what it needs, or something
    /// unexpected): staff are alerted, and it is cancelled by the system with its
    /// compensation — a payment refunded, the vet's time released, owner and vet told.
    pub(super) async fn give_up(
        ctx: &mut WorkflowContext<Self>,
        what: String,
    ) -> WorkflowResult<()> {
        Self::trouble(ctx, what.clone()).await?;
        if ctx.state(|s| s.state.is_terminal()) {
            return Ok(());
        }
        ctx.state_mut(|s| {
            s.reassign = None;
            s.cancel = Some(Cancel {
                actor: Actor::System,
                reason: Some(format!("{ATTENTION}{what}")),
            });
        });
        Self::cancel_now(ctx).await
    }
}
