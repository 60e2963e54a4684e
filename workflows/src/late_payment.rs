//! `LatePaymentWorkflow`: news of a payment whose request is over (its workflow closed),
//! handled with the same retries and once-only sends as the request itself. An approved
//! payment nobody will use is refunded and owner and staff are told; a payment we held
//! that changed afterwards (charged back, refunded from MercadoPago's side) is recorded
//! and staff are told. The API starts one per (payment, status), so a repeated webhook
//! starts nothing new.

use activities::{
    dispatch::{Audience, DispatchActivities, Notice},
    payments::{PaymentActivities, RefundPayment},
};
use domain::payments::{LateNews, LatePayment};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{WorkflowContext, WorkflowContextView, WorkflowResult};

use crate::{names, service_request::send_activity};

#[workflow]
pub struct LatePaymentWorkflow {
    input: LatePayment,
}

#[workflow_methods]
impl LatePaymentWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: LatePayment) -> Self {
        Self { input }
    }

    #[run(name = names::LATE_PAYMENT_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<LateNews> {
        let input = ctx.state(|s| s.input.clone());
        let (request, payment) = (input.request, input.payment);
        let news = ctx
            .execute_activity(PaymentActivities::late_payment, input, send_activity())
            .await;
        let news = match news {
            Ok(news) => news,
            Err(e) => {
                let text = format!("no se pudo revisar el pago {payment} (solicitud cerrada): {e}");
                let key = format!(
                    "unread:{}",
                    ctx.state(|s| s.input.known_status.clone())
                        .unwrap_or_default()
                );
                Self::tell(ctx, Audience::Staff, &key, text).await;
                return Ok(LateNews::Nothing);
            }
        };
        match &news {
            LateNews::Refund => {
                let refund = RefundPayment {
                    request,
                    payment,
                    idempotency_key: domain::payments::refund_key(request, payment),
                };
                let refunded = ctx
                    .execute_activity(PaymentActivities::refund_payment, refund, send_activity())
                    .await;
                match refunded {
                    Ok(amount) => {
                        let owner = format!(
                            "Recibimos un pago para una solicitud ya cerrada y te lo devolvimos: $ {amount}."
                        );
                        Self::tell(ctx, Audience::Owner, "refunded", owner).await;
                        let staff = format!(
                            "el pago {payment} llegó con la solicitud cerrada: devuelto $ {amount}"
                        );
                        Self::tell(ctx, Audience::Staff, "refunded", staff).await;
                    }
                    Err(e) => {
                        let staff = format!(
                            "needs attention: el pago {payment} llegó con la solicitud cerrada y no se pudo devolver, devolvelo a mano: {e}"
                        );
                        Self::tell(ctx, Audience::Staff, "not-refunded", staff).await;
                    }
                }
            }
            LateNews::Changed { from, to } => {
                let staff = format!(
                    "el pago {payment} de una solicitud cerrada pasó de {from} a {to} en MercadoPago"
                );
                Self::tell(ctx, Audience::Staff, to, staff).await;
            }
            LateNews::Nothing => {}
        }
        Ok(news)
    }
}

impl LatePaymentWorkflow {
    /// Tells someone, once per key; a message that cannot be sent is logged (the
    /// payment is recorded either way).
    async fn tell(ctx: &mut WorkflowContext<Self>, audience: Audience, key: &str, text: String) {
        let (request, payment) = ctx.state(|s| (s.input.request, s.input.payment));
        let notice = Notice {
            request,
            audience,
            key: format!("late-payment:{payment}:{key}"),
            text,
        };
        let sent = ctx
            .execute_activity(DispatchActivities::notify, notice, send_activity())
            .await;
        if let Err(e) = sent {
            tracing::error!(%request, payment, error = %e, "late payment notice not sent");
        }
    }
}
