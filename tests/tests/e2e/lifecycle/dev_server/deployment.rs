//! A rollout with Worker Deployment Versioning, as `docs/OPERATIONS.md` describes it: a
//! request starts on version `v1`; version `v2` starts, is made current with the
//! `temporal worker deployment set-current-version` command, and `v1` is stopped; the
//! request, still in flight, completes on `v2` without a nondeterminism error.

use std::time::Duration;

use e2e::{TestApp, WorkerProcess, fixtures};
use serde_json::json;
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use worker::Deployment;

/// Makes `build_id` the deployment's current version, once its worker has polled.
async fn make_current(app: &TestApp, deployment: &str, build_id: &str) {
    let address = format!(
        "{}:{}",
        app.settings.address.host_str().expect("a host"),
        app.settings.address.port().expect("a port")
    );
    e2e::eventually(
        "the version to be made current",
        Duration::from_secs(60),
        || {
            let address = address.clone();
            async move {
                let output = tokio::process::Command::new(e2e::venv_tool("temporal"))
                    .args([
                        "worker",
                        "deployment",
                        "set-current-version",
                        "--deployment-name",
                        deployment,
                        "--build-id",
                        build_id,
                        "--address",
                        &address,
                        "--namespace",
                        &app.settings.namespace,
                        "--yes",
                    ])
                    .output()
                    .await
                    .ok()?;
                output.status.success().then_some(())
            }
        },
    )
    .await;
}

/// The build ids of the workers that completed each workflow task of `id`, in order.
async fn task_versions(app: &TestApp, id: &str) -> Vec<String> {
    let request: domain::RequestId = id.parse().expect("an id");
    e2e::temporal::events(&app.temporal, &request.workflow_id())
        .await
        .into_iter()
        .filter_map(|e| match e.attributes {
            Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) => {
                Some(a.deployment_version.map(|v| v.build_id).unwrap_or_default())
            }
            Some(Attributes::WorkflowTaskFailedEventAttributes(a)) => {
                panic!("a workflow task failed: {a:?}")
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_request_in_flight_completes_on_the_new_version_after_the_switch() {
    let app = TestApp::start().await;
    let name = format!("amar-{}", uuid::Uuid::new_v4().simple());
    let version = |build_id: &str| {
        let mut settings = app.worker_settings();
        settings.deployment = Some(Deployment {
            name: name.clone(),
            build_id: build_id.to_owned(),
        });
        settings
    };
    let old = WorkerProcess::start(&version("v1"));
    make_current(&app, &name, "v1").await;

    let w = fixtures::dispatch(&app, 1).await;
    let id = fixtures::check_out(&app, &w, w.start).await;
    app.await_messages(&w.vets[0].phone, "vet_offer", 1).await;
    assert!(
        task_versions(&app, &id).await.iter().all(|v| v == "v1"),
        "started on v1"
    );

    // The rollout: the new version up, made current, the old one drained and gone.
    let _new = WorkerProcess::start(&version("v2"));
    make_current(&app, &name, "v2").await;
    old.kill().await;

    let link = fixtures::accept_and_coordinate(&app, &w, &id).await;
    app.mercadopago
        .pay(&fixtures::preference_of(&link), "approved", None)
        .expect("paid");
    app.await_state(&id, "confirmed").await;

    let versions = task_versions(&app, &id).await;
    let switched = versions
        .iter()
        .position(|v| v == "v2")
        .expect("tasks on v2");
    assert!(
        versions[..switched].iter().all(|v| v == "v1")
            && versions[switched..].iter().all(|v| v == "v2"),
        "v1 until the switch, v2 after: {versions:?}"
    );
    let (_, request) = app
        .call(
            &w.booking.staff.token,
            reqwest::Method::GET,
            &format!("/api/v1/service-requests/{id}"),
            None,
        )
        .await;
    assert_eq!(request["state"], json!("confirmed"));
}
