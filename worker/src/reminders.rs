//! The daily Temporal Schedule that starts [`VaccineRemindersWorkflow`]: created by every
//! worker at start-up (an existing one is updated to the worker's settings), so
//! `make run` and every deployment have it without a manual step.

use temporalio_client::{
    Client, RpcOptions,
    schedules::{
        CreateScheduleOptions, ScheduleAction, ScheduleCalendarSpec, ScheduleError,
        ScheduleOverlapPolicy, ScheduleSpec,
    },
};

use workflows::{VaccineRemindersWorkflow, vaccine_reminders::VaccineRemindersInput};

/// The schedule's id, and its runs' workflow id prefix.
pub const ID: &str = "vaccine-reminders";

/// Creates the schedule, daily at `hour` in Buenos Aires; one that exists already is
/// updated to these settings. Safe to call at every start of every worker.
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
        .note("vaccine reminders, daily".to_owned())
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
