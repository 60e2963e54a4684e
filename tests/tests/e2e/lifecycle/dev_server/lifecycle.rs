//! A service request carried end to end: HTTP → PostgreSQL + workflow → vet's answer →
//! state visible in PostgreSQL and through the workflow query.

use std::time::Duration;

use e2e::{
    InProcessWorker, TestApp, eventually, quick_policy,
    temporal::{events, history, step_names},
};
use serde_json::{Value, json};
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use workflows::ServiceRequestWorkflow;

const WAIT: Duration = Duration::from_secs(30);

async fn app() -> TestApp {
    TestApp::start().await
}

/// Waits until GET shows the request in `state`, and returns the body.
async fn wait_for_state(app: &TestApp, id: &str, state: &str) -> Value {
    let path = format!("/api/v1/service-requests/{id}");
    eventually(&format!("request {id} to be {state}"), WAIT, || async {
        let (status, body) = app.staff_get(&path).await;
        (status == 200 && body["state"] == state).then_some(body)
    })
    .await
}

fn states(body: &Value) -> Vec<String> {
    body["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["to_state"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_request_flows_from_http_through_the_workflow_to_postgres_and_the_query() {
    let app = app().await;
    let _worker = InProcessWorker::start(app.worker_settings());

    let (status, created) = app
        .staff_post(
            "/api/v1/service-requests",
            &json!({ "description": "Vacuna antirrábica para Luna" }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["workflow_id"], format!("service-request:{id}"));

    let asked = wait_for_state(&app, &id, "vet_asked").await;
    assert_eq!(asked["description"], "Vacuna antirrábica para Luna");
    assert_eq!(states(&asked), ["pending", "vet_asked"]);

    let (status, live) = app
        .staff_get(&format!("/api/v1/service-requests/{id}/live"))
        .await;
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["state"], "vet_asked");
    assert_eq!(live["awaiting_vet"], true);

    let vet = uuid::Uuid::new_v4();
    let (status, answer) = app
        .staff_post(
            &format!("/api/v1/service-requests/{id}/vet-response"),
            &json!({ "answer": "accept", "vet_id": vet }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "accepted");

    let accepted = wait_for_state(&app, &id, "vet_accepted").await;
    assert_eq!(states(&accepted), ["pending", "vet_asked", "vet_accepted"]);
    assert_eq!(accepted["vet_id"], vet.to_string());
    assert_eq!(accepted["history"][2]["actor"], format!("vet:{vet}"));
    assert_eq!(accepted["offers"][0]["answer"], "accept");

    let (status, live) = app
        .staff_get(&format!("/api/v1/service-requests/{id}/live"))
        .await;
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["state"], "vet_accepted");
    assert_eq!(live["seq"], accepted["state_seq"]);

    // A second answer learns the offer is closed, and changes nothing.
    let (status, problem) = app
        .staff_post(
            &format!("/api/v1/service-requests/{id}/vet-response"),
            &json!({ "answer": "accept" }),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    let (_, after) = app
        .staff_get(&format!("/api/v1/service-requests/{id}"))
        .await;
    assert_eq!(states(&after), ["pending", "vet_asked", "vet_accepted"]);

    // The history just made replays against the current workflow code; with
    // UPDATE_HISTORIES=1 it becomes the saved history the replay test checks.
    let workflow_id = format!("service-request:{id}");
    let events = events(&app.temporal, &workflow_id).await;
    assert_eq!(
        step_names(&events),
        [
            "record_transition",
            "record_offer",
            "record_offer",
            "record_transition"
        ]
    );
    let mut options = WorkflowReplayerOptions::new().build();
    options
        .register_workflow::<ServiceRequestWorkflow>()
        .expect("register");
    WorkflowReplayer::new(options)
        .expect("replayer")
        .replay_workflow(history(&app.temporal, &workflow_id))
        .await
        .expect("the fresh history replays");
    e2e::temporal::save_history(&app.temporal, &workflow_id, "lean-accepted.json").await;

    // The visit is arranged by phone; staff close the request when it is called off.
    let cancel = format!("/api/v1/service-requests/{id}/cancel");
    let (status, problem) = app.staff_post(&cancel, &json!({})).await;
    assert_eq!(status, 422, "a reason is required: {problem}");
    let (status, body) = app
        .staff_post(
            &cancel,
            &json!({ "reason": "la dueña llamó para cancelar" }),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let cancelled = wait_for_state(&app, &id, "cancelled").await;
    assert_eq!(
        states(&cancelled),
        ["pending", "vet_asked", "vet_accepted", "cancelled"]
    );
    // The same call again (a client's retry) is the same cancellation, not a second.
    let (status, _) = app
        .staff_post(
            &cancel,
            &json!({ "reason": "la dueña llamó para cancelar" }),
        )
        .await;
    assert_eq!(status, 202);
    let (_, after) = app
        .staff_get(&format!("/api/v1/service-requests/{id}"))
        .await;
    assert_eq!(
        states(&after),
        ["pending", "vet_asked", "vet_accepted", "cancelled"]
    );
}

#[tokio::test]
async fn a_rejected_offer_with_no_other_vet_expires_the_request_with_the_reason() {
    let app = app().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    let (_, created) = app
        .staff_post(
            "/api/v1/service-requests",
            &json!({ "description": "Control anual" }),
        )
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    wait_for_state(&app, &id, "vet_asked").await;

    let (status, answer) = app
        .staff_post(
            &format!("/api/v1/service-requests/{id}/vet-response"),
            &json!({ "answer": "reject" }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "rejected");

    let expired = wait_for_state(&app, &id, "expired").await;
    assert_eq!(states(&expired), ["pending", "vet_asked", "expired"]);
    assert!(
        expired["history"][2]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("rejected"),
        "{expired}"
    );
    assert_eq!(expired["offers"][0]["answer"], "reject");
}

#[tokio::test]
async fn a_retried_create_with_the_same_id_is_rejected_and_starts_no_second_run() {
    let app = app().await;
    let id = uuid::Uuid::new_v4();
    let body = json!({ "id": id, "description": "Extracción de sangre" });

    let (status, _) = app.staff_post("/api/v1/service-requests", &body).await;
    assert_eq!(status, 201);
    let (status, problem) = app.staff_post("/api/v1/service-requests", &body).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        problem["type"],
        "https://amarmascotas.ar/problems/duplicate-request"
    );

    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM service_requests WHERE id = '{id}'"
            ))
            .await,
        1
    );
    let events = events(&app.temporal, &format!("service-request:{id}")).await;
    assert_eq!(e2e::temporal::workflow_starts(&events), 1);
}

#[tokio::test]
async fn a_create_the_workflow_refuses_leaves_no_row_behind() {
    let app = app().await;
    let id = uuid::Uuid::new_v4();
    // Someone already started this workflow id (say a crashed earlier attempt whose row
    // was lost): the API must answer 409 and roll its row back.
    app.temporal
        .start_workflow(
            ServiceRequestWorkflow::run,
            workflows::ServiceRequestInput::new(
                id.into(),
                "ya existe".into(),
                quick_policy(),
                workflows::DispatchMode::Staff,
            ),
            temporalio_client::WorkflowStartOptions::new(
                app.settings.task_queue.clone(),
                format!("service-request:{id}"),
            )
            .build(),
        )
        .await
        .expect("start");
    let (status, problem) = app
        .staff_post(
            "/api/v1/service-requests",
            &json!({ "id": id, "description": "otra" }),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM service_requests WHERE id = '{id}'"
            ))
            .await,
        0
    );
}

#[tokio::test]
async fn bad_input_gets_a_problem_naming_the_field_and_writes_nothing() {
    let app = app().await;
    let cases: &[(Value, &str)] = &[
        (json!({}), "description"),
        (json!({ "description": "   " }), "description"),
        (json!({ "description": "x".repeat(2001) }), "description"),
        (json!({ "description": 5 }), "description"),
        (json!({ "description": "ok", "colour": "red" }), "colour"),
        (json!({ "id": "not-a-uuid", "description": "ok" }), "id"),
    ];
    for (body, field) in cases {
        let (status, problem) = app.staff_post("/api/v1/service-requests", body).await;
        assert_eq!(status, 422, "{body} -> {problem}");
        assert_eq!(
            problem["type"],
            "https://amarmascotas.ar/problems/validation"
        );
        let fields: Vec<&str> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(fields, [*field], "{body} -> {problem}");
    }

    let response = app
        .http
        .post(app.url("/api/v1/service-requests"))
        .bearer_auth(app.staff().await)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );

    let (status, problem) = app.staff_get("/api/v1/service-requests/nope").await;
    assert_eq!(status, 422, "{problem}");
    let (status, problem) = app
        .staff_post(
            "/api/v1/service-requests/nope/vet-response",
            &json!({ "answer": "maybe" }),
        )
        .await;
    assert_eq!(status, 422, "{problem}");

    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM service_requests")
            .await,
        0
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM state_history")
            .await,
        0
    );
}

#[tokio::test]
async fn an_unknown_request_is_not_found() {
    let app = app().await;
    let id = uuid::Uuid::new_v4();
    for path in [
        format!("/api/v1/service-requests/{id}"),
        format!("/api/v1/service-requests/{id}/live"),
    ] {
        let (status, problem) = app.staff_get(&path).await;
        assert_eq!(status, 404, "{path}: {problem}");
        assert_eq!(problem["status"], 404);
    }
    let (status, _) = app
        .staff_post(
            &format!("/api/v1/service-requests/{id}/vet-response"),
            &json!({ "answer": "accept" }),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn health_says_up_and_readiness_checks_postgres_and_temporal() {
    let app = app().await;
    let (status, body) = app.get_json("/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["checks"],
        json!({ "postgres": "ok", "temporal": "ok" })
    );
}

#[tokio::test]
async fn the_api_describes_every_endpoint_in_openapi_and_serves_its_docs_offline() {
    let app = app().await;
    let (status, doc) = app.get_json("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/api/v1/service-requests", "post"),
        ("/api/v1/service-requests/{id}", "get"),
        ("/api/v1/service-requests/{id}/live", "get"),
        ("/api/v1/service-requests/{id}/vet-response", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is undocumented"
        );
    }
    assert!(doc["components"]["schemas"].get("Problem").is_some());

    for (path, kind) in [
        ("/api/docs", "text/html"),
        ("/api/docs/swagger-ui-bundle.js", "text/javascript"),
        ("/api/docs/swagger-ui.css", "text/css"),
        ("/api/docs/init.js", "text/javascript"),
    ] {
        let response = app.http.get(app.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .to_owned();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(!response.bytes().await.expect("body").is_empty(), "{path}");
    }
}
