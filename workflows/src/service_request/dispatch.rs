//! Dispatch: the candidates get offers a batch at a time, with follow-ups, until one
//! accepts, all decline, or the wanted time comes; answers are recorded as they arrive.

use std::time::Duration;

use activities::dispatch::{Audience, DispatchActivities, Plan, SendOffer};
use chrono::{DateTime, Utc};
use db::requests::OfferRecord;
use domain::{Actor, DispatchPolicy, RequestId, RequestState, VetAnswer, VetId};
use temporalio_common::error::{ActivityExecutionError, IncomingError};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use super::{
    DispatchMode, Offer, OfferStatus, RequestStatus, ServiceRequestWorkflow, VetResponse,
    VetResponseOutcome,
    effects::{REFUSALS_HANDLED, Woken, send_activity, summarized, to_utc},
    texts,
};

/// A long dispatch continues as new between two batches once the server suggests it
/// or the run's history reaches the policy's `history_events` (added after the saga
/// histories): however many vets cover the address, no run's history nears Temporal's
/// limit.
const CONTINUE_BETWEEN_BATCHES: &str = "continue-between-batches";

/// Histories from before closed an offer whose message may or may not have left (an
/// attempt cut mid-send, Mercately's answer lost) as if it never had, so a vet holding
/// it found it closed and staff could not record their answer. With this patch such an
/// offer stays open: staff are alerted to call the vet, the vet's link, app and the
/// follow-up all still work.
const UNCERTAIN_OFFERS_STAY_OPEN: &str = "uncertain-offers-stay-open";

/// How asking the candidates ended.
pub(super) enum Asked {
    Accepted(VetId),
    /// Every batch passed, the wanted time came, or a cancellation arrived.
    Nobody,
    /// This run's history is long: the next batches are for a new run.
    HistoryFull,
}

impl ServiceRequestWorkflow {
    /// Offers the request to the candidates, a batch at a time, with follow-ups, until
    /// the first vet accepts or every batch passed; between two batches, the run may end
    /// to continue as new ([`CONTINUE_BETWEEN_BATCHES`]).
    pub(super) async fn offer_in_batches(
        ctx: &mut WorkflowContext<Self>,
        policy: &DispatchPolicy,
        plan: &Plan,
    ) -> WorkflowResult<Asked> {
        let request = ctx.state(|s| s.input.request);
        let batch_size = usize::try_from(policy.offer_batch_size.max(1)).unwrap_or(1);
        for (i, batch) in plan.candidates.chunks(batch_size).enumerate() {
            let offered_at = to_utc(ctx.workflow_time());
            if offered_at >= plan.window_start {
                // The wanted time has come: asking more vets is pointless.
                break;
            }
            if i > 0 && Self::history_full(ctx, policy) {
                return Ok(Asked::HistoryFull);
            }
            let expires_at = offered_at
                + chrono::Duration::from_std(policy.offer_lifetime())
                    .unwrap_or(chrono::Duration::MAX);
            let mut numbers = Vec::with_capacity(batch.len());
            for &vet in batch {
                let offer_no = ctx.state_mut(|s| {
                    let offer_no = i32::try_from(s.offers.len()).unwrap_or(i32::MAX) + 1;
                    s.offers.push(Offer {
                        offer_no,
                        vet,
                        status: OfferStatus::Open,
                    });
                    s.followups_sent = 0;
                    offer_no
                });
                numbers.push(offer_no);
                let record = OfferRecord {
                    request,
                    offer_no,
                    vet: Some(vet),
                    offered_at,
                    followups_sent: 0,
                    answer: None,
                    expires_at: Some(expires_at),
                };
                Self::record_offer(ctx, &record).await?;
            }
            for (&vet, &offer_no) in batch.iter().zip(&numbers) {
                if !Self::send_offer(ctx, vet, offer_no, 0, expires_at).await? {
                    // Never reached the vet: the offer closes, the next vets are asked.
                    Self::close_open(ctx, request, &[offer_no], offered_at, 0).await?;
                }
            }

            let mut followups = 0;
            loop {
                let next_followup = offered_at
                    + chrono::Duration::from_std(policy.vet_followup_delay())
                        .unwrap_or(chrono::Duration::MAX)
                        * i32::try_from(followups + 1).unwrap_or(i32::MAX);
                let wait = (next_followup - to_utc(ctx.workflow_time()))
                    .to_std()
                    .unwrap_or(Duration::ZERO);
                let batch_done = |s: &Self| {
                    !s.unrecorded.is_empty()
                        || s.cancel.is_some()
                        || s.batch_winner(&numbers).is_some()
                        || !numbers.iter().any(|n| s.offer_open(*n))
                };
                let woken =
                    Self::timer_or(ctx, wait.max(Duration::from_millis(1)), batch_done).await?;
                if woken == Woken::Condition {
                    Self::record_answers(ctx, request, offered_at, followups).await?;
                    if ctx.state(|s| s.cancel.is_some()) {
                        Self::close_open(ctx, request, &numbers, offered_at, followups).await?;
                        return Ok(Asked::Nobody);
                    }
                    let winner = ctx.state(|s| s.batch_winner(&numbers));
                    let open = ctx.state(|s| numbers.iter().any(|n| s.offer_open(*n)));
                    if let Some(vet) = winner {
                        Self::close_open(ctx, request, &numbers, offered_at, followups).await?;
                        return Ok(Asked::Accepted(vet));
                    }
                    if !open {
                        // Everyone in the batch rejected: on to the next.
                        break;
                    }
                    continue;
                }
                if followups >= policy.vet_max_followups {
                    Self::close_open(ctx, request, &numbers, offered_at, followups).await?;
                    break;
                }
                followups += 1;
                ctx.state_mut(|s| s.followups_sent = followups);
                let open: Vec<(i32, VetId)> = ctx.state(|s| {
                    s.offers
                        .iter()
                        .filter(|o| numbers.contains(&o.offer_no) && o.status == OfferStatus::Open)
                        .map(|o| (o.offer_no, o.vet))
                        .collect()
                });
                for (offer_no, vet) in open {
                    // A follow-up that cannot be sent is noted; the offer stays open.
                    Self::send_offer(ctx, vet, offer_no, followups, expires_at).await?;
                    let record = OfferRecord {
                        request,
                        offer_no,
                        vet: Some(vet),
                        offered_at,
                        followups_sent: i32::try_from(followups).unwrap_or(i32::MAX),
                        answer: None,
                        expires_at: Some(expires_at),
                    };
                    Self::record_offer(ctx, &record).await?;
                }
            }
        }
        Ok(Asked::Nobody)
    }

    /// Whether this run's history is long enough to continue as new. Asked of the
    /// patch itself, never of [`Self::patched`]: lean runs from before it must not
    /// start continuing.
    fn history_full(ctx: &WorkflowContext<Self>, policy: &DispatchPolicy) -> bool {
        let long = ctx.continue_as_new_suggested()
            || (policy.history_events > 0 && ctx.history_length() >= policy.history_events);
        long && ctx.patched(CONTINUE_BETWEEN_BATCHES)
    }

    /// The vet who accepted one of these offers.
    pub(super) fn batch_winner(&self, numbers: &[i32]) -> Option<VetId> {
        self.offers
            .iter()
            .find(|o| numbers.contains(&o.offer_no) && o.status == OfferStatus::Accepted)
            .map(|o| o.vet)
    }

    pub(super) fn offer_open(&self, offer_no: i32) -> bool {
        self.offers
            .iter()
            .any(|o| o.offer_no == offer_no && o.status == OfferStatus::Open)
    }

    /// Writes the answers that came in since the last look.
    pub(super) async fn record_answers(
        ctx: &mut WorkflowContext<Self>,
        request: RequestId,
        offered_at: DateTime<Utc>,
        followups: u32,
    ) -> WorkflowResult<()> {
        let answers = ctx.state_mut(|s| std::mem::take(&mut s.unrecorded));
        for (offer_no, answer, at) in answers {
            let vet = ctx.state(|s| {
                s.offers
                    .iter()
                    .find(|o| o.offer_no == offer_no)
                    .map(|o| o.vet)
            });
            let record = OfferRecord {
                request,
                offer_no,
                vet,
                offered_at,
                followups_sent: i32::try_from(followups).unwrap_or(i32::MAX),
                answer: Some((answer, at)),
                expires_at: None,
            };
            Self::record_offer(ctx, &record).await?;
        }
        Ok(())
    }

    /// Closes the batch's offers still open: their links stop working now.
    pub(super) async fn close_open(
        ctx: &mut WorkflowContext<Self>,
        request: RequestId,
        numbers: &[i32],
        offered_at: DateTime<Utc>,
        followups: u32,
    ) -> WorkflowResult<()> {
        let now = to_utc(ctx.workflow_time());
        let closed: Vec<(i32, VetId)> = ctx.state_mut(|s| {
            s.offers
                .iter_mut()
                .filter(|o| numbers.contains(&o.offer_no) && o.status == OfferStatus::Open)
                .map(|o| {
                    o.status = OfferStatus::Closed;
                    (o.offer_no, o.vet)
                })
                .collect()
        });
        for (offer_no, vet) in closed {
            let record = OfferRecord {
                request,
                offer_no,
                vet: Some(vet),
                offered_at,
                followups_sent: i32::try_from(followups).unwrap_or(i32::MAX),
                answer: None,
                expires_at: Some(now),
            };
            Self::record_offer(ctx, &record).await?;
        }
        Ok(())
    }

    /// Sends one offer message; `false` when it could not be sent (Mercately refused it,
    /// or stayed away past the give-up time), which is noted and staff are alerted. One
    /// that may have reached the vet counts as sent ([`UNCERTAIN_OFFERS_STAY_OPEN`]),
    /// staff alerted all the same.
    pub(super) async fn send_offer(
        ctx: &mut WorkflowContext<Self>,
        vet: VetId,
        offer_no: i32,
        attempt: u32,
        expires_at: DateTime<Utc>,
    ) -> WorkflowResult<bool> {
        let request = ctx.state(|s| s.input.request);
        // Always an activity, never a local step: the message carries a link to this
        // offer, so it must leave only once the workflow task that made the offer is in
        // the history. A local step would send it first, and a worker that died before
        // the task completed would leave the vet a link the workflow does not know yet.
        let sent = ctx
            .execute_activity(
                DispatchActivities::send_offer,
                SendOffer {
                    request,
                    vet,
                    offer_no,
                    attempt,
                    expires_at,
                },
                summarized(
                    send_activity(),
                    format!("WhatsApp offer #{offer_no} to vet {vet} (message {attempt})"),
                ),
            )
            .await;
        match sent {
            Ok(()) => Ok(true),
            Err(e) if Self::patched(ctx, REFUSALS_HANDLED) => {
                let maybe_sent = uncertain(&e) && ctx.patched(UNCERTAIN_OFFERS_STAY_OPEN);
                let what = if maybe_sent {
                    format!(
                        "offer {offer_no} (message {attempt}) to vet {vet} may not have reached \
                         them ({e}); it stays open: call the vet and record their answer"
                    )
                } else {
                    format!("offer {offer_no} (message {attempt}) to vet {vet} not sent: {e}")
                };
                Self::trouble(ctx, what).await?;
                Ok(maybe_sent)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Nobody can take the request: `expired`, and the owner and staff are told.
    pub(super) async fn expire(
        ctx: &mut WorkflowContext<Self>,
        reason: String,
    ) -> WorkflowResult<RequestStatus> {
        ctx.state_mut(|s| s.closing = true);
        Self::transition(
            ctx,
            RequestState::Expired,
            Actor::System,
            Some(reason.clone()),
        )
        .await?;
        Self::notify(ctx, Audience::Owner, "expired", texts::owner_expired()).await?;
        let alert = texts::staff_expired(&reason);
        Self::notify(ctx, Audience::Staff, "expired", alert).await?;
        Ok(ctx.state(Self::status))
    }

    /// The body of the `vet_response` update, at workflow time `at`.
    pub(super) fn answer_offer(
        &mut self,
        at: DateTime<Utc>,
        response: VetResponse,
    ) -> VetResponseOutcome {
        if self.input.mode == DispatchMode::Staff {
            self.response = Some(response);
            return match response.answer {
                VetAnswer::Accept => VetResponseOutcome::Accepted,
                VetAnswer::Reject => VetResponseOutcome::Rejected,
            };
        }
        let index = match self.judge_answer(&response) {
            Ok(index) => index,
            Err(outcome) => return outcome,
        };
        let offer = &mut self.offers[index];
        self.unrecorded.push((offer.offer_no, response.answer, at));
        match response.answer {
            VetAnswer::Accept => {
                offer.status = OfferStatus::Accepted;
                VetResponseOutcome::Accepted
            }
            VetAnswer::Reject => {
                offer.status = OfferStatus::Rejected;
                VetResponseOutcome::Rejected
            }
        }
    }

    /// Whether a dispatched request's offer can take `response`: the offer's index when
    /// it is open to this vet, else what the answer would come to (not theirs, taken,
    /// already answered, expired). The validator refuses on it, so an answer to a closed
    /// or stale offer never reaches the history; the update applies it.
    pub(super) fn judge_answer(&self, response: &VetResponse) -> Result<usize, VetResponseOutcome> {
        let Some(vet) = response.vet else {
            return Err(VetResponseOutcome::NotYours);
        };
        let found = match response.offer_no {
            Some(no) => self.offers.iter().position(|o| o.offer_no == no),
            None => self.offers.iter().rposition(|o| o.vet == vet),
        };
        let Some(index) = found.filter(|&i| self.offers[i].vet == vet) else {
            return Err(VetResponseOutcome::NotYours);
        };
        let taken = self
            .offers
            .iter()
            .any(|o| o.status == OfferStatus::Accepted && o.vet != vet)
            || (self.vet.is_some() && self.vet != Some(vet));
        match self.offers[index].status {
            OfferStatus::Open if taken => Err(VetResponseOutcome::Taken),
            OfferStatus::Open => Ok(index),
            OfferStatus::Accepted | OfferStatus::Rejected => {
                Err(VetResponseOutcome::AlreadyAnswered)
            }
            OfferStatus::Closed if taken => Err(VetResponseOutcome::Taken),
            OfferStatus::Closed => Err(VetResponseOutcome::Expired),
        }
    }
}

/// Whether an activity's failure is a send that may have reached its recipient.
fn uncertain(e: &ActivityExecutionError) -> bool {
    match e {
        ActivityExecutionError::Failed(failed) => matches!(
            failed.cause(),
            Some(IncomingError::Application(failure))
                if failure.type_name() == Some(activities::dispatch::SEND_UNCERTAIN)
        ),
        _ => false,
    }
}
