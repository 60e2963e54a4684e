//! `worker`: runs until SIGINT/SIGTERM, then shuts down gracefully.

use config::{init_tracing, shutdown_signal};
use worker::WorkerSettings;

fn main() -> anyhow::Result<()> {
    dotenvy::dotenv().ok();
    init_tracing();
    let settings = WorkerSettings::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // The SDK's worker future is not Send, so it runs on a LocalSet.
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, worker::run(&settings, shutdown_signal()))
}
