//! `make bench` (`scripts/bench.sh`) runs this binary's parts against a stack of its
//! own and appends what each measures to `$BENCH_OUT/results.jsonl`; `bench report`
//! prints the table. The parts:
//!
//! - `lifecycles`: N complete lifecycles through the HTTP API and the emulators at each
//!   concurrency in `BENCH_CONCURRENCY`, then the no-op twin ([`twin`]) at the same
//!   concurrencies on the same Temporal server;
//! - `waiting`: `BENCH_WAITING` requests left waiting for a vet, and the worker's memory
//!   and CPU while they wait;
//! - `generate` and `api`: the API's data at scale, then wrk at fixed rates per endpoint
//!   and each endpoint's query plan.
//!
//! A benchmark, not a test: the numbers depend on the machine, and nothing here asserts
//! a time. `make test` runs every part at tiny sizes so that none of them rots.

mod api_load;
mod lifecycle;
mod measure;
mod report;
mod suite;
mod twin;
mod waiting;

use anyhow::{Context, bail};

/// One line of `results.jsonl`.
pub fn record(line: &serde_json::Value) -> anyhow::Result<()> {
    use std::io::Write;
    let path = out_dir()?.join("results.jsonl");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("open {}", path.display()))?;
    writeln!(file, "{line}")?;
    Ok(())
}

pub fn out_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::path::PathBuf::from(
        std::env::var("BENCH_OUT").unwrap_or_else(|_| ".data/bench".into()),
    );
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A number from the environment, with a default.
pub fn setting<T: std::str::FromStr>(var: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(var) {
        Ok(raw) if !raw.trim().is_empty() => raw
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{var}: not a number: {raw}")),
        _ => Ok(default),
    }
}

/// A list of numbers from the environment ("1 2 4 8").
pub fn settings<T: std::str::FromStr>(var: &str, default: &str) -> anyhow::Result<Vec<T>> {
    let raw = std::env::var(var).unwrap_or_else(|_| default.to_owned());
    raw.split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| anyhow::anyhow!("{var}: not a number: {s}"))
        })
        .collect()
}

pub async fn temporal() -> anyhow::Result<temporalio_client::Client> {
    config::TemporalSettings::from_env()?.connect().await
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let part = std::env::args().nth(1).unwrap_or_default();
    match part.as_str() {
        "lifecycles" => suite::lifecycles().await,
        "waiting" => waiting::run().await,
        "generate" => api_load::generate().await,
        "api" => api_load::run().await,
        "report" => report::print(),
        _ => bail!(
            "usage: bench lifecycles|waiting|generate|api|report (scripts/bench.sh runs them)"
        ),
    }
}
