//! Saved histories of real runs, replayed against the current workflow code: a change
//! that would break workflows in flight fails here. Refresh the files only for a change
//! guarded by `ctx.patched(..)`: `UPDATE_HISTORIES=1 make test` rewrites them.

use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use workflows::ServiceRequestWorkflow;

#[tokio::test]
async fn saved_histories_replay_against_the_current_workflow_code() {
    let dir = e2e::root().join("tests/histories");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/histories exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 2,
        "expected saved histories in {}",
        dir.display()
    );

    let mut options = WorkflowReplayerOptions::new().build();
    options
        .register_workflow::<ServiceRequestWorkflow>()
        .expect("register the workflow");
    let replayer = WorkflowReplayer::new(options).expect("replayer");
    for file in files {
        let bytes = std::fs::read(&file).expect("readable history");
        let history = WorkflowHistory::from_json(&bytes).expect("a history in Temporal's JSON");
        replayer
            .replay_workflow(history)
            .await
            .unwrap_or_else(|e| panic!("{} no longer replays: {e}", file.display()));
    }
}

/// The replay test is only worth something if it can fail: a history whose recorded
/// commands differ from what the code now does must be rejected.
#[tokio::test]
async fn a_history_the_code_no_longer_matches_is_rejected() {
    let bytes = std::fs::read(e2e::root().join("tests/histories/accepted.json")).expect("saved");
    let mut json: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    // Rename the first scheduled activity, as if the code had once called another one.
    let events = json["events"].as_array_mut().expect("events");
    let scheduled = events
        .iter_mut()
        .find_map(|e| e["attributes"].get_mut("ActivityTaskScheduledEventAttributes"))
        .expect("an activity was scheduled");
    scheduled["activity_type"]["name"] = "send_fax".into();
    let history = WorkflowHistory::from_json(&serde_json::to_vec(&json).expect("json"))
        .expect("still a history");

    let mut options = WorkflowReplayerOptions::new().build();
    options
        .register_workflow::<ServiceRequestWorkflow>()
        .expect("register the workflow");
    let result = WorkflowReplayer::new(options)
        .expect("replayer")
        .replay_workflow(history)
        .await;
    let error = result.expect_err("a mismatched history replayed cleanly");
    assert!(error.to_string().contains("Nondeterminism"), "{error}");
}
