//! The MercadoPago client against the sandbox emulator: the contract is enforced both
//! ways (bearer token, idempotency keys, error shapes), failures are retried or not as
//! they should be, and the emulator retries webhooks its receiver did not take.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, http::StatusCode, routing::post};
use e2e::{MP_TOKEN, MP_WEBHOOK_SECRET, mercadopago_emulator};
use integrations::mercadopago::{
    MercadoPagoClient, MercadoPagoError, MercadoPagoSettings, PreferenceRequest,
};
use rust_decimal::Decimal;

fn client(base: &str, token: &str) -> MercadoPagoClient {
    MercadoPagoClient::new(MercadoPagoSettings {
        base_url: base.to_owned(),
        access_token: config::Secret::new(token),
        timeout: Duration::from_secs(5),
        max_attempts: 3,
    })
    .expect("client")
}

fn preference(reference: &str, notify: &str) -> PreferenceRequest {
    PreferenceRequest {
        title: "Consulta - Luna".into(),
        amount: Decimal::new(4104050, 2),
        external_reference: reference.into(),
        notification_url: notify.into(),
        return_base: "http://127.0.0.1:9/back".into(),
        expires_at: chrono::Utc::now() + chrono::Duration::days(1),
        payer_email: Some("ana@example.com".into()),
        payer_name: Some("Ana".into()),
    }
}

#[tokio::test]
async fn preferences_payments_search_and_refunds_keep_the_contract() {
    let (mp, base) = mercadopago_emulator().await;
    let ours = client(&base, MP_TOKEN);

    // A wrong token is refused, not retried; nothing is created.
    let refused = client(&base, "wrong")
        .create_preference(&preference("r-1", "http://127.0.0.1:9/hook"), "k-1")
        .await
        .expect_err("wrong token");
    assert!(
        matches!(refused, MercadoPagoError::Refused { status: 401, .. }),
        "{refused}"
    );
    assert!(mp.preferences().is_empty());

    // The same idempotency key makes one preference; reused with another body, 409.
    let asked = preference("r-1", "http://127.0.0.1:9/hook");
    let first = ours
        .create_preference(&asked, "k-1")
        .await
        .expect("created");
    let again = ours
        .create_preference(&asked, "k-1")
        .await
        .expect("replayed");
    assert_eq!(first, again);
    assert_eq!(mp.preferences().len(), 1);
    let conflict = ours
        .create_preference(&preference("r-2", "http://127.0.0.1:9/hook"), "k-1")
        .await
        .expect_err("same key, other body");
    assert!(
        matches!(conflict, MercadoPagoError::Refused { status: 409, .. }),
        "{conflict}"
    );
    // A missing field is the emulator's 400, in MercadoPago's shape.
    let bad = ours
        .create_preference(&preference("r-3", "not-a-url"), "k-3")
        .await
        .expect_err("bad notification_url");
    assert!(
        matches!(bad, MercadoPagoError::Refused { status: 400, .. }),
        "{bad}"
    );
    assert_eq!(mp.preferences()[0]["items"][0]["unit_price"], 41040.5);

    // Two 503s, then success: retried inside the call.
    mp.fail_next(2, 503, Duration::ZERO);
    let paid = mp.pay(&first.id, "approved", None).expect("paid");
    let id = paid["id"].as_i64().expect("id");
    let payment = ours.payment(id).await.expect("fetched after two 503s");
    assert_eq!(payment.status, "approved");
    assert_eq!(payment.amount, Decimal::new(4104050, 2));
    assert_eq!(payment.external_reference.as_deref(), Some("r-1"));
    // 429 throughout: given up, retryable.
    mp.fail_next(10, 429, Duration::ZERO);
    let busy = ours.payment(id).await.expect_err("429s");
    assert!(busy.is_retryable(), "{busy}");
    mp.fail_next(0, 200, Duration::ZERO);

    let found = ours.search("r-1").await.expect("search");
    assert_eq!(found.payments.len(), 1);
    assert!(found.unreadable.is_empty());
    assert!(
        ours.search("nobody")
            .await
            .expect("search")
            .payments
            .is_empty()
    );

    // A refund, once per key.
    let refund = ours.refund(id, "refund-1").await.expect("refunded");
    let same = ours.refund(id, "refund-1").await.expect("replayed");
    assert_eq!(refund, same);
    assert_eq!(ours.payment(id).await.expect("payment").status, "refunded");
    let twice = ours
        .refund(id, "refund-2")
        .await
        .expect_err("already refunded");
    assert!(
        matches!(twice, MercadoPagoError::Refused { status: 400, .. }),
        "{twice}"
    );
}

#[tokio::test]
async fn webhooks_are_signed_and_retried_until_the_receiver_takes_them() {
    let (mp, base) = mercadopago_emulator().await;
    // A receiver that fails twice, then answers 200, and keeps what it got.
    let seen: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let calls = Arc::new(Mutex::new(0));
    let receiver = {
        let (seen, calls) = (seen.clone(), calls.clone());
        Router::new().route(
            "/hook",
            post(
                move |query: axum::extract::RawQuery, headers: axum::http::HeaderMap| {
                    let (seen, calls) = (seen.clone(), calls.clone());
                    async move {
                        let header = |name: &str| {
                            headers
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned()
                        };
                        seen.lock().expect("lock").push((
                            query.0.unwrap_or_default(),
                            header("x-signature"),
                            header("x-request-id"),
                        ));
                        let mut calls = calls.lock().expect("lock");
                        *calls += 1;
                        if *calls <= 2 {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            StatusCode::OK
                        }
                    }
                },
            ),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let created = client(&base, MP_TOKEN)
        .create_preference(&preference("r-9", &hook), "k-9")
        .await
        .expect("created");
    let paid = mp.pay(&created.id, "approved", None).expect("paid");
    let id = paid["id"].to_string();
    e2e::eventually("the deliveries", Duration::from_secs(10), || async {
        (mp.deliveries().iter().filter(|d| d.status == 200).count() == 2).then_some(())
    })
    .await;
    let attempts: Vec<(u32, u16)> = mp
        .deliveries()
        .iter()
        .map(|d| (d.attempt, d.status))
        .collect();
    assert_eq!(attempts, [(1, 500), (2, 500), (3, 200), (1, 200)]);
    // Every delivery is signed over its own data.id, request id and timestamp.
    for (query, signature, request_id) in seen.lock().expect("lock").iter() {
        assert_eq!(query, &format!("data.id={id}&type=payment"));
        let (ts, v1) = signature
            .split_once(',')
            .map(|(t, v)| (t.trim_start_matches("ts="), v.trim_start_matches("v1=")))
            .expect("ts,v1");
        assert_eq!(
            v1,
            sandbox::mercadopago::sign(MP_WEBHOOK_SECRET, &id, request_id, ts)
        );
    }
}

#[tokio::test]
async fn a_search_reports_the_payment_it_cannot_read_beside_the_ones_it_can() {
    // A search answer as MercadoPago shapes it, one of its payments without a
    // readable id (a field renamed, a new type).
    let answer = serde_json::json!({
        "paging": { "total": 2, "limit": 30, "offset": 0 },
        "results": [
            {
                "id": 1_234_567_890_i64,
                "status": "approved",
                "status_detail": "accredited",
                "external_reference": "r-9",
                "transaction_amount": 12000,
                "currency_id": "ARS",
                "date_approved": "2026-12-01T10:00:00.000-03:00",
            },
            {
                "id": "1234567891",
                "status": "approved",
                "transaction_amount": 12000,
                "payer": { "email": "ana@example.com" },
            },
        ],
    });
    let mercadopago = Router::new().route(
        "/v1/payments/search",
        axum::routing::get(move || {
            let answer = answer.clone();
            async move { axum::Json(answer) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, mercadopago).await });

    let found = client(&base, MP_TOKEN)
        .search("r-9")
        .await
        .expect("the search answered");
    let ids: Vec<i64> = found.payments.iter().map(|p| p.id).collect();
    assert_eq!(ids, [1_234_567_890]);
    assert_eq!(found.unreadable.len(), 1, "{:?}", found.unreadable);
    assert!(
        found.unreadable[0].contains("id") && !found.unreadable[0].contains("ana@example.com"),
        "{:?}",
        found.unreadable
    );
}
