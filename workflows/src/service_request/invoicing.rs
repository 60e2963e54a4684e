//! The paid visit's AFIP receipts: on confirmation its invoice is asked for, and when
//! the visit's payment is refunded, its credit note (both behind [`INVOICING`]). Asking
//! writes the receipt and wakes its issuer ([`crate::invoice_issuer`]); the issuing is
//! the issuer's. Best effort for the request: a receipt that cannot be asked for is a
//! note and a staff alert, never the request's end.

use std::time::Duration;

use activities::invoices::{InvoiceActivities, RequestInvoice, Requested};
use temporalio_common::protos::temporal::api::common::v1::RetryPolicy;
use temporalio_sdk::{ActivityCloseTimeouts, ActivityOptions, WorkflowContext, WorkflowResult};

use super::{ServiceRequestWorkflow, effects::summarized};

/// Writing a receipt and waking its issuer: PostgreSQL and Temporal, quickly. Given up
/// after three minutes so the request's own course is never held up long; a receipt
/// written but not signalled is found by its issuer's next scan.
fn ask_activity(summary: &str) -> ActivityOptions {
    let options =
        ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
            schedule_to_close: Duration::from_secs(180),
            start_to_close: Duration::from_secs(30),
        })
        .retry_policy(RetryPolicy {
            initial_interval: Some(Duration::from_secs(1).try_into().unwrap_or_default()),
            backoff_coefficient: 2.0,
            maximum_interval: Some(Duration::from_secs(30).try_into().unwrap_or_default()),
            ..Default::default()
        })
        .build();
    summarized(options, summary.to_owned())
}

/// Paid visits get an AFIP invoice, refunded ones a credit note (added after the
/// visit-report histories).
const INVOICING: &str = "afip-invoicing";

impl ServiceRequestWorkflow {
    /// Asks for the invoice of the visit paid with `payment`.
    pub(super) async fn ask_for_invoice(
        ctx: &mut WorkflowContext<Self>,
        payment: i64,
    ) -> WorkflowResult<()> {
        if !Self::patched(ctx, INVOICING) {
            return Ok(());
        }
        let request = ctx.state(|s| s.input.request);
        let asked = Self::step(
            ctx,
            InvoiceActivities::request_invoice,
            RequestInvoice { request, payment },
            ask_activity("ask for the AFIP invoice"),
        )
        .await;
        // Whatever came of it, a refund of this payment asks for a credit note (the
        // activity answers "not needed" when there is no authorized invoice to cancel).
        ctx.state_mut(|s| s.invoiced = true);
        match asked {
            Ok(Requested::Queued { .. }) => Ok(()),
            Ok(Requested::NotNeeded { why }) => {
                tracing::info!(%request, %why, "no invoice");
                Ok(())
            }
            Ok(Requested::Refused { why, .. }) => {
                let what = format!("the visit's invoice cannot be issued: {why}");
                Self::trouble(ctx, what).await
            }
            Err(e) => {
                let what = format!(
                    "the visit's invoice could not be asked for: {}",
                    crate::failures::why(&e)
                );
                Self::trouble(ctx, what).await
            }
        }
    }

    /// Asks for the credit note of the request's invoice (its payment was refunded).
    pub(super) async fn ask_for_credit_note(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        if !ctx.state(|s| s.invoiced) {
            return Ok(());
        }
        let request = ctx.state(|s| s.input.request);
        let asked = Self::step(
            ctx,
            InvoiceActivities::request_credit_note,
            request,
            ask_activity("ask for the AFIP credit note"),
        )
        .await;
        match asked {
            Ok(Requested::Queued { .. } | Requested::NotNeeded { .. }) => Ok(()),
            Ok(Requested::Refused { why, .. }) => {
                Self::trouble(ctx, format!("the credit note cannot be issued: {why}")).await
            }
            Err(e) => {
                let what = format!(
                    "the refund's credit note could not be asked for: {}",
                    crate::failures::why(&e)
                );
                Self::trouble(ctx, what).await
            }
        }
    }
}
