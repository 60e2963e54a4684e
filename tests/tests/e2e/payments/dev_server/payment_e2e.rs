//! The whole lifecycle on the dev server, through HTTP only, as its people live it:
//! Ana checks out, the vet accepts from WhatsApp and sets the time, Ana pays on the
//! (emulated) MercadoPago checkout page, the signed webhook confirms the visit. And a
//! worker killed after the payment link was made.

use std::sync::Arc;

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
