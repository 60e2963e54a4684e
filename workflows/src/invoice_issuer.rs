//! `InvoiceIssuerWorkflow`: the one issuer of a (taxpayer, point of sale, receipt type),
//! so receipts of a pair are issued strictly one at a time, in the order they were
//! asked for. Receipts arrive by the `receipt_queued` signal (signal-with-start from the
//! activity that writes them; the API's re-issue); on start and when idle it also reads
//! PostgreSQL for pending receipts whose signal was lost. A receipt that cannot be issued
//! yet (AFIP away, the certificate expired) is retried — never skipped, so no number is
//! ever left out — with staff alerted; staff's `resume` signal retries at once. Idle for
//! [`IDLE`], the run ends; after [`RUN_RECEIPTS`] receipts it continues as new, so its
//! history stays short.

use std::{collections::VecDeque, time::Duration};

/// Waking an issuer from outside its workflow (signal-with-start): the one way, for the
/// activity that writes a receipt and for the API's re-issue.
pub use activities::issuers::wake;
use activities::{
    dispatch::{Audience, DispatchActivities, Notice},
    invoices::{InvoiceActivities, Issued},
};
use domain::invoices::{IssuerInput, IssuerKey, Queued};
use temporalio_common::protos::temporal::api::common::v1::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityOptions, ContinueAsNewOptions, SyncWorkflowContext,
    WorkflowContext, WorkflowContextView, WorkflowResult,
};

use crate::{
    failures::why,
    names,
    service_request::{PROVIDER_HEARTBEAT, send_activity},
    waits::{Woken, timer_or},
};

/// Idle this long, an issuer's run ends (the next receipt starts another).
pub const IDLE: Duration = Duration::from_secs(10 * 60);
/// Receipts one run issues before it continues as new.
pub const RUN_RECEIPTS: u32 = 100;
/// How long a stuck receipt waits before it is tried again (or staff's `resume`).
pub const STUCK_RETRY: Duration = Duration::from_secs(3600);

/// One receipt: each attempt looks up the number it took before sending again, so
/// retries are safe; AFIP away for a while is retried for six hours, then staff are
/// alerted and the issuer tries again hourly.
fn issue_activity() -> ActivityOptions {
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: Duration::from_secs(6 * 3600),
        start_to_close: Duration::from_secs(150),
    })
    .retry_policy(RetryPolicy {
        initial_interval: Some(Duration::from_secs(2).try_into().unwrap_or_default()),
        backoff_coefficient: 2.0,
        maximum_interval: Some(Duration::from_secs(300).try_into().unwrap_or_default()),
        ..Default::default()
    })
    .heartbeat_timeout(PROVIDER_HEARTBEAT)
    .build()
}

fn scan_activity() -> ActivityOptions {
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: Duration::from_secs(600),
        start_to_close: Duration::from_secs(30),
    })
    .build()
}

#[workflow]
pub struct InvoiceIssuerWorkflow {
    issuer: IssuerKey,
    queue: VecDeque<Queued>,
    resume: bool,
    receipts_per_run: Option<u32>,
}

#[workflow_methods]
impl InvoiceIssuerWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: IssuerInput) -> Self {
        Self {
            issuer: input.issuer,
            queue: input.queue.into_iter().collect(),
            resume: false,
            receipts_per_run: input.receipts_per_run,
        }
    }

    /// A receipt to issue (a second signal of the same receipt changes nothing).
    #[signal(name = names::RECEIPT_QUEUED_SIGNAL)]
    pub fn receipt_queued(&mut self, _ctx: &mut SyncWorkflowContext<Self>, queued: Queued) {
        if !self.queue.iter().any(|q| q.invoice == queued.invoice) {
            self.queue.push_back(queued);
        }
    }

    /// Staff: try the stuck receipt again now.
    #[signal(name = names::ISSUER_RESUME_SIGNAL)]
    pub fn resume(&mut self, _ctx: &mut SyncWorkflowContext<Self>) {
        self.resume = true;
    }

    /// Receipts this run issued (authorized).
    #[run(name = names::INVOICE_ISSUER_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<u32> {
        Self::scan(ctx).await?;
        let mut issued = 0;
        loop {
            if ctx.state(|s| s.queue.is_empty()) {
                if timer_or(ctx, IDLE, |s| !s.queue.is_empty()).await? == Woken::Timer {
                    Self::scan(ctx).await?;
                    if ctx.state(|s| s.queue.is_empty()) {
                        return Ok(issued);
                    }
                }
                continue;
            }
            let Some(next) = ctx.state(|s| s.queue.front().copied()) else {
                continue;
            };
            let outcome = ctx
                .execute_activity(
                    InvoiceActivities::issue_receipt,
                    next.invoice,
                    issue_activity(),
                )
                .await;
            match outcome {
                Ok(Issued::Authorized { number, .. }) => {
                    ctx.state_mut(|s| s.queue.pop_front());
                    issued += 1;
                    Self::deliver(ctx, next, number).await;
                }
                Ok(Issued::Rejected { messages }) => {
                    ctx.state_mut(|s| s.queue.pop_front());
                    let text = format!(
                        "AFIP rejected receipt {} (its number is free again): {}. Fix the owner's data and re-issue it.",
                        next.invoice,
                        messages.join("; ")
                    );
                    Self::alert(ctx, next, "rejected", text).await;
                }
                Ok(Issued::Settled { .. }) => {
                    ctx.state_mut(|s| s.queue.pop_front());
                }
                Err(e) => {
                    let text = format!(
                        "receipt {} could not be issued and waits (no receipt after it is issued meanwhile): {}",
                        next.invoice,
                        why(&e)
                    );
                    Self::alert(ctx, next, "stuck", text).await;
                    ctx.state_mut(|s| s.resume = false);
                    timer_or(ctx, STUCK_RETRY, |s| s.resume).await?;
                }
            }
            if issued >= ctx.state(|s| s.receipts_per_run.unwrap_or(RUN_RECEIPTS)) {
                return Self::continue_as_new(ctx).await;
            }
        }
    }
}

impl InvoiceIssuerWorkflow {
    /// Adds the pending receipts PostgreSQL has that the queue lacks (best effort: a
    /// failure leaves the queue as it is).
    async fn scan(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        let issuer = ctx.state(|s| s.issuer);
        match ctx
            .execute_activity(InvoiceActivities::pending_receipts, issuer, scan_activity())
            .await
        {
            Ok(found) => ctx.state_mut(|s| {
                for queued in found {
                    if !s.queue.iter().any(|q| q.invoice == queued.invoice) {
                        s.queue.push_back(queued);
                    }
                }
            }),
            Err(e) => tracing::warn!(error = %e, "the pending receipts could not be read"),
        }
        Ok(())
    }

    /// The owner's copy by email; best effort (the receipt is in their account anyway).
    async fn deliver(ctx: &mut WorkflowContext<Self>, queued: Queued, number: u64) {
        let sent = ctx
            .execute_activity(
                InvoiceActivities::deliver_receipt,
                queued.invoice,
                send_activity(),
            )
            .await;
        if let Err(e) = sent {
            let text = format!(
                "receipt {} (number {number}) was not emailed to the owner: {e}",
                queued.invoice
            );
            Self::alert(ctx, queued, "undelivered", text).await;
        }
    }

    /// A staff alert about the receipt's request (its failure is only logged).
    async fn alert(ctx: &mut WorkflowContext<Self>, queued: Queued, what: &str, text: String) {
        let alert = ctx
            .execute_activity(
                DispatchActivities::notify,
                Notice {
                    request: queued.request,
                    audience: Audience::Staff,
                    key: format!("receipt:{}:{what}", queued.invoice),
                    text,
                },
                send_activity(),
            )
            .await;
        if let Err(e) = alert {
            tracing::error!(invoice = %queued.invoice, error = %e, "staff alert not sent");
        }
    }

    async fn continue_as_new(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<u32> {
        let handlers = ctx.clone();
        ctx.wait_condition(move |_| handlers.all_handlers_finished())
            .await?;
        let input = ctx.state(|s| IssuerInput {
            issuer: s.issuer,
            queue: s.queue.iter().copied().collect(),
            receipts_per_run: s.receipts_per_run,
        });
        match ctx.continue_as_new(input, ContinueAsNewOptions::default()) {
            Err(end) => Err(end),
            Ok(never) => match never {},
        }
    }
}
