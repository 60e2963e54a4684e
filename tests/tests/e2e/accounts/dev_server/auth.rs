//! Accounts and tokens through HTTP: register, login with limits, rotating refresh
//! tokens with reuse detection, logout, and `me`.

use e2e::TestApp;
use serde_json::{Value, json};

async fn app() -> TestApp {
    TestApp::start().await
}

async fn register(app: &TestApp, email: &str) -> Value {
    let (status, tokens) = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": email, "password": "correct horse battery", "full_name": "Ana Pérez" }),
        )
        .await;
    assert_eq!(status, 201, "{tokens}");
    tokens
}

async fn me(app: &TestApp, access_token: &str) -> (u16, Value) {
    let response = app
        .http
        .get(app.url("/api/v1/me"))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("GET /me");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_registered_owner_is_signed_in_and_sees_themselves_as_an_owner() {
    let app = app().await;
    let tokens = register(&app, " Ana.Perez@Example.com ").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);

    let (status, body) = me(&app, tokens["access_token"].as_str().expect("token")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "ana.perez@example.com");
    assert_eq!(body["roles"], json!(["owner"]));
    assert!(body["owner_id"].is_string());
    assert_eq!(body["vet_id"], Value::Null);

    let stored = app
        .db
        .count("SELECT count(*) AS n FROM users WHERE password_hash LIKE '$argon2id$%'")
        .await;
    assert_eq!(stored, 1, "the password is stored as an argon2id hash");
}

#[tokio::test]
async fn registering_a_taken_email_or_bad_fields_is_refused_and_writes_nothing() {
    let app = app().await;
    register(&app, "ana@example.com").await;
    let (status, problem) = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": "ANA@example.com", "password": "another long one", "full_name": "Otra Ana" }),
        )
        .await;
    assert_eq!(status, 409, "{problem}");

    let (status, problem) = app
        .post_json(
            "/api/v1/auth/register",
            &json!({ "email": "not-an-email", "password": "short", "full_name": "  " }),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["email", "password", "full_name"]);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM users").await, 1);
    assert_eq!(
        app.db.count("SELECT count(*) AS n FROM pet_owners").await,
        1
    );
}

#[tokio::test]
async fn login_works_with_the_right_password_only_and_failures_slow_the_next_try() {
    let app = app().await;
    register(&app, "ana@example.com").await;
    let login = |password: &'static str| {
        let app = &app;
        async move {
            app.post_json(
                "/api/v1/auth/login",
                &json!({ "email": "ana@example.com", "password": password }),
            )
            .await
        }
    };
    let (status, tokens) = login("correct horse battery").await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["refresh_token"].is_string());

    // An unknown email and a wrong password look the same.
    let (status, unknown) = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": "nobody@example.com", "password": "whatever123" }),
        )
        .await;
    assert_eq!(status, 401);
    for _ in 0..5 {
        let (status, wrong) = login("wrong password!").await;
        assert_eq!(status, 401);
        assert_eq!(wrong["detail"], unknown["detail"]);
    }
    // Five failures: the next try, even with the right password, waits a second.
    let right = || {
        app.http
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({ "email": "ana@example.com", "password": "correct horse battery" }))
            .send()
    };
    let response = right().await.expect("POST");
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    // A sixth failure after the wait doubles it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(login("wrong password!").await.0, 401);
    let response = right().await.expect("POST");
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
    // Waiting is all it takes: the owner is slowed, never locked out.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, _) = login("correct horse battery").await;
    assert_eq!(status, 200);
    // An email longer than any address is no account: 401, no hash, no row.
    let before = app
        .db
        .count("SELECT count(*) AS n FROM login_attempts")
        .await;
    let (status, _) = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": format!("{}@example.com", "a".repeat(3000)), "password": "whatever123" }),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM login_attempts")
            .await,
        before
    );
    // A success starts the count again: the next failure is free.
    assert_eq!(login("wrong password!").await.0, 401);
    assert_eq!(login("correct horse battery").await.0, 200);
}

#[tokio::test]
async fn a_refresh_token_works_once_and_reusing_it_revokes_the_whole_family() {
    let app = app().await;
    let first = register(&app, "ana@example.com").await;
    let refresh = |token: Value| {
        let app = &app;
        async move {
            app.post_json("/api/v1/auth/refresh", &json!({ "refresh_token": token }))
                .await
        }
    };

    let (status, second) = refresh(first["refresh_token"].clone()).await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let (status, _) = me(&app, second["access_token"].as_str().expect("token")).await;
    assert_eq!(status, 200);

    // The first token again: a replay. It fails, and so does the one it was rotated into.
    let (status, problem) = refresh(first["refresh_token"].clone()).await;
    assert_eq!(status, 401, "{problem}");
    let (status, _) = refresh(second["refresh_token"].clone()).await;
    assert_eq!(status, 401);

    let (status, _) = refresh(json!("made-up")).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn refreshing_never_extends_a_session() {
    let app = app().await;
    let first = register(&app, "ana@example.com").await;
    let (status, second) = app
        .post_json(
            "/api/v1/auth/refresh",
            &json!({ "refresh_token": first["refresh_token"] }),
        )
        .await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        app.db
            .count("SELECT count(DISTINCT expires_at) AS n FROM refresh_tokens")
            .await,
        1,
        "the rotated token ends when the session that signed in does"
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM refresh_tokens WHERE expires_at BETWEEN now() + interval '59 minutes' AND now() + interval '1 hour'")
            .await,
        2,
        "both end an hour (the test app's REFRESH_TOKEN_TTL_SECS) after sign-in"
    );
}

#[tokio::test]
async fn a_disabled_account_cannot_refresh_and_its_session_stays_revoked() {
    let app = app().await;
    let tokens = register(&app, "ana@example.com").await;
    let body = json!({ "refresh_token": tokens["refresh_token"] });
    app.db.execute("UPDATE users SET is_active = false").await;
    let (status, problem) = app.post_json("/api/v1/auth/refresh", &body).await;
    assert_eq!(status, 401, "{problem}");
    assert_eq!(
        problem["detail"],
        "the account no longer exists or is disabled"
    );

    // Enabled again, the old session does not come back: it takes a new sign-in.
    app.db.execute("UPDATE users SET is_active = true").await;
    let (status, _) = app.post_json("/api/v1/auth/refresh", &body).await;
    assert_eq!(status, 401);
    let (status, _) = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": "ana@example.com", "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = app().await;
    let tokens = register(&app, "ana@example.com").await;
    let body = json!({ "refresh_token": tokens["refresh_token"] });
    let response = app
        .http
        .post(app.url("/api/v1/auth/logout"))
        .json(&body)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 204);
    let (status, _) = app.post_json("/api/v1/auth/refresh", &body).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn me_needs_a_valid_access_token() {
    let app = app().await;
    let (status, problem) = app.get_json("/api/v1/me").await;
    assert_eq!(status, 401, "{problem}");
    assert_eq!(
        problem["type"],
        "https://amarmascotas.ar/problems/unauthorized"
    );
    let (status, _) = me(&app, "not.a.jwt").await;
    assert_eq!(status, 401);
    // A refresh token is not an access token.
    let tokens = register(&app, "ana@example.com").await;
    let (status, _) = me(&app, tokens["refresh_token"].as_str().expect("token")).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_owner_booked_by_phone_gets_a_login_through_a_one_time_link() {
    let app = app().await;
    let staff = app.staff().await;
    let (status, no_email) = app
        .call(
            &staff,
            reqwest::Method::POST,
            "/api/v1/owners",
            Some(json!({ "full_name": "Jorge Díaz" })),
        )
        .await;
    assert_eq!(status, 201, "{no_email}");
    let (status, problem) = app
        .call(
            &staff,
            reqwest::Method::POST,
            &format!(
                "/api/v1/owners/{}/user",
                no_email["id"].as_str().expect("id")
            ),
            None,
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "email");

    let (status, owner) = app
        .call(
            &staff,
            reqwest::Method::POST,
            "/api/v1/owners",
            Some(json!({ "full_name": "Jorge Díaz", "email": "Jorge@Example.com", "phone": "+5491100000000" })),
        )
        .await;
    assert_eq!(status, 201, "{owner}");
    assert_eq!(owner["user_id"], Value::Null);
    let owner_id = owner["id"].as_str().expect("id").to_owned();
    let (status, link) = app
        .call(
            &staff,
            reqwest::Method::POST,
            &format!("/api/v1/owners/{owner_id}/user"),
            None,
        )
        .await;
    assert_eq!(status, 201, "{link}");
    let (status, _) = app
        .call(
            &staff,
            reqwest::Method::POST,
            &format!("/api/v1/owners/{owner_id}/user"),
            None,
        )
        .await;
    assert_eq!(status, 409, "a second login for the same owner");
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM users WHERE password_hash IS NULL")
            .await,
        1,
        "no password until the owner sets one"
    );

    // Signing in is impossible before the password is set.
    let (status, _) = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": "jorge@example.com", "password": "anything at all" }),
        )
        .await;
    assert_eq!(status, 401);

    // The link goes to the owner's mailbox, never in the answer staff get.
    assert_eq!(link["welcome_email"]["sent"], true, "{link}");
    assert_eq!(link.get("set_password_token"), None, "{link}");
    let token = json!(app.set_password_token("jorge@example.com", 0));
    assert!(!link.to_string().contains(token.as_str().expect("token")));
    let (status, problem) = app
        .post_json(
            "/api/v1/auth/set-password",
            &json!({ "token": token, "password": "short" }),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let (status, tokens) = app
        .post_json(
            "/api/v1/auth/set-password",
            &json!({ "token": token, "password": "mi clave segura" }),
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    let (_, me) = me(&app, tokens["access_token"].as_str().expect("token")).await;
    assert_eq!(me["owner_id"], owner_id.as_str());
    assert_eq!(me["roles"], json!(["owner"]));

    let (status, _) = app
        .post_json(
            "/api/v1/auth/set-password",
            &json!({ "token": token, "password": "otra clave segura" }),
        )
        .await;
    assert_eq!(status, 401, "the link works once");
    let (status, _) = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": "jorge@example.com", "password": "mi clave segura" }),
        )
        .await;
    assert_eq!(status, 200);

    let owner_token = app.register("ana@example.com").await;
    let (status, _) = app
        .call(
            &owner_token,
            reqwest::Method::POST,
            "/api/v1/owners",
            Some(json!({ "full_name": "X" })),
        )
        .await;
    assert_eq!(status, 403, "only staff create owners");
    let (status, _) = app
        .call(
            &owner_token,
            reqwest::Method::POST,
            &format!("/api/v1/owners/{owner_id}/user"),
            None,
        )
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn old_sign_in_attempts_and_processed_webhooks_are_forgotten_and_recent_ones_kept() {
    let app = app().await;
    app.db
        .execute(
            "INSERT INTO login_attempts (email, address, succeeded, at) VALUES \
             ('old@example.com', '198.51.100.1', false, now() - interval '31 days'), \
             ('new@example.com', '198.51.100.1', false, now() - interval '29 days')",
        )
        .await;
    app.db
        .execute(
            "INSERT INTO webhook_events (provider, event_type, data_id, action, payload, notification_id, received_at, processed_at) VALUES \
             ('mercadopago', 'payment', '1', 'payment.updated', '{}', 'old', now() - interval '100 days', now() - interval '91 days'), \
             ('mercadopago', 'payment', '2', 'payment.updated', '{}', 'recent', now() - interval '10 days', now() - interval '10 days'), \
             ('mercadopago', 'payment', '3', 'payment.updated', '{}', 'unprocessed', now() - interval '100 days', NULL)",
        )
        .await;
    let mut conn = app.db.conn().await;
    let pruned = db::housekeeping::prune(&mut conn, chrono::Utc::now())
        .await
        .expect("prune");
    assert_eq!(
        pruned,
        db::housekeeping::Pruned {
            login_attempts: 1,
            webhook_events: 1
        }
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM login_attempts WHERE email = 'new@example.com'")
            .await,
        1
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM webhook_events WHERE notification_id IN ('recent', 'unprocessed')")
            .await,
        2,
        "a notification never processed is kept, however old"
    );
}
