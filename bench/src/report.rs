//! `bench report`: the table of `results.jsonl`, as the figures in `docs/PERFORMANCE.md`.

use anyhow::Context;
use serde_json::Value;

fn num(v: &Value, key: &str, digits: usize) -> String {
    v[key]
        .as_f64()
        .map_or("–".to_owned(), |n| format!("{n:.digits$}"))
}

pub fn print() -> anyhow::Result<()> {
    let path = crate::out_dir()?.join("results.jsonl");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let of = |kind: &'static str| lines.iter().filter(move |l| l["kind"] == kind);

    println!(
        "\n| lifecycle | C | lifecycles/s | twin/s | ratio | events | tasks | accept→visible p50 / p99 ms | worker CPU ms | worker peak MiB | API CPU ms | PG queries |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for real in of("lifecycles").filter(|l| l["shape"] == "real") {
        let twin = of("lifecycles")
            .find(|l| l["shape"] == "twin" && l["concurrency"] == real["concurrency"]);
        let ratio = twin
            .and_then(|t| Some(real["per_second"].as_f64()? / t["per_second"].as_f64()?))
            .map_or("–".to_owned(), |r| format!("{r:.2}"));
        println!(
            "| real | {} | {} | {} | {ratio} | {} | {} | {} / {} | {} | {} | {} | {} |",
            real["concurrency"],
            num(real, "per_second", 2),
            twin.map_or("–".to_owned(), |t| num(t, "per_second", 2)),
            real["events"],
            real["tasks"],
            num(real, "accept_p50_ms", 0),
            num(real, "accept_p99_ms", 0),
            num(real, "worker_cpu_ms", 1),
            num(real, "worker_peak_mib", 1),
            num(real, "api_cpu_ms", 1),
            num(real, "pg_queries", 1),
        );
    }
    for real in of("lifecycles").filter(|l| l["shape"] == "real") {
        let slowest = &real["slowest"];
        if let Some(phases) = slowest["phases"].as_array() {
            let steps: Vec<String> = phases
                .iter()
                .map(|p| {
                    format!(
                        "{} {:.0}",
                        p[0].as_str().unwrap_or("?"),
                        p[1].as_f64().unwrap_or(0.0)
                    )
                })
                .collect();
            println!(
                "(slowest at C={}: {} in {:.0} ms: {} ms)",
                real["concurrency"],
                slowest["request"].as_str().unwrap_or("?"),
                slowest["ms"].as_f64().unwrap_or(0.0),
                steps.join(", ")
            );
        }
    }
    println!(
        "\n| CPU ms per lifecycle | C | worker | API | PostgreSQL | Temporal | emulators | driver | total |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for run in of("lifecycles").filter(|l| l["cpu_ms"].is_object()) {
        let cpu = &run["cpu_ms"];
        let parts: Vec<String> = [
            "worker",
            "api",
            "postgres",
            "temporal",
            "emulators",
            "driver",
            "total",
        ]
        .iter()
        .map(|part| num(cpu, part, 1))
        .collect();
        println!(
            "| {} | {} | {} |",
            run["shape"].as_str().unwrap_or("?"),
            run["concurrency"],
            parts.join(" | ")
        );
    }
    if let Some(twin) = of("lifecycles").find(|l| l["shape"] == "twin") {
        println!(
            "(the twin's history: {} events, {} workflow tasks)",
            twin["events"], twin["tasks"]
        );
    }

    println!(
        "\n| waiting requests | sticky cache | worker RSS MiB | worker CPU while waiting (ms/s) | opened in s |"
    );
    println!("|---|---|---|---|---|");
    for w in of("waiting") {
        println!(
            "| {} | {} | {} | {} | {} |",
            w["n"],
            w["cache"],
            num(w, "rss_mib", 1),
            num(w, "idle_cpu_ms_per_s", 2),
            num(w, "opened_seconds", 1)
        );
    }

    println!("\n| endpoint | rate req/s | achieved | p50 ms | p90 ms | p99 ms | errors |");
    println!("|---|---|---|---|---|---|---|");
    for a in of("api") {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            a["endpoint"].as_str().unwrap_or(""),
            a["rate"],
            num(a, "achieved", 0),
            num(a, "p50_ms", 2),
            num(a, "p90_ms", 2),
            num(a, "p99_ms", 2),
            a["errors"]
        );
    }
    Ok(())
}
