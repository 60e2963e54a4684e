//! `VisitRecordsWorkflow` (`visit-records-<request>`): keeps a confirmed visit's Google
//! Calendar event and sheet row in step with the visit, apart from the request, so a
//! Google outage delays them and never the request. The request starts it when it is
//! confirmed and signals `visit_changed` when it is cancelled or completed; each time it
//! syncs (one idempotent activity, retried patiently), and once the visit is settled
//! and synced it ends. A sync that gives up alerts staff and is tried again after a
//! while; whatever happens it ends by its deadline (the visit's end plus a week).

use std::{pin::pin, time::Duration};

use activities::{
    dispatch::{Audience, DispatchActivities, Notice},
    visit_records::VisitRecordsActivities,
};
use chrono::{DateTime, Utc};
use domain::RequestId;
use serde::{Deserialize, Serialize};
use temporalio_common::protos::temporal::api::common::v1::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityOptions, CancellableFuture, SyncWorkflowContext,
    WorkflowContext, WorkflowContextView, WorkflowResult, workflows::select,
};

use crate::{failures::why, names, service_request::send_activity};

/// What the workflow starts with.
///
/// FROZEN wire type: it reaches workflow histories, so fields are only ever added, with
/// a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VisitRecordsInput {
    pub request: RequestId,
    /// When to stop waiting for changes, whatever happened.
    pub until: DateTime<Utc>,
}

/// The workflow id of a request's visit records.
pub fn workflow_id(request: RequestId) -> String {
    format!("visit-records-{request}")
}

/// A sync: Google may be away for a while; each attempt is bounded and retried with a
/// backoff up to 10 minutes, for half an hour, before staff hear of it.
fn sync_activity() -> ActivityOptions {
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: Duration::from_secs(30 * 60),
        start_to_close: crate::PROVIDER_ATTEMPT,
    })
    .retry_policy(RetryPolicy {
        initial_interval: Some(Duration::from_secs(2).try_into().unwrap_or_default()),
        backoff_coefficient: 2.0,
        maximum_interval: Some(Duration::from_secs(600).try_into().unwrap_or_default()),
        ..Default::default()
    })
    .heartbeat_timeout(crate::service_request::PROVIDER_HEARTBEAT)
    .build()
}

/// After a sync gave up, the next try.
const AGAIN_AFTER: Duration = Duration::from_secs(6 * 3600);

#[workflow]
pub struct VisitRecordsWorkflow {
    input: VisitRecordsInput,
    /// Changes signalled so far.
    changes: u32,
}

#[workflow_methods]
impl VisitRecordsWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: VisitRecordsInput) -> Self {
        Self { input, changes: 0 }
    }

    #[run(name = names::VISIT_RECORDS_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        let (request, until) = ctx.state(|s| (s.input.request, s.input.until));
        let mut failures = 0u32;
        loop {
            let seen = ctx.state(|s| s.changes);
            let synced = ctx
                .execute_activity(
                    VisitRecordsActivities::sync_visit_records,
                    request,
                    sync_activity(),
                )
                .await;
            let wait = match synced {
                Ok(synced) if synced.settled => return Ok(()),
                Ok(_) => None,
                Err(e) => {
                    failures += 1;
                    let text = format!(
                        "needs attention: el calendario o la planilla de la visita no se pudieron actualizar: {}",
                        why(&e)
                    );
                    Self::alert(ctx, request, failures, text).await;
                    Some(AGAIN_AFTER)
                }
            };
            let now = ctx
                .workflow_time()
                .map(DateTime::<Utc>::from)
                .unwrap_or_default();
            let Ok(left) = (until - now).to_std() else {
                return Ok(());
            };
            let wait = wait.map_or(left, |again| again.min(left));
            if wait.is_zero() {
                return Ok(());
            }
            // A change, or the time: whichever comes first.
            let mut timer = pin!(ctx.timer(wait));
            let mut changed = pin!(ctx.wait_condition(move |s: &Self| s.changes > seen));
            let woke_by_change = select! {
                result = changed => { result?; true }
                _ = timer => false
            };
            if woke_by_change {
                timer.cancel();
            } else if ctx.state(|s| s.changes) == seen && wait == left {
                // The deadline, and nothing new: done.
                return Ok(());
            }
        }
    }

    /// The visit changed (cancelled, completed): sync again.
    #[signal(name = names::VISIT_CHANGED_SIGNAL)]
    pub fn visit_changed(&mut self, _ctx: &mut SyncWorkflowContext<Self>) {
        self.changes += 1;
    }
}

impl VisitRecordsWorkflow {
    /// Tells staff, once per failure; a message that cannot be sent is logged.
    async fn alert(ctx: &mut WorkflowContext<Self>, request: RequestId, n: u32, text: String) {
        let notice = Notice {
            request,
            audience: Audience::Staff,
            key: format!("visit-records:{n}"),
            text,
        };
        if let Err(e) = ctx
            .execute_activity(DispatchActivities::notify, notice, send_activity())
            .await
        {
            tracing::error!(%request, error = %e, "staff not told that the visit's records failed");
        }
    }
}
