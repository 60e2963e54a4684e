//! A request across runs, on the time-skipping server: a long dispatch continues as new
//! between batches without asking anyone twice, and a reassignment refunds what was paid
//! for the visit that is gone before dispatch starts again.

use super::saga::{HOUR, heard, policy, reasons};
use domain::DispatchPolicy;
use e2e::{
    STAFF_PHONE,
    fixtures::{ANA_PHONE, accept_and_coordinate, check_out},
    flow::{Flow, advance},
};
use serde_json::{Value, json};
use std::time::Duration;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

/// The run id this run of the request's workflow continued, if it continued one.
async fn continued_from(app: &e2e::TestApp, id: &str) -> Option<String> {
    let events = e2e::temporal::events(&app.temporal, &format!("service-request:{id}")).await;
    events.first().and_then(|e| match &e.attributes {
        Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => {
            Some(a.continued_execution_run_id.clone()).filter(|run| !run.is_empty())
        }
        _ => None,
    })
}

#[tokio::test]
async fn a_long_dispatch_continues_as_new_between_batches_and_asks_nobody_twice() {
    // One vet a batch, no follow-up, and a run ends once its history holds 10 events:
    // every batch after the first is asked by a new run.
    let policy = DispatchPolicy {
        vet_max_followups: 0,
        history_events: 10,
        ..policy()
    };
    let flow = Flow::start(3, policy).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    let offered = |phone: &str| app.messages_to(phone, "vet_offer").len();
    let first = e2e::eventually("the first offer", Duration::from_secs(30), || async {
        w.vets.iter().position(|v| offered(&v.phone) == 1)
    })
    .await;
    assert!(continued_from(app, &id).await.is_none(), "the first run");

    // Silence for the offer's lifetime: the next vet is asked by the next run.
    advance(app, Duration::from_secs(2 * HOUR + 60)).await;
    let second = e2e::eventually("the second offer", Duration::from_secs(30), || async {
        w.vets
            .iter()
            .enumerate()
            .position(|(i, v)| i != first && offered(&v.phone) == 1)
    })
    .await;
    let run_two = continued_from(app, &id).await;
    assert!(run_two.is_some(), "the second vet is asked by a new run");
    advance(app, Duration::from_secs(2 * HOUR + 60)).await;
    let third = e2e::eventually("the third offer", Duration::from_secs(30), || async {
        w.vets
            .iter()
            .enumerate()
            .position(|(i, v)| i != first && i != second && offered(&v.phone) == 1)
    })
    .await;
    let run_three = continued_from(app, &id).await;
    assert!(
        run_three.is_some() && run_three != run_two,
        "the third vet is asked by a third run"
    );
    // Nobody was asked twice, and the first vet's old link is closed.
    for vet in &w.vets {
        assert_eq!(offered(&vet.phone), 1, "{}", vet.phone);
    }
    let old = app.messages_to(&w.vets[first].phone, "vet_offer");
    let (status, late) = app
        .post_link(&e2e::offer_link(&old[0], domain::VetAnswer::Accept))
        .await;
    assert_eq!(status, 409, "{late}");

    // The third vet accepts in the third run, where every offer is known.
    let offer = app.messages_to(&w.vets[third].phone, "vet_offer");
    let (status, body) = app
        .post_link(&e2e::offer_link(&offer[0], domain::VetAnswer::Accept))
        .await;
    assert_eq!(status, 200, "{body}");
    let request = app.await_state(&id, "vet_accepted").await;
    assert_eq!(request["vet_id"], json!(w.vets[third].id));
    let offers = request["offers"].as_array().expect("offers");
    assert_eq!(
        offers.len(),
        3,
        "every run's offers, in one list: {request}"
    );
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-dispatch-continued-between-batches.json",
    )
    .await;
}

#[tokio::test]
async fn a_reassignment_refunds_a_payment_made_for_the_visit_that_is_gone() {
    let flow = Flow::start(2, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    let link = accept_and_coordinate(app, w, &id).await;
    let preference = e2e::fixtures::preference_of(&link);
    // Ana pays, and the webhook is lost: the workflow does not know yet.
    app.mercadopago
        .set_delivery(sandbox::mercadopago::DeliveryMode {
            drop: true,
            ..Default::default()
        });
    let payment = app
        .mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    let (status, body) = w
        .booking
        .staff
        .post(
            app,
            &format!("/api/v1/service-requests/{id}/reassign"),
            json!({ "reason": "el veterinario se enfermó" }),
        )
        .await;
    assert_eq!(status, 202, "{body}");

    // Before the other vet is asked, the payment is found and refunded, and everyone
    // is told why.
    app.await_messages(&w.vets[1].phone, "vet_offer", 1).await;
    let status_of = |p: &Value| {
        app.mercadopago
            .payments()
            .into_iter()
            .find(|x| x["id"] == p["id"])
            .map(|x| x["status"].clone())
    };
    assert_eq!(status_of(&payment), Some(json!("refunded")));
    assert_eq!(
        heard(app, ANA_PHONE, "owner_update", "Cambiamos de veterinario"),
        1
    );
    assert_eq!(
        heard(app, STAFF_PHONE, "staff_alert", "veterinario reemplazado"),
        1
    );
    let (_, request) = app
        .staff_get(&format!("/api/v1/service-requests/{id}"))
        .await;
    assert_eq!(request["state"], "vet_asked");
    let paid = payment["id"].as_i64().expect("payment id");
    assert!(
        reasons(&request)
            .iter()
            .any(|r| r.starts_with(&format!("payment {paid} was for the vet taken off"))),
        "{request}"
    );
    // The run that refunded, which a continue-as-new ended.
    let first_run = continued_from(app, &id).await.expect("continued as new");
    e2e::temporal::save_run_history(
        &app.temporal,
        &format!("service-request:{id}"),
        Some(&first_run),
        "lean-reassigned-with-a-payment-refunded.json",
    )
    .await;
}
