//! Payment news handed over: a stored MercadoPago notification goes to the workflow of
//! the payment's request, or, when that is over, to a `LatePaymentWorkflow` of its own.
//! Used by the webhook and by the outbox (for news stored but not yet handed over).

use domain::RequestId;
use domain::payments::LatePayment;
use integrations::mercadopago::Payments;
use temporalio_client::{WorkflowIdReusePolicy, WorkflowStartOptions};
use workflows::LatePaymentWorkflow;

use crate::AppState;

/// News of a payment whose request's workflow is over: a `LatePaymentWorkflow` of its
/// own (one per payment and status, so a repeated webhook starts nothing new) refunds an
/// approved payment nobody will use, or tells staff of a payment that changed after the
/// end (a charge-back), with the usual retries.
async fn hand_over_late(
    state: &AppState,
    request: RequestId,
    payment: &integrations::mercadopago::Payment,
) -> anyhow::Result<()> {
    let known_status = {
        let mut conn = db::conn(&state.pool).await?;
        db::payments::status(&mut conn, payment.id).await?
    };
    let input = LatePayment {
        request,
        payment: payment.id,
        known_status,
    };
    let id = format!("late-payment:{}:{}", payment.id, payment.status);
    let options = WorkflowStartOptions::new(state.settings.temporal.task_queue.clone(), id)
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .static_summary(format!(
            "payment {} is {} after request {request} closed",
            payment.id, payment.status
        ))
        .build();
    crate::workflow_client::start(
        &state.temporal,
        state.settings.update_timeout,
        LatePaymentWorkflow::run,
        input,
        options,
    )
    .await?;
    Ok(())
}

/// Tells the workflow of the payment's request about it, and marks the event done.
pub async fn hand_over(
    state: &AppState,
    event: i64,
    kind: &str,
    data_id: &str,
) -> anyhow::Result<()> {
    let payment_id = data_id.parse::<i64>().ok().filter(|_| kind == "payment");
    let Some(payment_id) = payment_id else {
        let mut conn = db::conn(&state.pool).await?;
        db::payments::mark_processed(&mut conn, event, None).await?;
        return Ok(());
    };
    let payment = match Payments::payment(&state.mercadopago, payment_id).await {
        Ok(payment) => payment,
        // MercadoPago does not know it (or refuses us): nothing to hand over, ever.
        Err(e) if !e.is_retryable() => {
            tracing::warn!(error = %e, event, payment = payment_id, "notified payment not found; dropped");
            let mut conn = db::conn(&state.pool).await?;
            db::payments::mark_processed(&mut conn, event, None).await?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let request = payment
        .external_reference
        .as_deref()
        .and_then(|r| r.parse::<uuid::Uuid>().ok())
        .map(RequestId::from_uuid);
    if let Some(request) = request {
        let told = crate::workflow_client::signal_payment(state, request, payment_id).await?;
        if !told {
            // The request's workflow is over (cancelled, expired): nobody will use this
            // money, so an approved payment goes back.
            hand_over_late(state, request, &payment).await?;
        }
    }
    let mut conn = db::conn(&state.pool).await?;
    db::payments::mark_processed(&mut conn, event, request.map(|r| r.to_string()).as_deref())
        .await?;
    tracing::info!(event, payment = payment_id, request = ?request, "payment notification handed over");
    Ok(())
}
