//! Saved histories of real runs, replayed against the current workflow code: a change
//! that would break workflows in flight fails here. Files are only ever added: with
//! `UPDATE_HISTORIES=1 make test` the tests save the histories whose names are new, and
//! each new file's hash goes into `tests/histories/<name>.sha256`.

use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use workflows::{
    AfipCheckWorkflow, InvoiceIssuerWorkflow, ServiceRequestWorkflow, VaccineRemindersWorkflow,
    VisitRecordsWorkflow,
};

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
    options
        .register_workflow::<VisitRecordsWorkflow>()
        .expect("register the records workflow");
    options
        .register_workflow::<VaccineRemindersWorkflow>()
        .expect("register the reminders workflow");
    options
        .register_workflow::<InvoiceIssuerWorkflow>()
        .expect("register the issuer workflow");
    options
        .register_workflow::<AfipCheckWorkflow>()
        .expect("register the AFIP check workflow");
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

/// Saved histories are only ever added, never rewritten: each file's SHA-256 is listed
/// (as `sha256sum` writes it) in `tests/histories/SHA256SUMS` (the first ones, frozen) or
/// in a file of its own beside it, `<name>.sha256` (every later one, so adding a history
/// touches no file that exists), and a file that changed, is missing, or is not listed
/// fails here.
#[test]
fn saved_histories_are_never_rewritten() {
    use sha2::Digest;
    let dir = e2e::root().join("tests/histories");
    let mut sums =
        std::fs::read_to_string(dir.join("SHA256SUMS")).expect("tests/histories/SHA256SUMS");
    for entry in std::fs::read_dir(&dir).expect("tests/histories").flatten() {
        if entry
            .file_name()
            .to_string_lossy()
            .ends_with(".json.sha256")
        {
            sums.push('\n');
            sums.push_str(&std::fs::read_to_string(entry.path()).expect("readable"));
        }
    }
    let listed: std::collections::BTreeMap<String, String> = sums
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (hash, name) = l.split_once("  ").expect("lines read `<sha256>  <file>`");
            (name.to_owned(), hash.to_owned())
        })
        .collect();
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/histories").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let bytes = std::fs::read(entry.path()).expect("readable");
        let hash: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            listed.get(&name),
            Some(&hash),
            "{name} changed or is not listed: a saved history is never rewritten; a new \
             one gets a new name and its own sum (`sha256sum {name} > {name}.sha256`)"
        );
        seen.push(name);
    }
    for name in listed.keys() {
        assert!(seen.contains(name), "{name} is listed but was deleted");
    }
}
