//! The vaccine reminders' daily schedule on the dev server: the worker creates it at
//! start-up (daily at the configured local hour, starting `VaccineRemindersWorkflow` on
//! its task queue), creating it again changes it instead of failing, and a run it
//! starts reminds Ana.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Timelike, Utc};
use e2e::{
    InProcessWorker, TestApp,
    fixtures::{ANA_PHONE, dispatch},
};
use serde_json::json;
use temporalio_client::{
    RpcOptions,
    schedules::{
        DeleteScheduleOptions, ScheduleDescriptionAction, ScheduleOverlapPolicy,
        TriggerScheduleOptions,
    },
};
use worker::VaccineReminders;

/// The next run's hour, UTC.
fn next_hour(times: &[SystemTime]) -> u32 {
    let next = times.first().copied().expect("a next run");
    DateTime::<Utc>::from(next).hour()
}

#[tokio::test]
async fn the_worker_schedules_the_reminders_daily_and_a_run_reminds_the_owner() {
    let app = TestApp::start().await;
    let w = dispatch(&app, 0).await;
    let vaccine = app
        .create(
            &w.booking.staff,
            "/api/v1/vaccines",
            json!({ "name": "Antirrábica", "interval_days": 365 }),
        )
        .await;
    let today = e2e::fixtures::local_today();
    let (status, body) = w
        .booking
        .ana
        .post(
            &app,
            &format!("/api/v1/pets/{}/vaccinations", w.booking.pet),
            json!({ "vaccine_id": vaccine, "applied_on": today - chrono::Days::new(360), "next_due_on": today + chrono::Days::new(5) }),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let reminders = VaccineReminders {
        schedule_id: format!("vaccine-reminders-{}", uuid::Uuid::new_v4()),
        hour: 9,
        horizon_days: 14,
        service_code: "CONS".into(),
    };
    let mut settings = app.worker_settings();
    settings.vaccine_reminders = Some(reminders.clone());
    let _worker = InProcessWorker::start(settings);
    let handle = app.temporal.get_schedule_handle(&reminders.schedule_id);
    let described = e2e::eventually("the schedule created", Duration::from_secs(30), || async {
        handle.describe(RpcOptions::default()).await.ok()
    })
    .await;
    let ScheduleDescriptionAction::StartWorkflow(action) = described.action() else {
        panic!("the schedule starts a workflow");
    };
    assert_eq!(action.workflow_type(), "VaccineRemindersWorkflow");
    assert_eq!(action.task_queue(), app.settings.task_queue);
    assert_eq!(
        next_hour(&described.future_action_times()),
        12,
        "09:00 in Buenos Aires"
    );

    // Made again with another hour (a second worker, a new setting): changed, not refused.
    worker::schedules::ensure(
        &app.temporal,
        &reminders.schedule_id,
        &app.settings.task_queue,
        10,
        reminders.input(),
    )
    .await
    .expect("ensured again");
    let described = handle
        .describe(RpcOptions::default())
        .await
        .expect("described");
    assert_eq!(
        next_hour(&described.future_action_times()),
        13,
        "10:00 in Buenos Aires"
    );

    handle
        .trigger(
            ScheduleOverlapPolicy::AllowAll,
            TriggerScheduleOptions::default(),
        )
        .await
        .expect("triggered");
    e2e::eventually("Ana reminded", Duration::from_secs(60), || async {
        app.messages_to(ANA_PHONE, "owner_update")
            .into_iter()
            .find(|m| m.template_params[1].contains("Antirrábica"))
    })
    .await;
    handle
        .delete(DeleteScheduleOptions::default())
        .await
        .expect("deleted");
}
