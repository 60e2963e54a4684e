//! The daily Temporal Schedules the worker keeps: the vaccine reminders
//! ([`VaccineRemindersWorkflow`]) and the AFIP check ([`AfipCheckWorkflow`]). Created by
//! every worker at start-up (an existing one is updated to the worker's settings), so
//! `make run` and every deployment have them without a manual step.

use temporalio_client::{
    Client, RpcOptions,
    schedules::{
        CreateScheduleOptions, ScheduleAction, ScheduleCalendarSpec, ScheduleError,
        ScheduleOverlapPolicy, ScheduleSpec,
    },
};

use workflows::{
    AfipCheckWorkflow, VaccineRemindersWorkflow, vaccine_reminders::VaccineRemindersInput,
};

/// The reminders' schedule id, and its runs' workflow id prefix.
pub const ID: &str = "vaccine-reminders";

/// The AFIP check's schedule id.
pub const AFIP_CHECK_ID: &str = "afip-check";

/// Creates the reminders' schedule, daily at `hour` in Buenos Aires; one that exists
/// already is updated to these settings. Safe to call at every start of every worker.
pub async fn ensure(
    client: &Client,
    id: &str,
    task_queue: &str,
    hour: u8,
    input: VaccineRemindersInput,
) -> Result<(), ScheduleError> {
    let action = ScheduleAction::start_workflow(
        VaccineRemindersWorkflow::run,
        input,
        task_queue.to_owned(),
        id.to_owned(),
    );
    ensure_daily(client, id, hour, action, "vaccine reminders, daily").await
}

/// Creates (or updates) the daily AFIP check at 08:00 in Buenos Aires.
pub async fn ensure_afip_check(client: &Client, task_queue: &str) -> Result<(), ScheduleError> {
    let action = ScheduleAction::start_workflow(
        AfipCheckWorkflow::run,
        (),
        task_queue.to_owned(),
        AFIP_CHECK_ID.to_owned(),
    );
    ensure_daily(
        client,
        AFIP_CHECK_ID,
        8,
        action,
        "AFIP certificate and points of sale, daily",
    )
    .await
}

async fn ensure_daily(
    client: &Client,
    id: &str,
    hour: u8,
    action: ScheduleAction,
    note: &str,
) -> Result<(), ScheduleError> {
    let daily = ScheduleCalendarSpec::builder()
        .hour(hour.to_string())
        .minute("0")
        .second("0")
        .build();
    let spec = ScheduleSpec::builder()
        .calendars(vec![daily])
        .timezone_name(domain::time::ZONE)
        .build();
    let options = CreateScheduleOptions::builder()
        .action(action.clone())
        .spec(spec.clone())
        .overlap_policy(ScheduleOverlapPolicy::Skip)
        .note(note.to_owned())
        .build();
    match client.create_schedule(id, options).await {
        Ok(_) => Ok(()),
        Err(ScheduleError::Rpc(status)) if status.code() == tonic::Code::AlreadyExists => {
            client
                .get_schedule_handle(id)
                .update(
                    move |update| {
                        update.set_spec(spec).set_action(action);
                    },
                    RpcOptions::default(),
                )
                .await
        }
        Err(e) => Err(e),
    }
}
