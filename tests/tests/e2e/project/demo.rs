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
    // Martín every day, Lucía on weekdays.
    assert_eq!(
        db.count("SELECT count(*) AS n FROM vet_availability").await,
        12
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

    // Ana can price a consult for Luna at home: on a Monday at 10:00 local the morning
    // discount applies; asking for Martín uses his own price.
    let mut monday = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    while chrono::Datelike::weekday(&monday).number_from_monday() != 1 {
        monday += chrono::Duration::days(1);
    }
    let start = monday.and_hms_opt(13, 0, 0).expect("time").and_utc();
    let quote = json!({
        "service_id": "00000000-0000-4000-8000-000000000401", "pet_id": "00000000-0000-4000-8000-000000000721",
        "address_id": "00000000-0000-4000-8000-000000000711", "start": start,
    });
    let (status, general) = app
        .call(
            &tokens[1],
            Method::POST,
            "/api/v1/quotes",
            Some(quote.clone()),
        )
        .await;
    assert_eq!(status, 200, "{general}");
    assert_eq!(general["breakdown"]["total"], "31500.00", "35000 − 10%");
    let mut with_martin = quote;
    with_martin["vet_id"] = json!("00000000-0000-4000-8000-000000000801");
    let (_, martins) = app
        .call(
            &tokens[1],
            Method::POST,
            "/api/v1/quotes",
            Some(with_martin),
        )
        .await;
    assert_eq!(martins["breakdown"]["total"], "34200.00", "38000 − 10%");
}
