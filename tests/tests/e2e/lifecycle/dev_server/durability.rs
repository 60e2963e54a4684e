//! Killing the worker at a bad moment loses nothing and repeats nothing.

use std::{sync::Arc, time::Duration};

use e2e::{
    TestApp, TestDb, WorkerProcess, dev_server_address, eventually, quick_policy,
    temporal::{events, step_names, steps},
    temporal_settings, unique_task_queue,
};
use serde_json::json;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn killing_the_worker_while_the_workflow_waits_loses_nothing_and_repeats_nothing() {
    let db = Arc::new(TestDb::new().await);
    let settings = temporal_settings(dev_server_address(), &unique_task_queue());
    let app = TestApp::spawn(db.clone(), settings.clone(), quick_policy()).await;
    let first = WorkerProcess::start(&app.worker_settings());

    let (status, created) = app
        .staff_post(
            "/api/v1/service-requests",
            &json!({ "description": "Consulta a domicilio" }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let workflow_id = format!("service-request:{id}");

    // Wait until both steps completed and the workflow went back to waiting for the
    // vet: only then is there something to lose or to repeat.
    eventually("the workflow to wait for the vet", WAIT, || async {
        let events = events(&app.temporal, &workflow_id).await;
        let completed = steps(&events).len();
        // The follow-up timer is started by the workflow task after the last step.
        let waiting = matches!(
            events.last().and_then(|e| e.attributes.as_ref()),
            Some(Attributes::TimerStartedEventAttributes(_))
        );
        (completed == 2 && waiting).then_some(())
    })
    .await;

    first.kill().await;
    let _second = WorkerProcess::start(&app.worker_settings());

    let (status, answer) = app
        .staff_post(
            &format!("/api/v1/service-requests/{id}/vet-response"),
            &json!({ "answer": "accept" }),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let path = format!("/api/v1/service-requests/{id}");
    let accepted = eventually("the request to be accepted", WAIT, || async {
        let (_, body) = app.staff_get(&path).await;
        (body["state"] == "vet_accepted").then_some(body)
    })
    .await;

    // Nothing lost: the full history is there, each change once.
    let seqs: Vec<i64> = accepted["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["seq"].as_i64().expect("seq"))
        .collect();
    assert_eq!(seqs, [0, 1, 2]);
    assert_eq!(accepted["offers"].as_array().map(Vec::len), Some(1));

    // Nothing repeated: the steps completed before the kill were not run again, and
    // every step ran on its first attempt.
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
    let attempts: Vec<u32> = steps(&events).into_iter().map(|(_, a)| a).collect();
    assert_eq!(attempts, [1, 1, 1, 1]);
    assert_eq!(
        db.count(&format!(
            "SELECT count(*) AS n FROM state_history WHERE request_id = '{id}'"
        ))
        .await,
        3
    );
}
