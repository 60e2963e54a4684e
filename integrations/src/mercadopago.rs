//! The MercadoPago client: Checkout Pro preferences, payments, payment search and
//! refunds. Bearer token, an `X-Idempotency-Key` on every POST (the caller's, reused on
//! retries, so a retried call creates nothing twice), `X-Request-Id` on every request,
//! timeouts, and retries on network errors, 423, 429 and 5xx.

use std::{str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use config::{SettingsError, env_credential, env_or, env_provider_url};

use crate::http::{Outcome, Retry, any_network_error, busy, send_with_retries};

#[derive(Debug, Clone)]
pub struct MercadoPagoSettings {
    /// `MP_BASE_URL`, default the sandbox emulator of `make run`.
    pub base_url: String,
    /// `MP_ACCESS_TOKEN`.
    pub access_token: config::Secret,
    /// `MP_TIMEOUT_MS`, default 10 000.
    pub timeout: Duration,
    /// `MP_MAX_ATTEMPTS`, default 4.
    pub max_attempts: u32,
}

impl MercadoPagoSettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        Ok(Self {
            base_url: env_provider_url(
                "MP_BASE_URL",
                "https://api.mercadopago.com",
                "http://127.0.0.1:8092",
            )?,
            access_token: env_credential("MP_ACCESS_TOKEN", "sandbox-mp-access-token")?,
            timeout: Duration::from_millis(env_or("MP_TIMEOUT_MS", 10_000)?),
            max_attempts: env_or("MP_MAX_ATTEMPTS", 4)?,
        })
    }

    /// The longest one call can take, every try and backoff included.
    pub fn worst_case(&self) -> Duration {
        crate::http::worst_case(self.max_attempts, self.timeout + CONNECT_TIMEOUT)
    }
}

/// Opening a connection to MercadoPago.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum MercadoPagoError {
    /// MercadoPago refused the call (400/401/403/404/409): retrying it cannot help.
    #[error("MercadoPago refused ({status}): {message}")]
    Refused { status: u16, message: String },
    /// Still failing after every attempt (network, 423, 429, 5xx).
    #[error("MercadoPago unavailable after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    #[error("MercadoPago answered something unexpected: {0}")]
    Unexpected(String),
}

impl MercadoPagoError {
    /// Only unavailability is worth retrying: a refusal or an answer we cannot read
    /// would come back the same.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// What a Checkout Pro preference is made of (the fields we use).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreferenceRequest {
    pub title: String,
    pub amount: Decimal,
    pub external_reference: String,
    pub notification_url: String,
    /// The payer comes back to `{return_base}/success`, `/pending` or `/failure`.
    pub return_base: String,
    pub expires_at: DateTime<Utc>,
    pub payer_email: Option<String>,
    pub payer_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preference {
    pub id: String,
    pub init_point: String,
}

/// A payment as MercadoPago reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: i64,
    pub status: String,
    pub status_detail: Option<String>,
    pub external_reference: Option<String>,
    pub amount: Decimal,
    pub currency: String,
    pub date_approved: Option<DateTime<Utc>>,
    /// The whole answer, kept for the record.
    pub raw: Value,
}

/// An answer without what we need: which field, and the answer's top-level field names
/// (never its values, which may be a payer's data).
fn unreadable(wanted: &str, answer: &Value) -> MercadoPagoError {
    let fields = answer
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|| "none: not an object".into());
    MercadoPagoError::Unexpected(format!(
        "{wanted} missing or unreadable in an answer with fields: {fields}"
    ))
}

impl Payment {
    fn from_json(raw: Value) -> Result<Self, MercadoPagoError> {
        let unexpected = || unreadable("the payment's id, status or transaction_amount", &raw);
        let amount = match &raw["transaction_amount"] {
            Value::Number(n) => Decimal::from_str(&n.to_string())
                .or_else(|_| Decimal::from_scientific(&n.to_string()))
                .map_err(|_| unexpected())?,
            Value::String(s) => Decimal::from_str(s).map_err(|_| unexpected())?,
            _ => return Err(unexpected()),
        };
        Ok(Self {
            id: raw["id"].as_i64().ok_or_else(unexpected)?,
            status: raw["status"].as_str().ok_or_else(unexpected)?.to_owned(),
            status_detail: raw["status_detail"].as_str().map(str::to_owned),
            external_reference: raw["external_reference"].as_str().map(str::to_owned),
            amount,
            currency: raw["currency_id"].as_str().unwrap_or_default().to_owned(),
            date_approved: raw["date_approved"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            raw,
        })
    }
}

/// What a search found: the payments read, and why each one that could not be read was
/// not (its field names, never its payer).
#[derive(Debug, Clone, Default)]
pub struct Search {
    pub payments: Vec<Payment>,
    pub unreadable: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub id: i64,
    pub amount: Decimal,
}

#[derive(Debug, Clone)]
pub struct MercadoPagoClient {
    settings: MercadoPagoSettings,
    http: reqwest::Client,
}

/// What AMAR needs of a payment provider: a hosted checkout for a price (and closing it),
/// the payments made, and refunds. Every call that changes something takes an
/// idempotency key, so any retry is safe. MercadoPago is the one in use.
pub trait Payments: Send + Sync {
    /// A checkout for the request; the same `idempotency_key` never makes two.
    fn create_preference(
        &self,
        request: &PreferenceRequest,
        idempotency_key: &str,
    ) -> impl std::future::Future<Output = Result<Preference, MercadoPagoError>> + Send;
    /// The checkout `id` stops taking payments at `at`.
    fn expire_preference(
        &self,
        id: &str,
        at: DateTime<Utc>,
    ) -> impl std::future::Future<Output = Result<(), MercadoPagoError>> + Send;
    /// A payment as the provider holds it (the only truth about it).
    fn payment(
        &self,
        id: i64,
    ) -> impl std::future::Future<Output = Result<Payment, MercadoPagoError>> + Send;
    /// Every payment made for `external_reference`.
    fn search(
        &self,
        external_reference: &str,
    ) -> impl std::future::Future<Output = Result<Search, MercadoPagoError>> + Send;
    /// Refunds `payment` in full, once per `idempotency_key`.
    fn refund(
        &self,
        payment: i64,
        idempotency_key: &str,
    ) -> impl std::future::Future<Output = Result<Refund, MercadoPagoError>> + Send;
}

impl Payments for MercadoPagoClient {
    fn create_preference(
        &self,
        request: &PreferenceRequest,
        idempotency_key: &str,
    ) -> impl std::future::Future<Output = Result<Preference, MercadoPagoError>> + Send {
        MercadoPagoClient::create_preference(self, request, idempotency_key)
    }

    fn expire_preference(
        &self,
        id: &str,
        at: DateTime<Utc>,
    ) -> impl std::future::Future<Output = Result<(), MercadoPagoError>> + Send {
        MercadoPagoClient::expire_preference(self, id, at)
    }

    fn payment(
        &self,
        id: i64,
    ) -> impl std::future::Future<Output = Result<Payment, MercadoPagoError>> + Send {
        MercadoPagoClient::payment(self, id)
    }

    fn search(
        &self,
        external_reference: &str,
    ) -> impl std::future::Future<Output = Result<Search, MercadoPagoError>> + Send {
        MercadoPagoClient::search(self, external_reference)
    }

    fn refund(
        &self,
        payment: i64,
        idempotency_key: &str,
    ) -> impl std::future::Future<Output = Result<Refund, MercadoPagoError>> + Send {
        MercadoPagoClient::refund(self, payment, idempotency_key)
    }
}

impl MercadoPagoClient {
    pub fn new(settings: MercadoPagoSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()?;
        Ok(Self { settings, http })
    }

    /// Creates a Checkout Pro preference; the same `idempotency_key` never creates two.
    pub async fn create_preference(
        &self,
        request: &PreferenceRequest,
        idempotency_key: &str,
    ) -> Result<Preference, MercadoPagoError> {
        let amount: f64 = request.amount.try_into().unwrap_or_default();
        let body = serde_json::json!({
            "items": [{
                "id": request.external_reference,
                "title": request.title,
                "quantity": 1,
                "currency_id": "ARS",
                "unit_price": amount,
            }],
            "payer": { "email": request.payer_email, "name": request.payer_name },
            "back_urls": {
                "success": format!("{}/success", request.return_base),
                "pending": format!("{}/pending", request.return_base),
                "failure": format!("{}/failure", request.return_base),
            },
            "auto_return": "approved",
            "notification_url": request.notification_url,
            "external_reference": request.external_reference,
            "expires": true,
            "expiration_date_to": request.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        let answer = self
            .call(
                reqwest::Method::POST,
                "/checkout/preferences",
                Some((&body, idempotency_key)),
            )
            .await?;
        let text = |k: &str| answer[k].as_str().map(str::to_owned);
        match (text("id"), text("init_point")) {
            (Some(id), Some(init_point)) => Ok(Preference { id, init_point }),
            _ => Err(unreadable("id or init_point", &answer)),
        }
    }

    /// Makes preference `id` stop taking payments at `at` (`PUT /checkout/preferences/{id}`
    /// with `expires` and `expiration_date_to`): an old link after a reassignment.
    pub async fn expire_preference(
        &self,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), MercadoPagoError> {
        let body = serde_json::json!({
            "expires": true,
            "expiration_date_to": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        let key = format!("expire:{id}:{}", at.timestamp());
        self.call(
            reqwest::Method::PUT,
            &format!("/checkout/preferences/{id}"),
            Some((&body, &key)),
        )
        .await?;
        Ok(())
    }

    pub async fn payment(&self, id: i64) -> Result<Payment, MercadoPagoError> {
        let answer = self
            .call(reqwest::Method::GET, &format!("/v1/payments/{id}"), None)
            .await?;
        Payment::from_json(answer)
    }

    /// Every payment made for `external_reference` (reconciliation).
    pub async fn search(&self, external_reference: &str) -> Result<Search, MercadoPagoError> {
        let answer = self
            .call(
                reqwest::Method::GET,
                &format!("/v1/payments/search?external_reference={external_reference}"),
                None,
            )
            .await?;
        let results = answer["results"]
            .as_array()
            .ok_or_else(|| unreadable("results", &answer))?;
        // One payment we cannot read does not hide the others; it is reported, so that
        // whoever counts the money knows it is not all there.
        let mut found = Search::default();
        for raw in results.iter().cloned() {
            match Payment::from_json(raw) {
                Ok(payment) => found.payments.push(payment),
                Err(e) => {
                    tracing::warn!(error = %e, external_reference, "unreadable payment in a search");
                    found.unreadable.push(e.to_string());
                }
            }
        }
        Ok(found)
    }

    /// Refunds a payment in full; the same `idempotency_key` never refunds twice.
    pub async fn refund(
        &self,
        payment: i64,
        idempotency_key: &str,
    ) -> Result<Refund, MercadoPagoError> {
        let answer = self
            .call(
                reqwest::Method::POST,
                &format!("/v1/payments/{payment}/refunds"),
                Some((&serde_json::json!({}), idempotency_key)),
            )
            .await?;
        let amount = Decimal::from_str(&answer["amount"].to_string()).unwrap_or_default();
        Ok(Refund {
            id: answer["id"]
                .as_i64()
                .ok_or_else(|| unreadable("the refund's id", &answer))?,
            amount,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(&Value, &str)>,
    ) -> Result<Value, MercadoPagoError> {
        let url = format!("{}{path}", self.settings.base_url.trim_end_matches('/'));
        // Every POST carries an idempotency key: resending after any network error is
        // safe. 423: the key is locked by a call in flight.
        let retry = Retry {
            attempts: self.settings.max_attempts,
            status: |status: reqwest::StatusCode| busy(status) || status.as_u16() == 423,
            network: any_network_error,
        };
        let outcome = send_with_retries(retry, || {
            let request = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(self.settings.access_token.expose())
                .header("X-Request-Id", uuid::Uuid::new_v4().to_string());
            match body {
                Some((json, key)) => request.header("X-Idempotency-Key", key).json(json),
                None => request,
            }
        })
        .await;
        let (status, text) = match outcome {
            Outcome::Answered { status, body } => (status, body),
            Outcome::GaveUp { attempts, last } => {
                return Err(MercadoPagoError::Unavailable { attempts, last });
            }
            Outcome::Uncertain { last } => {
                return Err(MercadoPagoError::Unavailable { attempts: 1, last });
            }
        };
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| {
                MercadoPagoError::Unexpected(format!(
                    "{status} with {} bytes that are not JSON (line {}, column {})",
                    text.len(),
                    e.line(),
                    e.column()
                ))
            });
        }
        let message = crate::http::summary(&text);
        Err(MercadoPagoError::Refused {
            status: status.as_u16(),
            message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_payment_is_described_by_its_field_names_never_its_payer() {
        let raw = serde_json::json!({
            "id": "not a number",
            "status": "approved",
            "payer": { "email": "ana@example.com", "identification": { "number": "20123456789" } },
        });
        let error = Payment::from_json(raw).expect_err("the id is not a number");
        let said = error.to_string();
        assert!(said.contains("payer") && said.contains("id"), "{said}");
        assert!(
            !said.contains("ana@example.com") && !said.contains("2012345"),
            "{said}"
        );
    }
}
