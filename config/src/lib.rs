//! Reading configuration from the environment, shared by the worker and the API binaries.
//! Each variable is documented in the README; secrets are never logged.

use std::{fmt::Display, str::FromStr};

use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions, Url};

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

/// A secret key from `name`: required, at least 32 bytes, never echoed in errors.
pub fn env_secret(name: &'static str) -> Result<Vec<u8>, SettingsError> {
    let secret: String = env_required(name)?;
    if secret.len() < 32 {
        return Err(SettingsError::Invalid {
            name,
            value: "***".into(),
            reason: "must be at least 32 bytes".into(),
        });
    }
    Ok(secret.into_bytes())
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
}

impl TemporalSettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Ok(Self {
            address: env_or("TEMPORAL_ADDRESS", default_temporal_address())?,
            namespace: env_or("TEMPORAL_NAMESPACE", "default".to_owned())?,
            task_queue: env_or("TEMPORAL_TASK_QUEUE", "service-requests".to_owned())?,
        })
    }

    /// Connects a client (the connection is lazy-checked: this fails fast when the
    /// server is unreachable).
    pub async fn connect(&self) -> anyhow::Result<Client> {
        let connection = Connection::connect(
            ConnectionOptions::new(self.address.clone())
                .identity(format!("amar@{}", std::process::id()))
                .build(),
        )
        .await?;
        Ok(Client::new(
            connection,
            ClientOptions::new(self.namespace.clone()).build(),
        )?)
    }
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
