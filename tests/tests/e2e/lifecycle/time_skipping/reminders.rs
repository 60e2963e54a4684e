//! Vaccine reminders on the time-skipping server, whose clock the runs' "today" follows:
//! a dose due within the horizon gets one reminder per channel, whatever the runs; one
//! due later is reminded once the days pass; a new dose stops it; an owner's opt-out is
//! kept.

use std::time::Duration;

use activities::reminders::ReminderCounts;
use e2e::{
    TestApp,
    fixtures::{ANA_PHONE, Dispatch},
    flow::{Flow, advance},
};
use serde_json::json;
use temporalio_client::{WorkflowGetResultOptions, WorkflowStartOptions};
use workflows::{VaccineRemindersWorkflow, vaccine_reminders::VaccineRemindersInput};

use super::saga::policy;

const DAY: u64 = 24 * 60 * 60;

/// One day's run, as the schedule starts it; what it did.
async fn run(app: &TestApp, n: u32) -> ReminderCounts {
    let handle = app
        .temporal
        .start_workflow(
            VaccineRemindersWorkflow::run,
            VaccineRemindersInput {
                horizon_days: 14,
                service_code: "CONS".into(),
            },
            WorkflowStartOptions::new(
                app.settings.task_queue.clone(),
                format!("vaccine-reminders-{n}"),
            )
            .build(),
        )
        .await
        .expect("started");
    handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("the run completed")
}

/// A dose of a new vaccine for Luna, due `due_in_days` from today; the vaccine's id.
async fn dose(app: &TestApp, w: &Dispatch, name: &str, due_in_days: i64) -> String {
    let vaccine = app
        .create(
            &w.booking.staff,
            "/api/v1/vaccines",
            json!({ "name": name, "interval_days": 365 }),
        )
        .await;
    record(app, w, &vaccine, 300, due_in_days).await;
    vaccine
}

async fn record(app: &TestApp, w: &Dispatch, vaccine: &str, days_ago: i64, due_in_days: i64) {
    let today = e2e::fixtures::local_today();
    let (status, body) = w
        .booking
        .ana
        .post(
            app,
            &format!("/api/v1/pets/{}/vaccinations", w.booking.pet),
            json!({
                "vaccine_id": vaccine,
                "applied_on": today - chrono::Days::new(days_ago.unsigned_abs()),
                "next_due_on": today + chrono::Duration::days(due_in_days),
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

fn reminders_about(app: &TestApp, vaccine: &str) -> (usize, usize) {
    let whatsapp = app
        .messages_to(ANA_PHONE, "owner_update")
        .iter()
        .filter(|m| m.template_params[1].contains(vaccine))
        .count();
    let email = app
        .emails_to("ana@example.com")
        .iter()
        .filter(|e| e.subject == "Se acerca una vacuna de tu mascota" && e.text.contains(vaccine))
        .count();
    (whatsapp, email)
}

#[tokio::test]
async fn a_due_dose_is_reminded_once_per_channel_until_a_new_dose_stops_it() {
    let flow = Flow::start(0, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    dose(app, w, "Antirrábica", 10).await;
    dose(app, w, "Séxtuple", 20).await;

    let counts = run(app, 1).await;
    assert_eq!(
        (counts.due, counts.whatsapp, counts.email),
        (1, 1, 1),
        "{counts:?}"
    );
    let told = e2e::eventually("Ana reminded", Duration::from_secs(30), || async {
        app.messages_to(ANA_PHONE, "owner_update")
            .into_iter()
            .find(|m| m.template_params[1].contains("Antirrábica"))
    })
    .await;
    let text = &told.template_params[1];
    assert!(text.contains("A Luna le toca el"), "{text}");
    let link = &text[text.find("http").expect("a link")..];
    assert!(
        link.starts_with(&format!("{}/api/v1/book?pet={}", app.base, w.booking.pet)),
        "{link}"
    );
    assert!(
        link.contains(&format!("&service={}", w.booking.service)),
        "{link}"
    );
    assert!(
        link.ends_with(&format!("&address={}", w.booking.home)),
        "her first address: {link}"
    );
    assert_eq!(reminders_about(app, "Antirrábica"), (1, 1));

    // The next runs, and days later: still one of each; the later dose comes into the
    // horizon and is reminded in its turn.
    run(app, 2).await;
    advance(app, Duration::from_secs(7 * DAY)).await;
    let counts = run(app, 3).await;
    assert_eq!(counts.due, 2, "{counts:?}");
    assert_eq!(reminders_about(app, "Antirrábica"), (1, 1));
    assert_eq!(reminders_about(app, "Séxtuple"), (1, 1));

    // Ana stops WhatsApp reminders; a new vaccine due soon comes by email only.
    let (status, body) = w
        .booking
        .ana
        .patch(
            app,
            &format!("/api/v1/owners/{}", w.booking.ana.id),
            json!({ "vaccine_reminders_whatsapp": false }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["vaccine_reminders_whatsapp"], false);
    dose(app, w, "Leptospirosis", 12).await;
    let counts = run(app, 4).await;
    assert_eq!(
        (counts.due, counts.whatsapp, counts.email),
        (3, 0, 3),
        "{counts:?}"
    );
    assert_eq!(reminders_about(app, "Leptospirosis"), (0, 1));

    // A new dose of the rabies vaccine: no longer due, never reminded again.
    let (_, vaccines) = w.booking.ana.get(app, "/api/v1/vaccines").await;
    let rabies = vaccines
        .as_array()
        .expect("vaccines")
        .iter()
        .find(|v| v["name"] == "Antirrábica")
        .and_then(|v| v["id"].as_str())
        .expect("rabies")
        .to_owned();
    record(app, w, &rabies, 1, 364).await;
    let counts = run(app, 5).await;
    assert_eq!(counts.due, 2, "{counts:?}");
    assert_eq!(reminders_about(app, "Antirrábica"), (1, 1));
    e2e::temporal::save_history(
        &app.temporal,
        "vaccine-reminders-5",
        "vaccine-reminders-run.json",
    )
    .await;
}
