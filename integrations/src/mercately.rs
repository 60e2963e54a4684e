//! The Mercately (WhatsApp) client: template messages and free text, with the `api-key`
//! header and timeouts. Messages cost money and reach people, and Mercately has no
//! idempotency key, so a POST is resent only when it cannot have been delivered (the
//! connection was never made, `429`, `503`); a timeout or any other `5xx` is
//! [`MercatelyError::Uncertain`] and is not sent again. (The activities' send ledger,
//! `messages::ledger`, makes each purpose key one send.)

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use config::{SettingsError, env_credential, env_or, env_provider_url};

use crate::http::{Outcome, Retry, send_with_retries, worst_case};

#[derive(Debug, Clone)]
pub struct MercatelySettings {
    /// `MERCATELY_BASE_URL`, default the sandbox emulator of `make run`.
    pub base_url: String,
    /// `MERCATELY_API_KEY`.
    pub api_key: config::Secret,
    /// `MERCATELY_TIMEOUT_MS`, default 10 000.
    pub timeout: Duration,
    /// `MERCATELY_MAX_ATTEMPTS`, default 4: tries per call when the message cannot have
    /// left (no connection, 429, 503).
    pub max_attempts: u32,
}

/// Opening a connection to Mercately; a call that fails here never reached it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl MercatelySettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Ok(Self {
            base_url: env_provider_url(
                "MERCATELY_BASE_URL",
                "https://app.mercately.com/retailers/api/v1",
                "http://127.0.0.1:8091/retailers/api/v1",
            )?,
            api_key: env_credential("MERCATELY_API_KEY", "sandbox-mercately-key")?,
            timeout: Duration::from_millis(env_or("MERCATELY_TIMEOUT_MS", 10_000)?),
            max_attempts: env_or("MERCATELY_MAX_ATTEMPTS", 4)?,
        })
    }

    /// The longest one send can take, every try and backoff included.
    pub fn worst_case(&self) -> Duration {
        worst_case(self.max_attempts, self.timeout + CONNECT_TIMEOUT)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MercatelyError {
    /// Mercately refused the message (bad key, a missing or wrong field): retrying the
    /// same call cannot help.
    #[error("Mercately refused the message ({status}): {message}")]
    Refused { status: u16, message: String },
    /// Still failing after every attempt, and never delivered (no connection, 429,
    /// 503): worth retrying later.
    #[error("Mercately unavailable after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    /// The message may have been delivered (a timeout after sending, a `500`/`502`/`504`);
    /// sending it again could duplicate it, so it is not retried.
    #[error("Mercately may or may not have sent the message ({last}); not sent again")]
    Uncertain { last: String },
    /// Another attempt holds this message's send right now.
    #[error("message {key} is being sent by another attempt")]
    InFlight { key: String },
}

impl MercatelyError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::InFlight { .. })
    }
}

/// What Mercately answered for an accepted message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sent {
    /// Mercately's id of the message, when it gives one.
    pub provider_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MercatelyClient {
    settings: MercatelySettings,
    http: reqwest::Client,
}

/// What AMAR needs of a WhatsApp provider: template messages (the only kind WhatsApp
/// allows outside the 24 h window), and the longest one send can take. Mercately is the
/// one in use; the send ledger (`messages::ledger`) works with any.
pub trait WhatsApp: Send + Sync {
    fn send_template(
        &self,
        phone_number: &str,
        template: &str,
        params: &[String],
    ) -> impl std::future::Future<Output = Result<Sent, MercatelyError>> + Send;
    fn worst_case(&self) -> Duration;
}

impl WhatsApp for MercatelyClient {
    fn send_template(
        &self,
        phone_number: &str,
        template: &str,
        params: &[String],
    ) -> impl std::future::Future<Output = Result<Sent, MercatelyError>> + Send {
        MercatelyClient::send_template(self, phone_number, template, params)
    }

    fn worst_case(&self) -> Duration {
        MercatelyClient::worst_case(self)
    }
}

impl MercatelyClient {
    /// The longest one send can take, every try and backoff included.
    pub fn worst_case(&self) -> Duration {
        self.settings.worst_case()
    }

    pub fn new(settings: MercatelySettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()?;
        Ok(Self { settings, http })
    }

    /// A template message (the only kind WhatsApp allows outside the 24 h window).
    pub async fn send_template(
        &self,
        phone_number: &str,
        template: &str,
        params: &[String],
    ) -> Result<Sent, MercatelyError> {
        self.post(
            "/whatsapp/send_notification_by_id",
            &json!({ "phone_number": phone_number, "internal_id": template, "template_params": params }),
        )
        .await
    }

    /// A free-text message (inside the 24 h window).
    pub async fn send_text(
        &self,
        phone_number: &str,
        message: &str,
    ) -> Result<Sent, MercatelyError> {
        self.post(
            "/whatsapp/send_message",
            &json!({ "phone_number": phone_number, "message": message }),
        )
        .await
    }

    async fn post(&self, path: &str, body: &serde_json::Value) -> Result<Sent, MercatelyError> {
        let url = format!("{}{path}", self.settings.base_url.trim_end_matches('/'));
        let retry = Retry {
            attempts: self.settings.max_attempts,
            status: |status: reqwest::StatusCode| matches!(status.as_u16(), 429 | 503),
            network: reqwest::Error::is_connect,
        };
        let outcome = send_with_retries(retry, || {
            self.http
                .post(&url)
                .header("api-key", self.settings.api_key.expose())
                .json(body)
        })
        .await;
        let (status, text) = match outcome {
            Outcome::Answered { status, body } => (status, body),
            Outcome::GaveUp { attempts, last } => {
                return Err(MercatelyError::Unavailable { attempts, last });
            }
            Outcome::Uncertain { last } => return Err(MercatelyError::Uncertain { last }),
        };
        if status.is_server_error() {
            return Err(MercatelyError::Uncertain {
                last: format!("{status}: {}", crate::http::summary(&text)),
            });
        }
        if status.is_success() {
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let provider_id = parsed["id"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| parsed["id"].as_i64().map(|n| n.to_string()));
            return Ok(Sent { provider_id });
        }
        let message = crate::http::summary(&text);
        Err(MercatelyError::Refused {
            status: status.as_u16(),
            message,
        })
    }
}
