//! Reading configuration from the environment, shared by the worker and the API binaries.
//! Each variable is documented in the README; secrets are never logged.

use std::{fmt::Display, str::FromStr};

use temporalio_client::{
    Client, ClientKeepAliveOptions, ClientOptions, Connection, ConnectionOptions, Url,
};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("environment variable {name} is required")]
    Missing { name: &'static str },
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// `name` parsed, or `default` when unset or empty.
pub fn env_or<T>(name: &'static str, default: T) -> Result<T, SettingsError>
where
    T: FromStr,
    T::Err: Display,
{
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => parse(name, value),
        _ => Ok(default),
    }
}

/// `name` parsed; an error when unset.
pub fn env_required<T>(name: &'static str) -> Result<T, SettingsError>
where
    T: FromStr,
    T::Err: Display,
{
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => parse(name, value),
        _ => Err(SettingsError::Missing { name }),
    }
}

/// A secret value: its `Debug` says `***`, so a settings struct that derives `Debug`
/// never prints it in a log line or a panic; [`Secret::expose`] is the one way to it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// `AMAR_ENV`: what the binaries run as. `production` (the default) demands real
/// secrets and provider URLs; `development` (what `make run` sets) lets the local
/// stack use its sandbox values and load the demo data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    Production,
    Development,
}

impl Deployment {
    pub fn from_env() -> Result<Self, SettingsError> {
        match std::env::var("AMAR_ENV").unwrap_or_default().trim() {
            "" | "production" => Ok(Self::Production),
            "development" => Ok(Self::Development),
            other => Err(SettingsError::Invalid {
                name: "AMAR_ENV",
                value: other.to_owned(),
                reason: "must be `production` or `development`".into(),
            }),
        }
    }
}

/// Words the documented example and sandbox values are made of: a secret containing one
/// is a placeholder someone forgot to replace.
const PLACEHOLDER_WORDS: [&str; 7] = [
    "change-me",
    "changeme",
    "not-for-production",
    "sandbox",
    "example",
    "placeholder",
    "secret-here",
];

/// Why `value` cannot be a production secret, if it cannot.
fn weak(value: &str, min_len: usize) -> Option<String> {
    if value.len() < min_len {
        return Some(format!("must be at least {min_len} bytes"));
    }
    let lower = value.to_ascii_lowercase();
    if let Some(word) = PLACEHOLDER_WORDS.iter().find(|w| lower.contains(*w)) {
        return Some(format!(
            "looks like a placeholder (contains {word:?}): set a real secret, or \
             AMAR_ENV=development for a local stack"
        ));
    }
    let distinct: std::collections::BTreeSet<char> = value.chars().collect();
    if distinct.len() < 8 {
        return Some("is too repetitive to be a secret (fewer than 8 distinct characters)".into());
    }
    None
}

fn check_secret(
    name: &'static str,
    value: String,
    min_len: usize,
    deployment: Deployment,
) -> Result<String, SettingsError> {
    let invalid = |reason| SettingsError::Invalid {
        name,
        value: "***".into(),
        reason,
    };
    if value.len() < min_len {
        return Err(invalid(format!("must be at least {min_len} bytes")));
    }
    match deployment {
        Deployment::Production => weak(&value, min_len).map_or(Ok(value), |r| Err(invalid(r))),
        Deployment::Development => Ok(value),
    }
}

/// A secret key from `name`: required, at least 32 bytes, never echoed in errors; in
/// production it must not be a placeholder.
pub fn env_secret(name: &'static str) -> Result<Secret, SettingsError> {
    let secret: String = env_required(name)?;
    check_secret(name, secret, 32, Deployment::from_env()?).map(Secret)
}

/// A provider's credential from `name`: in development `sandbox` (the emulator's) when
/// unset; in production required and not a placeholder.
pub fn env_credential(name: &'static str, sandbox: &str) -> Result<Secret, SettingsError> {
    let deployment = Deployment::from_env()?;
    let value = match (std::env::var(name), deployment) {
        (Ok(value), _) if !value.trim().is_empty() => value.trim().to_owned(),
        (_, Deployment::Development) => return Ok(Secret::new(sandbox)),
        (_, Deployment::Production) => return Err(SettingsError::Missing { name }),
    };
    check_secret(name, value, 1, deployment).map(Secret)
}

/// A provider's base URL from `name`: when unset, the provider's own in production and
/// the local emulator's in development.
pub fn env_provider_url(
    name: &'static str,
    production: &str,
    development: &str,
) -> Result<String, SettingsError> {
    let default = match Deployment::from_env()? {
        Deployment::Production => production,
        Deployment::Development => development,
    };
    env_or(name, default.to_owned())
}

fn parse<T>(name: &'static str, value: String) -> Result<T, SettingsError>
where
    T: FromStr,
    T::Err: Display,
{
    value
        .trim()
        .parse()
        .map_err(|e: T::Err| SettingsError::Invalid {
            name,
            reason: e.to_string(),
            value,
        })
}

/// Where the Temporal frontend is and which namespace and task queue to use.
#[derive(Debug, Clone)]
pub struct TemporalSettings {
    /// `TEMPORAL_ADDRESS`, e.g. `http://127.0.0.1:7233`.
    pub address: Url,
    /// `TEMPORAL_NAMESPACE`.
    pub namespace: String,
    /// `TEMPORAL_TASK_QUEUE`.
    pub task_queue: String,
    /// Whether the connection sends HTTP/2 keepalive pings (the SDK's: one every 30 s),
    /// which find a dead connection before a call waits out its deadline on it. Always
    /// on but for Temporal's Java time-skipping test server, which allows one ping per
    /// five minutes and closes the connection at the third ping it deems too early,
    /// cutting every call then in flight (`too_many_pings`).
    pub keep_alive: bool,
}

impl TemporalSettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Ok(Self {
            address: env_or("TEMPORAL_ADDRESS", default_temporal_address())?,
            namespace: env_or("TEMPORAL_NAMESPACE", "default".to_owned())?,
            task_queue: env_or("TEMPORAL_TASK_QUEUE", "service-requests".to_owned())?,
            keep_alive: true,
        })
    }

    /// Connects a client (the connection is lazy-checked: this fails fast when the
    /// server is unreachable).
    pub async fn connect(&self) -> anyhow::Result<Client> {
        let connection = Connection::connect(
            ConnectionOptions::new(self.address.clone())
                .identity(identity())
                .keep_alive(self.keep_alive.then(ClientKeepAliveOptions::default))
                .build(),
        )
        .await?;
        Ok(Client::new(
            connection,
            ClientOptions::new(self.namespace.clone()).build(),
        )?)
    }
}

/// Whether the Temporal frontend answers (`GetSystemInfo`) within `deadline`: the
/// readiness check of the API and the worker.
pub async fn temporal_answers(client: &Client, deadline: std::time::Duration) -> bool {
    use temporalio_client::tonic::IntoRequest;
    use temporalio_common::protos::temporal::api::workflowservice::v1::GetSystemInfoRequest;
    let call = async {
        client
            .connection()
            .workflow_service()
            .get_system_info(GetSystemInfoRequest::default().into_request())
            .await
    };
    matches!(tokio::time::timeout(deadline, call).await, Ok(Ok(_)))
}

/// What this process is called in Temporal (the UI's "worker identity", the history's
/// `identity`): `amar@<host>:<pid>`, the host being the container's hostname, so that
/// every container is told apart even when each runs as pid 1.
fn identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("amar@{host}:{}", std::process::id())
}

fn default_temporal_address() -> Url {
    Url::parse("http://127.0.0.1:7233").unwrap_or_else(|_| unreachable!("a valid literal URL"))
}

/// Structured logs: JSON when `LOG_FORMAT=json`, human-readable otherwise; the filter
/// comes from `RUST_LOG` (default `info`).
pub fn init_tracing() {
    use tracing_subscriber::{EnvFilter, fmt};
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    if std::env::var("LOG_FORMAT").as_deref() == Ok("json") {
        fmt().json().with_env_filter(filter).init();
    } else {
        fmt().with_env_filter(filter).init();
    }
}

/// Resolves on Ctrl-C or SIGTERM, the signals `make run` and orchestrators send.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            },
            Err(_) => ctrl_c.await,
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_refuses_short_placeholder_and_repetitive_secrets() {
        let p = Deployment::Production;
        for bad in [
            "short",
            "change-me-change-me-change-me-change-me",
            "local-development-secret-not-for-production",
            "sandbox-mp-webhook-secret-0123456789abcdef",
            "abababababababababababababababababab",
        ] {
            let err = check_secret("JWT_SECRET", bad.into(), 32, p).expect_err(bad);
            let text = err.to_string();
            assert!(text.contains("JWT_SECRET"), "{text}");
            assert!(!text.contains(bad), "the value is never echoed: {text}");
        }
        let real = "q3Zk8vN1xP0tR7yW2mB5cL9dF4gH6jS0";
        assert_eq!(
            check_secret("JWT_SECRET", real.into(), 32, p).unwrap(),
            real
        );
    }

    #[test]
    fn a_secret_never_shows_in_debug() {
        let secret = Secret::new("q3Zk8vN1xP0tR7yW2mB5cL9dF4gH6jS0");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(secret.expose(), "q3Zk8vN1xP0tR7yW2mB5cL9dF4gH6jS0");
    }

    #[test]
    fn development_accepts_the_local_placeholders_but_not_short_ones() {
        let d = Deployment::Development;
        assert!(
            check_secret(
                "JWT_SECRET",
                "local-development-secret-not-for-production".into(),
                32,
                d
            )
            .is_ok()
        );
        assert!(check_secret("JWT_SECRET", "short".into(), 32, d).is_err());
    }
}
