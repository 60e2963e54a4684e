//! Mercately's WhatsApp API, emulated: the same paths under `/retailers/api/v1`, the
//! `api-key` header, the required fields, templates with their parameter counts. It
//! records every accepted message, and it can be told to fail the next N calls with a
//! status code, after a delay. A "failure" with a 2xx status is a slow Mercately: the
//! message is delivered and the answer comes after the delay, which is how a client
//! that timed out can have sent anyway.
//!
//! Control endpoints (not Mercately's; for tests and the demo), under `/_emulator`:
//! `GET /_emulator/messages[?phone_number=..]`, `POST /_emulator/fail`
//! `{status, count, delay_ms?}`, `POST /_emulator/reset`.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::failures::Failures;
use axum::{
    Json, Router,
    extract::{Query, State, rejection::JsonRejection},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

/// A template the account has, with how many parameters it takes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Template {
    pub internal_id: String,
    pub name: String,
    pub params: usize,
}

/// A message the emulator accepted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Message {
    pub id: Uuid,
    pub phone_number: String,
    /// `template` or `text`.
    pub kind: String,
    pub internal_id: Option<String>,
    pub template_params: Vec<String>,
    pub message: Option<String>,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug)]
struct Inner {
    api_key: String,
    templates: BTreeMap<String, Template>,
    messages: Vec<Message>,
    failures: Failures,
}

/// The emulator's state; clone it to look inside from a test.
#[derive(Debug, Clone)]
pub struct Mercately {
    inner: Arc<Mutex<Inner>>,
}

impl Mercately {
    pub fn new(api_key: &str, templates: Vec<Template>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                api_key: api_key.to_owned(),
                templates: templates
                    .into_iter()
                    .map(|t| (t.internal_id.clone(), t))
                    .collect(),
                messages: Vec::new(),
                failures: Failures::default(),
            })),
        }
    }

    /// The templates AMAR uses, as registered in the production account.
    pub fn with_amar_templates(api_key: &str) -> Self {
        Self::new(
            api_key,
            vec![
                Template {
                    internal_id: "vet_offer".into(),
                    name: "Nueva solicitud de visita".into(),
                    // service, pet, neighborhood, window, accept link, reject link
                    params: 6,
                },
                Template {
                    internal_id: "vet_offer_followup".into(),
                    name: "Recordatorio de solicitud".into(),
                    params: 6,
                },
                Template {
                    internal_id: "phone_code".into(),
                    name: "Tu código de verificación".into(),
                    // the six-digit code
                    params: 1,
                },
                Template {
                    internal_id: "owner_update".into(),
                    name: "Novedades de tu solicitud".into(),
                    // owner's name, the news
                    params: 2,
                },
                Template {
                    internal_id: "vet_update".into(),
                    name: "Novedades de tu visita".into(),
                    // vet's name, the news
                    params: 2,
                },
                Template {
                    internal_id: "staff_alert".into(),
                    name: "Alerta para el equipo".into(),
                    // request id and what happened
                    params: 1,
                },
            ],
        )
    }

    pub fn messages(&self) -> Vec<Message> {
        self.lock().messages.clone()
    }

    /// The next `count` API calls answer `status` (after `delay`).
    pub fn fail_next(&self, count: u32, status: u16, delay: Duration) {
        self.lock().failures = Failures::new(count, status, delay);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/retailers/api/v1/whatsapp/send_notification_by_id",
                post(send_template),
            )
            .route("/retailers/api/v1/whatsapp/send_message", post(send_text))
            .route("/retailers/api/v1/whatsapp_templates", get(templates))
            .route("/_emulator/messages", get(list_messages))
            .route("/_emulator/fail", post(fail))
            .route("/_emulator/reset", post(reset))
            .with_state(self.clone())
    }

    /// Serves on `listener` until the task is dropped.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Checks the key and any failure asked for; `Err` is the response to give, `Ok` how
    /// long to hold the answer after the message is delivered (a "failure" with a 2xx
    /// status is a slow Mercately: the message goes out, the answer comes late).
    async fn gate(&self, headers: &HeaderMap) -> Result<Duration, Refusal> {
        let (failure, key_ok) = {
            let mut inner = self.lock();
            let failure = inner.failures.take();
            let key_ok = headers
                .get("api-key")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|k| k == inner.api_key);
            (failure, key_ok)
        };
        let mut late = Duration::ZERO;
        match failure {
            Some((status, delay)) if (200..300).contains(&status) => late = delay,
            Some((status, delay)) => {
                tokio::time::sleep(delay).await;
                return Err(Refusal {
                    status: StatusCode::from_u16(status)
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    body: json!({ "message": "emulated failure" }),
                });
            }
            None => {}
        }
        if !key_ok {
            return Err(Refusal {
                status: StatusCode::UNAUTHORIZED,
                body: json!({ "message": "Invalid api-key" }),
            });
        }
        Ok(late)
    }
}

/// A refusal, in Mercately's error shape: `{"message": ...}`.
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

fn unprocessable(field: &str, message: &str) -> Refusal {
    Refusal {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        body: json!({ "message": format!("{field} {message}"), "field": field }),
    }
}

/// `+` and 8 to 15 digits, as WhatsApp wants.
fn phone(body: &Value) -> Result<String, Refusal> {
    let phone = body["phone_number"]
        .as_str()
        .ok_or_else(|| unprocessable("phone_number", "is required"))?;
    let digits = phone.strip_prefix('+').unwrap_or_default();
    if !(8..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(unprocessable("phone_number", "must be +<country><number>"));
    }
    Ok(phone.to_owned())
}

fn json_body(body: Result<Json<Value>, JsonRejection>) -> Result<Value, Refusal> {
    body.map(|Json(v)| v).map_err(|e| Refusal {
        status: StatusCode::BAD_REQUEST,
        body: json!({ "message": e.body_text() }),
    })
}

async fn send_template(
    State(emulator): State<Mercately>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let late = match emulator.gate(&headers).await {
        Ok(late) => late,
        Err(refusal) => return refusal.into_response(),
    };
    let body = match json_body(body) {
        Ok(body) => body,
        Err(refusal) => return refusal.into_response(),
    };
    let phone = match phone(&body) {
        Ok(phone) => phone,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(internal_id) = body["internal_id"].as_str() else {
        return unprocessable("internal_id", "is required").into_response();
    };
    let Some(params) = body["template_params"].as_array() else {
        return unprocessable("template_params", "is required").into_response();
    };
    let params: Vec<String> = params
        .iter()
        .filter_map(|p| p.as_str().map(str::to_owned))
        .collect();
    let message = {
        let mut inner = emulator.lock();
        let Some(template) = inner.templates.get(internal_id) else {
            return unprocessable("internal_id", "is not a template of this account")
                .into_response();
        };
        if params.len() != template.params || params.iter().any(|p| p.trim().is_empty()) {
            return unprocessable(
                "template_params",
                &format!("must be {} non-empty strings", template.params),
            )
            .into_response();
        }
        let message = Message {
            id: Uuid::new_v4(),
            phone_number: phone,
            kind: "template".into(),
            internal_id: Some(internal_id.to_owned()),
            template_params: params,
            message: None,
            received_at: Utc::now(),
        };
        inner.messages.push(message.clone());
        message
    };
    tokio::time::sleep(late).await;
    Json(json!({ "message": "Notification sent", "id": message.id, "status": "sent" }))
        .into_response()
}

async fn send_text(
    State(emulator): State<Mercately>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    let late = match emulator.gate(&headers).await {
        Ok(late) => late,
        Err(refusal) => return refusal.into_response(),
    };
    let body = match json_body(body) {
        Ok(body) => body,
        Err(refusal) => return refusal.into_response(),
    };
    let phone = match phone(&body) {
        Ok(phone) => phone,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(text) = body["message"].as_str().filter(|m| !m.trim().is_empty()) else {
        return unprocessable("message", "is required").into_response();
    };
    let message = Message {
        id: Uuid::new_v4(),
        phone_number: phone,
        kind: "text".into(),
        internal_id: None,
        template_params: Vec::new(),
        message: Some(text.to_owned()),
        received_at: Utc::now(),
    };
    emulator.lock().messages.push(message.clone());
    tokio::time::sleep(late).await;
    Json(json!({ "message": "Message sent", "id": message.id, "status": "sent" })).into_response()
}

async fn templates(State(emulator): State<Mercately>, headers: HeaderMap) -> Response {
    if let Err(refusal) = emulator.gate(&headers).await {
        return refusal.into_response();
    }
    let templates: Vec<Template> = emulator.lock().templates.values().cloned().collect();
    Json(json!({ "templates": templates })).into_response()
}

#[derive(Debug, Deserialize)]
struct MessageFilter {
    phone_number: Option<String>,
}

async fn list_messages(
    State(emulator): State<Mercately>,
    Query(filter): Query<MessageFilter>,
) -> Json<Vec<Message>> {
    Json(
        emulator
            .messages()
            .into_iter()
            .filter(|m| {
                filter
                    .phone_number
                    .as_ref()
                    .is_none_or(|p| *p == m.phone_number)
            })
            .collect(),
    )
}

#[derive(Debug, Deserialize)]
struct FailBody {
    status: u16,
    count: u32,
    #[serde(default)]
    delay_ms: u64,
}

async fn fail(State(emulator): State<Mercately>, Json(body): Json<FailBody>) -> StatusCode {
    emulator.fail_next(
        body.count,
        body.status,
        Duration::from_millis(body.delay_ms),
    );
    StatusCode::NO_CONTENT
}

async fn reset(State(emulator): State<Mercately>) -> StatusCode {
    let mut inner = emulator.lock();
    inner.messages.clear();
    inner.failures = Failures::default();
    StatusCode::NO_CONTENT
}
