//! MercadoPago's webhooks on the time-skipping server: signatures checked (seconds and
//! milliseconds `ts`; stale, forged, replayed and body-swapped ones refused), duplicates
//! and reordering confirm once, an unknown payment is dropped, a lost webhook is found
//! by reconciliation.

use super::payment_flow::{HOUR, coordinated, history_states, policy};
use e2e::{
    MP_WEBHOOK_SECRET,
    flow::{Flow, advance},
};
use sandbox::mercadopago::DeliveryMode;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn duplicated_and_reordered_webhooks_confirm_once() {
    let flow = Flow::start(1, policy()).await;
    let app = &flow.app;
    let (id, preference) = coordinated(&flow).await;
    app.mercadopago.set_delivery(DeliveryMode {
        duplicate: true,
        reorder: true,
        ..DeliveryMode::default()
    });
    app.mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    let request = app.await_state(&id, "confirmed").await;
    e2e::eventually("four deliveries", Duration::from_secs(30), || async {
        (app.mercadopago.deliveries().len() == 4).then_some(())
    })
    .await;
    let actions: Vec<String> = app
        .mercadopago
        .deliveries()
        .into_iter()
        .map(|d| d.action)
        .collect();
    assert_eq!(
        actions,
        [
            "payment.updated",
            "payment.updated",
            "payment.created",
            "payment.created"
        ]
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM webhook_events")
            .await,
        2,
        "each event stored once"
    );
    let payed = history_states(&request)
        .iter()
        .filter(|s| *s == "payed")
        .count();
    assert_eq!(payed, 1);
}

#[tokio::test]
async fn a_forged_or_replayed_webhook_changes_nothing() {
    let flow = Flow::start(1, policy()).await;
    let app = &flow.app;
    let (id, preference) = coordinated(&flow).await;
    // A real payment, whose notifications we keep from arriving.
    app.mercadopago.set_delivery(DeliveryMode {
        drop: true,
        ..DeliveryMode::default()
    });
    let payment = app
        .mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    let data_id = payment["id"].to_string();
    let url = app.url(&format!(
        "/api/v1/webhooks/mercadopago?data.id={data_id}&type=payment"
    ));
    let body =
        |id: &str| json!({ "type": "payment", "action": "payment.created", "data": { "id": id } });
    let send = |ts: String, v1: String, body: Value| {
        let url = url.clone();
        async move {
            let response = app
                .http
                .post(&url)
                .header("x-signature", format!("ts={ts},v1={v1}"))
                .header("x-request-id", "req-1")
                .json(&body)
                .send()
                .await
                .expect("POST");
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    // MercadoPago's `ts` is in Unix seconds.
    let ts = chrono::Utc::now().timestamp().to_string();
    let good = sandbox::mercadopago::sign(MP_WEBHOOK_SECRET, &data_id, "req-1", &ts);

    // A bad key, a missing signature, an old one, one from the future: 401.
    let forged = sandbox::mercadopago::sign("not-the-secret", &data_id, "req-1", &ts);
    assert_eq!(send(ts.clone(), forged, body(&data_id)).await.0, 401);
    let response = app
        .http
        .post(&url)
        .json(&body(&data_id))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 401);
    let old = (chrono::Utc::now().timestamp() - 2 * 3_600).to_string();
    let old_sig = sandbox::mercadopago::sign(MP_WEBHOOK_SECRET, &data_id, "req-1", &old);
    assert_eq!(send(old, old_sig, body(&data_id)).await.0, 401);
    let future = (chrono::Utc::now().timestamp() + 2 * 3_600).to_string();
    let future_sig = sandbox::mercadopago::sign(MP_WEBHOOK_SECRET, &data_id, "req-1", &future);
    assert_eq!(send(future, future_sig, body(&data_id)).await.0, 401);
    // The signature of this payment under another request id: 401.
    let other_request = sandbox::mercadopago::sign(MP_WEBHOOK_SECRET, &data_id, "req-2", &ts);
    assert_eq!(send(ts.clone(), other_request, body(&data_id)).await.0, 401);
    // The signature of this payment on a body naming another: 400.
    assert_eq!(send(ts.clone(), good.clone(), body("999")).await.0, 400);
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM webhook_events")
            .await,
        0
    );
    app.await_state(&id, "coordinated").await;

    // The genuine one counts, and its replay is acknowledged and ignored.
    let (status, first) = send(ts.clone(), good.clone(), body(&data_id)).await;
    assert_eq!((status, &first["status"]), (200, &json!("received")));
    let (status, again) = send(ts, good, body(&data_id)).await;
    assert_eq!((status, &again["status"]), (200, &json!("duplicate")));
    // The same notification signed in milliseconds reads the same: a repeat.
    let ts_ms = chrono::Utc::now().timestamp_millis().to_string();
    let ms_sig = sandbox::mercadopago::sign(MP_WEBHOOK_SECRET, &data_id, "req-1", &ts_ms);
    let (status, in_ms) = send(ts_ms, ms_sig, body(&data_id)).await;
    assert_eq!((status, &in_ms["status"]), (200, &json!("duplicate")));
    app.await_state(&id, "confirmed").await;
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM webhook_events")
            .await,
        1
    );
}

#[tokio::test]
async fn a_notification_of_an_unknown_payment_is_acknowledged_and_dropped() {
    let flow = Flow::start(1, policy()).await;
    let app = &flow.app;
    let ts = chrono::Utc::now().timestamp().to_string();
    let v1 = sandbox::mercadopago::sign(MP_WEBHOOK_SECRET, "424242", "req-9", &ts);
    let response = app
        .http
        .post(app.url("/api/v1/webhooks/mercadopago?data.id=424242&type=payment"))
        .header("x-signature", format!("ts={ts},v1={v1}"))
        .header("x-request-id", "req-9")
        .json(&json!({ "id": 7, "type": "payment", "action": "payment.created", "data": { "id": "424242" } }))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);
    e2e::eventually("the event handled", Duration::from_secs(30), || async {
        (app.db
            .count("SELECT count(*) AS n FROM webhook_events WHERE processed_at IS NOT NULL AND request_id IS NULL")
            .await
            == 1)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_lost_webhook_is_found_by_reconciliation_at_the_deadline() {
    let flow = Flow::start(1, policy()).await;
    let app = &flow.app;
    let (id, preference) = coordinated(&flow).await;
    app.mercadopago.set_delivery(DeliveryMode {
        drop: true,
        ..DeliveryMode::default()
    });
    app.mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.await_state(&id, "coordinated").await;
    advance(app, Duration::from_secs(25 * HOUR)).await;
    let request = app.await_state(&id, "confirmed").await;
    assert!(!history_states(&request).contains(&"expired".to_owned()));
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM webhook_events")
            .await,
        0
    );
}
