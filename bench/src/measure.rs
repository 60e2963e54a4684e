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

/// CPU seconds of a process and every process under it, the ones that have ended
/// included (a parent that waited for a child counts its time in `cutime`/`cstime`):
/// PostgreSQL's postmaster with its backends, or a server started through a wrapper.
pub fn tree_cpu(root: u32) -> Option<f64> {
    // (pid, parent, own + waited-for children's ticks) of every process now alive.
    let mut all = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue; // ended meanwhile
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let number = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
        let (Some(parent), Some(u), Some(s), Some(cu), Some(cs)) =
            (number(1), number(11), number(12), number(13), number(14))
        else {
            continue;
        };
        all.push((pid, parent as u32, u + s + cu + cs));
    }
    all.iter().any(|(pid, ..)| *pid == root).then_some(())?;
    let mut tree = vec![root];
    let mut ticks = 0.0;
    while let Some(pid) = tree.pop() {
        for (child, parent, own) in &all {
            if *child == pid {
                ticks += own;
            }
            if *parent == pid {
                tree.push(*child);
            }
        }
    }
    Some(ticks / clock_ticks())
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

/// PostgreSQL's statements by the time they took since the last reset, as a text table
/// (calls, total and mean ms, rows, the statement): where a run's database time went.
pub async fn pg_top_statements(database_url: &str, limit: i64) -> anyhow::Result<String> {
    use diesel::sql_types::{BigInt, Double, Text};
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        calls: i64,
        #[diesel(sql_type = Double)]
        total_ms: f64,
        #[diesel(sql_type = Double)]
        mean_ms: f64,
        #[diesel(sql_type = BigInt)]
        rows: i64,
        #[diesel(sql_type = Text)]
        query: String,
    }
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT calls, total_exec_time AS total_ms, mean_exec_time AS mean_ms, rows, \
                regexp_replace(query, '\\s+', ' ', 'g') AS query \
         FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1",
    )
    .bind::<BigInt, _>(limit)
    .load(&mut conn)
    .await?;
    let mut out = String::from("calls\ttotal ms\tmean ms\trows\tstatement\n");
    for r in rows {
        out.push_str(&format!(
            "{}\t{:.1}\t{:.3}\t{}\t{}\n",
            r.calls, r.total_ms, r.mean_ms, r.rows, r.query
        ));
    }
    Ok(out)
}

/// Forgets what `pg_stat_statements` counted so far.
pub async fn pg_reset_statements(database_url: &str) -> anyhow::Result<()> {
    use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    conn.batch_execute("SELECT pg_stat_statements_reset()")
        .await?;
    Ok(())
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

/// The processes of the stack under test whose CPU a run accounts for, by the pids
/// `scripts/bench.sh` hands over (a part it did not name is left out), and this process
/// (the driver, and the twin's worker when the twin runs).
pub struct StackCpu(Vec<(&'static str, u32)>);

impl StackCpu {
    pub fn from_env() -> Self {
        let mut parts: Vec<(&'static str, u32)> = [
            ("worker", "BENCH_WORKER_PID"),
            ("api", "BENCH_API_PID"),
            ("postgres", "BENCH_PG_PID"),
            ("temporal", "BENCH_TEMPORAL_PID"),
            ("emulators", "BENCH_SANDBOX_PID"),
        ]
        .into_iter()
        .filter_map(|(name, var)| Some((name, pid(var)?)))
        .collect();
        parts.push(("driver", std::process::id()));
        Self(parts)
    }

    /// CPU seconds of each part so far.
    pub fn read(&self) -> Vec<(&'static str, Option<f64>)> {
        self.0
            .iter()
            .map(|(name, pid)| (*name, tree_cpu(*pid)))
            .collect()
    }

    /// CPU milliseconds per lifecycle of each part between two readings, and their
    /// total, as a JSON object (a part that could not be read on either side is left
    /// out).
    pub fn per_lifecycle(
        before: &[(&'static str, Option<f64>)],
        after: &[(&'static str, Option<f64>)],
        lifecycles: usize,
    ) -> serde_json::Value {
        let mut parts = serde_json::Map::new();
        let mut total = 0.0;
        for ((name, b), (_, a)) in before.iter().zip(after) {
            if let (Some(b), Some(a)) = (b, a) {
                let ms = (a - b) * 1000.0 / lifecycles.max(1) as f64;
                total += ms;
                parts.insert((*name).to_owned(), ms.into());
            }
        }
        parts.insert("total".to_owned(), total.into());
        parts.into()
    }
}
