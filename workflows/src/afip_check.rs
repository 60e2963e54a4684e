//! `AfipCheckWorkflow`: the daily check of the taxpayer's AFIP setup (certificate
//! expiry, service, points of sale), started by the `afip-check` Temporal Schedule the
//! worker creates. Its day is the workflow's own start, so a replay checks the same day.

use std::time::Duration;

use activities::invoices::{AfipCheck, InvoiceActivities};
use chrono::{DateTime, Utc};
use temporalio_common::protos::temporal::api::common::v1::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityOptions, WorkflowContext, WorkflowContextView, WorkflowResult,
};

use crate::{names, service_request::PROVIDER_HEARTBEAT};

fn check_activity() -> ActivityOptions {
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: Duration::from_secs(3600),
        start_to_close: Duration::from_secs(120),
    })
    .retry_policy(RetryPolicy {
        initial_interval: Some(Duration::from_secs(5).try_into().unwrap_or_default()),
        backoff_coefficient: 2.0,
        maximum_interval: Some(Duration::from_secs(300).try_into().unwrap_or_default()),
        ..Default::default()
    })
    .heartbeat_timeout(PROVIDER_HEARTBEAT)
    .build()
}

#[workflow]
pub struct AfipCheckWorkflow;

#[workflow_methods]
impl AfipCheckWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, _input: ()) -> Self {
        Self
    }

    #[run(name = names::AFIP_CHECK_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<AfipCheck> {
        let now = ctx
            .workflow_time()
            .map(DateTime::<Utc>::from)
            .unwrap_or_default();
        let today = domain::time::local_date(now);
        match ctx
            .execute_activity(InvoiceActivities::check_afip, today, check_activity())
            .await
        {
            Ok(check) => Ok(check),
            // Tomorrow's run checks again; the run ends, it does not fail.
            Err(e) => {
                tracing::error!(error = %e, "the AFIP check gave up for today");
                Ok(AfipCheck::default())
            }
        }
    }
}
