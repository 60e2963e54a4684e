//! A confirmed visit's Google Calendar event and sheet row, through the whole stack:
//! one event and one row per visit, whatever is retried; the event and row follow a
//! cancellation; a Google outage never holds the confirmation up; a key Google refuses
//! reaches staff.

use std::time::Duration;

use e2e::{
    InProcessWorker, STAFF_PHONE, TestApp, VISITS_SHEET, VISITS_TAB,
    fixtures::{accept_and_coordinate, check_out, dispatch, paid, preference_of, visit_of},
};
use integrations::google::{Calendar, GoogleClient, Sheets, event_id};
use serde_json::{Value, json};

const CALENDAR: &str = "agenda@amar";

/// The event of the visit, once it says `status`.
async fn event_saying(app: &TestApp, visit: uuid::Uuid, status: &str) -> Value {
    let id = event_id(visit);
    e2e::eventually(
        &format!("the event {status}"),
        Duration::from_secs(60),
        || async {
            app.google
                .events(CALENDAR)
                .get(&id)
                .filter(|e| e["status"] == status)
                .cloned()
        },
    )
    .await
}

/// The sheet's rows, once the visit's says `word`.
async fn rows_saying(app: &TestApp, visit: uuid::Uuid, word: &str) -> Vec<Vec<String>> {
    e2e::eventually(
        &format!("the row {word}"),
        Duration::from_secs(60),
        || async {
            let rows = app.google.rows(VISITS_SHEET, VISITS_TAB);
            rows.iter()
                .any(|r| {
                    r.first() == Some(&visit.to_string())
                        && r.get(2).map(String::as_str) == Some(word)
                })
                .then_some(rows)
        },
    )
    .await
}

#[tokio::test]
async fn a_confirmed_visit_gets_one_event_and_one_row_that_follow_its_cancellation() {
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    let w = dispatch(&app, 1).await;
    let id = paid(&app, &w).await;
    app.await_state(&id, "confirmed").await;
    let visit = visit_of(&app, &id).await;

    let event = event_saying(&app, visit, "confirmed").await;
    assert_eq!(event["summary"], "Consulta · Luna (Dueña)");
    assert_eq!(
        event["start"]["dateTime"],
        json!(w.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    );
    let description = event["description"].as_str().expect("description");
    assert!(
        description.contains(&format!("/api/v1/service-requests/{id}")),
        "{description}"
    );
    let said = event.to_string();
    assert!(
        !said.contains("Gurruchaga") && !said.contains(e2e::fixtures::ANA_PHONE),
        "no street, no phone: {said}"
    );
    let rows = rows_saying(&app, visit, "Confirmada").await;
    assert_eq!(rows.len(), 2, "the header and the visit: {rows:?}");
    assert_eq!(rows[0][0], "Visita");
    assert_eq!(rows[1][1], id);
    assert_eq!(rows[1][10], "12000.00");
    // Google answered; the visit records what it answered right after.
    let recorded = format!(
        "SELECT count(*) AS n FROM visits WHERE request_id = '{id}' \
         AND calendar_event_id IS NOT NULL AND sheet_row = 'Visitas!A2:L2'"
    );
    e2e::eventually("both recorded", Duration::from_secs(20), || async {
        (app.db.count(&recorded).await == 1).then_some(())
    })
    .await;

    // Staff sort the sheet: another row now sits where the visit's was.
    let google = GoogleClient::new(app.google_settings.clone())
        .expect("key")
        .expect("google");
    let other = vec![
        "another-visit".to_owned(),
        "x".to_owned(),
        "Confirmada".to_owned(),
    ];
    google
        .update_row(VISITS_SHEET, "Visitas!A2:C2", &other)
        .await
        .expect("sorted");
    google
        .append_row(VISITS_SHEET, VISITS_TAB, &rows[1])
        .await
        .expect("moved");

    // Staff cancel it: the same event cancelled, the visit's row marked where it is now.
    let staff = app.staff().await;
    let (status, body) = app
        .call(
            &staff,
            reqwest::Method::POST,
            &format!("/api/v1/service-requests/{id}/cancel"),
            Some(json!({ "reason": "la veterinaria se enfermó" })),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    app.await_state(&id, "cancelled").await;
    event_saying(&app, visit, "cancelled").await;
    let rows = rows_saying(&app, visit, "Cancelada").await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        rows[1][..3],
        other[..],
        "the row that took its place is left alone"
    );
    assert_eq!(rows[2][0], visit.to_string());
    assert_eq!(app.google.events(CALENDAR).len(), 1);
    e2e::eventually("the records workflow ended", Duration::from_secs(30), || async {
        let events = e2e::temporal::events(&app.temporal, &workflows::visit_records::workflow_id(
            domain::RequestId::from_uuid(id.parse().expect("uuid")),
        ))
        .await;
        events
            .last()
            .is_some_and(|e| e.event_type() == temporalio_common::protos::temporal::api::enums::v1::EventType::WorkflowExecutionCompleted)
            .then_some(())
    })
    .await;
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-confirmed-visit-records-cancelled.json",
    )
    .await;
    e2e::temporal::save_history(
        &app.temporal,
        &format!("visit-records-{id}"),
        "visit-records-confirmed-cancelled.json",
    )
    .await;
    assert_eq!(
        app.google.token_requests(),
        2,
        "one for every call of the worker, one for this test's own client"
    );
}

#[tokio::test]
async fn an_event_and_row_made_before_a_kill_are_found_not_made_twice() {
    let app = TestApp::start().await;
    let w = dispatch(&app, 1).await;
    let id = check_out(&app, &w, w.start).await;
    let worker = InProcessWorker::start(app.worker_settings());
    let link = accept_and_coordinate(&app, &w, &id).await;
    let visit = visit_of(&app, &id).await;
    // As if an earlier attempt wrote both and its worker died before recording them.
    let google = GoogleClient::new(app.google_settings.clone())
        .expect("key")
        .expect("google");
    let earlier = integrations::google::CalendarEvent {
        summary: "an earlier attempt".into(),
        description: String::new(),
        location: String::new(),
        start: w.start,
        end: w.start + chrono::Duration::hours(1),
        status: "confirmed".into(),
    };
    google
        .insert_event(CALENDAR, &event_id(visit), &earlier)
        .await
        .expect("event");
    let header: Vec<String> = activities::visit_records::COLUMNS
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    google
        .update_row(VISITS_SHEET, "Visitas!A1:L1", &header)
        .await
        .expect("header");
    google
        .append_row(
            VISITS_SHEET,
            VISITS_TAB,
            &[visit.to_string(), id.clone(), "Confirmada".into()],
        )
        .await
        .expect("row");

    app.mercadopago
        .pay(&preference_of(&link), "approved", None)
        .expect("paid");
    app.await_state(&id, "confirmed").await;
    let event = e2e::eventually("the event patched", Duration::from_secs(60), || async {
        app.google
            .events(CALENDAR)
            .get(&event_id(visit))
            .filter(|e| e["summary"] == "Consulta · Luna (Dueña)")
            .cloned()
    })
    .await;
    assert_eq!(event["sequence"], 1, "patched, not inserted again");
    rows_saying(&app, visit, "Confirmada").await;
    e2e::eventually("the row recorded", Duration::from_secs(30), || async {
        let n = app
            .db
            .count(&format!("SELECT count(*) AS n FROM visits WHERE request_id = '{id}' AND sheet_row = 'Visitas!A2:L2'"))
            .await;
        (n == 1).then_some(())
    })
    .await;
    let rows = app.google.rows(VISITS_SHEET, VISITS_TAB);
    assert_eq!(rows.len(), 2, "one row for the visit: {rows:?}");
    assert_eq!(app.google.events(CALENDAR).len(), 1);
    drop(worker);
}

#[tokio::test]
async fn a_google_outage_delays_the_event_never_the_confirmation() {
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    let w = dispatch(&app, 1).await;
    // Google answers 503 to the next 12 calls (a call tries 3 times; the activity retries).
    app.google.fail_next(12, 503, Duration::ZERO);
    let id = paid(&app, &w).await;
    app.await_state(&id, "confirmed").await;
    let visit = visit_of(&app, &id).await;
    event_saying(&app, visit, "confirmed").await;
    rows_saying(&app, visit, "Confirmada").await;
    assert_eq!(app.google.events(CALENDAR).len(), 1);
}

#[tokio::test]
async fn a_key_google_refuses_reaches_staff_and_the_request_goes_on() {
    let app = TestApp::start().await;
    let mut settings = app.worker_settings();
    let mut wrong =
        integrations::google::ServiceAccountKey::parse(e2e::GOOGLE_WRONG_KEY).expect("key");
    wrong.token_uri = settings.google.key.as_ref().expect("key").token_uri.clone();
    settings.google.key = Some(wrong);
    let _worker = InProcessWorker::start(settings);
    let w = dispatch(&app, 1).await;
    let id = paid(&app, &w).await;
    app.await_state(&id, "confirmed").await;
    let alert = e2e::eventually("the staff alert", Duration::from_secs(60), || async {
        app.messages_to(STAFF_PHONE, "staff_alert")
            .into_iter()
            .find(|m| m.template_params.iter().any(|p| p.contains("calendario")))
    })
    .await;
    assert!(
        alert.template_params[0].contains("Invalid JWT Signature"),
        "{alert:?}"
    );
    assert!(app.google.events(CALENDAR).is_empty());
    // The same alert by email, with the request's link.
    let email = e2e::eventually("the staff email", Duration::from_secs(30), || async {
        app.emails_to(e2e::STAFF_EMAIL)
            .into_iter()
            .find(|e| e.text.contains("calendario"))
    })
    .await;
    assert_eq!(email.subject, format!("Atención: solicitud {id}"));
    assert!(
        email.text.contains("Invalid JWT Signature"),
        "{}",
        email.text
    );
    assert!(
        email
            .text
            .contains(&format!("{}/api/v1/service-requests/{id}", app.base)),
        "{}",
        email.text
    );
}
