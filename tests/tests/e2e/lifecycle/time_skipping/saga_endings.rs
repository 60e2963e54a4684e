//! How a request ends, on the time-skipping server: a confirmed visit completes with its
//! report and the workflow closes (and a late charge-back is handled), a vet who never sets the time
//! is replaced, a reassignment continues as new, retried and racing commands, and a
//! cancellation during dispatch.

use super::saga::{HOUR, heard, policy, reasons, visits, workflow_result};
use e2e::{
    STAFF_PHONE,
    fixtures::{ANA_PHONE, accept, accept_and_coordinate, check_out},
    flow::{Flow, advance},
};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

#[tokio::test]
async fn a_confirmed_visit_completes_with_its_report_and_the_workflow_ends() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    let link = accept_and_coordinate(app, w, &id).await;
    let preference = e2e::fixtures::preference_of(&link);
    app.mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    app.await_state(&id, "confirmed").await;
    // The visit starts: too late for staff to cancel it.
    let until_start = (w.start - chrono::Utc::now()).to_std().expect("ahead");
    advance(app, until_start + Duration::from_secs(60)).await;
    let (status, body) = w
        .booking
        .staff
        .post(
            app,
            &format!("/api/v1/service-requests/{id}/cancel"),
            json!({ "reason": "demasiado tarde" }),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    // The vet files the report: completed, and the workflow is done.
    let visit = e2e::fixtures::visit_of(app, &id).await;
    let path = format!("/api/v1/visits/{visit}/report");
    let filed = e2e::eventually("the report filed", Duration::from_secs(30), || async {
        let (status, _) = w.vets[0]
            .caller()
            .put(app, &path, e2e::fixtures::report())
            .await;
        (status == 201).then_some(())
    });
    filed.await;
    let request = app.await_state(&id, "completed").await;
    let states: Vec<&str> = request["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["to_state"].as_str())
        .collect();
    assert!(
        states.ends_with(&["payed", "confirmed", "completed"]),
        "{states:?}"
    );
    assert_eq!(
        workflow_result(app, &id).await.state,
        domain::RequestState::Completed
    );
    assert_eq!(visits(app, &id, "completed").await, 1, "the visit row too");
    assert_eq!(visits(app, &id, "scheduled").await, 0);
    e2e::eventually("Ana sent the report", Duration::from_secs(30), || async {
        (heard(app, ANA_PHONE, "owner_update", "informe de tu visita") == 1).then_some(())
    })
    .await;
    // Months later MercadoPago tells of the payment again: once as it was (nothing to
    // do, it paid the visit), then charged back (recorded, staff told).
    let payment = app.mercadopago.payments()[0]["id"].clone();
    let status_url = |status: &str| {
        let url = format!(
            "{}/_emulator/payments/{payment}/status",
            app.mercadopago_base
        );
        app.http.post(url).json(&json!({ "status": status })).send()
    };
    assert_eq!(status_url("approved").await.expect("POST").status(), 200);
    assert_eq!(
        status_url("charged_back").await.expect("POST").status(),
        200
    );
    e2e::eventually(
        "staff told of the charge-back",
        Duration::from_secs(30),
        || async {
            (heard(
                app,
                STAFF_PHONE,
                "staff_alert",
                "pasó de approved a charged_back",
            ) == 1)
                .then_some(())
        },
    )
    .await;
    e2e::eventually("the charge-back recorded", Duration::from_secs(30), || async {
        (app.db
            .count(&format!(
                "SELECT count(*) AS n FROM payments WHERE request_id = '{id}' AND status = 'charged_back'"
            ))
            .await
            == 1)
            .then_some(())
    })
    .await;
    let refunds = app
        .mercadopago
        .payments()
        .iter()
        .filter(|p| p["status"] == "refunded")
        .count();
    assert_eq!(refunds, 0, "the visit's own payment is never refunded");
    assert_eq!(
        app.await_state(&id, "completed").await["state"],
        "completed"
    );
}

#[tokio::test]
async fn a_vet_who_never_sets_the_time_is_reminded_then_replaced() {
    let flow = Flow::start(2, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    accept(app, w, &id).await;
    // Two reminders four hours apart, then four more hours: back to dispatch.
    advance(app, Duration::from_secs(12 * HOUR + 60)).await;
    app.await_messages(&w.vets[1].phone, "vet_offer", 1).await;
    assert_eq!(
        heard(
            app,
            &w.vets[0].phone,
            "vet_update",
            "falta fijar el horario"
        ),
        2
    );
    assert_eq!(heard(app, &w.vets[0].phone, "vet_update", "No fijaste"), 1);
    assert!(heard(app, STAFF_PHONE, "staff_alert", "no fijó el horario") >= 1);
    let request = app.await_state(&id, "vet_asked").await;
    assert!(
        reasons(&request)
            .last()
            .is_some_and(|r| r.contains("did not set a time")),
        "{request}"
    );
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-coordinate-lapsed-redispatched.json",
    )
    .await;
}

#[tokio::test]
async fn a_retried_coordinate_or_cancel_gets_the_first_outcome() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    accept_and_coordinate(app, w, &id).await;
    let coordinate = |start: chrono::DateTime<chrono::Utc>| {
        let path = format!("/api/v1/service-requests/{id}/coordinate");
        async move {
            app.call(
                &w.vets[0].token,
                Method::POST,
                &path,
                Some(json!({ "start": start })),
            )
            .await
        }
    };
    // The vet's client retries the call it made (say, after a timeout): the same answer.
    let (status, body) = coordinate(w.start).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "coordinated");
    // Another time is another call: refused, the request is not waiting for one.
    let (status, body) = coordinate(w.start + chrono::Duration::minutes(15)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(visits(app, &id, "scheduled").await, 1);

    let cancel = format!("/api/v1/service-requests/{id}/cancel");
    for _ in 0..2 {
        let (status, body) = w.booking.ana.post(app, &cancel, json!({})).await;
        assert_eq!(status, 202, "{body}");
    }
    app.await_state(&id, "cancelled").await;
    assert_eq!(visits(app, &id, "scheduled").await, 0);
}

#[tokio::test]
async fn a_vet_who_declined_is_not_asked_again_after_a_reassignment() {
    let flow = Flow::start(2, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    let offer = app.await_messages(&w.vets[0].phone, "vet_offer", 1).await;
    let (status, _) = app
        .post_link(&e2e::offer_link(&offer[0], domain::VetAnswer::Reject))
        .await;
    assert_eq!(status, 200);
    let offer = app.await_messages(&w.vets[1].phone, "vet_offer", 1).await;
    let (status, _) = app
        .post_link(&e2e::offer_link(&offer[0], domain::VetAnswer::Accept))
        .await;
    assert_eq!(status, 200);
    app.await_state(&id, "vet_accepted").await;
    let (status, body) = w
        .booking
        .staff
        .post(
            app,
            &format!("/api/v1/service-requests/{id}/reassign"),
            json!({ "reason": "la veterinaria se enfermó" }),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    // Nobody left who has not said no: expired, and the first vet hears nothing more.
    app.await_state(&id, "expired").await;
    assert_eq!(app.messages_to(&w.vets[0].phone, "vet_offer").len(), 1);
}

#[tokio::test]
async fn a_reassignment_closes_the_old_link_and_continues_as_new_where_it_stood() {
    let flow = Flow::start(2, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    let old_link = accept_and_coordinate(app, w, &id).await;
    let old_preference = e2e::fixtures::preference_of(&old_link);
    let first_offer = app.await_messages(&w.vets[0].phone, "vet_offer", 1).await;

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

    // The next run asks the other vet; the first vet's old link is refused as expired
    // (the new run knows every offer made), and Ana's old payment link is closed.
    let offer = app.await_messages(&w.vets[1].phone, "vet_offer", 1).await;
    let events = e2e::temporal::events(&app.temporal, &format!("service-request:{id}")).await;
    let continued = events.first().and_then(|e| match &e.attributes {
        Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => {
            Some(a.continued_execution_run_id.clone())
        }
        _ => None,
    });
    assert!(
        continued.is_some_and(|run| !run.is_empty()),
        "this run continued the first"
    );
    let (status, late) = app
        .post_link(&e2e::offer_link(&first_offer[0], domain::VetAnswer::Accept))
        .await;
    assert_eq!(status, 409, "{late}");
    assert!(
        late["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("offer-expired")),
        "{late}"
    );
    let refused = app.mercadopago.pay(&old_preference, "approved", None);
    assert!(refused.is_err(), "the old link no longer takes payments");

    // The request goes on in the new run: accepted, coordinated, paid, confirmed.
    let (status, _) = app
        .post_link(&e2e::offer_link(&offer[0], domain::VetAnswer::Accept))
        .await;
    assert_eq!(status, 200);
    app.await_state(&id, "vet_accepted").await;
    let (status, body) = app
        .call(
            &w.vets[1].token,
            Method::POST,
            &format!("/api/v1/service-requests/{id}/coordinate"),
            Some(json!({ "start": w.start })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let link = e2e::eventually("the new payment link", Duration::from_secs(30), || async {
        app.messages_to(ANA_PHONE, "owner_update")
            .into_iter()
            .filter_map(|m| {
                m.template_params[1]
                    .split_whitespace()
                    .find(|w| w.contains("pref_id="))
                    .map(str::to_owned)
            })
            .find(|l| *l != old_link)
    })
    .await;
    let preference = e2e::fixtures::preference_of(&link);
    app.mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    let request = app.await_state(&id, "confirmed").await;
    // One state history across both runs, numbered without a gap.
    let seqs: Vec<i64> = request["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["seq"].as_i64())
        .collect();
    let expected: Vec<i64> = (0..i64::try_from(seqs.len()).expect("len")).collect();
    assert_eq!(seqs, expected);
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-reassigned-continued-as-new-confirmed.json",
    )
    .await;
}

#[tokio::test]
async fn a_cancel_racing_the_coordinate_never_leaves_a_booked_visit_on_a_cancelled_request() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    for round in 0..3 {
        let start = w.start + chrono::Duration::minutes(15 * round);
        let id = check_out(app, w, start).await;
        let round_no = usize::try_from(round).expect("round");
        let offers = app
            .await_messages(&w.vets[0].phone, "vet_offer", round_no + 1)
            .await;
        let (status, _) = app
            .post_link(&e2e::offer_link(
                &offers[round_no],
                domain::VetAnswer::Accept,
            ))
            .await;
        assert_eq!(status, 200);
        app.await_state(&id, "vet_accepted").await;
        let coordinate = format!("/api/v1/service-requests/{id}/coordinate");
        let cancel = format!("/api/v1/service-requests/{id}/cancel");
        let ((coordinated, body), (cancelled, _)) = tokio::join!(
            app.call(
                &w.vets[0].token,
                Method::POST,
                &coordinate,
                Some(json!({ "start": start }))
            ),
            w.booking.ana.post(app, &cancel, json!({})),
        );
        // Either order is fine; a booked visit on a cancelled request is not.
        assert!([200, 409].contains(&coordinated), "{coordinated} {body}");
        assert!([202, 409].contains(&cancelled), "{cancelled}");
        if cancelled == 409 {
            // The cancel came while the time was being booked: once it is, Ana may
            // cancel (before paying), and does.
            app.await_state(&id, "coordinated").await;
            let (status, _) = w.booking.ana.post(app, &cancel, json!({})).await;
            assert_eq!(status, 202);
        }
        app.await_state(&id, "cancelled").await;
        e2e::eventually("the vet's time free", Duration::from_secs(30), || async {
            (visits(app, &id, "scheduled").await == 0).then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn an_owner_who_cancels_while_vets_are_asked_ends_it_and_the_link_says_so() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    let offer = app.await_messages(&w.vets[0].phone, "vet_offer", 1).await;
    let (status, body) = w
        .booking
        .ana
        .post(
            app,
            &format!("/api/v1/service-requests/{id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    app.await_state(&id, "cancelled").await;
    assert_eq!(
        workflow_result(app, &id).await.state,
        domain::RequestState::Cancelled
    );
    // The vet presses the link afterwards: told it is over, nothing changes.
    let (status, late) = app
        .post_link(&e2e::offer_link(&offer[0], domain::VetAnswer::Accept))
        .await;
    assert_eq!(status, 409, "{late}");
    assert_eq!(
        app.await_state(&id, "cancelled").await["vet_id"],
        Value::Null
    );
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-cancelled-during-dispatch.json",
    )
    .await;
}
