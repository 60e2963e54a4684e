//! The demo data of `make run` loads, loads again without harm, and is usable.

use std::sync::Arc;

use e2e::{
    TestApp, TestDb, dev_server_address, quick_policy, temporal_settings, unique_task_queue,
};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn the_demo_data_loads_twice_and_its_accounts_work() {
    let db = Arc::new(TestDb::new().await);
    api::seed::demo(&db.url).await.expect("first load");
    api::seed::demo(&db.url)
        .await
        .expect("a second load changes nothing");
    assert_eq!(db.count("SELECT count(*) AS n FROM users").await, 4);
    assert_eq!(db.count("SELECT count(*) AS n FROM neighborhoods").await, 7);
    assert_eq!(
        db.count("SELECT count(*) AS n FROM vet_availability").await,
        10
    );

    let app = TestApp::spawn(
        db,
        temporal_settings(dev_server_address(), &unique_task_queue()),
        quick_policy(),
    )
    .await;
    let mut tokens = Vec::new();
    for (_, email, password) in api::seed::ACCOUNTS {
        let (status, body) = app
            .post_json(
                "/api/v1/auth/login",
                &json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(status, 200, "{email}: {body}");
        tokens.push(body["access_token"].as_str().expect("token").to_owned());
    }
    let (_, me) = app.call(&tokens[1], Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["roles"], json!(["owner"]));
    let (_, pets) = app
        .call(&tokens[1], Method::GET, "/api/v1/pets", None)
        .await;
    assert_eq!(pets["items"].as_array().map(Vec::len), Some(2));
    let (_, me) = app.call(&tokens[2], Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["roles"], json!(["vet"]));

    // Ana's address is in Palermo, which Martín covers; a Monday at 11:00 local he is free.
    let (_, found) = app
        .get_json("/api/v1/neighborhoods/locate?lat=-34.585&lon=-58.418")
        .await;
    assert_eq!(found["name"], "Palermo");
    let (status, vets) = app
        .call(
            &tokens[0],
            Method::GET,
            "/api/v1/vets/search?lat=-34.585&lon=-58.418&from=2026-11-30T14:00:00Z&to=2026-11-30T15:00:00Z",
            None,
        )
        .await;
    assert_eq!(status, 200, "{vets}");
    assert_eq!(vets.as_array().map(|v| v.len()), Some(1), "{vets}");
    assert_eq!(vets[0]["full_name"], "Martín Gómez");
}
