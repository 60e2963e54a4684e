//! Google's token endpoint, Calendar and Sheets, emulated for one service account (the
//! key file's): the token endpoint verifies the assertion's RS256 signature against the
//! key's public half, its `iss`, `aud`, `scope` and a lifetime of at most an hour, and
//! answers Google's error shapes (`invalid_grant`, `invalid_scope`); the APIs want a
//! token it issued, with the scope they need (`401 UNAUTHENTICATED`, `403
//! insufficientPermissions`). Calendar: insert with a client id (`[a-v0-9]{5,1024}`,
//! `409 duplicate` the second time; attendees `403 forbiddenForServiceAccounts`), get,
//! patch, list. Sheets: append (answers `updates.updatedRange`), update, get, on the
//! spreadsheets and tabs it was given (`404` another spreadsheet, `400 Unable to parse
//! range` another tab).
//!
//! Control endpoints, under `/_emulator`: `POST /_emulator/fail {status, count,
//! delay_ms?}` (the next calls, the token's included, answer `status`; `429` with
//! `Retry-After: 1`), `GET /_emulator/stats` (`token_requests`), `POST
//! /_emulator/reset`. `GET /` is a page with the calendars and the sheets.

// The checks answer Google's error as an axum `Response` (128 bytes): an emulator's
// error path, where the size of a `Result` does not matter.
#![allow(clippy::result_large_err)]

mod calendar;
mod pages;
mod sheets;
mod token;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::failures::Failures;

pub const CALENDAR_SCOPE: &str = "https://www.googleapis.com/auth/calendar.events";
pub const SHEETS_SCOPE: &str = "https://www.googleapis.com/auth/spreadsheets";

#[derive(Debug)]
struct Issued {
    expires_at: DateTime<Utc>,
    scopes: Vec<String>,
}

#[derive(Debug, Default)]
struct Inner {
    /// `(calendar, event id)` → the event as Calendar answers it.
    events: BTreeMap<(String, String), Value>,
    /// `(spreadsheet, tab)` → rows.
    sheets: BTreeMap<(String, String), Vec<Vec<String>>>,
    tokens: HashMap<String, Issued>,
    token_requests: u64,
    failures: Failures,
}

/// The emulator's state; clone it to look inside from a test.
#[derive(Clone)]
pub struct Google {
    account: Arc<token::Account>,
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for Google {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Google").finish_non_exhaustive()
    }
}

impl Google {
    /// The emulator of the account whose key file is `key_json`; `token_uri` is the URL
    /// its token endpoint is reached at (what assertions must name as `aud`).
    pub fn new(key_json: &str, token_uri: &str) -> Result<Self, String> {
        Ok(Self {
            account: Arc::new(token::Account::from_key(key_json, token_uri)?),
            inner: Arc::default(),
        })
    }

    /// A spreadsheet with these tabs (empty).
    pub fn with_spreadsheet(self, id: &str, tabs: &[&str]) -> Self {
        {
            let mut inner = self.lock();
            for tab in tabs {
                inner
                    .sheets
                    .entry((id.to_owned(), (*tab).to_owned()))
                    .or_default();
            }
        }
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many tokens were asked for.
    pub fn token_requests(&self) -> u64 {
        self.lock().token_requests
    }

    /// The events of `calendar`, by id.
    pub fn events(&self, calendar: &str) -> BTreeMap<String, Value> {
        self.lock()
            .events
            .iter()
            .filter(|((c, _), _)| c == calendar)
            .map(|((_, id), e)| (id.clone(), e.clone()))
            .collect()
    }

    /// The rows of a tab, the header's included.
    pub fn rows(&self, spreadsheet: &str, tab: &str) -> Vec<Vec<String>> {
        self.lock()
            .sheets
            .get(&(spreadsheet.to_owned(), tab.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// The next `count` calls answer `status` after `delay`.
    pub fn fail_next(&self, count: u32, status: u16, delay: Duration) {
        self.lock().failures = Failures::new(count, status, delay);
    }

    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.events.clear();
        for rows in inner.sheets.values_mut() {
            rows.clear();
        }
        inner.tokens.clear();
        inner.token_requests = 0;
        inner.failures = Failures::default();
    }

    pub fn router(self) -> Router {
        Router::new()
            .route("/token", post(token::exchange))
            .route(
                "/calendar/v3/calendars/{calendar}/events",
                post(calendar::insert).get(calendar::list),
            )
            .route(
                "/calendar/v3/calendars/{calendar}/events/{event}",
                get(calendar::get).patch(calendar::patch),
            )
            .route(
                "/v4/spreadsheets/{spreadsheet}/values/{range}",
                get(sheets::read).put(sheets::update).post(sheets::append),
            )
            .route("/", get(pages::page))
            .route("/_emulator/fail", post(fail))
            .route("/_emulator/stats", get(stats))
            .route("/_emulator/reset", post(reset))
            .with_state(self)
    }

    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// A failure on demand, if one is due: the answer to give.
    async fn failure(&self) -> Option<Response> {
        let due = self.lock().failures.take();
        let (status, delay) = due?;
        tokio::time::sleep(delay).await;
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = google_error(status, "backendError", "Backend Error").into_response();
        if status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        Some(response)
    }

    /// What every API call goes through first: a failure on demand, then the token.
    async fn admit(&self, headers: &HeaderMap, scope: &str) -> Result<(), Response> {
        if let Some(failure) = self.failure().await {
            return Err(failure);
        }
        self.authorize(headers, scope)
    }

    /// The caller's token, if the emulator issued it, it is live and has `scope`.
    fn authorize(&self, headers: &HeaderMap, scope: &str) -> Result<(), Response> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let inner = self.lock();
        match inner.tokens.get(token) {
            Some(issued) if issued.expires_at > Utc::now() => {
                if issued.scopes.iter().any(|s| s == scope) {
                    Ok(())
                } else {
                    Err(google_error(
                        StatusCode::FORBIDDEN,
                        "insufficientPermissions",
                        "Request had insufficient authentication scopes.",
                    ))
                }
            }
            _ => Err(google_error(
                StatusCode::UNAUTHORIZED,
                "authError",
                "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
            )),
        }
    }
}

/// Google's API error body.
pub(crate) fn google_error(status: StatusCode, reason: &str, message: &str) -> Response {
    let code = status.as_u16();
    let status_name = match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    (
        status,
        Json(json!({
            "error": {
                "code": code,
                "message": message,
                "errors": [{ "message": message, "domain": "global", "reason": reason }],
                "status": status_name,
            }
        })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct Fail {
    status: u16,
    count: u32,
    #[serde(default)]
    delay_ms: u64,
}

async fn fail(State(google): State<Google>, Json(f): Json<Fail>) -> StatusCode {
    google.fail_next(f.count, f.status, Duration::from_millis(f.delay_ms));
    StatusCode::NO_CONTENT
}

async fn stats(State(google): State<Google>) -> Json<Value> {
    Json(json!({ "token_requests": google.token_requests() }))
}

async fn reset(State(google): State<Google>) -> StatusCode {
    google.reset();
    StatusCode::NO_CONTENT
}
