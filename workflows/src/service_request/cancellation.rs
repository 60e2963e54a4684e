//! Cancellation, by the owner before payment or by staff: a payment is found and
//! refunded, the vet's time released, `cancelled`, and everyone told.

use activities::{
    dispatch::{Audience, DispatchActivities},
    payments::{PaymentActivities, RefundPayment, Verdict},
};
use domain::RequestState;
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use super::{
    Cancel, OfferStatus, ServiceRequestWorkflow,
    effects::{db_activity, send_activity},
    texts,
};

impl ServiceRequestWorkflow {
    /// A cancellation: a payment is refunded, the vet's time released, `cancelled`.
    pub(super) async fn cancel_now(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
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
            let verdict = ctx
                .execute_activity(
                    PaymentActivities::reconcile_payments,
                    request,
                    send_activity(),
                )
                .await?;
            if let Verdict::Approved { payment: found } = verdict {
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
        let mut refunded = None;
        if let Some(payment) = payment {
            let amount = ctx
                .execute_activity(
                    PaymentActivities::refund_payment,
                    RefundPayment {
                        request,
                        payment,
                        idempotency_key: format!("refund:{request}:{payment}"),
                    },
                    send_activity(),
                )
                .await?;
            refunded = Some(amount);
        }
        ctx.execute_activity(DispatchActivities::release_visit, request, db_activity())
            .await?;
        ctx.state_mut(|s| s.scheduled = None);
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
        Ok(())
    }
}
