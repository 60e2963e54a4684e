//! The whole lifecycle on the dev server, through HTTP only, as its people live it:
//! Ana checks out, the vet accepts from WhatsApp and sets the time, Ana pays on the
//! (emulated) MercadoPago checkout page, the signed webhook confirms the visit. And a
//! worker killed after the payment link was made.

use std::{sync::Arc, time::Duration};

use e2e::{
    InProcessWorker, TestApp, TestDb, WorkerProcess, dev_server_address,
    fixtures::{ANA_PHONE, accept_and_coordinate, check_out, dispatch},
    quick_policy, temporal_settings, unique_task_queue,
};
use serde_json::{Value, json};

#[tokio::test]
async fn checkout_accept_coordinate_pay_on_the_checkout_page_confirmed() {
    e2e::logs();
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    let w = dispatch(&app, 1).await;
    let id = check_out(&app, &w, w.start).await;
    let link = accept_and_coordinate(&app, &w, &id).await;

    // Ana opens the link: MercadoPago's checkout page for her visit.
    let page = app
        .http
        .get(&link)
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("Consulta - Luna") && page.contains("12000"),
        "{page}"
    );
    // She pays.
    let paid = app
        .http
        .post(&link)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("status=approved")
        .send()
        .await
        .expect("POST");
    assert_eq!(paid.status(), 200);

    let request = app.await_state(&id, "confirmed").await;
    let states: Vec<&Value> = request["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| &h["to_state"])
        .collect();
    assert_eq!(
        states,
        [
            "pending",
            "vet_asked",
            "vet_accepted",
            "coordinated",
            "payed",
            "confirmed"
        ]
    );
    // The webhooks arrived signed and were answered 2xx the first time.
    let deliveries = app.mercadopago.deliveries();
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert!(deliveries.iter().all(|d| d.status == 200 && d.attempt == 1));
    // Ana sees it.
    let (status, mine) = w
        .booking
        .ana
        .get(&app, &format!("/api/v1/service-requests/{id}"))
        .await;
    assert_eq!((status, &mine["state"]), (200, &json!("confirmed")));
    assert_eq!(
        mine["payment_link"],
        json!(link),
        "Ana can pay from the app too"
    );

    // Her mailbox: the time, the payment link, the confirmation with the visit as a
    // calendar file (she has WhatsApp too, so "a vet accepted" came only there), and the
    // AFIP invoice of her payment.
    let emails = e2e::eventually(
        "the confirmation and invoice emails",
        Duration::from_secs(20),
        || async {
            let emails = app.emails_to("ana@example.com");
            (emails.len() >= 4).then_some(emails)
        },
    )
    .await;
    let subjects: Vec<&str> = emails.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(
        subjects,
        [
            "El horario de tu visita",
            "Pagá tu visita para confirmarla",
            "Tu visita está confirmada",
            "Tu factura de AMAR Mascotas"
        ]
    );
    assert!(emails[1].text.contains(&link), "{}", emails[1].text);
    let confirmed = &emails[2];
    assert!(
        confirmed.text.contains("Servicio: Consulta"),
        "{}",
        confirmed.text
    );
    assert!(
        confirmed.text.contains("Mascota: Luna"),
        "{}",
        confirmed.text
    );
    assert!(
        confirmed.text.contains("Gurruchaga 1234"),
        "{}",
        confirmed.text
    );
    assert!(
        confirmed.text.contains("Pagaste: $ 12.000,00"),
        "{}",
        confirmed.text
    );
    assert_eq!(confirmed.attachments.len(), 1);
    let ics = &confirmed.attachments[0];
    assert_eq!(
        (ics.filename.as_str(), ics.content_type.as_str()),
        ("visita.ics", "text/calendar")
    );
    let calendar: icalendar::Calendar = std::str::from_utf8(&ics.body)
        .expect("utf-8")
        .parse()
        .expect("the .ics parses");
    let events: Vec<&icalendar::Event> = calendar
        .components
        .iter()
        .filter_map(|c| c.as_event())
        .collect();
    assert_eq!(events.len(), 1);
    use icalendar::{Component, EventLike};
    let event = events[0];
    assert_eq!(
        event.get_start(),
        Some(icalendar::DatePerhapsTime::DateTime(
            icalendar::CalendarDateTime::Utc(w.start)
        ))
    );
    assert!(
        event
            .get_summary()
            .is_some_and(|s| s.starts_with("Consulta · Luna")),
        "{event:?}"
    );
    assert!(
        event
            .get_location()
            .is_some_and(|l| l.contains("Gurruchaga 1234")),
        "{event:?}"
    );
    assert!(
        event.get_uid().is_some_and(|u| u.starts_with("visit-")),
        "{event:?}"
    );
}

#[tokio::test]
async fn a_worker_killed_after_the_payment_link_was_made_makes_no_second_one() {
    e2e::logs();
    let db = Arc::new(TestDb::new().await);
    let settings = temporal_settings(dev_server_address(), &unique_task_queue());
    let app = TestApp::spawn(db, settings, quick_policy()).await;
    let first = WorkerProcess::start(&app.worker_settings());
    let w = dispatch(&app, 1).await;
    let id = check_out(&app, &w, w.start).await;
    let link = accept_and_coordinate(&app, &w, &id).await;
    assert_eq!(app.mercadopago.preferences().len(), 1);
    // Kill it once the workflow waits for the payment (the link's message recorded as
    // sent): a kill in the middle of a send is the uncertain case, which waits out the
    // activity's attempt and is never resent.
    let workflow_id = format!("service-request:{id}");
    e2e::eventually(
        "the workflow to wait for the payment",
        std::time::Duration::from_secs(30),
        || async {
            let events = e2e::temporal::events(&app.temporal, &workflow_id).await;
            matches!(
                events.last().and_then(|e| e.attributes.as_ref()),
                Some(temporalio_common::protos::temporal::api::history::v1::history_event::Attributes::TimerStartedEventAttributes(_))
            )
            .then_some(())
        },
    )
    .await;

    first.kill().await;
    let _second = WorkerProcess::start(&app.worker_settings());
    let preference = e2e::fixtures::preference_of(&link);
    app.mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    app.await_state(&id, "confirmed").await;
    assert_eq!(
        app.mercadopago.preferences().len(),
        1,
        "no second preference"
    );
    assert_eq!(
        app.messages_to(ANA_PHONE, "owner_update")
            .iter()
            .filter(|m| m.template_params[1].contains("pagá acá"))
            .count(),
        1,
        "one payment link message"
    );
}
