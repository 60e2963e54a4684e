//! What the benchmarks read off the stack: a process's CPU time and memory (from
//! `/proc`), PostgreSQL's statement count (`pg_stat_statements`), and a workflow
//! history's events and workflow tasks.

use anyhow::Context;
use temporalio_client::Client;
use temporalio_common::protos::temporal::api::enums::v1::EventType;

/// The process in `var` (a pid, as `scripts/bench.sh` sets it).
pub fn pid(var: &str) -> Option<u32> {
    std::env::var(var).ok()?.trim().parse().ok()
}

/// (CPU seconds, resident KiB, peak resident KiB) of a process.
pub fn usage(pid: u32) -> Option<(f64, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(key))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((ticks / clock_ticks(), kib("VmRSS:")?, kib("VmHWM:")?))
}

/// `/proc/<pid>/stat` counts CPU time in USER_HZ ticks, 100 a second on Linux.
fn clock_ticks() -> f64 {
    100.0
}

/// Starts a new peak-memory window for a process (`VmHWM` back to the current RSS);
/// quietly does nothing where not allowed.
pub fn reset_peak(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// Statements PostgreSQL has run so far (every database; the stack has one).
pub async fn pg_statements(database_url: &str) -> anyhow::Result<i64> {
    use diesel::sql_types::BigInt;
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Calls {
        #[diesel(sql_type = BigInt)]
        calls: i64,
    }
    let mut conn = AsyncPgConnection::establish(database_url)
        .await
        .context("connect to the benchmark's PostgreSQL")?;
    let row: Calls = diesel::sql_query(
        "SELECT coalesce(sum(calls), 0)::bigint AS calls FROM pg_stat_statements",
    )
    .get_result(&mut conn)
    .await
    .context("pg_stat_statements (is it in shared_preload_libraries?)")?;
    Ok(row.calls)
}

/// Events and workflow tasks in a workflow's history so far.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct Shape {
    pub events: usize,
    pub tasks: usize,
    pub activities: usize,
    pub local_steps: usize,
}

pub async fn shape(client: &Client, workflow_id: &str) -> anyhow::Result<Shape> {
    let events = e2e::temporal::history(client, workflow_id)
        .into_events()
        .await
        .with_context(|| format!("the history of {workflow_id}"))?;
    let of = |t: EventType| events.iter().filter(|e| e.event_type == t as i32).count();
    let markers = events
        .iter()
        .filter(|e| e.event_type == EventType::MarkerRecorded as i32)
        .filter(|e| {
            matches!(&e.attributes,
                Some(temporalio_common::protos::temporal::api::history::v1::history_event::Attributes::MarkerRecordedEventAttributes(m))
                    if m.marker_name == "core_local_activity")
        })
        .count();
    Ok(Shape {
        events: events.len(),
        tasks: of(EventType::WorkflowTaskCompleted),
        activities: of(EventType::ActivityTaskScheduled),
        local_steps: markers,
    })
}
