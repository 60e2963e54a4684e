//! `ServiceRequestWorkflow`: one durable workflow per service request, the single writer
//! of its state after creation.

use std::{pin::pin, time::Duration};

use activities::{RecordTransition, RequestActivities};
use chrono::{DateTime, Utc};
use db::requests::OfferRecord;
use domain::{
    Actor, DispatchPolicy, RequestId, RequestState, StateChange, VetAnswer, VetId, check_transition,
};
use serde::{Deserialize, Serialize};
use temporalio_common::protos::temporal::api::common::v1::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, ApplicationFailure, CancellableFuture, SyncWorkflowContext, WorkflowContext,
    WorkflowContextView, WorkflowResult, workflows::select,
};

use crate::{names, search};

/// What checkout (for now the create endpoint) hands the workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRequestInput {
    pub request: RequestId,
    pub description: String,
    pub policy: DispatchPolicy,
}

/// A vet's answer, sent as the `vet_response` update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VetResponse {
    pub answer: VetAnswer,
    /// The vet answering, when known (the offer links of dispatch will always know).
    #[serde(default)]
    pub vet: Option<VetId>,
}

/// What the caller of `vet_response` learns at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VetResponseOutcome {
    Accepted,
    Rejected,
}

/// The live view answered by the `status` query, and the workflow's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestStatus {
    pub request: RequestId,
    pub state: RequestState,
    /// seq of the last state change; matches `state_seq` in PostgreSQL once recorded.
    pub seq: i32,
    pub followups_sent: u32,
    /// Whether a vet's answer is being waited for.
    pub awaiting_vet: bool,
    pub vet: Option<VetId>,
}

#[workflow]
pub struct ServiceRequestWorkflow {
    input: ServiceRequestInput,
    state: RequestState,
    seq: i32,
    followups_sent: u32,
    response: Option<VetResponse>,
    vet: Option<VetId>,
}

/// Recording a state change or an offer: PostgreSQL may be briefly away, so retry
/// patiently; the activity is idempotent.
fn db_activity() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
        .retry_policy(RetryPolicy {
            initial_interval: Some(Duration::from_millis(200).try_into().unwrap_or_default()),
            backoff_coefficient: 2.0,
            maximum_interval: Some(Duration::from_secs(30).try_into().unwrap_or_default()),
            ..Default::default()
        })
        .build()
}

fn to_utc(time: Option<std::time::SystemTime>) -> DateTime<Utc> {
    time.map(DateTime::<Utc>::from).unwrap_or_default()
}

#[workflow_methods]
impl ServiceRequestWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: ServiceRequestInput) -> Self {
        Self {
            input,
            state: RequestState::Pending,
            seq: 0,
            followups_sent: 0,
            response: None,
            vet: None,
        }
    }

    #[run(name = names::SERVICE_REQUEST_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<RequestStatus> {
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
        };
        Self::record_offer(ctx, &offer).await?;

        let response = Self::await_vet_answer(ctx, &policy, &mut offer).await?;
        match response {
            Some(VetResponse { answer, vet }) => {
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
            let got_answer = {
                let mut timer = pin!(ctx.timer(policy.vet_followup_delay()));
                let mut answered = pin!(ctx.wait_condition(|s| s.response.is_some()));
                let got_answer = select! {
                    result = answered => { result?; true }
                    _ = timer => false
                };
                if got_answer {
                    // A timer dropped unfired stays in the history until cancelled.
                    timer.cancel();
                }
                got_answer
            };
            if got_answer {
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

    /// Moves the request to `to`: checks the move is legal, updates the search attribute,
    /// and records it in PostgreSQL (projection and history, one transaction).
    async fn transition(
        ctx: &mut WorkflowContext<Self>,
        to: RequestState,
        actor: Actor,
        reason: Option<String>,
    ) -> WorkflowResult<()> {
        let at = to_utc(ctx.workflow_time());
        let vet = match actor {
            Actor::Vet(vet) if to == RequestState::VetAccepted => Some(vet),
            _ => None,
        };
        let input = ctx
            .state_mut(|s| {
                check_transition(s.state, to)?;
                s.seq += 1;
                let change = StateChange {
                    seq: s.seq,
                    from: Some(s.state),
                    to,
                    actor,
                    reason,
                    at,
                };
                s.state = to;
                if vet.is_some() {
                    s.vet = vet;
                }
                Ok::<_, domain::TransitionError>(RecordTransition {
                    request: s.input.request,
                    description: s.input.description.clone(),
                    change,
                    vet,
                })
            })
            .map_err(ApplicationFailure::non_retryable)?;
        let mut attributes = vec![search::REQUEST_STATE.value_set(to.as_str().to_owned())];
        if let Some(vet) = vet {
            attributes.push(search::VET_ID.value_set(vet.to_string()));
        }
        ctx.upsert_search_attributes(attributes);
        ctx.execute_activity(RequestActivities::record_transition, input, db_activity())
            .await?;
        Ok(())
    }

    async fn record_offer(
        ctx: &mut WorkflowContext<Self>,
        offer: &OfferRecord,
    ) -> WorkflowResult<()> {
        ctx.execute_activity(
            RequestActivities::record_offer,
            offer.clone(),
            db_activity(),
        )
        .await?;
        Ok(())
    }

    fn status(&self) -> RequestStatus {
        RequestStatus {
            request: self.input.request,
            state: self.state,
            seq: self.seq,
            followups_sent: self.followups_sent,
            awaiting_vet: self.state == RequestState::VetAsked && self.response.is_none(),
            vet: self.vet,
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
        _response: &VetResponse,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.state != RequestState::VetAsked {
            return Err(format!("the request is {}, no offer is open", self.state).into());
        }
        if self.response.is_some() {
            return Err("the offer has already been answered".into());
        }
        Ok(())
    }

    /// The vet's answer. An update, not a signal, so that the caller learns at once
    /// whether it counted.
    #[update(name = names::VET_RESPONSE_UPDATE)]
    pub fn vet_response(
        &mut self,
        _ctx: &mut SyncWorkflowContext<Self>,
        response: VetResponse,
    ) -> VetResponseOutcome {
        self.response = Some(response);
        match response.answer {
            VetAnswer::Accept => VetResponseOutcome::Accepted,
            VetAnswer::Reject => VetResponseOutcome::Rejected,
        }
    }
}
