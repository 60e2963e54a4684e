//! The workflow's effects, each in one place: activity options, recording a state
//! change (`transition`) or a note, telling people (`notify`), recording an offer, and
//! the one race of a timer against a condition.

use std::time::Duration;

use activities::{
    RecordTransition, RequestActivities,
    dispatch::{Audience, DispatchActivities, Notice},
};
use chrono::{DateTime, Utc};
use db::requests::OfferRecord;
use domain::{Actor, RequestState, StateChange, check_transition};
use temporalio_common::protos::temporal::api::common::v1::RetryPolicy;
use temporalio_common::{ActivityDefinition, data_converters::TemporalDeserializable};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityExecutionError, ActivityOptions, ApplicationFailure,
    LocalActivityOptions, WorkflowContext, WorkflowResult,
};

use super::ServiceRequestWorkflow;
use crate::search;

/// Recording a state change or an offer: PostgreSQL may be briefly away, so retry
/// patiently; the activity is idempotent.
pub(super) fn db_activity() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
        .retry_policy(RetryPolicy {
            initial_interval: Some(Duration::from_millis(200).try_into().unwrap_or_default()),
            backoff_coefficient: 2.0,
            maximum_interval: Some(Duration::from_secs(30).try_into().unwrap_or_default()),
            ..Default::default()
        })
        .build()
}

/// Calling a provider (WhatsApp, MercadoPago): the client retries quickly inside one
/// attempt (at most `MERCATELY_MAX_ATTEMPTS` × (`MERCATELY_TIMEOUT_MS` + the 5 s connect
/// timeout) plus backoff: about 63 s with the defaults; the worker refuses to start with
/// settings that do not fit inside [`PROVIDER_ATTEMPT`]); between attempts back off up
/// to a minute, and give up after [`PROVIDER_GIVE_UP`]. Refusals fail at once
/// (non-retryable). A failure is the workflow's to handle, never its end.
pub(crate) fn send_activity() -> ActivityOptions {
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: PROVIDER_GIVE_UP,
        start_to_close: PROVIDER_ATTEMPT,
    })
    .retry_policy(RetryPolicy {
        initial_interval: Some(Duration::from_secs(1).try_into().unwrap_or_default()),
        backoff_coefficient: 2.0,
        maximum_interval: Some(Duration::from_secs(60).try_into().unwrap_or_default()),
        ..Default::default()
    })
    .heartbeat_timeout(PROVIDER_HEARTBEAT)
    .build()
}

/// A provider activity heartbeats every few seconds (`activities::alive`); silent this
/// long, its worker is taken for dead and the attempt is retried elsewhere.
pub const PROVIDER_HEARTBEAT: Duration = Duration::from_secs(15);

/// `options` with the one line the Temporal UI shows for the activity.
pub(super) fn summarized(mut options: ActivityOptions, summary: String) -> ActivityOptions {
    options.summary = Some(summary);
    options
}

/// One attempt of a provider activity.
pub const PROVIDER_ATTEMPT: Duration = Duration::from_secs(90);
/// How long a provider activity is retried before the workflow handles the failure.
pub const PROVIDER_GIVE_UP: Duration = Duration::from_secs(15 * 60);

/// Histories from before: a provider's refusal failed the workflow. With this patch it is
/// handled: noted, staff alerted, the request goes on or ends with its compensation.
pub(super) const REFUSALS_HANDLED: &str = "provider-refusals-handled";

pub(super) fn seconds(secs: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

pub(super) fn to_utc(time: Option<std::time::SystemTime>) -> DateTime<Utc> {
    time.map(DateTime::<Utc>::from).unwrap_or_default()
}

/// How the history and staff alerts mark what people must look at.
pub(super) const ATTENTION: &str = "needs attention: ";

pub(crate) use crate::waits::Woken;

/// The lean command shape (added after the invoicing histories): every step runs as a
/// local activity, so a run of steps costs one marker event each inside one workflow
/// task instead of three events and a workflow task each; and this one patch stands for
/// every patch before it, so a new request records one patch marker instead of one per
/// patch. Histories from before replay the old shape: this patch is not in them.
pub(super) const LEAN_STEPS: &str = "lean-steps";

/// A step's options as a local activity: the same attempt and give-up times and retry
/// policy. A retry that would wait longer than [`LOCAL_RETRY_IN_WORKER`] waits on a
/// workflow timer instead of holding the workflow task.
fn local(options: ActivityOptions) -> LocalActivityOptions {
    let schedule_to_close = options.close_timeouts.schedule_to_close();
    let start_to_close = options.close_timeouts.start_to_close();
    LocalActivityOptions::builder()
        .retry_policy(options.retry_policy.unwrap_or_default())
        // The SDK would end a local activity without a give-up time after 100 s; a step
        // that had none (PostgreSQL away) keeps being retried, as before.
        .schedule_to_close_timeout(schedule_to_close.unwrap_or(PATIENT_GIVE_UP))
        .maybe_start_to_close_timeout(start_to_close)
        .timer_backoff_threshold(LOCAL_RETRY_IN_WORKER)
        .maybe_summary(options.summary)
        .build()
}

/// Retries of a local step that wait up to this long happen inside the worker.
const LOCAL_RETRY_IN_WORKER: Duration = Duration::from_secs(10);

/// How long a step without a give-up time (a database write) is retried.
const PATIENT_GIVE_UP: Duration = Duration::from_secs(7 * 24 * 3600);

impl ServiceRequestWorkflow {
    /// Whether this run has the lean command shape ([`LEAN_STEPS`]), decided on first use
    /// (the first step of the run) and kept for the run.
    pub(super) fn lean(ctx: &WorkflowContext<Self>) -> bool {
        if let Some(lean) = ctx.state(|s| s.lean) {
            return lean;
        }
        let lean = ctx.patched(LEAN_STEPS);
        ctx.state_mut(|s| s.lean = Some(lean));
        lean
    }

    /// `Self::patched(ctx, patch)` for a patch from before [`LEAN_STEPS`]: a lean run has every
    /// one of them, without recording a marker for each.
    pub(super) fn patched(ctx: &WorkflowContext<Self>, patch: &str) -> bool {
        Self::lean(ctx) || ctx.patched(patch)
    }

    /// Runs one step: a local activity in a lean run, an activity in the histories from
    /// before.
    pub(super) async fn step<AD>(
        ctx: &WorkflowContext<Self>,
        activity: AD,
        input: impl Into<AD::Input>,
        options: ActivityOptions,
    ) -> Result<AD::Output, ActivityExecutionError>
    where
        AD: ActivityDefinition,
        AD::Output: TemporalDeserializable,
    {
        if Self::lean(ctx) {
            ctx.execute_local_activity(activity, input, local(options))
                .await
        } else {
            ctx.execute_activity(activity, input, options).await
        }
    }

    /// Frees the vet's booked time for the request's visit, and forgets it.
    pub(super) async fn release_visit(
        ctx: &mut WorkflowContext<Self>,
        request: domain::RequestId,
    ) -> WorkflowResult<()> {
        Self::free_booked_time(ctx, request).await?;
        ctx.state_mut(|s| s.scheduled = None);
        Ok(())
    }

    /// The release step alone (a reassignment forgets the time later, in its own order).
    pub(super) async fn free_booked_time(
        ctx: &mut WorkflowContext<Self>,
        request: domain::RequestId,
    ) -> WorkflowResult<()> {
        Self::step(
            ctx,
            DispatchActivities::release_visit,
            request,
            db_activity(),
        )
        .await?;
        Ok(())
    }

    /// Waits until `condition` holds or `wait` has passed ([`crate::waits::timer_or`]).
    pub(super) async fn timer_or(
        ctx: &mut WorkflowContext<Self>,
        wait: Duration,
        condition: impl FnMut(&Self) -> bool,
    ) -> WorkflowResult<Woken> {
        crate::waits::timer_or(ctx, wait, condition).await
    }

    /// Tells someone something, once per key and state change. Best effort: a message
    /// that cannot be sent is noted in the history and staff are alerted; the request
    /// goes on.
    pub(super) async fn notify(
        ctx: &mut WorkflowContext<Self>,
        audience: Audience,
        key: &str,
        text: String,
    ) -> WorkflowResult<()> {
        let (request, seq) = ctx.state(|s| (s.input.request, s.seq));
        let sent = Self::step(
            ctx,
            DispatchActivities::notify,
            Notice {
                request,
                audience,
                // One notice per state change: a second round after a reassignment
                // tells again.
                key: format!("{key}:{seq}"),
                text,
            },
            summarized(send_activity(), format!("tell {audience:?}: {key}")),
        )
        .await;
        match sent {
            Ok(()) => Ok(()),
            Err(e) if Self::patched(ctx, REFUSALS_HANDLED) => {
                let who = match audience {
                    Audience::Owner => "the owner",
                    Audience::Vet => "the vet",
                    Audience::Staff => "staff",
                };
                let what = format!("{who} could not be told ({key}): {e}");
                if audience == Audience::Staff {
                    Self::note(ctx, format!("{ATTENTION}{what}")).await
                } else {
                    Self::trouble(ctx, what).await
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Something went wrong that people must look at: a `needs attention` note in the
    /// request's history, and a staff alert (itself best effort: its failure is logged).
    pub(super) async fn trouble(
        ctx: &mut WorkflowContext<Self>,
        what: String,
    ) -> WorkflowResult<()> {
        Self::note(ctx, format!("{ATTENTION}{what}")).await?;
        let (request, seq) = ctx.state(|s| (s.input.request, s.seq));
        let alert = Self::step(
            ctx,
            DispatchActivities::notify,
            Notice {
                request,
                audience: Audience::Staff,
                key: format!("attention:{seq}"),
                text: format!("{ATTENTION}{what}"),
            },
            summarized(send_activity(), "alert staff: needs attention".into()),
        )
        .await;
        if let Err(e) = alert {
            tracing::error!(%request, error = %e, %what, "staff alert not sent");
        }
        Ok(())
    }

    /// Moves the request to `to`: checks the move is legal, updates the search attribute,
    /// and records it in PostgreSQL (projection and history, one transaction).
    pub(super) async fn transition(
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
        let summary = format!(
            "record {} → {}",
            input.change.from.unwrap_or_default(),
            input.change.to
        );
        let options = summarized(db_activity(), summary);
        Self::step(ctx, RequestActivities::record_transition, input, options).await?;
        Ok(())
    }

    /// Something happened that does not move the request (a charge-back): a history
    /// entry from the state to itself, with why.
    pub(super) async fn note(
        ctx: &mut WorkflowContext<Self>,
        reason: String,
    ) -> WorkflowResult<()> {
        let at = to_utc(ctx.workflow_time());
        let input = ctx.state_mut(|s| {
            s.seq += 1;
            RecordTransition {
                request: s.input.request,
                description: s.input.description.clone(),
                change: StateChange {
                    seq: s.seq,
                    from: Some(s.state),
                    to: s.state,
                    actor: Actor::System,
                    reason: Some(reason),
                    at,
                },
                vet: None,
            }
        });
        let summary = format!("note in {}", input.change.to);
        let options = summarized(db_activity(), summary);
        Self::step(ctx, RequestActivities::record_transition, input, options).await?;
        Ok(())
    }

    pub(super) async fn record_offer(
        ctx: &mut WorkflowContext<Self>,
        offer: &OfferRecord,
    ) -> WorkflowResult<()> {
        Self::step(
            ctx,
            RequestActivities::record_offer,
            offer.clone(),
            db_activity(),
        )
        .await?;
        Ok(())
    }
}
