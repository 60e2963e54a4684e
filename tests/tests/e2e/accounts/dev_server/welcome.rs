//! The welcome of an owner booked by phone, end to end: staff create the owner and the
//! login, the owner receives the email (Spanish, both parts), opens the page it links
//! to, sets the password there and signs in; when the mail server is down the login
//! still exists and staff send a new link, which retires the old one.

use e2e::TestApp;
use reqwest::Method;
use sandbox::smtp::FailAt;
use serde_json::{Value, json};
use std::time::Duration;

async fn owner(app: &TestApp, staff: &str, name: &str, email: &str) -> String {
    let (status, owner) = app
        .call(
            staff,
            Method::POST,
            "/api/v1/owners",
            Some(json!({ "full_name": name, "email": email })),
        )
        .await;
    assert_eq!(status, 201, "{owner}");
    owner["id"].as_str().expect("id").to_owned()
}

async fn give_login(app: &TestApp, staff: &str, owner: &str) -> (u16, Value) {
    app.call(
        staff,
        Method::POST,
        &format!("/api/v1/owners/{owner}/user"),
        None,
    )
    .await
}

async fn send_again(app: &TestApp, staff: &str, owner: &str) -> (u16, Value) {
    app.call(
        staff,
        Method::POST,
        &format!("/api/v1/owners/{owner}/user/welcome"),
        None,
    )
    .await
}

async fn set_password(app: &TestApp, token: &str, password: &str) -> u16 {
    app.post_json(
        "/api/v1/auth/set-password",
        &json!({ "token": token, "password": password }),
    )
    .await
    .0
}

#[tokio::test]
async fn an_owner_created_by_staff_is_emailed_a_link_that_sets_the_password() {
    let app = TestApp::start().await;
    let staff = app.staff().await;
    let owner = owner(&app, &staff, "Jorge Díaz", "jorge@example.com").await;

    let (status, login) = give_login(&app, &staff, &owner).await;
    assert_eq!(status, 201, "{login}");
    assert_eq!(
        login["welcome_email"],
        json!({ "to": "jorge@example.com", "sent": true, "problem": null })
    );

    let emails = app.emails_to("jorge@example.com");
    assert_eq!(emails.len(), 1, "{emails:?}");
    let welcome = &emails[0];
    assert_eq!(welcome.subject, "Te damos la bienvenida a AMAR Mascotas");
    assert_eq!(welcome.to, "Jorge Díaz <jorge@example.com>");
    assert!(
        welcome.text.starts_with("¡Hola, Jorge!"),
        "{}",
        welcome.text
    );
    let token = app.set_password_token("jorge@example.com", 0);
    let link = format!("{}/api/v1/auth/set-password#token={token}", app.base);
    assert!(welcome.text.contains(&link), "{}", welcome.text);
    assert!(
        welcome.html.contains(&format!("href=\"{link}\"")),
        "{}",
        welcome.html
    );
    assert!(
        !login.to_string().contains(&token),
        "the answer never carries the link"
    );

    // The page the link opens, and its script (the token stays in the fragment).
    let page = app
        .http
        .get(app.url("/api/v1/auth/set-password"))
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/html")
    );
    let html = page.text().await.expect("html");
    assert!(html.contains("Elegí la contraseña de tu cuenta"), "{html}");
    let script = app
        .http
        .get(app.url("/api/v1/auth/set-password/page.js"))
        .send()
        .await
        .expect("script");
    assert_eq!(script.status(), 200);
    assert!(script.text().await.expect("js").contains("location.hash"));

    assert_eq!(set_password(&app, &token, "mi clave segura").await, 200);
    let (status, tokens) = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": "jorge@example.com", "password": "mi clave segura" }),
        )
        .await;
    assert_eq!(status, 200, "{tokens}");

    // With the password set, there is no link to send again.
    let (status, problem) = send_again(&app, &staff, &owner).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        problem["type"]
            .as_str()
            .map(|t| t.ends_with("no-pending-login")),
        Some(true),
        "{problem}"
    );
    assert_eq!(app.emails_to("jorge@example.com").len(), 1);
}

#[tokio::test]
async fn a_welcome_that_could_not_be_sent_is_sent_again_with_a_new_link() {
    let app = TestApp::start().await;
    let staff = app.staff().await;
    let owner = owner(&app, &staff, "Marta Gómez", "marta@example.com").await;

    // The mail server is down: the login exists, and staff are told the email did not leave.
    app.smtp.fail(421, 1, FailAt::Greeting, Duration::ZERO);
    let (status, login) = give_login(&app, &staff, &owner).await;
    assert_eq!(status, 201, "{login}");
    assert_eq!(login["welcome_email"]["sent"], false, "{login}");
    assert!(
        login["welcome_email"]["problem"]
            .as_str()
            .is_some_and(|p| p.contains("unavailable")),
        "{login}"
    );
    assert!(app.emails_to("marta@example.com").is_empty());
    let (status, _) = give_login(&app, &staff, &owner).await;
    assert_eq!(status, 409, "the login is there already");

    // Staff send it again: a new link arrives.
    let (status, again) = send_again(&app, &staff, &owner).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["welcome_email"]["sent"], true, "{again}");
    let first = app.set_password_token("marta@example.com", 0);

    // And once more (the owner lost it): the earlier link stops working.
    let (status, _) = send_again(&app, &staff, &owner).await;
    assert_eq!(status, 200);
    let second = app.set_password_token("marta@example.com", 1);
    assert_ne!(first, second);
    assert_eq!(
        set_password(&app, &first, "una clave segura").await,
        401,
        "retired"
    );
    assert_eq!(set_password(&app, &second, "una clave segura").await, 200);
    let sends = app
        .db
        .count("SELECT count(*) AS n FROM outbound_messages WHERE channel = 'email' AND template = 'welcome' AND sent_at IS NOT NULL")
        .await;
    assert_eq!(sends, 2, "one ledger row per link sent");
}
