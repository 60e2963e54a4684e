//! The Mercately (WhatsApp) client: template messages and free text, with the `api-key`
//! header, timeouts, and retries on network errors, 429 and 5xx. Messages cost money and
//! reach people, so [`send_template_once`] records each send in PostgreSQL under a key
//! (an offer and its attempt, say): a retried activity finds the send already done and
//! does not send again.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::{
    http::{Outcome, busy, send_with_retries},
    settings::{SettingsError, env_or},
};

#[derive(Debug, Clone)]
pub struct MercatelySettings {
    /// `MERCATELY_BASE_URL`, default the sandbox emulator of `make run`.
    pub base_url: String,
    /// `MERCATELY_API_KEY`.
    pub api_key: String,
    /// `MERCATELY_TIMEOUT_MS`, default 10 000.
    pub timeout: Duration,
    /// `MERCATELY_MAX_ATTEMPTS`, default 4: tries per call on network errors, 429, 5xx.
    pub max_attempts: u32,
}

impl MercatelySettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Ok(Self {
            base_url: env_or(
                "MERCATELY_BASE_URL",
                "http://127.0.0.1:8091/retailers/api/v1".to_owned(),
            )?,
            api_key: env_or("MERCATELY_API_KEY", "sandbox-mercately-key".to_owned())?,
            timeout: Duration::from_millis(env_or("MERCATELY_TIMEOUT_MS", 10_000)?),
            max_attempts: env_or("MERCATELY_MAX_ATTEMPTS", 4)?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MercatelyError {
    /// Mercately refused the message (bad key, a missing or wrong field): retrying the
    /// same call cannot help.
    #[error("Mercately refused the message ({status}): {message}")]
    Refused { status: u16, message: String },
    /// Still failing after every attempt (network, 429, 5xx): worth retrying later.
    #[error("Mercately unavailable after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
}

impl MercatelyError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
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

impl MercatelyClient {
    pub fn new(settings: MercatelySettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(Duration::from_secs(5))
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
        let outcome = send_with_retries(
            self.settings.max_attempts,
            || {
                self.http
                    .post(&url)
                    .header("api-key", &self.settings.api_key)
                    .json(body)
            },
            busy,
        )
        .await;
        let (status, text) = match outcome {
            Outcome::Answered { status, body } => (status, body),
            Outcome::GaveUp { attempts, last } => {
                return Err(MercatelyError::Unavailable { attempts, last });
            }
        };
        if status.is_success() {
            let parsed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let provider_id = parsed["id"]
                .as_str()
                .map(str::to_owned)
                .or_else(|| parsed["id"].as_i64().map(|n| n.to_string()));
            return Ok(Sent { provider_id });
        }
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or(text);
        Err(MercatelyError::Refused {
            status: status.as_u16(),
            message,
        })
    }
}

/// Sends a template message once per `key`: a second call with the same key (a retried
/// activity) answers what the first send got, without sending. Between Mercately
/// accepting a message and the row being marked, a crash would still lose the mark (no
/// provider idempotency to lean on): that window is one network round trip.
pub async fn send_template_once(
    pool: &db::Pool,
    client: &MercatelyClient,
    key: &str,
    phone_number: &str,
    template: &str,
    params: &[String],
) -> anyhow::Result<Sent> {
    let mut conn = db::conn(pool).await?;
    if let Some(done) = db::messages::claim(&mut conn, key, phone_number, template, params).await? {
        return Ok(Sent {
            provider_id: done.provider_id,
        });
    }
    drop(conn);
    let sent = client.send_template(phone_number, template, params).await?;
    let mut conn = db::conn(pool).await?;
    db::messages::mark_sent(&mut conn, key, sent.provider_id.as_deref()).await?;
    Ok(sent)
}
