//! API latency under load: the data generator (`scripts/bench-data.sql`, sizes from
//! `BENCH_VETS`, `BENCH_OWNERS`, `BENCH_REQUESTS`), then wrk from a second process at
//! each fixed rate of `BENCH_RATES` per endpoint, and the plans PostgreSQL chose for
//! each endpoint's queries (`auto_explain` with ANALYZE, switched on for three calls).

use std::{process::Command, time::Duration};

use anyhow::{Context, bail};
use diesel::sql_types::{Double, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde_json::{Value, json};

use crate::lifecycle::{self, API};

/// wrk's connections: at most this many requests in flight.
const CONNECTIONS: u32 = 8;
/// Requests of each endpoint wrk cycles through.
const SAMPLES: i64 = 1000;

pub async fn generate() -> anyhow::Result<()> {
    let database_url = std::env::var("DATABASE_URL").context("DATABASE_URL")?;
    let mut sql = std::fs::read_to_string(e2e::root().join("scripts/bench-data.sql"))?;
    for (var, default) in [("vets", 5000), ("owners", 50_000), ("requests", 100_000)] {
        let n: u64 = crate::setting(&format!("BENCH_{}", var.to_uppercase()), default)?;
        sql = sql.replace(&format!(":{var}"), &n.to_string());
    }
    let mut conn = AsyncPgConnection::establish(&database_url).await?;
    let started = std::time::Instant::now();
    conn.batch_execute(&sql)
        .await
        .context("scripts/bench-data.sql")?;
    println!("data generated in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Sample {
    #[diesel(sql_type = Text)]
    a: String,
    #[diesel(sql_type = Text)]
    b: String,
}

#[derive(diesel::QueryableByName)]
struct Point {
    #[diesel(sql_type = Double)]
    lat: f64,
    #[diesel(sql_type = Double)]
    lon: f64,
}

/// An endpoint under load: a name, and the requests (method, path, body) wrk cycles.
struct Endpoint {
    name: &'static str,
    requests: Vec<(String, String, Option<String>)>,
}

pub async fn run() -> anyhow::Result<()> {
    let database_url = std::env::var("DATABASE_URL").context("DATABASE_URL")?;
    let rates: Vec<u32> = crate::settings("BENCH_RATES", "100 250 500 1000")?;
    let seconds: u32 = crate::setting("BENCH_WRK_SECONDS", 20)?;
    let http = reqwest::Client::new();
    let staff = login(&http, "staff@demo.amarmascotas.ar").await?;
    let mut conn = AsyncPgConnection::establish(&database_url).await?;
    let base = API.to_string();
    let path = base
        .trim_start_matches("http://")
        .split_once('/')
        .map_or("", |(_, p)| p);
    let path = format!("/{path}");
    let pets: Vec<Sample> = diesel::sql_query(format!(
        "SELECT p.id::text AS a, a.id::text AS b FROM pets p JOIN owner_addresses a ON a.owner_id = p.owner_id
         ORDER BY md5(p.id::text) LIMIT {SAMPLES}"
    ))
    .load(&mut conn)
    .await?;
    let requests: Vec<Sample> = diesel::sql_query(format!(
        "SELECT id::text AS a, state::text AS b FROM service_requests ORDER BY md5(id::text) LIMIT {SAMPLES}"
    ))
    .load(&mut conn)
    .await?;
    let points: Vec<Point> = diesel::sql_query(format!(
        "SELECT -34.70 + random() * 0.17 AS lat, -58.50 + random() * 0.20 AS lon FROM generate_series(1, {SAMPLES})"
    ))
    .load(&mut conn)
    .await?;
    let start = (chrono::Utc::now() + chrono::Duration::days(3)).format("%Y-%m-%dT15:00:00Z");
    let endpoints = [
        Endpoint {
            name: "POST /quotes",
            requests: pets
                .iter()
                .map(|s| {
                    let body = json!({ "service_id": lifecycle::SERVICE, "pet_id": s.a,
                                       "address_id": s.b, "start": start.to_string() });
                    (
                        "POST".into(),
                        format!("{path}/quotes"),
                        Some(body.to_string()),
                    )
                })
                .collect(),
        },
        Endpoint {
            name: "GET /vets/search",
            requests: points
                .iter()
                .map(|p| {
                    let query = format!(
                        "lat={:.5}&lon={:.5}&specialty_id=00000000-0000-4000-8000-000000000201",
                        p.lat, p.lon
                    );
                    ("GET".into(), format!("{path}/vets/search?{query}"), None)
                })
                .collect(),
        },
        Endpoint {
            name: "GET /service-requests/{id}",
            requests: requests
                .iter()
                .map(|r| {
                    (
                        "GET".into(),
                        format!("{path}/service-requests/{}", r.a),
                        None,
                    )
                })
                .collect(),
        },
        Endpoint {
            name: "GET /service-requests?state=",
            requests: requests
                .iter()
                .map(|r| {
                    (
                        "GET".into(),
                        format!("{path}/service-requests?state={}", r.b),
                        None,
                    )
                })
                .collect(),
        },
        Endpoint {
            name: "POST /auth/login",
            requests: vec![(
                "POST".into(),
                format!("{path}/auth/login"),
                Some(
                    json!({ "email": "staff@demo.amarmascotas.ar", "password": "demo-staff-2026" })
                        .to_string(),
                ),
            )],
        },
    ];
    // BENCH_ENDPOINTS: only the endpoints whose name holds one of these words
    // ("search login"); all by default.
    let only: Vec<String> = std::env::var("BENCH_ENDPOINTS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let dir = crate::out_dir()?;
    let mut plans = String::new();
    for endpoint in endpoints
        .iter()
        .filter(|e| only.is_empty() || only.iter().any(|w| e.name.contains(w.as_str())))
    {
        // Each must answer 2xx before it is loaded: a benchmark of error pages is no use.
        let (method, path_q, body) = &endpoint.requests[0];
        let url = format!("{}{}", base.trim_end_matches(&path), path_q);
        let mut call = http.request(method.parse()?, &url).bearer_auth(&staff);
        if let Some(body) = body {
            call = call
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let answer = call.send().await?;
        if !answer.status().is_success() {
            bail!(
                "{}: {} {}",
                endpoint.name,
                answer.status(),
                answer.text().await.unwrap_or_default()
            );
        }
        let script = dir.join("wrk.lua");
        for &rate in &rates {
            std::fs::write(&script, lua(endpoint, &staff, rate))?;
            let out = Command::new("wrk")
                .args([
                    &format!("-t{THREADS}"),
                    &format!("-c{CONNECTIONS}"),
                    &format!("-d{seconds}s"),
                    "--latency",
                    "-s",
                ])
                .arg(&script)
                .arg(base.trim_end_matches(&path))
                .output()
                .context("run wrk (scripts/ensure-bench-tools.sh installs it)")?;
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let mut line = parse_wrk(&text).with_context(|| format!("wrk's output: {text}"))?;
            line["kind"] = json!("api");
            line["endpoint"] = json!(endpoint.name);
            line["rate"] = json!(rate);
            println!("{line}");
            crate::record(&line)?;
        }
        plans.push_str(&explain(&http, &staff, &base, &path, endpoint, &mut conn).await?);
    }
    std::fs::write(dir.join("explain.txt"), plans)?;
    Ok(())
}

async fn login(http: &reqwest::Client, email: &str) -> anyhow::Result<String> {
    let tokens: Value = http
        .post(format!("{API}/auth/login"))
        .json(&json!({ "email": email, "password": "demo-staff-2026" }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(tokens["access_token"]
        .as_str()
        .context("a token")?
        .to_owned())
}

fn lua_string(s: &str) -> String {
    format!("{s:?}")
}

/// wrk's threads; each keeps its share of the rate.
const THREADS: u32 = 2;

/// A wrk script that cycles the endpoint's requests at `rate` requests a second: each of
/// wrk's threads sends the next request at the next slot of its share of the rate (a
/// monotonic clock through LuaJIT's FFI), as soon as one of its connections is free. A
/// fixed pause after each answer instead would send fewer the slower the answers (8
/// connections pausing 16 ms after 7 ms answers make 350 a second, not 500); here a
/// rate below the offered one means every connection was busy: the API was saturated.
fn lua(endpoint: &Endpoint, token: &str, rate: u32) -> String {
    let items: Vec<String> = endpoint
        .requests
        .iter()
        .map(|(m, p, b)| {
            format!(
                "{{{}, {}, {}}}",
                lua_string(m),
                lua_string(p),
                b.as_deref().map_or("nil".to_owned(), lua_string)
            )
        })
        .collect();
    let interval_ms = f64::from(THREADS) * 1000.0 / f64::from(rate.max(1));
    format!(
        r#"local ffi = require("ffi")
ffi.cdef[[
typedef struct {{ long tv_sec; long tv_nsec; }} bench_timespec;
int clock_gettime(int clock, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval = {interval_ms:.4}
local due = nil
local items = {{ {items} }}
local i = math.random(#items)
wrk.headers["Authorization"] = "Bearer {token}"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #items + 1
  local it = items[i]
  return wrk.format(it[1], it[2], nil, it[3])
end
-- The next slot of this thread's schedule; a thread that fell behind (every connection
-- busy) does not send a burst to catch up.
delay = function()
  local now = now_ms()
  due = math.max((due or now) + interval, now - interval)
  return math.max(0, math.floor(due - now + 0.5))
end
"#,
        items = items.join(",\n")
    )
}

/// Requests/s, the latency percentiles, and errors from wrk's `--latency` output.
fn parse_wrk(text: &str) -> anyhow::Result<Value> {
    let ms = |raw: &str| -> Option<f64> {
        let raw = raw.trim();
        let (n, unit) = raw.split_at(raw.find(|c: char| c.is_ascii_alphabetic())?);
        let n: f64 = n.parse().ok()?;
        Some(match unit {
            "us" => n / 1000.0,
            "ms" => n,
            "s" => n * 1000.0,
            "m" => n * 60_000.0,
            _ => return None,
        })
    };
    let mut line = json!({});
    for row in text.lines() {
        let words: Vec<&str> = row.split_whitespace().collect();
        match words.as_slice() {
            [p @ ("50%" | "75%" | "90%" | "99%"), value] => {
                line[format!("p{}_ms", p.trim_end_matches('%'))] = json!(ms(value));
            }
            ["Requests/sec:", value] => line["achieved"] = json!(value.parse::<f64>()?),
            ["Non-2xx", "or", "3xx", "responses:", n] => line["errors"] = json!(n.parse::<u64>()?),
            [n, "requests", "in", ..] => line["requests"] = json!(n.parse::<u64>()?),
            _ => {}
        }
    }
    if line.get("p99_ms").is_none() || line.get("achieved").is_none() {
        bail!("no latency distribution");
    }
    if line.get("errors").is_none() {
        line["errors"] = json!(0);
    }
    Ok(line)
}

/// The plans of an endpoint's queries: `auto_explain` (loaded by `scripts/bench.sh`)
/// logs every statement's plan with ANALYZE while three calls run, then is switched off.
async fn explain(
    http: &reqwest::Client,
    token: &str,
    base: &str,
    path: &str,
    endpoint: &Endpoint,
    conn: &mut AsyncPgConnection,
) -> anyhow::Result<String> {
    let Ok(log) = std::env::var("BENCH_PG_LOG") else {
        return Ok(String::new());
    };
    let from = std::fs::metadata(&log).map_or(0, |m| m.len());
    conn.batch_execute("ALTER SYSTEM SET auto_explain.log_min_duration = 0")
        .await?;
    conn.batch_execute("SELECT pg_reload_conf()").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (method, path_q, body) in endpoint.requests.iter().take(3) {
        let url = format!("{}{}", base.trim_end_matches(path), path_q);
        let mut call = http.request(method.parse()?, &url).bearer_auth(token);
        if let Some(body) = body {
            call = call
                .header("content-type", "application/json")
                .body(body.clone());
        }
        call.send().await?;
    }
    conn.batch_execute("ALTER SYSTEM RESET auto_explain.log_min_duration")
        .await?;
    conn.batch_execute("SELECT pg_reload_conf()").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let text = std::fs::read(&log)?;
    let logged =
        String::from_utf8_lossy(&text[usize::try_from(from)?.min(text.len())..]).to_string();
    let mut out = format!("==== {} ====\n", endpoint.name);
    let mut keep = false;
    for line in logged.lines() {
        if line.contains("plan:") {
            keep = !line.contains("pg_reload_conf");
            out.push('\n');
        } else if line.contains("LOG:") || line.contains("STATEMENT:") {
            keep = false;
        }
        if keep && !line.contains("pg_reload_conf") {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}
