//! Rate limits per client address: a client over its allowance gets `429` with
//! `Retry-After`; another client is not affected; behind a trusted proxy the client is
//! the one it forwarded for, and anyone else's `X-Forwarded-For` is ignored.

use std::sync::Arc;

use e2e::{
    TestApp, TestDb, dev_server_address, quick_policy, temporal_settings, unique_task_queue,
};
use serde_json::json;

async fn app(trusted: &str, auth_per_minute: u32) -> TestApp {
    let trusted = api::client_ip::TrustedProxies::parse(trusted).expect("proxies");
    TestApp::spawn_with(
        Arc::new(TestDb::new().await),
        temporal_settings(dev_server_address(), &unique_task_queue()),
        quick_policy(),
        move |settings| {
            settings.trusted_proxies = trusted;
            settings.rate_limits.auth = auth_per_minute;
        },
    )
    .await
}

/// A wrong sign-in from `client` (as `X-Forwarded-For` says): its status and answer.
async fn login_from(app: &TestApp, client: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", client)
        .json(&json!({ "email": "nobody@example.com", "password": "wrong password" }))
        .send()
        .await
        .expect("POST /auth/login")
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_allowance() {
    let app = app("127.0.0.1", 3).await;
    for _ in 0..3 {
        assert_eq!(login_from(&app, "198.51.100.1").await.status(), 401);
    }
    let over = login_from(&app, "198.51.100.1").await;
    assert_eq!(over.status(), 429);
    let retry_after: u64 = over.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert_eq!(over.headers()["content-type"], "application/problem+json");
    let problem: serde_json::Value = over.json().await.expect("problem");
    assert_eq!(
        problem["type"],
        "https://amarmascotas.ar/problems/too-many-requests"
    );

    // Another client behind the same proxy still signs in (and fails) as usual.
    assert_eq!(login_from(&app, "198.51.100.2").await.status(), 401);
    // The limit is on sign-in only: the first client still reads the catalogue.
    let response = app
        .http
        .get(app.url("/api/v1/services"))
        .header("x-forwarded-for", "198.51.100.1")
        .send()
        .await
        .expect("GET");
    assert_eq!(response.status(), 200);
    // The sign-in throttle records the forwarded client, not the proxy.
    let addresses = app
        .db
        .count("SELECT count(DISTINCT address) AS n FROM login_attempts WHERE address IN ('198.51.100.1', '198.51.100.2')")
        .await;
    assert_eq!(addresses, 2);
}

#[tokio::test]
async fn an_untrusted_forwarded_for_is_ignored() {
    // The test's connections come from 127.0.0.1, which is not a trusted proxy here:
    // claiming a new address each time does not buy a new allowance.
    let app = app("10.0.0.0/8", 3).await;
    let mut statuses = Vec::new();
    for n in 0..4 {
        statuses.push(
            login_from(&app, &format!("203.0.113.{n}"))
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
    let recorded = app
        .db
        .count("SELECT count(*) AS n FROM login_attempts WHERE address = '127.0.0.1'")
        .await;
    assert_eq!(recorded, 3);
}
