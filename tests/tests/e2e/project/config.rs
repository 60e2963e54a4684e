//! The deployment description, the README and the code agree: every service the README
//! lists is in `docker-compose.yml`, and the environment given to the api and worker
//! services is exactly what those binaries read (no typo, nothing required missing).

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

fn read(path: &str) -> String {
    std::fs::read_to_string(e2e::root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn compose() -> Value {
    let mut value: Value =
        serde_yaml_ng::from_str(&read("docker-compose.yml")).expect("valid YAML");
    value.apply_merge().expect("merge keys resolve");
    value
}

/// Names passed as literals to `env_or(..)`, `env_required(..)`, `std::env::var(..)` or
/// `EnvFilter::try_from_env(..)` in `files`: all, and those required.
fn variables_read(files: &[String]) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut all = BTreeSet::new();
    let mut required = BTreeSet::new();
    for file in files {
        let source = read(file);
        for (call, is_required) in [
            ("env_or(", false),
            ("env_required(", true),
            ("env_secret(", true),
            ("env_credential(", true),
            ("env_provider_url(", false),
            ("std::env::var(", false),
            ("EnvFilter::try_from_env(", false),
        ] {
            for piece in source.split(call).skip(1) {
                let Some(literal) = piece.trim_start().strip_prefix('"') else {
                    continue;
                };
                let name = literal.split('"').next().unwrap_or_default().to_owned();
                if is_required {
                    required.insert(name.clone());
                }
                all.insert(name);
            }
        }
    }
    (all, required)
}

fn service_env(compose: &Value, service: &str) -> BTreeSet<String> {
    compose["services"][service]["environment"]
        .as_mapping()
        .unwrap_or_else(|| panic!("service {service} has an environment mapping"))
        .keys()
        .filter_map(|k| k.as_str().map(ToOwned::to_owned))
        .collect()
}

/// Service names in the README's "Deployment topology" table.
fn readme_services() -> Vec<String> {
    let readme = read("README.md");
    let section = readme
        .split("## Deployment topology")
        .nth(1)
        .expect("the README has a Deployment topology section");
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .map(ToOwned::to_owned)
        .collect()
}

/// Every Rust source under these folders (relative to the repository root).
fn sources(dirs: &[&str]) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let relative = path.strip_prefix(e2e::root()).expect("under the root");
                out.push(relative.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    for dir in dirs {
        walk(&e2e::root().join(dir), &mut out);
    }
    out
}

/// Read by Rust's standard library and `anyhow`, not by our code: whether a panic
/// (`RUST_BACKTRACE`) and an error (`RUST_LIB_BACKTRACE`) capture a backtrace.
const RUNTIME: [&str; 2] = ["RUST_BACKTRACE", "RUST_LIB_BACKTRACE"];

/// What both binaries share: the settings helpers (Temporal, logging).
const SHARED: &str = "config/src/lib.rs";

#[test]
fn every_service_the_readme_documents_is_in_docker_compose() {
    let compose = compose();
    let services = readme_services();
    assert!(services.len() >= 6, "{services:?}");
    for service in &services {
        assert!(
            compose["services"].get(service).is_some(),
            "the README documents `{service}`, docker-compose.yml lacks it"
        );
    }
    assert_eq!(
        compose["services"]["worker"]["deploy"]["replicas"].as_u64(),
        Some(2)
    );
    assert!(
        compose["services"]["postgres"]["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("postgis/postgis")),
    );
}

#[test]
fn the_api_and_worker_services_get_exactly_the_variables_their_binaries_read() {
    let compose = compose();
    for service in ["api", "worker"] {
        // The worker runs the activities, whose clients read their own settings.
        let mut files = match service {
            "worker" => sources(&["worker/src", "activities/src", "integrations/src"]),
            // The API fetches notified payments with the MercadoPago client.
            _ => {
                let mut files = sources(&[&format!("{service}/src")]);
                files.push("integrations/src/mercadopago.rs".to_owned());
                // It sends owners their verification codes, and the welcome email.
                files.push("integrations/src/mercately.rs".to_owned());
                files.push("integrations/src/email.rs".to_owned());
                // It prints receipts, with the issuer's AFIP settings.
                files.push("integrations/src/afip/mod.rs".to_owned());
                files
            }
        };
        files.push(SHARED.to_owned());
        let (mut read_vars, required) = variables_read(&files);
        read_vars.extend(RUNTIME.iter().map(|v| (*v).to_owned()));
        let given = service_env(&compose, service);
        let unknown: Vec<_> = given.difference(&read_vars).collect();
        assert!(
            unknown.is_empty(),
            "{service} is given variables it never reads: {unknown:?}"
        );
        let missing: Vec<_> = required.difference(&given).collect();
        assert!(
            missing.is_empty(),
            "{service} lacks required variables: {missing:?}"
        );
    }
}

#[test]
fn every_variable_a_binary_reads_is_documented_in_the_readme() {
    let readme = read("README.md");
    let mut files = sources(&["api/src", "worker/src"]);
    files.push(SHARED.to_owned());
    let (vars, _) = variables_read(&files);
    assert!(
        vars.contains("DATABASE_URL") && vars.contains("TEMPORAL_ADDRESS"),
        "{vars:?}"
    );
    for var in vars {
        assert!(
            readme.contains(&format!("`{var}`")),
            "README does not document `{var}`"
        );
    }
}

#[test]
fn the_servers_register_the_search_attributes_the_workflows_use() {
    let registered: BTreeSet<String> = read("scripts/search-attributes.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(ToOwned::to_owned)
        .collect();
    let used: BTreeSet<String> = workflows::search::ALL
        .iter()
        .map(|(name, kind)| format!("{name}={kind}"))
        .collect();
    assert_eq!(
        registered, used,
        "scripts/search-attributes.txt (make run, make test)"
    );
    let compose = read("docker-compose.yml");
    for (name, kind) in workflows::search::ALL {
        assert!(
            compose.contains(&format!("--name {name} --type {kind}")),
            "docker-compose.yml does not register {name}"
        );
    }
}

/// Runs one of the binaries with only `env`, from an empty folder (no `.env` read).
async fn run_binary(name: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("amar-bin-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("an empty folder");
    let output = tokio::process::Command::new(e2e::binary(name))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(&dir)
        .output()
        .await
        .expect("run the binary");
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    (output.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn a_production_deployment_refuses_placeholder_secrets_and_the_demo_data() {
    let db = e2e::TestDb::new().await;
    let real = "q3Zk8vN1xP0tR7yW2mB5cL9dF4gH6jS0aE";
    let base = [
        ("DATABASE_URL", db.url.as_str()),
        ("MP_ACCESS_TOKEN", "APP_USR-1234567890123456-010203-abcdef"),
        ("MP_WEBHOOK_SECRET", "f3a9c1d2e4b5a6978812abcdef001122"),
        ("OFFER_LINK_SECRET", real),
    ];
    // The README's example secret, as a forgetful deployment would leave it.
    let mut env = base.to_vec();
    env.push(("JWT_SECRET", "change-me-change-me-change-me-change-me"));
    let (code, text) = run_binary("api", &["serve"], &env).await;
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("JWT_SECRET") && text.contains("placeholder"),
        "{text}"
    );
    assert!(
        !text.contains("change-me-change-me"),
        "never echoed: {text}"
    );

    // Unset credentials are not quietly replaced by the sandbox's in production.
    let mut env: Vec<_> = base
        .iter()
        .copied()
        .filter(|(k, _)| *k != "MP_ACCESS_TOKEN")
        .collect();
    env.push(("JWT_SECRET", real));
    let (code, text) = run_binary("api", &["serve"], &env).await;
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("MP_ACCESS_TOKEN is required"), "{text}");

    let (code, text) = run_binary(
        "worker",
        &[],
        &[
            ("DATABASE_URL", db.url.as_str()),
            ("MERCATELY_API_KEY", "a-real-looking-key-123"),
            ("MP_ACCESS_TOKEN", "APP_USR-1234567890123456-010203-abcdef"),
            (
                "OFFER_LINK_SECRET",
                "local-offer-link-secret-not-for-production",
            ),
        ],
    )
    .await;
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("OFFER_LINK_SECRET"), "{text}");

    // The demo's published passwords never reach a deployment's database.
    let (code, text) = run_binary("api", &["seed-demo"], &base).await;
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("AMAR_ENV=development"), "{text}");
    assert_eq!(db.count("SELECT count(*) AS n FROM users").await, 0);
    let mut env = base.to_vec();
    env.push(("AMAR_ENV", "development"));
    let (code, text) = run_binary("api", &["seed-demo"], &env).await;
    assert_eq!(code, 0, "{text}");
    assert_eq!(db.count("SELECT count(*) AS n FROM users").await, 4);
}
