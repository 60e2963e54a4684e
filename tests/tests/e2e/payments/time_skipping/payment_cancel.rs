//! Cancelling a request around its payment, on the time-skipping server: the owner
//! before paying, staff after (refunded), a cancel racing a payment, and a payment that
//! arrives after the cancel, or after the request expired unpaid.

use super::payment_flow::{HOUR, ana_heard, coordinated, history_states, policy};
use e2e::{
    STAFF_PHONE,
    fixtures::ANA_PHONE,
    flow::{Flow, advance},
};
use reqwest::Method;
use sandbox::mercadopago::DeliveryMode;
use serde_json::json;
use std::time::Duration;

/// A pending payment (cash at a counter) clears: MercadoPago approves it and sends the
/// news, as it does when the money arrives.
async fn clears(app: &e2e::TestApp, payment: &serde_json::Value) {
    let approved = app
        .http
        .post(format!(
            "{}/_emulator/payments/{}/status",
            app.mercadopago_base, payment["id"]
        ))
        .json(&json!({ "status": "approved" }))
        .send()
        .await
        .expect("POST");
    assert_eq!(approved.status(), 200);
}

#[tokio::test]
async fn the_owner_cancels_before_paying_and_the_vet_is_freed() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let (id, _) = coordinated(&flow).await;
    let cancel = format!("/api/v1/service-requests/{id}/cancel");
    // Not the vet, not another owner.
    let (status, _) = app
        .call(&w.vets[0].token, Method::POST, &cancel, Some(json!({})))
        .await;
    assert_eq!(status, 403);
    let e2e::Caller { token: bruno, .. } = app.owner("bruno@example.com").await;
    let (status, _) = app
        .call(&bruno, Method::POST, &cancel, Some(json!({})))
        .await;
    assert_eq!(status, 404);

    let (status, body) = w
        .booking
        .ana
        .post(app, &cancel, json!({ "reason": "Luna ya está bien" }))
        .await;
    assert_eq!(status, 202, "{body}");
    let request = app.await_state(&id, "cancelled").await;
    let last = request["history"]
        .as_array()
        .and_then(|h| h.last())
        .expect("history");
    assert!(
        last["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("owner:"))
    );
    assert_eq!(last["reason"], "Luna ya está bien");
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM visits WHERE request_id = '{id}' AND status = 'cancelled'"
            ))
            .await,
        1
    );
    app.await_messages(&w.vets[0].phone, "vet_update", 1).await;
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-cancelled-with-a-payment-link.json",
    )
    .await;
}

#[tokio::test]
async fn staff_cancel_after_payment_refunds_it_and_the_owner_cannot() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let (id, preference) = coordinated(&flow).await;
    let payment = app
        .mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    app.await_state(&id, "confirmed").await;
    let cancel = format!("/api/v1/service-requests/{id}/cancel");

    let (status, body) = w.booking.ana.post(app, &cancel, json!({})).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/request-state")),
        "{body}"
    );
    let (status, body) = w.booking.staff.post(app, &cancel, json!({})).await;
    assert_eq!(status, 422, "staff give a reason: {body}");
    let (status, body) = w
        .booking
        .staff
        .post(
            app,
            &cancel,
            json!({ "reason": "la veterinaria no puede ir" }),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let request = app.await_state(&id, "cancelled").await;
    let last = request["history"]
        .as_array()
        .and_then(|h| h.last())
        .expect("history");
    assert_eq!(
        last["reason"],
        "la veterinaria no puede ir (refunded 12000.00)"
    );
    let refunded = app
        .mercadopago
        .payments()
        .into_iter()
        .find(|p| p["id"] == payment["id"])
        .expect("the payment");
    assert_eq!(refunded["status"], "refunded");
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM payments WHERE request_id = '{id}' AND refunded_amount = 12000"
            ))
            .await,
        1
    );
    e2e::eventually(
        "Ana told of the refund",
        Duration::from_secs(30),
        || async { (ana_heard(app, "te devolvimos $ 12000.00") == 1).then_some(()) },
    )
    .await;
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-paid-cancelled-refunded.json",
    )
    .await;
}

#[tokio::test]
async fn a_cancel_racing_a_payment_refunds_it() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let (id, preference) = coordinated(&flow).await;
    // Ana pays, and cancels before MercadoPago's news arrives (here: never).
    app.mercadopago.set_delivery(DeliveryMode {
        drop: true,
        ..DeliveryMode::default()
    });
    let payment = app
        .mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    let (status, body) = w
        .booking
        .ana
        .post(
            app,
            &format!("/api/v1/service-requests/{id}/cancel"),
            json!({ "reason": "me equivoqué de día" }),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let request = app.await_state(&id, "cancelled").await;
    let last = request["history"]
        .as_array()
        .and_then(|h| h.last())
        .expect("history");
    assert_eq!(last["reason"], "me equivoqué de día (refunded 12000.00)");
    let refunded = app
        .mercadopago
        .payments()
        .into_iter()
        .find(|p| p["id"] == payment["id"])
        .expect("the payment");
    assert_eq!(refunded["status"], "refunded");
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-cancel-racing-a-payment-refunded.json",
    )
    .await;
}

#[tokio::test]
async fn a_payment_made_after_cancelling_is_returned() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let (id, preference) = coordinated(&flow).await;
    // Ana pays in cash at a counter: pending until the money arrives.
    let payment = app
        .mercadopago
        .pay(&preference, "pending", None)
        .expect("pending");
    let (status, _) = w
        .booking
        .ana
        .post(
            app,
            &format!("/api/v1/service-requests/{id}/cancel"),
            json!({}),
        )
        .await;
    assert_eq!(status, 202);
    app.await_state(&id, "cancelled").await;
    // The link is closed: nobody can pay for the cancelled visit any more.
    assert!(app.mercadopago.pay(&preference, "approved", None).is_err());
    // The cash arrives after the request is over.
    clears(app, &payment).await;
    e2e::eventually("the payment returned", Duration::from_secs(30), || async {
        app.mercadopago
            .payments()
            .into_iter()
            .any(|p| p["id"] == payment["id"] && p["status"] == "refunded")
            .then_some(())
    })
    .await;
    e2e::eventually("the refund recorded", Duration::from_secs(30), || async {
        (app.db
            .count(&format!(
                "SELECT count(*) AS n FROM payments WHERE request_id = '{id}' AND refunded_amount = 12000"
            ))
            .await
            == 1)
            .then_some(())
    })
    .await;
    let request = app.await_state(&id, "cancelled").await;
    assert!(!history_states(&request).contains(&"payed".to_owned()));
    // Both are told, once: by the request's workflow if it was still settling its
    // payments, else by the late payment's own workflow.
    e2e::eventually("Ana and staff told", Duration::from_secs(30), || async {
        let ana = app
            .messages_to(ANA_PHONE, "owner_update")
            .iter()
            .filter(|m| m.template_params[1].contains("te lo devolvimos"))
            .count();
        let staff = app
            .messages_to(STAFF_PHONE, "staff_alert")
            .iter()
            .filter(|m| m.template_params[0].contains("devuelto $ 12000.00"))
            .count();
        (ana == 1 && staff == 1).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_cash_payment_that_clears_as_the_request_expires_unpaid_is_returned() {
    let flow = Flow::start(1, policy()).await;
    let app = &flow.app;
    let (id, preference) = coordinated(&flow).await;
    // Ana pays in cash at a counter: still pending when the deadline comes.
    let payment = app
        .mercadopago
        .pay(&preference, "pending", None)
        .expect("pending");
    advance(app, Duration::from_secs(25 * HOUR)).await;
    let request = app.await_state(&id, "expired").await;
    assert!(!history_states(&request).contains(&"payed".to_owned()));
    // The cash arrives after the request expired: it is not kept.
    clears(app, &payment).await;
    e2e::eventually("the payment returned", Duration::from_secs(30), || async {
        app.mercadopago
            .payments()
            .into_iter()
            .any(|p| p["id"] == payment["id"] && p["status"] == "refunded")
            .then_some(())
    })
    .await;
    e2e::eventually("Ana told, once", Duration::from_secs(30), || async {
        (ana_heard(app, "te lo devolvimos") == 1).then_some(())
    })
    .await;
    let request = app.await_state(&id, "expired").await;
    assert!(!history_states(&request).contains(&"payed".to_owned()));
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM visits WHERE request_id = '{id}' AND status = 'scheduled'"
            ))
            .await,
        0,
        "the vet's time stays free"
    );
}
