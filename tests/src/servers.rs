//! The Temporal servers tests use: the dev server `make test` starts, task queues of
//! their own, and the fast policy for it.

use config::TemporalSettings;
use domain::DispatchPolicy;
use temporalio_client::Url;

use crate::*;

/// The Temporal dev server `make test` started for this run.
pub fn dev_server_address() -> Url {
    Url::parse(&format!("http://{}", required_env("TEST_TEMPORAL_ADDRESS")))
        .expect("TEST_TEMPORAL_ADDRESS is host:port")
}

/// A task queue (and so a set of workflows) of the test's own.
pub fn unique_task_queue() -> String {
    format!("test-{}", uuid::Uuid::new_v4().simple())
}

pub fn temporal_settings(address: Url, task_queue: &str) -> TemporalSettings {
    TemporalSettings {
        address,
        namespace: "default".to_owned(),
        task_queue: task_queue.to_owned(),
        keep_alive: true,
    }
}

/// Short delays so that tests against the dev server never wait on a real follow-up.
pub fn quick_policy() -> DispatchPolicy {
    DispatchPolicy {
        vet_followup_delay_secs: 3600,
        vet_max_followups: 2,
        offer_batch_size: 1,
        ..DispatchPolicy::default()
    }
}

/// A tool of the test tools' venv (`.venv/bin`, next to `MOTO_SERVER_BIN`):
/// `openapi-spec-validator`, `st` (schemathesis), `temporal`.
pub fn venv_tool(name: &str) -> std::path::PathBuf {
    let moto = std::env::var("MOTO_SERVER_BIN").unwrap_or_else(|_| {
        crate::root()
            .join(".venv/bin/moto_server")
            .display()
            .to_string()
    });
    std::path::Path::new(&moto).with_file_name(name)
}
