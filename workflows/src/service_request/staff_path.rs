//! FROZEN: the staff path, the original walking skeleton. A request created by staff
//! (no address, no window) gets one open offer whose answer staff record for a vet.
//! Workflows in flight replay this exact command sequence: do not change it; a change
//! goes behind `ctx.patched` and a new saved history.

use db::requests::OfferRecord;
use domain::{Actor, DispatchPolicy, RequestState, VetAnswer};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use super::{
    RequestStatus, ServiceRequestWorkflow, VetResponse,
    effects::{Woken, to_utc},
};

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
}
