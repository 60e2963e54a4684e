//! The API's Prometheus metrics: on their own listener only, with the documented series.

use std::sync::Arc;

use e2e::{
    TestApp, TestDb, dev_server_address, quick_policy, temporal_settings, unique_task_queue,
};

#[tokio::test]
async fn the_metrics_listener_serves_the_documented_series_and_the_public_one_does_not() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let app = TestApp::spawn_with(
        Arc::new(TestDb::new().await),
        temporal_settings(dev_server_address(), &unique_task_queue()),
        quick_policy(),
        move |settings| settings.metrics_bind = Some(([127, 0, 0, 1], port).into()),
    )
    .await;
    let owner = app.register("ana@example.com").await;
    let unknown = uuid::Uuid::new_v4();
    let (status, _) = app
        .call(
            &owner,
            reqwest::Method::GET,
            &format!("/api/v1/pets/{unknown}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let refused = app
        .http
        .post(app.url("/api/v1/webhooks/mercadopago?data.id=1&type=payment"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("POST");
    assert_eq!(refused.status(), 401);

    let scrape = || async {
        app.http
            .get(format!("http://127.0.0.1:{port}/metrics"))
            .send()
            .await
            .expect("scrape")
    };
    let response = scrape().await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain; version=0.0.4")
    );
    let text = response.text().await.expect("text");
    for series in [
        // The route's template, never the id.
        r#"amar_api_http_requests_total{method="GET",route="/api/v1/pets/{id}",status="404"}"#,
        r#"amar_api_http_request_duration_seconds_bucket{method="GET",route="/api/v1/pets/{id}",le="0.005"}"#,
        r#"amar_api_webhook_notifications_total{outcome="bad_signature"}"#,
        "amar_api_db_pool_connections ",
        "amar_api_db_pool_available ",
        "amar_api_db_pool_waiting ",
        "amar_api_outbox_unstarted_requests ",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
    assert!(!text.contains(&unknown.to_string()), "no id in a label");

    // Not on the public listener.
    let (status, _) = app.get_json("/metrics").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_worker_serves_the_temporal_sdks_metrics_and_its_health_when_asked() {
    let app = TestApp::start().await;
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
    };
    let (port, health) = (free(), free());
    let mut settings = app.worker_settings();
    settings.metrics_bind = Some(([127, 0, 0, 1], port).into());
    settings.health_bind = Some(([127, 0, 0, 1], health).into());
    let _worker = e2e::WorkerProcess::start(&settings);
    let url = format!("http://127.0.0.1:{port}/metrics");
    // Once the worker polls, the SDK reports its pollers and task slots.
    let text = e2e::eventually(
        "the worker's metrics",
        std::time::Duration::from_secs(30),
        || {
            let http = app.http.clone();
            let url = url.clone();
            async move {
                let text = http.get(&url).send().await.ok()?.text().await.ok()?;
                // The SDK reports each once its poller first asks: wait for both.
                (text.contains("temporal_worker_task_slots_available")
                    && text.contains("temporal_num_pollers"))
                .then_some(text)
            }
        },
    )
    .await;
    assert!(text.contains("temporal_num_pollers"), "{text}");
    for (path, body) in [
        ("/healthz", serde_json::json!({ "status": "polling" })),
        (
            "/readyz",
            serde_json::json!({ "status": "ok", "checks": { "postgres": "ok", "temporal": "ok" } }),
        ),
    ] {
        let response = app
            .http
            .get(format!("http://127.0.0.1:{health}{path}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(response.status(), 200, "{path}");
        let said: serde_json::Value = response.json().await.expect("json");
        assert_eq!(said, body, "{path}");
    }

    // A provider call the worker makes is counted by provider and outcome.
    let w = e2e::fixtures::dispatch(&app, 1).await;
    e2e::fixtures::check_out(&app, &w, w.start).await;
    app.await_messages(&w.vets[0].phone, "vet_offer", 1).await;
    let line = e2e::eventually(
        "the provider outcome counted",
        std::time::Duration::from_secs(30),
        || {
            let http = app.http.clone();
            let url = url.clone();
            async move {
                let text = http.get(&url).send().await.ok()?.text().await.ok()?;
                text.lines()
                    .find(|l| {
                        l.starts_with("amar_provider_activities")
                            && l.contains(r#"activity="send_offer""#)
                            && l.contains(r#"provider="mercately""#)
                            && l.contains(r#"outcome="ok""#)
                    })
                    .map(str::to_owned)
            }
        },
    )
    .await;
    assert!(line.ends_with(" 1"), "{line}");
    assert!(
        text.contains(&format!("task_queue=\"{}\"", app.settings.task_queue)),
        "{text}"
    );
}
