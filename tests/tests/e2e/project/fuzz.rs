//! schemathesis (PyPI, in the test tools' venv) generates requests from the served
//! OpenAPI document — valid ones and broken ones — and checks every answer: no server
//! error, a status and a content type the document lists for the operation, a body of
//! the documented schema. It runs signed in as staff and as an owner, with a fixed seed
//! and a bounded number of examples per operation; its report is printed with the test.

use std::time::Duration;

use e2e::{InProcessWorker, TestApp, fixtures::booking};

/// The seed of every run: the same requests each time, so a failure reproduces.
const SEED: &str = "20261201";
const EXAMPLES_PER_OPERATION: &str = "20";

async fn run_as(app: &TestApp, who: &str, token: &str) -> (bool, String) {
    let schema = app.url("/api/v1/openapi.json");
    // schemathesis keeps a cache in its working folder: a fresh one per run, so that a
    // run depends on its seed only, and nothing lands in the repository.
    let scratch = std::env::temp_dir().join(format!("schemathesis-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&scratch).expect("a scratch folder");
    let output = tokio::time::timeout(
        Duration::from_secs(600),
        tokio::process::Command::new(e2e::venv_tool("st"))
            .args([
                "run",
                &schema,
                "--url",
                &app.url(""),
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance",
                "--max-examples",
                EXAMPLES_PER_OPERATION,
                "--seed",
                SEED,
                "--workers",
                "2",
                "--phases",
                "examples,coverage,fuzzing",
                "--no-color",
                "--request-timeout",
                "35",
                "--generation-database",
                "none",
                "--header",
                &format!("Authorization: Bearer {token}"),
            ])
            .current_dir(&scratch)
            .output(),
    )
    .await
    .expect("schemathesis ends within 10 minutes")
    .expect("run schemathesis (scripts/ensure-test-tools.sh installs it)");
    let _ = std::fs::remove_dir_all(&scratch);
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    println!("==== schemathesis as {who} (seed {SEED}) ====\n{said}");
    (output.status.success(), said)
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_contract() {
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    let world = booking(&app).await;
    let (staff_ok, staff_said) = run_as(&app, "staff", &world.staff.token).await;
    let (owner_ok, owner_said) = run_as(&app, "an owner", &world.ana.token).await;
    assert!(staff_ok, "as staff:\n{staff_said}");
    assert!(owner_ok, "as an owner:\n{owner_said}");
}
