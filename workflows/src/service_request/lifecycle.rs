//! The dispatched request from start to end, as a table of contents of its phases:
//! dispatch ([`super::dispatch`]), coordination ([`super::coordination`]), payment
//! ([`super::payment`]), then the confirmed visit ([`super::completion`]); a
//! cancellation ([`super::cancellation`]) or a reassignment may come at any point.

use activities::dispatch::{Audience, DispatchActivities, PlanInput};
use domain::{Actor, RequestState, VetId};
use temporalio_sdk::{ContinueAsNewOptions, WorkflowContext, WorkflowResult, WorkflowTermination};

use super::{
    Carried, DispatchMode, OfferStatus, RequestStatus, ServiceRequestInput, ServiceRequestWorkflow,
    Window,
    dispatch::Asked,
    effects::{REFUSALS_HANDLED, db_activity},
    payments::Collected,
    texts,
};

/// Coordinated requests collect the payment (added after the first dispatch histories).
const PAYMENT_PHASE: &str = "payment-phase";

/// After a reassignment the request continues as new, so that however often staff
/// reassign, no run's history grows past one dispatch (added after the saga histories).
const CONTINUE_AFTER_REASSIGNMENT: &str = "continue-after-reassignment";

/// What follows a phase of the dispatched path.
pub(super) enum Next {
    Redispatch,
    Done,
}

impl ServiceRequestWorkflow {
    /// Candidates, offers, acceptance, coordination; again after a reassignment.
    pub(super) async fn run_dispatched(
        ctx: &mut WorkflowContext<Self>,
    ) -> WorkflowResult<RequestStatus> {
        let (request, policy) = ctx.state(|s| (s.input.request, s.input.policy));
        loop {
            let exclude = ctx.state_mut(|s| {
                s.dispatch_from = s.offers.len();
                let asked = s.asked.iter().filter(|v| !s.excluded.contains(v));
                s.excluded.iter().chain(asked).copied().collect()
            });
            let plan = Self::step(
                ctx,
                DispatchActivities::plan_dispatch,
                PlanInput { request, exclude },
                db_activity(),
            )
            .await?;
            let Some(plan) = plan else {
                let reason = "the request has no address or window to dispatch".to_owned();
                return Self::expire(ctx, reason).await;
            };
            ctx.state_mut(|s| {
                s.window = Some(Window {
                    start: plan.window_start,
                    end: plan.window_end,
                    duration_minutes: plan.duration_minutes,
                });
            });
            if ctx.state(|s| s.cancel.is_some()) {
                Self::cancel_now(ctx).await?;
                return Ok(ctx.state(Self::status));
            }
            if plan.candidates.is_empty() {
                let asked = ctx.state(|s| s.asked.len());
                let reason = if asked > 0 {
                    format!("none of the {asked} vets asked accepted")
                } else {
                    "no vet covering the address is available in the wanted window".to_owned()
                };
                return Self::expire(ctx, reason).await;
            }
            if ctx.state(|s| s.state) == RequestState::Pending {
                let reason = format!("{} candidate vets", plan.candidates.len());
                Self::transition(ctx, RequestState::VetAsked, Actor::System, Some(reason)).await?;
            }

            let accepted = match Self::offer_in_batches(ctx, &policy, &plan).await? {
                Asked::Accepted(vet) => Some(vet),
                Asked::Nobody => None,
                Asked::HistoryFull => {
                    // The next batches are asked by a new run, skipping who was asked.
                    ctx.state_mut(|s| {
                        let asked: Vec<VetId> =
                            s.offers[s.dispatch_from..].iter().map(|o| o.vet).collect();
                        s.asked.extend(asked);
                    });
                    return Self::continue_as_new(ctx).await;
                }
            };
            if ctx.state(|s| s.cancel.is_some()) {
                Self::cancel_now(ctx).await?;
                return Ok(ctx.state(Self::status));
            }
            let Some(vet) = accepted else {
                let (asked, this_run) =
                    ctx.state(|s| (s.offers.len(), s.offers.len() - s.dispatch_from));
                let reason = if this_run < plan.candidates.len() {
                    format!("the wanted time came before any of the {asked} vets asked accepted")
                } else {
                    format!("none of the {asked} vets asked accepted")
                };
                return Self::expire(ctx, reason).await;
            };
            Self::transition(ctx, RequestState::VetAccepted, Actor::Vet(vet), None).await?;
            Self::notify(ctx, Audience::Owner, "accepted", texts::owner_accepted()).await?;

            match Self::after_acceptance(ctx).await? {
                Next::Redispatch if Self::patched(ctx, CONTINUE_AFTER_REASSIGNMENT) => {
                    return Self::continue_as_new(ctx).await;
                }
                Next::Redispatch => continue,
                Next::Done => return Ok(ctx.state(Self::status)),
            }
        }
    }

    /// From `vet_accepted`: coordination (in the `coordinate` update), then payment and
    /// confirmation; or a reassignment, or a cancellation, whenever they come.
    async fn after_acceptance(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<Next> {
        Self::await_coordination(ctx).await?;
        Self::tell_owner_the_time(ctx).await?;
        if ctx.state(|s| s.reassign.is_some()) {
            Self::reassign_now(ctx).await?;
            return Ok(Next::Redispatch);
        }
        if ctx.state(|s| s.cancel.is_some()) {
            Self::cancel_now(ctx).await?;
            return Ok(Next::Done);
        }
        if !Self::patched(ctx, PAYMENT_PHASE) {
            // Workflows coordinated before payment existed wait for staff only.
            ctx.wait_condition(|s| s.reassign.is_some()).await?;
            Self::reassign_now(ctx).await?;
            return Ok(Next::Redispatch);
        }
        match Self::collect_payment(ctx).await? {
            Collected::Paid(payment) => {
                match Self::confirm(ctx, payment).await? {
                    Ok(()) => {
                        Self::ask_for_invoice(ctx, payment).await?;
                        Self::after_confirmation(ctx).await?
                    }
                    Err(why) => Self::give_up(ctx, why).await?,
                }
                Ok(Next::Done)
            }
            Collected::Refused(why) => {
                Self::give_up(ctx, why).await?;
                Ok(Next::Done)
            }
            Collected::Unpaid => {
                Self::expire_unpaid(ctx).await?;
                Ok(Next::Done)
            }
            Collected::Interrupted => {
                if ctx.state(|s| s.reassign.is_some()) {
                    Self::reassign_now(ctx).await?;
                    Ok(Next::Redispatch)
                } else {
                    Self::cancel_now(ctx).await?;
                    Ok(Next::Done)
                }
            }
        }
    }

    /// The dispatched path, and whatever happens on it: a failure nobody foresaw ends
    /// the request with its compensation (refund, release, staff alerted) instead of a
    /// Failed workflow; then every payment is accounted for before the workflow ends.
    pub(super) async fn run_dispatched_to_the_end(
        ctx: &mut WorkflowContext<Self>,
    ) -> WorkflowResult<RequestStatus> {
        let ended = Self::run_dispatched(ctx).await;
        if let Err(WorkflowTermination::Failed(e)) = &ended
            && Self::patched(ctx, REFUSALS_HANDLED)
        {
            let what = format!("the request stopped on an unexpected failure: {e}");
            Self::give_up(ctx, what).await?;
        } else {
            ended?;
        }
        Self::settle_payments(ctx).await?;
        Ok(ctx.state(Self::status))
    }

    /// Ends this run and starts the next with where the request stands ([`Carried`]):
    /// once every handler in flight has finished, so nothing they did is lost.
    async fn continue_as_new(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<RequestStatus> {
        let handlers = ctx.clone();
        ctx.wait_condition(move |_| handlers.all_handlers_finished())
            .await?;
        let input = ctx.state(|s| ServiceRequestInput {
            carried: Some(s.carry()),
            ..s.input.clone()
        });
        match ctx.continue_as_new(input, ContinueAsNewOptions::default()) {
            Err(end) => Err(end),
            Ok(never) => match never {},
        }
    }

    /// Where the request stands, for the next run.
    fn carry(&self) -> Carried {
        Carried {
            state: self.state,
            seq: self.seq,
            offers: self.offers.clone(),
            excluded: self.excluded.clone(),
            payment_events: self.payment_events.clone(),
            payment_link: self.payment_link.clone(),
            refunded: self.refunded.clone(),
            cancel: self.cancel.clone(),
            unrecorded: self.unrecorded.clone(),
            runs: self.input.carried.as_ref().map_or(0, |c| c.runs) + 1,
            asked: self.asked.clone(),
        }
    }

    /// A run's state at its start: a new request's, or where the last run left off.
    pub(super) fn fresh(input: ServiceRequestInput) -> Self {
        let carried = input.carried.clone();
        let mut this = Self {
            input,
            state: RequestState::Pending,
            seq: 0,
            followups_sent: 0,
            response: None,
            vet: None,
            offers: Vec::new(),
            unrecorded: Vec::new(),
            window: None,
            scheduled: None,
            coordinating: false,
            reassign: None,
            excluded: Vec::new(),
            asked: Vec::new(),
            dispatch_from: 0,
            payment_events: Vec::new(),
            checking_payment: false,
            payment: None,
            payment_link: None,
            cancel: None,
            closing: false,
            visit_started: false,
            refunded: Vec::new(),
            records_started: false,
            report_news: false,
            no_show: None,
            awaiting_outcome: false,
            deciding: false,
            invoiced: false,
            lean: None,
        };
        if let Some(carried) = carried {
            this.resume(carried);
        }
        this
    }

    /// Takes up where the previous run left off.
    pub(super) fn resume(&mut self, carried: Carried) {
        self.state = carried.state;
        self.seq = carried.seq;
        self.offers = carried.offers;
        self.excluded = carried.excluded;
        self.payment_events = carried.payment_events;
        self.payment_link = carried.payment_link;
        self.refunded = carried.refunded;
        self.cancel = carried.cancel;
        self.unrecorded = carried.unrecorded;
        self.asked = carried.asked;
    }

    /// What the `status` query answers, and the workflow's result.
    pub(super) fn status(&self) -> RequestStatus {
        let awaiting_vet = match self.input.mode {
            DispatchMode::Staff => self.state == RequestState::VetAsked && self.response.is_none(),
            DispatchMode::Candidates => self.offers.iter().any(|o| o.status == OfferStatus::Open),
        };
        RequestStatus {
            request: self.input.request,
            state: self.state,
            seq: self.seq,
            followups_sent: self.followups_sent,
            awaiting_vet,
            vet: self.vet,
            offers: self.offers.clone(),
            scheduled: self.scheduled,
            payment_link: self.payment_link.clone(),
            visit_started: self.visit_started,
        }
    }
}
