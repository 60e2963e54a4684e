//! A request always ends well, on the time-skipping server: a provider's refusal is
//! handled (noted, staff alerted, the request goes on or ends with its compensation),
//! every payment is accounted for, a confirmed visit completes, a vet who never sets the
//! time is replaced, and the workflow itself is never Failed.

use std::time::Duration;

use domain::DispatchPolicy;
use e2e::{
    STAFF_PHONE, TestApp,
    fixtures::{ANA_PHONE, accept, accept_and_coordinate, check_out},
    flow::{Flow, advance},
};
use reqwest::Method;
use serde_json::{Value, json};
use temporalio_client::{WorkflowGetResultOptions, WorkflowSignalOptions};
use workflows::{RequestStatus, ServiceRequestWorkflow};

pub(super) const HOUR: u64 = 60 * 60;

pub(super) fn policy() -> DispatchPolicy {
    DispatchPolicy {
        vet_followup_delay_secs: 2 * HOUR,
        vet_max_followups: 2,
        offer_batch_size: 1,
        payment_deadline_secs: 24 * HOUR,
        payment_reminder_secs: 0,
        coordinate_reminder_secs: 4 * HOUR,
        coordinate_max_reminders: 2,
        completion_grace_secs: 2 * HOUR,
        ..DispatchPolicy::default()
    }
}

/// The workflow's own result: it must have completed (not failed) for this to answer.
pub(super) async fn workflow_result(app: &TestApp, id: &str) -> RequestStatus {
    app.temporal
        .get_workflow_handle::<ServiceRequestWorkflow>(format!("service-request:{id}"))
        .get_result(WorkflowGetResultOptions::default())
        .await
        .expect("the workflow completed, not failed")
}

pub(super) async fn signal_payment(app: &TestApp, id: &str, payment: Value) {
    app.temporal
        .get_workflow_handle::<ServiceRequestWorkflow>(format!("service-request:{id}"))
        .signal(
            ServiceRequestWorkflow::payment_notified,
            payment,
            WorkflowSignalOptions::default(),
        )
        .await
        .expect("signalled");
}

pub(super) fn reasons(request: &Value) -> Vec<String> {
    request["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The request as staff see it, whose history has a note starting `starts` and
/// holding `holds`.
async fn noted(app: &TestApp, id: &str, starts: &str, holds: &str) -> Value {
    let (_, request) = app
        .staff_get(&format!("/api/v1/service-requests/{id}"))
        .await;
    assert!(
        reasons(&request)
            .iter()
            .any(|r| r.starts_with(starts) && r.contains(holds)),
        "{request}"
    );
    request
}

pub(super) fn heard(app: &TestApp, phone: &str, template: &str, words: &str) -> usize {
    let at = if template == "staff_alert" { 0 } else { 1 };
    app.messages_to(phone, template)
        .iter()
        .filter(|m| m.template_params[at].contains(words))
        .count()
}

pub(super) async fn visits(app: &TestApp, id: &str, status: &str) -> i64 {
    app.db
        .count(&format!(
            "SELECT count(*) AS n FROM visits WHERE request_id = '{id}' AND status = '{status}'"
        ))
        .await
}

#[tokio::test]
async fn a_payment_link_mercadopago_refuses_cancels_the_request_with_the_vet_released() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    accept(app, w, &id).await;
    // MercadoPago answers 400 to the preference (as it does for a total of 0).
    app.mercadopago.fail_next(1, 400, Duration::ZERO);
    let (status, body) = app
        .call(
            &w.vets[0].token,
            Method::POST,
            &format!("/api/v1/service-requests/{id}/coordinate"),
            Some(json!({ "start": w.start })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let request = app.await_state(&id, "cancelled").await;
    assert!(
        reasons(&request)
            .last()
            .is_some_and(|r| r.starts_with("needs attention: no payment link")),
        "{request}"
    );
    assert_eq!(
        visits(app, &id, "scheduled").await,
        0,
        "the vet's time is free"
    );
    assert_eq!(visits(app, &id, "cancelled").await, 1);
    assert!(heard(app, STAFF_PHONE, "staff_alert", "needs attention") >= 1);
    e2e::eventually("Ana told", Duration::from_secs(30), || async {
        (heard(app, ANA_PHONE, "owner_update", "Cancelamos") == 1).then_some(())
    })
    .await;
    assert_eq!(
        workflow_result(app, &id).await.state,
        domain::RequestState::Cancelled
    );
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-payment-link-refused-cancelled.json",
    )
    .await;
}

#[tokio::test]
async fn a_payment_mercadopago_does_not_know_is_noted_and_a_string_id_still_pays() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    let link = accept_and_coordinate(app, w, &id).await;
    let preference = e2e::fixtures::preference_of(&link);
    // News of a payment MercadoPago answers 404 for, and a signal with no id at all.
    signal_payment(app, &id, json!(424_242)).await;
    signal_payment(app, &id, json!({ "id": "nope" })).await;
    e2e::eventually(
        "the unknown payment noted",
        Duration::from_secs(30),
        || async {
            let (_, request) = app
                .staff_get(&format!("/api/v1/service-requests/{id}"))
                .await;
            reasons(&request)
                .iter()
                .any(|r| r.starts_with("needs attention: payment 424242 could not be checked"))
                .then_some(())
        },
    )
    .await;
    app.await_state(&id, "coordinated").await;
    // The real payment, its news dropped, then told as a string: confirmed.
    app.mercadopago
        .set_delivery(sandbox::mercadopago::DeliveryMode {
            drop: true,
            ..Default::default()
        });
    let payment = app
        .mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    signal_payment(app, &id, json!(payment["id"].to_string())).await;
    app.await_state(&id, "confirmed").await;
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-unknown-payment-then-string-id-confirmed.json",
    )
    .await;
}

#[tokio::test]
async fn an_offer_whatsapp_refuses_moves_on_to_the_next_vet() {
    let flow = Flow::start(2, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    // Mercately refuses the first vet's offer (422: a badly written number).
    app.mercately.fail_next(1, 422, Duration::ZERO);
    let id = check_out(app, w, w.start).await;
    app.await_messages(&w.vets[1].phone, "vet_offer", 1).await;
    assert!(app.messages_to(&w.vets[0].phone, "vet_offer").is_empty());
    let request = noted(app, &id, "needs attention: offer 1 (message 0)", "not sent").await;
    assert_eq!(request["state"], "vet_asked");
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-offer-not-sent-next-vet.json",
    )
    .await;
}

#[tokio::test]
async fn an_offer_that_may_have_reached_the_vet_stays_open_and_staff_are_told_to_call() {
    let flow = Flow::start(2, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    // Mercately answers the first vet's offer with a 500: it may or may not have gone out,
    // and it is not sent again.
    app.mercately.fail_next(1, 500, Duration::ZERO);
    let id = check_out(app, w, w.start).await;
    e2e::eventually("staff told", Duration::from_secs(30), || async {
        (heard(
            app,
            STAFF_PHONE,
            "staff_alert",
            "call the vet and record their answer",
        ) == 1)
            .then_some(())
    })
    .await;
    let request = noted(
        app,
        &id,
        "needs attention: offer 1 (message 0)",
        "may not have reached them",
    )
    .await;
    assert_eq!(request["state"], "vet_asked");
    assert!(app.messages_to(&w.vets[0].phone, "vet_offer").is_empty());

    // The offer stays the first vet's: the second is not asked, the follow-up reaches
    // the first.
    advance(app, Duration::from_secs(2 * HOUR)).await;
    app.await_messages(&w.vets[0].phone, "vet_offer_followup", 1)
        .await;
    assert!(app.messages_to(&w.vets[1].phone, "vet_offer").is_empty());

    // Staff call the vet and record the yes they got on the phone: it counts.
    let (status, answer) = app
        .staff_post(
            &format!("/api/v1/service-requests/{id}/vet-response"),
            &json!({ "answer": "accept", "vet_id": w.vets[0].id }),
        )
        .await;
    assert_eq!((status, answer), (200, json!({ "outcome": "accepted" })));
    let accepted = app.await_state(&id, "vet_accepted").await;
    assert_eq!(accepted["vet_id"], json!(w.vets[0].id));
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-offer-uncertain-stays-open.json",
    )
    .await;
}

#[tokio::test]
async fn a_second_approved_payment_is_refunded_and_reported() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    let link = accept_and_coordinate(app, w, &id).await;
    let preference = e2e::fixtures::preference_of(&link);
    // Two tabs: Ana pays twice.
    let first = app
        .mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    app.await_state(&id, "confirmed").await;
    let second = app
        .mercadopago
        .pay(&preference, "approved", None)
        .expect("paid again");
    e2e::eventually("the second refunded", Duration::from_secs(30), || async {
        let payments = app.mercadopago.payments();
        let status = |p: &Value| {
            payments
                .iter()
                .find(|x| x["id"] == p["id"])
                .map(|x| x["status"].clone())
        };
        (status(&second) == Some(json!("refunded")) && status(&first) == Some(json!("approved")))
            .then_some(())
    })
    .await;
    e2e::eventually("Ana and staff told", Duration::from_secs(30), || async {
        (heard(app, ANA_PHONE, "owner_update", "te lo devolvimos") == 1
            && heard(app, STAFF_PHONE, "staff_alert", "no correspondía") == 1)
            .then_some(())
    })
    .await;
    app.await_state(&id, "confirmed").await;
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-second-payment-refunded.json",
    )
    .await;
}

#[tokio::test]
async fn a_notice_mercately_refuses_is_noted_for_staff_and_the_request_goes_on() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    let offer = app.await_messages(&w.vets[0].phone, "vet_offer", 1).await;
    // The key was rotated for a moment: Mercately answers 401 to the owner's news.
    app.mercately.fail_next(1, 401, Duration::ZERO);
    let (status, _) = app
        .post_link(&e2e::offer_link(&offer[0], domain::VetAnswer::Accept))
        .await;
    assert_eq!(status, 200);
    let request = app
        .await_request(&id, "the refusal noted", |r| {
            reasons(r)
                .iter()
                .any(|x| x.starts_with("needs attention: the owner could not be told (accepted)"))
        })
        .await;
    assert_eq!(request["state"], "vet_accepted");
    e2e::eventually("staff alerted", Duration::from_secs(30), || async {
        (heard(
            app,
            STAFF_PHONE,
            "staff_alert",
            "the owner could not be told",
        ) == 1)
            .then_some(())
    })
    .await;
    assert!(app.messages_to(ANA_PHONE, "owner_update").is_empty());
    // The request goes on: the vet sets the time, Ana hears that.
    let (status, body) = app
        .call(
            &w.vets[0].token,
            Method::POST,
            &format!("/api/v1/service-requests/{id}/coordinate"),
            Some(json!({ "start": w.start })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.await_messages(ANA_PHONE, "owner_update", 1).await;
}
