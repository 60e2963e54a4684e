//! `ServiceRequestWorkflow`: one durable workflow per service request, the single writer
//! of its state after creation.
//!
//! A checked-out request is dispatched: its ranked candidate vets get WhatsApp offers,
//! `offer_batch_size` at a time, each followed up `vet_max_followups` times; a reject or
//! silence moves on to the next vets, nobody left expires the request (owner and staff
//! are told). The first vet to accept wins; the vet (or staff) then sets the start inside
//! the wanted window, which books the vet's time (`coordinated`). Staff may reassign an
//! accepted or coordinated request: its vet is released and excluded, dispatch starts
//! again.
//!
//! A request created directly by staff (no address, no window) is dispatched by hand:
//! one open offer whose answer staff record for a vet — the original walking skeleton,
//! whose command sequence is kept so that its workflows in flight still replay.
//!
//! Where things are: this file holds the workflow's state and its one
//! `#[workflow_methods]` block (init, run, query, updates, signal and their validators);
//! [`contract`] the types callers see; [`lifecycle`] the phases in order; [`dispatch`],
//! [`coordination`], [`payment`], [`cancellation`], [`completion`] and [`outcome`] one
//! phase each; [`settlement`] every payment accounted for;
//! [`effects`] activity options, recording and notifying; [`texts`] what people are
//! told; [`validators`] what the update validators check; [`staff_path`] the frozen
//! staff-created path.

mod cancellation;
mod completion;
mod contract;
mod coordination;
mod dispatch;
mod effects;
mod invoicing;
mod lifecycle;
mod outcome;
mod payments;
mod records;
mod settlement;
mod staff_path;
mod texts;
mod validators;

pub use contract::*;
pub(crate) use effects::send_activity;
pub use effects::{PROVIDER_ATTEMPT, PROVIDER_GIVE_UP, PROVIDER_HEARTBEAT};

use chrono::{DateTime, Utc};
use domain::{RequestState, VetAnswer, VetId};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult};

use crate::names;

/// A MercadoPago payment id, as a number or a string of digits.
fn payment_id(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|id| *id > 0)
}
use effects::to_utc;

#[workflow]
pub struct ServiceRequestWorkflow {
    input: ServiceRequestInput,
    state: RequestState,
    seq: i32,
    followups_sent: u32,
    /// The staff path's one answer.
    response: Option<VetResponse>,
    vet: Option<VetId>,
    offers: Vec<Offer>,
    /// Offers whose answer is not yet in PostgreSQL, with when it came.
    unrecorded: Vec<(i32, VetAnswer, DateTime<Utc>)>,
    window: Option<Window>,
    scheduled: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// A `coordinate` update is booking the vet's time.
    coordinating: bool,
    reassign: Option<Reassign>,
    /// Vets taken off this request by reassignment, never asked again.
    excluded: Vec<VetId>,
    /// Vets asked in the dispatch under way by the runs before this one (it continued
    /// as new between batches); a reassignment starts a dispatch afresh.
    asked: Vec<VetId>,
    /// Where this dispatch's offers start in `offers`.
    dispatch_from: usize,
    /// Payments MercadoPago told us about (webhooks), not yet looked at.
    payment_events: Vec<i64>,
    /// The workflow is asking MercadoPago about a payment and will act on the answer: a
    /// reassignment now could come after the visit is paid (refused as busy).
    checking_payment: bool,
    /// The approved payment.
    payment: Option<i64>,
    payment_link: Option<String>,
    cancel: Option<Cancel>,
    /// The request is ending: no update may start anything new (set synchronously,
    /// checked by every validator).
    closing: bool,
    /// The confirmed visit has started: too late to cancel it.
    visit_started: bool,
    /// Payments refunded so far.
    refunded: Vec<i64>,
    /// The visit's calendar event and sheet row are kept by their own workflow.
    records_started: bool,
    /// The API said a report was filed (the workflow checks PostgreSQL).
    report_news: bool,
    /// The owner was not there.
    no_show: Option<NoShow>,
    /// The started visit waits for its report or a no-show (histories from before
    /// reports never do: a no-show is refused there).
    awaiting_outcome: bool,
    /// The workflow is reading whether the report is in, and will act on it: a no-show
    /// now would come too late to count.
    deciding: bool,
    /// The paid visit's invoice was asked for (so a refund of its payment gets a
    /// credit note).
    invoiced: bool,
    /// This run has the lean command shape (`effects::LEAN_STEPS`); `None` until the
    /// first step asks.
    lean: Option<bool>,
}

#[workflow_methods]
impl ServiceRequestWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: ServiceRequestInput) -> Self {
        Self::fresh(input)
    }

    #[run(name = names::SERVICE_REQUEST_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<RequestStatus> {
        // The command shape is decided first, before any handler can run a step.
        Self::lean(ctx);
        match ctx.state(|s| s.input.mode) {
            DispatchMode::Staff => Self::run_staff_dispatched(ctx).await,
            DispatchMode::Candidates => Self::run_dispatched_to_the_end(ctx).await,
        }
    }

    #[query(name = names::STATUS_QUERY)]
    pub fn query_status(&self, _ctx: &WorkflowContextView) -> RequestStatus {
        self.status()
    }

    #[update_validator(vet_response)]
    fn validate_vet_response(
        &self,
        _ctx: &WorkflowContextView,
        response: &VetResponse,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.check_vet_response(response)
            .map_err(|refusal| self.refused(refusal))
    }

    /// A vet's answer. An update, not a signal, so that the caller learns at once
    /// whether it counted: accepted, rejected, taken by another vet, expired, already
    /// answered, or not their offer. The first acceptance wins, whatever the timing:
    /// updates are applied one at a time.
    #[update(name = names::VET_RESPONSE_UPDATE)]
    pub fn vet_response(
        &mut self,
        ctx: &mut SyncWorkflowContext<Self>,
        response: VetResponse,
    ) -> VetResponseOutcome {
        self.answer_offer(to_utc(ctx.workflow_time()), response)
    }

    #[update_validator(coordinate)]
    fn validate_coordinate(
        &self,
        _ctx: &WorkflowContextView,
        input: &Coordinate,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.check_coordinate(input)
            .map_err(|refusal| self.refused(refusal))
    }

    /// The visit's exact start: books the vet's time (a database constraint refuses an
    /// overlapping visit) and moves the request to `coordinated`.
    #[update(name = names::COORDINATE_UPDATE)]
    pub async fn coordinate(
        ctx: &mut WorkflowContext<Self>,
        input: Coordinate,
    ) -> Result<CoordinateOutcome, Box<dyn std::error::Error + Send + Sync>> {
        Self::coordinate_now(ctx, input).await
    }

    #[update_validator(reassign)]
    fn validate_reassign(
        &self,
        _ctx: &WorkflowContextView,
        input: &Reassign,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.check_reassign(input)
            .map_err(|refusal| self.refused(refusal))
    }

    /// MercadoPago says something happened to payment `payment` (the API forwards each
    /// webhook once); the workflow fetches the payment itself and trusts only that. The
    /// id may come as a number or a string; anything else is logged and ignored.
    #[signal(name = names::PAYMENT_SIGNAL)]
    pub fn payment_notified(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        payment: serde_json::Value,
    ) {
        let Some(payment) = payment_id(&payment) else {
            tracing::warn!(request = %self.input.request, %payment, "payment_notified without a payment id; ignored");
            return;
        };
        if !self.payment_events.contains(&payment) {
            self.payment_events.push(payment);
        }
    }

    /// The API filed the visit's report (or its author corrected it): once the visit
    /// has started, the request is completed and the owner gets the report.
    #[signal(name = names::REPORT_SIGNAL)]
    pub fn report_filed(&mut self, _ctx: &mut SyncWorkflowContext<Self>) {
        self.report_news = true;
    }

    #[update_validator(no_show)]
    fn validate_no_show(
        &self,
        _ctx: &WorkflowContextView,
        input: &NoShow,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.check_no_show(input)
            .map_err(|refusal| self.refused(refusal))
    }

    /// The owner was not there: the request ends `no_show`, its payment kept as the
    /// visit's fee or refunded (`NO_SHOW_PAYMENT`).
    #[update(name = names::NO_SHOW_UPDATE)]
    pub fn no_show(&mut self, _ctx: &mut SyncWorkflowContext<Self>, input: NoShow) {
        self.no_show = Some(NoShow {
            actor: input.actor,
            reason: input.reason.trim().to_owned(),
        });
    }

    #[update_validator(cancel)]
    fn validate_cancel(
        &self,
        _ctx: &WorkflowContextView,
        input: &Cancel,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.check_cancel(input)
            .map_err(|refusal| self.refused(refusal))
    }

    /// Calls the request off: before payment, the owner or staff; after, staff, and the
    /// payment is refunded. The workflow does the rest (refund, release, `cancelled`).
    #[update(name = names::CANCEL_UPDATE)]
    pub fn cancel(&mut self, _ctx: &mut SyncWorkflowContext<Self>, input: Cancel) {
        self.cancel = Some(input);
    }

    /// Staff send the request back to dispatch: the current vet is released and not
    /// asked again.
    #[update(name = names::REASSIGN_UPDATE)]
    pub fn reassign(&mut self, _ctx: &mut SyncWorkflowContext<Self>, input: Reassign) {
        self.reassign = Some(Reassign {
            actor: input.actor,
            reason: input.reason.trim().to_owned(),
        });
    }
}
