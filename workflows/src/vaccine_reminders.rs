//! `VaccineRemindersWorkflow`: one day's vaccine reminders, started daily by the
//! `vaccine-reminders` Temporal Schedule (the worker creates it). The
//! day is the workflow's own (its start time, in Buenos Aires), so a run replays the
//! same, and a late or repeated run of a day sends nothing twice (the ledger's keys).

use std::time::Duration;

use activities::reminders::{ReminderActivities, ReminderCounts, ReminderRun};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use temporalio_common::protos::temporal::api::common::v1::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityCloseTimeouts, ActivityOptions, WorkflowContext, WorkflowContextView, WorkflowResult,
};

use crate::names;

/// What each day's run starts with (the schedule's action carries it).
///
/// FROZEN wire type: it reaches workflow histories, so fields are only ever added, with
/// a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaccineRemindersInput {
    /// `VACCINE_REMINDER_HORIZON_DAYS`: doses due up to this many days ahead.
    pub horizon_days: u32,
    /// `VACCINATION_SERVICE_CODE`: the service the reminder's link books.
    pub service_code: String,
}

/// The day's sends: bounded attempts (the activity heartbeats as it goes), retried for
/// up to three hours; the next day's run picks up whatever is still due.
fn reminders_activity() -> ActivityOptions {
    ActivityOptions::with_close_timeouts(ActivityCloseTimeouts::ScheduleAndStartToClose {
        schedule_to_close: Duration::from_secs(3 * 3600),
        start_to_close: Duration::from_secs(30 * 60),
    })
    .retry_policy(RetryPolicy {
        initial_interval: Some(Duration::from_secs(5).try_into().unwrap_or_default()),
        backoff_coefficient: 2.0,
        maximum_interval: Some(Duration::from_secs(600).try_into().unwrap_or_default()),
        ..Default::default()
    })
    .heartbeat_timeout(crate::service_request::PROVIDER_HEARTBEAT)
    .build()
}

#[workflow]
pub struct VaccineRemindersWorkflow {
    input: VaccineRemindersInput,
}

#[workflow_methods]
impl VaccineRemindersWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: VaccineRemindersInput) -> Self {
        Self { input }
    }

    #[run(name = names::VACCINE_REMINDERS_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<ReminderCounts> {
        let now = ctx
            .workflow_time()
            .map(DateTime::<Utc>::from)
            .unwrap_or_default();
        let run = ctx.state(|s| ReminderRun {
            today: domain::time::local_date(now),
            horizon_days: s.input.horizon_days,
            service_code: s.input.service_code.clone(),
        });
        let counts = ctx
            .execute_activity(
                ReminderActivities::send_vaccine_reminders,
                run,
                reminders_activity(),
            )
            .await;
        match counts {
            Ok(counts) => Ok(counts),
            // Gave up for today (a provider away for hours): tomorrow's run sends what
            // is still due; the run ends, it does not fail.
            Err(e) => {
                tracing::error!(error = %e, "vaccine reminders gave up for today");
                Ok(ReminderCounts::default())
            }
        }
    }
}
