//! A MercadoPago emulator: Checkout Pro preferences, payments, payment search and
//! refunds, with the real contract's bearer token, `X-Idempotency-Key` and error shapes
//! (`{message, error, status, cause}`).
//!
//! A preference's `init_point` opens a checkout page here where a person (or a test)
//! approves or rejects the payment; the emulator then delivers a signed webhook to the
//! preference's `notification_url` (`x-signature: ts=..,v1=..` over
//! `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`), retrying while the receiver does
//! not answer 2xx. Deliveries can be duplicated, reordered, delayed or dropped, and API
//! calls can fail on demand:
//!
//! - `POST /_emulator/fail` `{status, count, delay_ms?}`: the next API calls fail.
//! - `POST /_emulator/webhooks` `{duplicate?, reorder?, drop?, delay_ms?}`: how
//!   deliveries behave from now on.
//! - `POST /_emulator/pay` `{preference_id, status, amount?}`: what the checkout page
//!   does, for scripts and tests (`amount` pays another amount than asked).
//! - `POST /_emulator/payments/{id}/status` `{status}`: a later change (e.g.
//!   `charged_back`), notified like any other.
//! - `GET /_emulator/deliveries`, `GET /_emulator/payments`.

mod checkout;
mod control;
mod payments;
mod preferences;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::failures::Failures;
use axum::{
    Form, Json, Router,
    extract::{Path, Query, State, rejection::JsonRejection},
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// One webhook delivery attempt, as the receiver answered it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Delivery {
    pub payment_id: u64,
    pub action: String,
    pub attempt: u32,
    /// The receiver's status, or 0 when it could not be reached.
    pub status: u16,
}

/// How webhook deliveries behave.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DeliveryMode {
    /// Every event is delivered twice.
    #[serde(default)]
    pub duplicate: bool,
    /// `payment.updated` is delivered before `payment.created`.
    #[serde(default)]
    pub reorder: bool,
    /// Nothing is delivered (the receiver must reconcile).
    #[serde(default)]
    pub drop: bool,
    /// Wait this long before delivering.
    #[serde(default)]
    pub delay_ms: u64,
}

#[derive(Debug)]
struct Inner {
    access_token: String,
    webhook_secret: String,
    public_base: String,
    preferences: BTreeMap<String, Value>,
    /// (endpoint, key) → (the body it came with, the answer given).
    idempotency: BTreeMap<(String, String), (Value, u16, Value)>,
    payments: BTreeMap<u64, Value>,
    next_id: u64,
    failures: Failures,
    mode: DeliveryMode,
    deliveries: Vec<Delivery>,
    retry_every: Duration,
    max_attempts: u32,
}

#[derive(Debug, Clone)]
pub struct MercadoPago {
    inner: Arc<Mutex<Inner>>,
    http: reqwest::Client,
}

/// An error in MercadoPago's shape.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    body: Value,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// Where this run's payment and notification ids start: from the clock (a thousand a
/// second), so that a restarted emulator never hands out an id an earlier run used,
/// just as MercadoPago never reuses one.
fn first_id() -> u64 {
    u64::try_from(Utc::now().timestamp_millis()).unwrap_or(1_000_000_000_000)
}

fn refusal(status: u16, error: &str, message: &str) -> Refusal {
    Refusal {
        status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        body: json!({ "message": message, "error": error, "status": status, "cause": [] }),
    }
}

impl MercadoPago {
    /// `public_base` is where this emulator is reachable (for `init_point`); retries of
    /// unanswered webhooks every `retry_every`, up to 5 attempts.
    pub fn new(access_token: &str, webhook_secret: &str, public_base: &str) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                access_token: access_token.to_owned(),
                webhook_secret: webhook_secret.to_owned(),
                public_base: public_base.trim_end_matches('/').to_owned(),
                preferences: BTreeMap::new(),
                idempotency: BTreeMap::new(),
                payments: BTreeMap::new(),
                next_id: first_id(),
                failures: Failures::default(),
                mode: DeliveryMode::default(),
                deliveries: Vec::new(),
                retry_every: Duration::from_secs(1),
                max_attempts: 5,
            })),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn fail_next(&self, count: u32, status: u16, delay: Duration) {
        self.lock().failures = Failures::new(count, status, delay);
    }

    pub fn set_delivery(&self, mode: DeliveryMode) {
        self.lock().mode = mode;
    }

    pub fn set_retry_every(&self, every: Duration) {
        self.lock().retry_every = every;
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    pub fn preferences(&self) -> Vec<Value> {
        self.lock().preferences.values().cloned().collect()
    }

    pub fn payments(&self) -> Vec<Value> {
        self.lock().payments.values().cloned().collect()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/checkout/preferences",
                post(preferences::create_preference),
            )
            .route(
                "/checkout/preferences/{id}",
                get(preferences::get_preference).put(preferences::update_preference),
            )
            .route(
                "/checkout/v1/redirect",
                get(checkout::checkout_page).post(checkout::checkout_submit),
            )
            .route("/v1/payments/search", get(payments::search_payments))
            .route("/v1/payments/{id}", get(payments::get_payment))
            .route("/v1/payments/{id}/refunds", post(payments::refund))
            .route("/_emulator/fail", post(control::fail))
            .route("/_emulator/webhooks", post(control::webhooks))
            .route("/_emulator/pay", post(control::pay_control))
            .route("/_emulator/payments", get(control::list_payments))
            .route(
                "/_emulator/payments/{id}/status",
                post(control::change_status),
            )
            .route("/_emulator/deliveries", get(control::list_deliveries))
            .with_state(self.clone())
    }

    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Bearer token and any failure asked for.
    async fn gate(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let (failure, token_ok) = {
            let mut inner = self.lock();
            let failure = inner.failures.take();
            let token_ok = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|t| t == inner.access_token);
            (failure, token_ok)
        };
        if let Some((status, delay)) = failure {
            tokio::time::sleep(delay).await;
            return Err(refusal(status, "emulated_failure", "emulated failure"));
        }
        if !token_ok {
            return Err(refusal(401, "unauthorized", "invalid access token"));
        }
        Ok(())
    }

    /// A POST's idempotency: the same key and body answer what they answered; the same
    /// key with another body is a 409.
    fn replay(
        &self,
        endpoint: &str,
        headers: &HeaderMap,
        body: &Value,
    ) -> Result<Option<(u16, Value)>, Refusal> {
        let key = headers
            .get("x-idempotency-key")
            .and_then(|v| v.to_str().ok())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| refusal(400, "bad_request", "X-Idempotency-Key header is required"))?;
        let inner = self.lock();
        match inner
            .idempotency
            .get(&(endpoint.to_owned(), key.to_owned()))
        {
            Some((seen, status, answer)) if seen == body => Ok(Some((*status, answer.clone()))),
            Some(_) => Err(refusal(
                409,
                "conflict",
                "idempotency key already used with a different request",
            )),
            None => Ok(None),
        }
    }

    fn remember(
        &self,
        endpoint: &str,
        headers: &HeaderMap,
        body: Value,
        status: u16,
        answer: &Value,
    ) {
        if let Some(key) = headers
            .get("x-idempotency-key")
            .and_then(|v| v.to_str().ok())
        {
            self.lock().idempotency.insert(
                (endpoint.to_owned(), key.to_owned()),
                (body, status, answer.clone()),
            );
        }
    }

    /// Creates a payment for a preference as the checkout would, and notifies it.
    pub fn pay(
        &self,
        preference_id: &str,
        status: &str,
        amount: Option<f64>,
    ) -> Result<Value, String> {
        if !matches!(
            status,
            "approved" | "rejected" | "pending" | "in_process" | "cancelled"
        ) {
            return Err(format!("unknown status {status}"));
        }
        let payment = {
            let mut inner = self.lock();
            let preference = inner
                .preferences
                .get(preference_id)
                .cloned()
                .ok_or_else(|| format!("no preference {preference_id}"))?;
            if let Some(until) = preference["expiration_date_to"]
                .as_str()
                .and_then(|t| t.parse::<DateTime<Utc>>().ok())
                && Utc::now() > until
            {
                return Err("this payment link has expired".into());
            }
            let total: f64 = preference["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|i| {
                            i["unit_price"].as_f64().unwrap_or(0.0)
                                * i["quantity"].as_f64().unwrap_or(0.0)
                        })
                        .sum()
                })
                .unwrap_or(0.0);
            inner.next_id += 1;
            let id = inner.next_id;
            let now = Utc::now();
            let payment = json!({
                "id": id,
                "status": status,
                "status_detail": match status { "approved" => "accredited", "rejected" => "cc_rejected_other_reason", _ => "pending_contingency" },
                "external_reference": preference["external_reference"],
                "preference_id": preference_id,
                "transaction_amount": amount.unwrap_or(total),
                "currency_id": preference["items"][0]["currency_id"],
                "date_created": now,
                "date_approved": (status == "approved").then_some(now),
                "payer": preference["payer"],
                "notification_url": preference["notification_url"],
                "live_mode": false,
            });
            inner.payments.insert(id, payment.clone());
            payment
        };
        self.notify(&payment, &["payment.created", "payment.updated"]);
        Ok(payment)
    }

    /// Delivers the webhooks of a payment's events, as the delivery mode says.
    fn notify(&self, payment: &Value, actions: &[&str]) {
        let Some(url) = payment["notification_url"].as_str().map(str::to_owned) else {
            return;
        };
        let id = payment["id"].as_u64().unwrap_or_default();
        let mode = self.lock().mode.clone();
        if mode.drop {
            return;
        }
        let mut actions: Vec<String> = actions.iter().map(|a| (*a).to_owned()).collect();
        if mode.reorder {
            actions.reverse();
        }
        if mode.duplicate {
            actions = actions.into_iter().flat_map(|a| [a.clone(), a]).collect();
        }
        // Each event gets its own notification id, which its repeats keep.
        let events: Vec<(u64, String)> = {
            let mut inner = self.lock();
            let mut numbered = BTreeMap::new();
            actions
                .into_iter()
                .map(|action| {
                    let number = *numbered.entry(action.clone()).or_insert_with(|| {
                        inner.next_id += 1;
                        inner.next_id
                    });
                    (number, action)
                })
                .collect()
        };
        let emulator = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(mode.delay_ms)).await;
            for (notification, action) in events {
                emulator.deliver(&url, id, notification, &action).await;
            }
        });
    }

    async fn deliver(&self, url: &str, payment_id: u64, notification: u64, action: &str) {
        let (secret, every, max) = {
            let inner = self.lock();
            (
                inner.webhook_secret.clone(),
                inner.retry_every,
                inner.max_attempts,
            )
        };
        let separator = if url.contains('?') { '&' } else { '?' };
        let target = format!("{url}{separator}data.id={payment_id}&type=payment");
        let body = json!({
            "id": notification,
            "live_mode": false,
            "type": "payment",
            "date_created": Utc::now(),
            "user_id": 123_456,
            "api_version": "v1",
            "action": action,
            "data": { "id": payment_id.to_string() },
        });
        for attempt in 1..=max {
            let request_id = uuid::Uuid::new_v4().to_string();
            // Unix seconds, as MercadoPago signs (`ts=1704908010`).
            let ts = Utc::now().timestamp().to_string();
            let signature = sign(&secret, &payment_id.to_string(), &request_id, &ts);
            let status = self
                .http
                .post(&target)
                .header("x-signature", format!("ts={ts},v1={signature}"))
                .header("x-request-id", &request_id)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            self.lock().deliveries.push(Delivery {
                payment_id,
                action: action.to_owned(),
                attempt,
                status,
            });
            if (200..300).contains(&status) {
                return;
            }
            tokio::time::sleep(every).await;
        }
    }
}

/// MercadoPago's webhook signature: HMAC-SHA256 (hex) of
/// `id:<data.id>;request-id:<x-request-id>;ts:<ts>;`.
pub fn sign(secret: &str, data_id: &str, request_id: &str, ts: &str) -> String {
    use hmac::Mac;
    let manifest = format!("id:{data_id};request-id:{request_id};ts:{ts};");
    let mut mac = <hmac::Hmac<sha2::Sha256>>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(manifest.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn json_body(body: Result<Json<Value>, JsonRejection>) -> Result<Value, Refusal> {
    body.map(|Json(v)| v)
        .map_err(|e| refusal(400, "bad_request", &e.body_text()))
}
