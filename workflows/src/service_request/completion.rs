//! The confirmed visit: refunds or charge-backs MercadoPago reports are recorded and
//! staff told, until a cancellation.

use activities::payments::{CheckPayment, PaymentActivities, Verdict};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use super::{ServiceRequestWorkflow, effects::send_activity};

impl ServiceRequestWorkflow {
    /// Confirmed: waits for a cancellation (with a refund) while watching for refunds or
    /// charge-backs MercadoPago reports.
    pub(super) async fn after_confirmation(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        let request = ctx.state(|s| s.input.request);
        loop {
            ctx.wait_condition(|s| s.cancel.is_some() || !s.payment_events.is_empty())
                .await?;
            if ctx.state(|s| s.cancel.is_some()) {
                return Self::cancel_now(ctx).await;
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
                if !matches!(verdict, Verdict::Approved { .. }) {
                    Self::weigh(ctx, verdict).await?;
                }
            }
        }
    }
}
