//! An owner proves their WhatsApp number before their first checkout: the code goes to
//! the number on WhatsApp, comes back, and only then does checkout go through; a wrong
//! code counts, a changed number is unverified again, codes are capped per hour.

use std::sync::Arc;

use chrono::{Duration, Utc};
use e2e::{
    TestApp, TestDb, dev_server_address, fixtures, quick_policy, temporal_settings,
    unique_task_queue,
};
use reqwest::Method;
use serde_json::{Value, json};

async fn app() -> TestApp {
    TestApp::spawn_with(
        Arc::new(TestDb::new().await),
        temporal_settings(dev_server_address(), &unique_task_queue()),
        quick_policy(),
        |settings| settings.booking.require_verified_phone = true,
    )
    .await
}

/// The codes the emulator delivered to `phone`, oldest first.
fn codes(app: &TestApp, phone: &str) -> Vec<String> {
    app.messages_to(phone, "phone_code")
        .into_iter()
        .map(|m| m.template_params[0].clone())
        .collect()
}

/// Asks for a code to the caller's number.
async fn send_code(app: &TestApp, token: &str) -> (u16, Value) {
    app.call(token, Method::POST, "/api/v1/me/phone/code", None)
        .await
}

/// Tries `code`.
async fn verify(app: &TestApp, token: &str, code: &str) -> (u16, Value) {
    app.call(
        token,
        Method::POST,
        "/api/v1/me/phone/verify",
        Some(json!({ "code": code })),
    )
    .await
}

/// Sets the owner's `phone` on their profile.
async fn set_phone(app: &TestApp, token: &str, owner: &str, phone: &str) -> (u16, Value) {
    app.call(
        token,
        Method::PATCH,
        &format!("/api/v1/owners/{owner}"),
        Some(json!({ "phone": phone })),
    )
    .await
}

async fn checkout(app: &TestApp, token: &str) -> (u16, Value) {
    let response = app
        .http
        .post(app.url("/api/v1/cart/checkout"))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .send()
        .await
        .expect("checkout");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn checkout_waits_for_the_whatsapp_number_to_be_proven_with_a_code() {
    let app = app().await;
    let w = fixtures::booking(&app).await;
    let ana = &w.ana;
    let phone = "+5491155550077";
    let day = (Utc::now() + Duration::days(3)).date_naive();
    let start = day.and_hms_opt(13, 0, 0).expect("time").and_utc();
    app.create(
        &ana.token,
        "/api/v1/cart/items",
        json!({ "service_id": w.service, "pet_id": w.pet, "address_id": w.home,
                "wanted_start": start, "wanted_end": start + Duration::hours(2) }),
    )
    .await;

    // No number yet: nothing to verify, and no checkout.
    let (status, problem) = send_code(&app, &ana.token).await;
    assert_eq!(
        (status, e2e::problem_fields(&problem)),
        (422, vec!["phone".to_owned()])
    );
    let (status, problem) = checkout(&app, &ana.token).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        problem["type"],
        "https://amarmascotas.ar/problems/phone-unverified"
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM service_requests")
            .await,
        0
    );

    let (status, _) = set_phone(&app, &ana.token, &ana.id, phone).await;
    assert_eq!(status, 200);
    let (status, sent) = send_code(&app, &ana.token).await;
    assert_eq!(status, 202, "{sent}");
    assert_eq!(sent["phone"], phone);
    let code = e2e::eventually(
        "the code on WhatsApp",
        std::time::Duration::from_secs(10),
        || async { codes(&app, phone).pop() },
    )
    .await;
    assert_eq!(code.len(), 6);
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM outbound_messages WHERE params::text LIKE '%{code}%'"
            ))
            .await,
        0,
        "the ledger never keeps the code"
    );

    // A wrong code counts and says how many tries are left.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, problem) = verify(&app, &ana.token, wrong).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("4 tries left")),
        "{problem}"
    );

    let (status, verified) = verify(&app, &ana.token, &code).await;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified, json!({ "phone": phone, "verified": true }));
    // Used up: the same code again finds nothing pending.
    let (status, _) = verify(&app, &ana.token, &code).await;
    assert_eq!(status, 409);

    let (status, done) = checkout(&app, &ana.token).await;
    assert_eq!(status, 201, "{done}");

    // A new number is a number to prove again.
    let (status, _) = set_phone(&app, &ana.token, &ana.id, "+5491155550078").await;
    assert_eq!(status, 200);
    app.create(
        &ana.token,
        "/api/v1/cart/items",
        json!({ "service_id": w.service, "pet_id": w.pet, "address_id": w.home,
                "wanted_start": start + Duration::days(1), "wanted_end": start + Duration::days(1) + Duration::hours(2) }),
    )
    .await;
    let (status, problem) = checkout(&app, &ana.token).await;
    assert_eq!(status, 409, "{problem}");

    // Three codes an hour: the fourth waits (one was sent for the first number).
    for _ in 0..2 {
        let (status, sent) = send_code(&app, &ana.token).await;
        assert_eq!(status, 202, "{sent}");
    }
    let (status, problem) = send_code(&app, &ana.token).await;
    assert_eq!(status, 429, "{problem}");

    // Five wrong tries use a code up.
    for _ in 0..5 {
        verify(&app, &ana.token, "999999").await;
    }
    let latest = codes(&app, "+5491155550078").pop().expect("a code");
    let (status, problem) = verify(&app, &ana.token, &latest).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        problem["type"],
        "https://amarmascotas.ar/problems/too-many-tries"
    );

    // Another account cannot make that number ring more: 3 codes an hour per number,
    // whoever asks (it was sent 2).
    let e2e::Caller {
        token: bob,
        id: bob_owner,
    } = app.owner("bob@example.com").await;
    let (status, problem) = set_phone(&app, &bob, &bob_owner, "11 5555 0078").await;
    assert_eq!(
        (status, e2e::problem_fields(&problem)),
        (422, vec!["phone".to_owned()]),
        "not international"
    );
    let (status, _) = set_phone(&app, &bob, &bob_owner, "+54 9 11 5555-0078").await;
    assert_eq!(status, 200);
    let (status, sent) = send_code(&app, &bob).await;
    assert_eq!(
        (status, sent["phone"].clone()),
        (202, json!("+5491155550078"))
    );
    let (status, problem) = send_code(&app, &bob).await;
    assert_eq!(status, 429, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("this number")),
        "{problem}"
    );

    // A vet has no owner's number to verify.
    let e2e::Caller { token: vet, .. } = app
        .vet(&w.staff.token, "vet@example.com", "20-12345678-6")
        .await;
    let (status, _) = send_code(&app, &vet).await;
    assert_eq!(status, 403);
}
