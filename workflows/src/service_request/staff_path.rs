//! FROZEN: the staff path, the original walking skeleton. A request created by staff
//! (no address, no window) gets one open offer whose answer staff record for a vet.
//! Workflows in flight replay this exact command sequence: do not change it; a change
//! goes behind `ctx.patched` and a new saved history.

use db::requests::OfferRecord;
use domain::{Actor, DispatchPolicy, RequestState, VetAnswer};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use super::{
    Cancel, RequestStatus, ServiceRequestWorkflow, VetResponse,
    effects::{Woken, to_utc},
};

/// Added after the staff histories: an accepted staff request no longer completes its
/// workflow in `vet_accepted` (open forever in PostgreSQL); it ends `cancelled` by staff
/// or `expired` after [`STAFF_HOLD`].
const STAFF_PATH_ENDS: &str = "staff-path-ends";

/// How long an accepted staff request stays open for staff to cancel: the visit itself
/// is arranged by phone, off the platform.
const STAFF_HOLD: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 60 * 60);

impl ServiceRequestWorkflow {
    /// The staff path (see the module documentation). Its commands must stay as they
    /// are: saved histories replay them.
    pub(super) async fn run_staff_dispatched(
        ctx: &mut WorkflowContext<Self>,
    ) -> WorkflowResult<RequestStatus> {
        let (request, policy) = ctx.state(|s| (s.input.request, s.input.policy));

        Self::transition(ctx, RequestState::VetAsked, Actor::System, None).await?;
        let offered_at = to_utc(ctx.workflow_time());
        let mut offer = OfferRecord {
            request,
            offer_no: 0,
            vet: None,
            offered_at,
            followups_sent: 0,
            answer: None,
            expires_at: None,
        };
        Self::record_offer(ctx, &offer).await?;

        let response = Self::await_vet_answer(ctx, &policy, &mut offer).await?;
        match response {
            Some(VetResponse { answer, vet, .. }) => {
                offer.answer = Some((answer, to_utc(ctx.workflow_time())));
                offer.vet = vet;
                Self::record_offer(ctx, &offer).await?;
                let actor = vet.map_or(Actor::System, Actor::Vet);
                let (to, reason) = match answer {
                    VetAnswer::Accept => (RequestState::VetAccepted, None),
                    VetAnswer::Reject => (
                        RequestState::Expired,
                        Some("the vet rejected the offer and no other vet is available".into()),
                    ),
                };
                Self::transition(ctx, to, actor, reason).await?;
                if answer == VetAnswer::Accept && Self::patched(ctx, STAFF_PATH_ENDS) {
                    Self::hold_staff_request(ctx).await?;
                }
            }
            None => {
                let reason = format!(
                    "no answer from the vet after {} follow-ups",
                    policy.vet_max_followups
                );
                Self::transition(ctx, RequestState::Expired, Actor::System, Some(reason)).await?;
            }
        }
        Ok(ctx.state(Self::status))
    }

    /// Waits for the vet's answer, re-sending the offer after each silent delay, up to
    /// the policy's count. `None` when the vet never answered.
    async fn await_vet_answer(
        ctx: &mut WorkflowContext<Self>,
        policy: &DispatchPolicy,
        offer: &mut OfferRecord,
    ) -> WorkflowResult<Option<VetResponse>> {
        loop {
            let answered = |s: &Self| s.response.is_some();
            let woken = Self::timer_or(ctx, policy.vet_followup_delay(), answered).await?;
            if woken == Woken::Condition {
                return Ok(ctx.state(|s| s.response));
            }
            if ctx.state(|s| s.followups_sent) >= policy.vet_max_followups {
                return Ok(None);
            }
            let sent = ctx.state_mut(|s| {
                s.followups_sent += 1;
                s.followups_sent
            });
            offer.followups_sent = i32::try_from(sent).unwrap_or(i32::MAX);
            Self::record_offer(ctx, offer).await?;
        }
    }

    /// The end of an accepted staff request (behind [`STAFF_PATH_ENDS`]): staff cancel it
    /// within [`STAFF_HOLD`], or it expires then.
    async fn hold_staff_request(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        // A cancel accepted in the same moment the hold ran out still counts: staff were told
        // it did.
        Self::timer_or(ctx, STAFF_HOLD, |s| s.cancel.is_some()).await?;
        ctx.state_mut(|s| s.closing = true);
        match ctx.state_mut(|s| s.cancel.take()) {
            Some(Cancel { actor, reason }) => {
                Self::transition(ctx, RequestState::Cancelled, actor, reason).await
            }
            _ => {
                let days = STAFF_HOLD.as_secs() / 86_400;
                let reason = format!(
                    "arranged by phone: closed on the platform {days} days after the vet accepted"
                );
                Self::transition(ctx, RequestState::Expired, Actor::System, Some(reason)).await
            }
        }
    }
}
