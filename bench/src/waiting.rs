//! Waiting is cheap: `BENCH_WAITING` requests, each offered to a vet who does not answer,
//! left waiting; the worker's resident memory as they open, once they all wait, and its
//! CPU time while they wait (`scripts/bench.sh` runs this once per sticky-cache size,
//! `BENCH_CACHE`, on a fresh worker).

use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::sql_types::{BigInt, Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::{DispatchPolicy, RequestId};
use serde_json::json;
use temporalio_client::{WorkflowIdReusePolicy, WorkflowStartOptions};
use workflows::{DispatchMode, ServiceRequestInput, ServiceRequestWorkflow};

use crate::{lifecycle, measure};

/// How many starts are in flight at once.
const STARTS_IN_FLIGHT: usize = 32;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub async fn run() -> anyhow::Result<()> {
    let n: usize = crate::setting("BENCH_WAITING", 10_000)?;
    let cache: usize = crate::setting("BENCH_CACHE", 1000)?;
    // How long the worker's CPU is watched while every request waits.
    let idle_watch = Duration::from_secs(crate::setting("BENCH_IDLE_SECONDS", 20)?);
    let worker = measure::pid("BENCH_WORKER_PID").context("BENCH_WORKER_PID")?;
    let database_url = std::env::var("DATABASE_URL").context("DATABASE_URL")?;
    let http = reqwest::Client::new();
    let stack = lifecycle::setup(&http).await?;
    let mut conn = AsyncPgConnection::establish(&database_url).await?;
    let batch = format!(
        "Consulta a domicilio (bench {})",
        uuid::Uuid::new_v4().simple()
    );
    // The requests, as checkout writes them (pending, priced), asking for the bench's
    // vet by name at a time three to thirty days ahead, within the vet's hours.
    diesel::sql_query(
        "INSERT INTO service_requests (id, state, state_seq, description, created_at, updated_at,
             owner_id, pet_id, service_id, address_id, wanted, total, currency, workflow_started,
             requested_vet_id)
         SELECT gen_random_uuid(), 'pending', 0, $4, now(), now(),
                p.owner_id, p.id, $1::uuid, $2::uuid,
                tstzrange(t, t + interval '2 hours'), 25000.00, 'ARS', true, $3::uuid
         FROM pets p,
              generate_series(1, $5) AS g,
              LATERAL (SELECT date_trunc('day', now()) + interval '3 days' + (g % 27) * interval '1 day'
                              + interval '13 hours' + (g % 6) * interval '1 hour' AS t) w
         WHERE p.id = $6::uuid",
    )
    .bind::<Text, _>(lifecycle::SERVICE)
    .bind::<Text, _>(&stack.address)
    .bind::<Text, _>(&stack.vet)
    .bind::<Text, _>(&batch)
    .bind::<Integer, _>(i32::try_from(n)?)
    .bind::<Text, _>(&stack.pet)
    .execute(&mut conn)
    .await
    .context("insert the waiting requests")?;
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: uuid::Uuid,
    }
    let ids: Vec<Id> = diesel::sql_query("SELECT id FROM service_requests WHERE description = $1")
        .bind::<Text, _>(&batch)
        .load(&mut conn)
        .await?;
    let client = crate::temporal().await?;
    let queue = config::TemporalSettings::from_env()?.task_queue;
    let rss = || measure::usage(worker).map_or(0.0, |u| u.1 as f64 / 1024.0);
    let mut samples = vec![(0usize, rss())];
    let started = Instant::now();
    let step = (n / 10).max(1);
    for (i, chunk) in ids.chunks(STARTS_IN_FLIGHT).enumerate() {
        let starts = chunk.iter().map(|row| {
            let id = RequestId::from_uuid(row.id);
            let input = ServiceRequestInput::new(
                id,
                batch.clone(),
                DispatchPolicy::default(),
                DispatchMode::Candidates,
            );
            let options = WorkflowStartOptions::new(queue.clone(), id.workflow_id())
                .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
                .build();
            client.start_workflow(ServiceRequestWorkflow::run, input, options)
        });
        for started in futures::future::join_all(starts).await {
            started.context("start a waiting request")?;
        }
        let open = ((i + 1) * STARTS_IN_FLIGHT).min(n);
        if open / step != (open - chunk.len()) / step || open == n {
            samples.push((open, rss()));
        }
    }
    // Every request has been offered (it waits in `vet_asked` for the vet's answer).
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let asked: Count = diesel::sql_query(
            "SELECT count(*) AS n FROM service_requests WHERE description = $1 AND state = 'vet_asked'",
        )
        .bind::<Text, _>(&batch)
        .get_result(&mut conn)
        .await?;
        if asked.n as usize >= n {
            break;
        }
        anyhow::ensure!(
            measure::usage(worker).is_some(),
            "the worker exited with {} of {n} requests in vet_asked",
            asked.n
        );
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {} of {n} requests reached vet_asked",
            asked.n
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let opened_in = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = measure::usage(worker).context("the worker's /proc")?;
    tokio::time::sleep(idle_watch).await;
    let after = measure::usage(worker).context("the worker's /proc")?;
    samples.push((n, after.1 as f64 / 1024.0));
    let line = json!({
        "kind": "waiting", "cache": cache, "n": n,
        "opened_seconds": opened_in.as_secs_f64(),
        "rss_mib": after.1 as f64 / 1024.0, "peak_mib": after.2 as f64 / 1024.0,
        "idle_cpu_ms_per_s": (after.0 - before.0) * 1000.0 / idle_watch.as_secs_f64(),
        "samples": samples,
    });
    println!("{line}");
    crate::record(&line)?;
    Ok(())
}
