//! The end-to-end test harness: a fresh database per test cloned from a migrated
//! template, the real API on port 0, the real worker in-process or as a child process,
//! and Temporal servers that `make test` starts (the dev server) or that a test starts
//! for itself (the time-skipping server).
//!
//! Tests wait for conditions with a deadline ([`eventually`]); they never sleep.

pub mod temporal;

pub mod fixtures;
pub mod flow;

mod app;
mod databases;
mod emulators;
mod proxy;
mod servers;
mod wait;
mod workers;

pub use app::*;
pub use databases::*;
pub use emulators::*;
pub use proxy::*;
pub use servers::*;
pub use wait::*;
pub use workers::*;

use std::path::PathBuf;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// Shows the app's logs in a test's output when `RUST_LOG` is set (`-- --nocapture`).
pub fn logs() {
    if std::env::var("RUST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}
