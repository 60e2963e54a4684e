//! The lifecycle benchmark and its no-op twin, side by side on one Temporal server.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use anyhow::Context;
use serde_json::json;
use temporalio_client::WorkflowStartOptions;

use crate::{lifecycle, measure, twin};

const TWIN_QUEUE: &str = "bench-twin";

pub async fn lifecycles() -> anyhow::Result<()> {
    let n: usize = crate::setting("N", 60)?;
    let concurrencies: Vec<usize> = crate::settings("BENCH_CONCURRENCY", "1 2 4 8")?;
    let runs = concurrencies.len();
    if n == 0 || n * runs > 800 {
        anyhow::bail!(
            "N × the concurrencies must be 1..=800 (hourly slots within the booking horizon)"
        );
    }
    let http = reqwest::Client::new();
    // An owner and a vet for each lane, kept from one concurrency to the next.
    let mut stacks = Vec::new();
    for _ in 0..concurrencies.iter().copied().max().unwrap_or(1).max(1) {
        stacks.push(lifecycle::setup(&http).await?);
    }
    let client = crate::temporal().await?;
    let database_url = std::env::var("DATABASE_URL").context("DATABASE_URL")?;
    let worker = measure::pid("BENCH_WORKER_PID");
    let api = measure::pid("BENCH_API_PID");
    let stack_cpu = measure::StackCpu::from_env();
    // The statements of the lifecycles alone (the lanes' setup left out), for
    // `statements.txt`.
    measure::pg_reset_statements(&database_url).await?;
    let mut slot = 0;
    for &concurrency in &concurrencies {
        if let Some(pid) = worker {
            measure::reset_peak(pid);
        }
        let worker_before = worker.and_then(measure::usage);
        let api_before = api.and_then(measure::usage);
        let queries_before = measure::pg_statements(&database_url).await?;
        let cpu_before = stack_cpu.read();
        let first = slot;
        let next = AtomicUsize::new(first);
        let started = Instant::now();
        let lanes = stacks[..concurrency.max(1)].iter().map(|stack| {
            let next = &next;
            async move {
                let mut done = Vec::new();
                loop {
                    let slot = next.fetch_add(1, Ordering::SeqCst);
                    if slot >= first + n {
                        return Ok::<_, anyhow::Error>(done);
                    }
                    done.push(lifecycle::lifecycle(stack, slot).await?);
                }
            }
        });
        let done: Vec<lifecycle::Lifecycle> = futures::future::try_join_all(lanes)
            .await?
            .into_iter()
            .flatten()
            .collect();
        let elapsed = started.elapsed();
        let cpu_after = stack_cpu.read();
        slot += n;
        let queries = measure::pg_statements(&database_url).await? - queries_before - 1;
        let worker_after = worker.and_then(measure::usage);
        let api_after = api.and_then(measure::usage);
        let mut latencies: Vec<Duration> = done.iter().map(|l| l.latency).collect();
        latencies.sort();
        let shape = median_shape(
            &client,
            done.iter()
                .map(|l| l.id.parse::<domain::RequestId>().map(|id| id.workflow_id()))
                .collect::<Result<Vec<_>, _>>()?,
        )
        .await?;
        let per = |before: Option<(f64, u64, u64)>, after: Option<(f64, u64, u64)>| {
            before
                .zip(after)
                .map(|(b, a)| (a.0 - b.0) * 1000.0 / n as f64)
        };
        let line = json!({
            "kind": "lifecycles", "shape": "real", "n": n, "concurrency": concurrency,
            "seconds": elapsed.as_secs_f64(), "per_second": n as f64 / elapsed.as_secs_f64(),
            "events": shape.events, "tasks": shape.tasks, "activities": shape.activities,
            "local_steps": shape.local_steps,
            "accept_p50_ms": percentile(&latencies, 50.0), "accept_p99_ms": percentile(&latencies, 99.0),
            "worker_cpu_ms": per(worker_before, worker_after),
            "worker_peak_mib": worker_after.map(|u| u.2 as f64 / 1024.0),
            "api_cpu_ms": per(api_before, api_after),
            "pg_queries": queries as f64 / n as f64,
            "cpu_ms": measure::StackCpu::per_lifecycle(&cpu_before, &cpu_after, n),
            "slowest": slowest(&done),
        });
        println!("{line}");
        crate::record(&line)?;
    }
    let top = measure::pg_top_statements(&database_url, 40).await?;
    std::fs::write(crate::out_dir()?.join("statements.txt"), top)?;
    twins(&client, n, &concurrencies).await
}

/// The slowest lifecycle of a run: its request and how long each step of the driver
/// took (ms, in order), to see where it waited.
fn slowest(done: &[lifecycle::Lifecycle]) -> serde_json::Value {
    let total = |l: &lifecycle::Lifecycle| l.phases.iter().map(|(_, d)| *d).sum::<Duration>();
    done.iter()
        .max_by_key(|l| total(l))
        .map_or(serde_json::Value::Null, |l| {
            let phases: Vec<serde_json::Value> = l
                .phases
                .iter()
                .map(|(name, d)| json!([name, d.as_secs_f64() * 1000.0]))
                .collect();
            json!({ "request": l.id, "ms": total(l).as_secs_f64() * 1000.0, "phases": phases })
        })
}

/// The median events and workflow tasks of these workflows' histories.
async fn median_shape(
    client: &temporalio_client::Client,
    ids: Vec<String>,
) -> anyhow::Result<measure::Shape> {
    let mut shapes = Vec::new();
    for id in ids {
        shapes.push(measure::shape(client, &id).await?);
    }
    shapes.sort_by_key(|s| s.events);
    shapes
        .get(shapes.len() / 2)
        .copied()
        .context("no lifecycle ran")
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// The no-op twin at the same concurrencies, on a worker of its own in this process.
async fn twins(
    client: &temporalio_client::Client,
    n: usize,
    concurrencies: &[usize],
) -> anyhow::Result<()> {
    let _worker = twin::TwinWorker::start(client.clone(), TWIN_QUEUE);
    let stack_cpu = measure::StackCpu::from_env();
    let run = uuid::Uuid::new_v4().simple().to_string();
    for &concurrency in concurrencies {
        let next = AtomicUsize::new(0);
        let cpu_before = stack_cpu.read();
        let started = Instant::now();
        let lanes = (0..concurrency.max(1)).map(|_| async {
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= n {
                    return Ok::<_, anyhow::Error>(ids);
                }
                let id = format!("bench-twin-{run}-{concurrency}-{i}");
                twin_lifecycle(client, &id).await?;
                ids.push(id);
            }
        });
        let ids: Vec<String> = futures::future::try_join_all(lanes)
            .await?
            .into_iter()
            .flatten()
            .collect();
        let elapsed = started.elapsed();
        let cpu_after = stack_cpu.read();
        let shape = median_shape(client, ids).await?;
        let line = json!({
            "kind": "lifecycles", "shape": "twin", "n": n, "concurrency": concurrency,
            "seconds": elapsed.as_secs_f64(), "per_second": n as f64 / elapsed.as_secs_f64(),
            "events": shape.events, "tasks": shape.tasks, "activities": shape.activities,
            "local_steps": shape.local_steps,
            "cpu_ms": measure::StackCpu::per_lifecycle(&cpu_before, &cpu_after, n),
        });
        println!("{line}");
        crate::record(&line)?;
    }
    Ok(())
}

/// One twin, driven as the real one is: started, answered, coordinated, paid, and
/// polled (by query) until it says it is confirmed.
async fn twin_lifecycle(client: &temporalio_client::Client, id: &str) -> anyhow::Result<()> {
    use temporalio_client::{
        WorkflowExecuteUpdateOptions, WorkflowQueryOptions, WorkflowSignalOptions,
    };
    use twin::{TwinState, TwinWorkflow};
    let handle = client
        .start_workflow(
            TwinWorkflow::run,
            (),
            WorkflowStartOptions::new(TWIN_QUEUE, id).build(),
        )
        .await
        .context("start a twin")?;
    handle
        .execute_update(
            TwinWorkflow::answer,
            true,
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .context("the twin's answer")?;
    handle
        .execute_update(
            TwinWorkflow::coordinate,
            0,
            WorkflowExecuteUpdateOptions::default(),
        )
        .await
        .context("the twin's coordinate")?;
    handle
        .signal(
            TwinWorkflow::payment,
            json!({"id": 1}),
            WorkflowSignalOptions::default(),
        )
        .await
        .context("the twin's payment")?;
    let start = Instant::now();
    loop {
        let state = handle
            .query(TwinWorkflow::state, (), WorkflowQueryOptions::default())
            .await
            .context("the twin's state")?;
        if state == TwinState::Confirmed {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(60) {
            anyhow::bail!("twin {id} did not reach Confirmed");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
