//! Google Calendar and Google Sheets with a service account: the account's key signs a
//! JWT (RS256) that Google's token endpoint (the key's `token_uri`, so a key file can
//! point at the emulator) exchanges for an access token, cached until a minute before
//! it expires and refreshed by one caller at a time. Calendar events are inserted with
//! an id the caller derives (a second insert is `409`, [`GoogleError::Duplicate`]) and
//! patched; sheet rows are appended once and then updated where they landed. Every call
//! but an append is safe to repeat, so those are retried on `429`, `5xx` and network
//! errors; an append is tried once (the caller looks for its row before appending again).

use std::{path::PathBuf, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use config::{SettingsError, env_or};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::http::{Outcome, Retry, send_with_retries, worst_case};

mod calendar;
mod sheets;

pub use calendar::{Calendar, CalendarEvent, event_id};
pub use sheets::Sheets;

/// The scopes AMAR asks for: events of calendars shared with the account, and sheets.
pub const SCOPES: [&str; 2] = [
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/spreadsheets",
];

/// The domain of the sandbox's own service account (`sandbox/keys/`), refused in
/// production.
const SANDBOX_ACCOUNT: &str = "@amar-sandbox.iam.gserviceaccount.com";

/// A service account's key file, as Google's console downloads it (the fields AMAR
/// reads).
#[derive(Clone, Serialize, Deserialize)]
pub struct ServiceAccountKey {
    pub client_email: String,
    pub private_key_id: String,
    /// PKCS#8 PEM.
    pub private_key: String,
    pub token_uri: String,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &"***")
            .field("token_uri", &self.token_uri)
            .finish()
    }
}

impl ServiceAccountKey {
    pub fn parse(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("not a service account key: {e}"))
    }
}

/// Which calendar a visit's event goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarChoice {
    /// One calendar for every visit (shared with the service account).
    Shared(String),
    /// Each vet's own calendar, whose id is the vet's email (their Google calendar,
    /// shared with the service account with "make changes to events").
    PerVet,
}

#[derive(Debug, Clone)]
pub struct GoogleSettings {
    /// `GOOGLE_SERVICE_ACCOUNT_KEY_FILE` (a path) or `GOOGLE_SERVICE_ACCOUNT_KEY` (the
    /// JSON itself). Neither: no calendar and no sheet (a warning at start-up).
    pub key: Option<ServiceAccountKey>,
    /// `GOOGLE_CALENDAR_BASE_URL`, default `https://www.googleapis.com/calendar/v3`.
    pub calendar_base: String,
    /// `GOOGLE_SHEETS_BASE_URL`, default `https://sheets.googleapis.com/v4`.
    pub sheets_base: String,
    /// `GOOGLE_CALENDAR_ID` (a shared calendar's id) or `per-vet`, default `primary`
    /// (the service account's own calendar).
    pub calendar: CalendarChoice,
    /// `GOOGLE_SHEET_ID`: the spreadsheet of visits (unset: no sheet).
    pub spreadsheet_id: Option<String>,
    /// `GOOGLE_SHEET_TAB`, default `Visitas`: the tab the rows go to.
    pub sheet_tab: String,
    /// `GOOGLE_TIMEOUT_MS`, default 5 000.
    pub timeout: Duration,
    /// `GOOGLE_MAX_ATTEMPTS`, default 3: tries of a call that is safe to repeat.
    pub max_attempts: u32,
}

/// Opening a connection to Google.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl GoogleSettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        let file: String = env_or("GOOGLE_SERVICE_ACCOUNT_KEY_FILE", String::new())?;
        let inline: String = env_or("GOOGLE_SERVICE_ACCOUNT_KEY", String::new())?;
        let key =
            match (file.trim(), inline.trim()) {
                ("", "") => None,
                (path, "") => {
                    let text = std::fs::read_to_string(PathBuf::from(path)).map_err(|e| {
                        SettingsError::Invalid {
                            name: "GOOGLE_SERVICE_ACCOUNT_KEY_FILE",
                            value: path.to_owned(),
                            reason: e.to_string(),
                        }
                    })?;
                    Some(ServiceAccountKey::parse(&text).map_err(|reason| {
                        SettingsError::Invalid {
                            name: "GOOGLE_SERVICE_ACCOUNT_KEY_FILE",
                            value: path.to_owned(),
                            reason,
                        }
                    })?)
                }
                (_, json) => Some(ServiceAccountKey::parse(json).map_err(|reason| {
                    SettingsError::Invalid {
                        name: "GOOGLE_SERVICE_ACCOUNT_KEY",
                        value: "***".to_owned(),
                        reason,
                    }
                })?),
            };
        if let Some(key) = &key
            && key.client_email.ends_with(SANDBOX_ACCOUNT)
            && config::Deployment::from_env()? == config::Deployment::Production
        {
            return Err(SettingsError::Invalid {
                name: "GOOGLE_SERVICE_ACCOUNT_KEY_FILE",
                value: key.client_email.clone(),
                reason: "the sandbox's service account is for development only".into(),
            });
        }
        let calendar: String = env_or("GOOGLE_CALENDAR_ID", "primary".to_owned())?;
        let calendar = match calendar.trim() {
            "per-vet" => CalendarChoice::PerVet,
            id => CalendarChoice::Shared(id.to_owned()),
        };
        let spreadsheet_id: String = env_or("GOOGLE_SHEET_ID", String::new())?;
        Ok(Self {
            key,
            calendar_base: env_or(
                "GOOGLE_CALENDAR_BASE_URL",
                "https://www.googleapis.com/calendar/v3".to_owned(),
            )?,
            sheets_base: env_or(
                "GOOGLE_SHEETS_BASE_URL",
                "https://sheets.googleapis.com/v4".to_owned(),
            )?,
            calendar,
            spreadsheet_id: Some(spreadsheet_id.trim().to_owned()).filter(|s| !s.is_empty()),
            sheet_tab: env_or("GOOGLE_SHEET_TAB", "Visitas".to_owned())?,
            timeout: Duration::from_millis(env_or("GOOGLE_TIMEOUT_MS", 5_000)?),
            max_attempts: env_or("GOOGLE_MAX_ATTEMPTS", 3)?,
        })
    }

    /// No service account (no calendar, no sheet), Google's URLs and the default timings.
    pub fn disabled() -> Self {
        Self {
            key: None,
            calendar_base: "https://www.googleapis.com/calendar/v3".into(),
            sheets_base: "https://sheets.googleapis.com/v4".into(),
            calendar: CalendarChoice::Shared("primary".into()),
            spreadsheet_id: None,
            sheet_tab: "Visitas".into(),
            timeout: Duration::from_secs(5),
            max_attempts: 3,
        }
    }

    /// The longest one call can take, the token's exchange and every try included.
    pub fn worst_case(&self) -> Duration {
        worst_case(self.max_attempts, self.timeout + CONNECT_TIMEOUT) * 2
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GoogleError {
    /// The token endpoint refused the account's assertion (`invalid_grant`: a wrong or
    /// revoked key, a clock far off; `invalid_scope`): retrying cannot help.
    #[error("Google refused the service account ({error}): {description}")]
    Auth { error: String, description: String },
    /// The resource exists already (an event inserted with the same id).
    #[error("Google says it exists already: {message}")]
    Duplicate { message: String },
    /// Google refused the call (`400` a bad field, `403` no access to the calendar or
    /// sheet, `404` none such): retrying the same call cannot help.
    #[error("Google refused the call ({status} {reason}): {message}")]
    Refused {
        status: u16,
        reason: String,
        message: String,
    },
    /// Still failing after every attempt (no connection, `429`, `5xx`): worth retrying
    /// later.
    #[error("Google unavailable: {last}")]
    Unavailable { last: String },
    /// An append that got no answer: the row may have been written.
    #[error("Google may or may not have appended the row ({last})")]
    Uncertain { last: String },
}

impl GoogleError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Uncertain { .. })
    }
}

/// The cached access token.
#[derive(Debug, Clone)]
struct Token {
    value: String,
    expires_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct GoogleClient {
    settings: GoogleSettings,
    key: ServiceAccountKey,
    signing: Arc<jsonwebtoken::EncodingKey>,
    http: reqwest::Client,
    /// One refresh at a time: whoever holds the lock refreshes, the others wait and
    /// read what it got.
    token: Arc<tokio::sync::Mutex<Option<Token>>>,
}

impl std::fmt::Debug for GoogleClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleClient")
            .field("account", &self.key.client_email)
            .finish()
    }
}

/// Google's error body: `{"error": {"code", "message", "status", "errors": [{"reason"}]}}`
/// (the token endpoint's is `{"error", "error_description"}`).
fn api_error(status: u16, body: &str) -> GoogleError {
    let parsed: Value = serde_json::from_str(body).unwrap_or_default();
    let error = &parsed["error"];
    let message = error["message"]
        .as_str()
        .map_or_else(|| crate::http::summary(body), str::to_owned);
    let reason = error["errors"][0]["reason"]
        .as_str()
        .or_else(|| error["status"].as_str())
        .unwrap_or("")
        .to_owned();
    if status == 409 {
        return GoogleError::Duplicate { message };
    }
    GoogleError::Refused {
        status,
        reason,
        message,
    }
}

impl GoogleClient {
    /// `None` when no key is configured.
    pub fn new(settings: GoogleSettings) -> Result<Option<Self>, String> {
        let Some(key) = settings.key.clone() else {
            return Ok(None);
        };
        let signing = jsonwebtoken::EncodingKey::from_rsa_pem(key.private_key.as_bytes())
            .map_err(|e| format!("the service account's private key: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Some(Self {
            settings,
            key,
            signing: Arc::new(signing),
            http,
            token: Arc::new(tokio::sync::Mutex::new(None)),
        }))
    }

    pub fn settings(&self) -> &GoogleSettings {
        &self.settings
    }

    /// The signed assertion the token endpoint exchanges: valid one hour.
    fn assertion(&self, now: DateTime<Utc>) -> Result<String, GoogleError> {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(self.key.private_key_id.clone());
        let claims = json!({
            "iss": self.key.client_email,
            "scope": SCOPES.join(" "),
            "aud": self.key.token_uri,
            "iat": now.timestamp(),
            "exp": now.timestamp() + 3600,
        });
        jsonwebtoken::encode(&header, &claims, &self.signing).map_err(|e| GoogleError::Auth {
            error: "signing".into(),
            description: e.to_string(),
        })
    }

    /// A valid access token: the cached one while it has more than a minute left, else
    /// a new one (one refresh at a time).
    pub async fn access_token(&self) -> Result<String, GoogleError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref()
            && token.expires_at - Utc::now() > chrono::Duration::seconds(60)
        {
            return Ok(token.value.clone());
        }
        let now = Utc::now();
        let assertion = self.assertion(now)?;
        // A JWT is base64url and dots: nothing in it to percent-encode.
        let form = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
        );
        let (status, body) = self
            .call(true, || {
                self.http
                    .post(&self.key.token_uri)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form.clone())
            })
            .await?;
        let parsed: Value = serde_json::from_str(&body).unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(GoogleError::Auth {
                error: parsed["error"].as_str().unwrap_or("unknown").to_owned(),
                description: parsed["error_description"]
                    .as_str()
                    .map_or_else(|| crate::http::summary(&body), str::to_owned),
            });
        }
        let (Some(value), Some(expires_in)) = (
            parsed["access_token"].as_str(),
            parsed["expires_in"].as_i64(),
        ) else {
            return Err(GoogleError::Unavailable {
                last: format!(
                    "a token answer without a token: {}",
                    crate::http::summary(&body)
                ),
            });
        };
        let token = Token {
            value: value.to_owned(),
            expires_at: now + chrono::Duration::seconds(expires_in),
        };
        *cached = Some(token.clone());
        Ok(token.value)
    }

    /// Sends a call, retrying it when `repeatable`; its status and body.
    async fn call(
        &self,
        repeatable: bool,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(u16, String), GoogleError> {
        // An append is tried once and its answer read as it is (a `429` or `503` did
        // nothing, another `5xx` may have); only a connection never made is safe.
        let retry = Retry {
            attempts: if repeatable {
                self.settings.max_attempts
            } else {
                1
            },
            status: |status: reqwest::StatusCode| {
                repeatable && (status.as_u16() == 429 || status.is_server_error())
            },
            network: |e: &reqwest::Error| repeatable || e.is_connect(),
        };
        match send_with_retries(retry, build).await {
            Outcome::Answered { status, body } => Ok((status.as_u16(), body)),
            Outcome::GaveUp { last, .. } => Err(GoogleError::Unavailable { last }),
            Outcome::Uncertain { last } => Err(GoogleError::Uncertain { last }),
        }
    }

    /// An authorized call; the answer's body, or Google's error.
    async fn api(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
        repeatable: bool,
    ) -> Result<Value, GoogleError> {
        let token = self.access_token().await?;
        let (status, text) = self
            .call(repeatable, || {
                let request = self.http.request(method.clone(), url).bearer_auth(&token);
                match body {
                    Some(body) => request.json(body),
                    None => request,
                }
            })
            .await?;
        if status == 429 || status >= 500 {
            let last = format!("{status}: {}", crate::http::summary(&text));
            return Err(if repeatable {
                GoogleError::Unavailable { last }
            } else if status == 429 || status == 503 {
                // Refused before doing anything: safe to try again.
                GoogleError::Unavailable { last }
            } else {
                GoogleError::Uncertain { last }
            });
        }
        if !(200..300).contains(&status) {
            return Err(api_error(status, &text));
        }
        Ok(serde_json::from_str(&text).unwrap_or_default())
    }
}

/// A path segment, percent-encoded (calendar ids are emails, ranges have `!` and `:`).
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(encode("Visitas!A2:L2"), "Visitas%21A2%3AL2");
        assert_eq!(encode("vet@example.com"), "vet%40example.com");
    }

    #[test]
    fn the_private_key_never_shows_in_debug() {
        let key = ServiceAccountKey {
            client_email: "a@b".into(),
            private_key_id: "k".into(),
            private_key: "-----BEGIN PRIVATE KEY-----secret".into(),
            token_uri: "http://x".into(),
        };
        assert!(!format!("{key:?}").contains("secret"));
    }
}
