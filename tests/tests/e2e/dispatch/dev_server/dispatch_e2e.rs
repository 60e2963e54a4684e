//! Dispatch end to end on the dev server, as a vet lives it: Ana checks out, the vet's
//! WhatsApp (the Mercately emulator) gets the offer, the link in it opens and confirms,
//! the vet sets the time. And the worker killed between the offer and the answer.

use std::{sync::Arc, time::Duration};

use domain::VetAnswer;
use e2e::{
    InProcessWorker, TestApp, TestDb, WorkerProcess, dev_server_address, eventually,
    fixtures::{check_out, dispatch},
    offer_link, quick_policy,
    temporal::events,
    temporal_settings, unique_task_queue,
};
use reqwest::Method;
use serde_json::{Value, json};
use temporalio_client::WorkflowCountOptions;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

/// Staff filter workflows in the Temporal UI by these; visibility is eventually
/// consistent, so wait for the count.
async fn visible(app: &TestApp, query: &str) {
    eventually(
        &format!("Temporal visibility to find {query}"),
        Duration::from_secs(30),
        || async {
            let found = app
                .temporal
                .count_workflows(query, WorkflowCountOptions::default())
                .await
                .ok()?;
            (found.count() == 1).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn checkout_to_whatsapp_offer_to_link_to_accepted_to_coordinated() {
    e2e::logs();
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    let w = dispatch(&app, 2).await;
    let id = check_out(&app, &w, w.start).await;
    let e2e::fixtures::Vet {
        id: vet,
        token: vet_token,
        phone,
    } = &w.vets[0];

    // The vet's phone gets the offer: what, for whom, where, when, and two links.
    let offer = app.await_messages(phone, "vet_offer", 1).await.remove(0);
    let accept = offer_link(&offer, VetAnswer::Accept);
    eprintln!("WhatsApp to {phone}: {:?}", offer.template_params);
    // Only the vet's phone holds the link's token; the send ledger says `***`.
    let token = accept.split('/').rev().nth(1).expect("a token").to_owned();
    assert!(token.len() > 20, "{accept}");
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM outbound_messages WHERE template = 'vet_offer' \
                 AND params::text NOT LIKE '%{token}%' AND params::text LIKE '%/offers/***/accept%'"
            ))
            .await,
        1
    );
    visible(
        &app,
        &format!("RequestId = '{id}' AND RequestState = 'vet_asked'"),
    )
    .await;

    // Opening the link shows what will be confirmed, and changes nothing.
    let shown: Value = app
        .http
        .get(&accept)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["request_id"], id);
    assert_eq!(shown["vet_name"], e2e::vet_name("vet0@example.com"));
    assert_eq!(shown["service"], "Consulta");
    assert_eq!(shown["neighborhood"], "Palermo");
    assert_eq!(shown["state"], "vet_asked");

    // Staff see what the request is in the Temporal UI's one line, never a phone.
    let described = app
        .temporal
        .get_workflow_handle::<workflows::ServiceRequestWorkflow>(format!("service-request:{id}"))
        .describe(Default::default())
        .await
        .expect("describe");
    let summary = described.static_summary().expect("a summary").to_owned();
    assert!(
        summary.starts_with("Consulta · Luna · ") && summary.contains(" · Palermo · "),
        "{summary}"
    );
    assert!(!summary.contains("+549"), "{summary}");

    // A browser's form post confirms and gets a page back.
    let page = app
        .http
        .post(&accept)
        .header("Accept", "text/html")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .expect("POST");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("La visita es tuya")
    );

    let request = app
        .await_request(&id, "the request to be accepted", |r| {
            r["state"] == "vet_accepted"
        })
        .await;
    assert_eq!(request["vet_id"], *vet);
    visible(
        &app,
        &format!("RequestId = '{id}' AND RequestState = 'vet_accepted' AND VetId = '{vet}'"),
    )
    .await;

    // The vet sets the time, signed in: coordinated, the visit booked.
    let start = w.start + chrono::Duration::minutes(30);
    let (status, coordinated) = app
        .call(
            vet_token,
            Method::POST,
            &format!("/api/v1/service-requests/{id}/coordinate"),
            Some(json!({ "start": start })),
        )
        .await;
    assert_eq!(status, 200, "{coordinated}");
    let request = app
        .await_request(&id, "the request to be coordinated", |r| {
            r["state"] == "coordinated"
        })
        .await;
    let states: Vec<&Value> = request["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| &h["to_state"])
        .collect();
    assert_eq!(
        states,
        ["pending", "vet_asked", "vet_accepted", "coordinated"]
    );
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM visits WHERE request_id = '{id}' AND vet_id = '{vet}' \
                 AND lower(scheduled) = '{}' AND status = 'scheduled'",
                start.to_rfc3339()
            ))
            .await,
        1
    );
    visible(
        &app,
        &format!("RequestId = '{id}' AND RequestState = 'coordinated'"),
    )
    .await;
    // Ana is told the time on WhatsApp, in her time zone.
    let news = app
        .await_messages(e2e::fixtures::ANA_PHONE, "owner_update", 2)
        .await;
    let when = (start - chrono::Duration::hours(3)).format("%d/%m a las %H:%M");
    assert_eq!(
        news[1].template_params[1],
        format!("Tu visita quedó para el {when}.")
    );
    assert!(news[1].template_params[1].ends_with("a las 10:30."));
    // Ana sees her request coordinated; the other vet was never asked.
    let (status, mine) = w
        .booking
        .ana
        .get(&app, &format!("/api/v1/service-requests/{id}"))
        .await;
    assert_eq!((status, &mine["state"]), (200, &json!("coordinated")));
    assert!(app.messages_to(&w.vets[1].phone, "vet_offer").is_empty());
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-dispatched-coordinated.json",
    )
    .await;
}

#[tokio::test]
async fn killing_the_worker_between_the_offer_and_the_answer_sends_nothing_twice() {
    e2e::logs();
    let db = Arc::new(TestDb::new().await);
    let settings = temporal_settings(dev_server_address(), &unique_task_queue());
    let app = TestApp::spawn(db, settings, quick_policy()).await;
    let first = WorkerProcess::start(&app.worker_settings());
    let w = dispatch(&app, 2).await;
    let id = check_out(&app, &w, w.start).await;
    let phone = &w.vets[0].phone;
    let workflow_id = format!("service-request:{id}");

    let offer = app.await_messages(phone, "vet_offer", 1).await.remove(0);
    // Wait until the workflow sits on its follow-up timer: everything before is done.
    eventually(
        "the workflow to wait for the answer",
        Duration::from_secs(30),
        || async {
            let events = events(&app.temporal, &workflow_id).await;
            matches!(
                events.last().and_then(|e| e.attributes.as_ref()),
                Some(Attributes::TimerStartedEventAttributes(_))
            )
            .then_some(())
        },
    )
    .await;

    first.kill().await;
    let _second = WorkerProcess::start(&app.worker_settings());

    let (status, answer) = app.post_link(&offer_link(&offer, VetAnswer::Accept)).await;
    assert_eq!((status, answer), (200, json!({ "outcome": "accepted" })));
    app.await_request(&id, "the request to be accepted", |r| {
        r["state"] == "vet_accepted"
    })
    .await;
    // The owner's news went out once, and the offer once: the new worker replayed the
    // history instead of redoing it.
    app.await_messages(e2e::fixtures::ANA_PHONE, "owner_update", 1)
        .await;
    assert_eq!(app.messages_to(phone, "vet_offer").len(), 1);
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM outbound_messages WHERE key LIKE 'offer:{id}:%'"
            ))
            .await,
        1
    );
    assert!(app.messages_to(&w.vets[1].phone, "vet_offer").is_empty());
    let started = events(&app.temporal, &workflow_id)
        .await
        .iter()
        .filter(|e| matches!(e.attributes, Some(Attributes::ActivityTaskStartedEventAttributes(ref a)) if a.attempt > 1))
        .count();
    assert_eq!(started, 0, "no activity needed a retry");
    assert_eq!(
        app.messages_to(e2e::fixtures::ANA_PHONE, "owner_update")
            .len(),
        1
    );
}

/// Every WhatsApp message the emulator received has its row in the send ledger, and no
/// purpose key was sent twice (a send is marked just after Mercately answers: give it a
/// moment).
async fn ledger_matches_the_phones(app: &TestApp) {
    let sql = "SELECT count(*) AS n FROM outbound_messages \
               WHERE channel = 'whatsapp' AND sent_at IS NOT NULL";
    eventually(
        "the ledger to match the phones",
        Duration::from_secs(10),
        || async {
            let sent = usize::try_from(app.db.count(sql).await).ok();
            (sent == Some(app.mercately.messages().len())).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn a_vet_whose_coordinate_outlived_the_worker_gets_the_first_outcome_on_retry() {
    e2e::logs();
    let db = Arc::new(TestDb::new().await);
    let settings = temporal_settings(dev_server_address(), &unique_task_queue());
    let app = TestApp::spawn_with(db, settings, quick_policy(), |api| {
        api.update_timeout = Duration::from_secs(2);
    })
    .await;
    let first = WorkerProcess::start(&app.worker_settings());
    let w = dispatch(&app, 1).await;
    let id = check_out(&app, &w, w.start).await;
    e2e::fixtures::accept(&app, &w, &id).await;
    app.await_messages(e2e::fixtures::ANA_PHONE, "owner_update", 1)
        .await;

    // The worker dies; the vet sets the time meanwhile. The API cannot know the outcome
    // and says so, pointing where it will show.
    first.kill().await;
    let path = format!("/api/v1/service-requests/{id}/coordinate");
    let body = json!({ "start": w.start });
    let (status, pending) = app
        .call(&w.vets[0].token, Method::POST, &path, Some(body.clone()))
        .await;
    assert_eq!(status, 202, "{pending}");
    assert_eq!(pending["status"], "pending");
    assert_eq!(
        pending["location"],
        format!("/api/v1/service-requests/{id}")
    );
    // The vet can look where it points.
    let (status, seen) = app
        .call(
            &w.vets[0].token,
            Method::GET,
            pending["location"].as_str().expect("location"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{seen}");

    // A new worker; the vet's app retries the same call, as a client does on 202/503/504,
    // and gets the outcome of the first call: booked, not `409 not waiting for a time`.
    let _second = WorkerProcess::start(&app.worker_settings());
    let (status, coordinated) = eventually(
        "the retried coordinate to answer",
        Duration::from_secs(60),
        || async {
            let (status, answer) = app
                .call(&w.vets[0].token, Method::POST, &path, Some(body.clone()))
                .await;
            (![202, 503, 504].contains(&status)).then_some((status, answer))
        },
    )
    .await;
    assert_eq!(status, 200, "{coordinated}");
    assert_eq!(coordinated["state"], "coordinated");
    let request = app.await_state(&id, "coordinated").await;
    let coordinations = request["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|h| h["to_state"] == "coordinated")
        .count();
    assert_eq!(coordinations, 1, "one coordination recorded");
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM visits WHERE request_id = '{id}' AND status <> 'cancelled'"
            ))
            .await,
        1,
        "one visit booked"
    );
    // Ana is told the time once, by the workflow (not inside the vet's call).
    let told = app
        .await_messages(e2e::fixtures::ANA_PHONE, "owner_update", 2)
        .await;
    assert!(
        told[1].template_params[1].contains("Tu visita quedó"),
        "{told:?}"
    );
    ledger_matches_the_phones(&app).await;
}
