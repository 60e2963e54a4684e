//! Rate limits per client address ([`ClientIp`]) and per route group, with
//! `tower_governor` (GCRA: a client may spend its whole minute's allowance at once, then
//! gets it back evenly). Over the limit: `429` `application/problem+json` with
//! `Retry-After`. The groups are the work an anonymous caller can make us do: sign-in
//! and account links (a password hash each), offer links (a workflow update each),
//! webhooks (a provider call each), checkout (WhatsApp messages to vets), and a wide
//! limit on everything else.

use std::{sync::Arc, time::Duration};

use axum::{body::Body, http::Request, response::IntoResponse};
use config::{SettingsError, env_or};
use tower_governor::{
    GovernorError, GovernorLayer, governor::GovernorConfigBuilder, key_extractor::KeyExtractor,
};

use crate::{ApiError, client_ip::ClientIp};

/// Requests per minute per client address, by group; `0` turns a group's limit off.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// `RATE_LIMIT_AUTH_PER_MIN`, default 10: register, login, refresh, set-password.
    pub auth: u32,
    /// `RATE_LIMIT_OFFERS_PER_MIN`, default 30: the offer links vets open and press.
    pub offers: u32,
    /// `RATE_LIMIT_WEBHOOKS_PER_MIN`, default 600: MercadoPago's notifications.
    pub webhooks: u32,
    /// `RATE_LIMIT_CHECKOUT_PER_MIN`, default 5: checkouts (each asks vets on WhatsApp).
    pub checkout: u32,
    /// `RATE_LIMIT_PER_MIN`, default 600: every other `/api/v1` route.
    pub general: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            auth: 10,
            offers: 30,
            webhooks: 600,
            checkout: 5,
            general: 600,
        }
    }
}

impl RateLimits {
    pub fn from_env() -> Result<Self, SettingsError> {
        let d = Self::default();
        Ok(Self {
            auth: env_or("RATE_LIMIT_AUTH_PER_MIN", d.auth)?,
            offers: env_or("RATE_LIMIT_OFFERS_PER_MIN", d.offers)?,
            webhooks: env_or("RATE_LIMIT_WEBHOOKS_PER_MIN", d.webhooks)?,
            checkout: env_or("RATE_LIMIT_CHECKOUT_PER_MIN", d.checkout)?,
            general: env_or("RATE_LIMIT_PER_MIN", d.general)?,
        })
    }

    /// No limits (tests that are not about them).
    pub fn off() -> Self {
        Self {
            auth: 0,
            offers: 0,
            webhooks: 0,
            checkout: 0,
            general: 0,
        }
    }
}

/// Keys a limit on the client's address, as [`crate::client_ip::resolve`] found it.
#[derive(Debug, Clone, Copy)]
pub struct ClientKey;

impl KeyExtractor for ClientKey {
    type Key = std::net::IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, GovernorError> {
        req.extensions()
            .get::<ClientIp>()
            .map(|ClientIp(ip)| *ip)
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

/// `router` with the limit of `group` (`per_minute`; `0`: none) on each of its routes.
pub fn limit(
    router: axum::Router<crate::AppState>,
    group: &'static str,
    per_minute: u32,
) -> axum::Router<crate::AppState> {
    match layer(group, per_minute) {
        Some(layer) => router.layer(layer),
        None => router,
    }
}

/// `router` with at most `at_once` of its requests handled at a time, across every
/// client: the rest wait their turn up to 5 s, then get `429`. Sign-in and account
/// links use it so that a flood of them, however spread over addresses, never holds
/// more than its share of the database pool and leaves signed-in people served.
///
/// A turn is taken only once the request's body is in (at most [`SMALL_BODY`] bytes,
/// within [`BODY_WAIT`]): a client dripping its body holds no turn.
pub fn at_most(
    router: axum::Router<crate::AppState>,
    group: &'static str,
    at_once: usize,
) -> axum::Router<crate::AppState> {
    let permits = Arc::new(tokio::sync::Semaphore::new(at_once.max(1)));
    router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let permits = permits.clone();
            async move {
                let (parts, body) = request.into_parts();
                let read =
                    tokio::time::timeout(BODY_WAIT, axum::body::to_bytes(body, SMALL_BODY)).await;
                let body = match read {
                    Ok(Ok(bytes)) => bytes,
                    Ok(Err(_)) => {
                        return ApiError::BadRequest {
                            status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                            detail: format!("the body is over {SMALL_BODY} bytes"),
                        }
                        .into_response();
                    }
                    Err(_) => {
                        return ApiError::BadRequest {
                            status: axum::http::StatusCode::REQUEST_TIMEOUT,
                            detail: format!(
                                "the body did not arrive within {} s",
                                BODY_WAIT.as_secs()
                            ),
                        }
                        .into_response();
                    }
                };
                let request = Request::from_parts(parts, axum::body::Body::from(body));
                let Ok(Ok(_turn)) =
                    tokio::time::timeout(Duration::from_secs(5), permits.acquire_owned()).await
                else {
                    return ApiError::TooManyRequests {
                        detail: format!("too many {group} requests at once; try again in a moment"),
                        retry_after_secs: 1,
                    }
                    .into_response();
                };
                next.run(request).await
            }
        },
    ))
}

/// The largest body a request under [`at_most`] may send (sign-in forms are tiny).
pub const SMALL_BODY: usize = 16 * 1024;
/// How long such a body may take to arrive.
pub const BODY_WAIT: Duration = Duration::from_secs(5);

/// The limiter of one group, as a layer: `per_minute` requests per client address (all
/// at once if it likes), refilled evenly over the minute. `None` when `0`.
pub fn layer(
    group: &'static str,
    per_minute: u32,
) -> Option<GovernorLayer<ClientKey, governor::middleware::NoOpMiddleware, Body>> {
    if per_minute == 0 {
        return None;
    }
    let config = GovernorConfigBuilder::default()
        .key_extractor(ClientKey)
        .period(Duration::from_secs(60) / per_minute)
        .burst_size(per_minute)
        .finish()
        .expect("a positive period and burst");
    let config = Arc::new(config);
    // Forget clients whose allowance is full again, so the table does not grow with
    // every address ever seen.
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let weak = Arc::downgrade(&config);
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                let Some(config) = weak.upgrade() else { break };
                config.limiter().retain_recent();
                config.limiter().shrink_to_fit();
            }
        });
    }
    Some(GovernorLayer::new(config).error_handler(move |error| {
        match error {
            GovernorError::TooManyRequests { wait_time, .. } => ApiError::TooManyRequests {
                detail: format!(
                    "too many requests of this kind ({group}) from your address; try again \
                     in {} s",
                    wait_time.max(1)
                ),
                retry_after_secs: wait_time.max(1),
            }
            .into_response(),
            other => ApiError::Internal(anyhow::anyhow!("rate limit: {other}")).into_response(),
        }
    }))
}

/// Requests of one client address in flight at once, across every route: past it,
/// `429` at once. The connection cap is for everyone; this keeps one client (one
/// address, or one IPv6 /64) from filling it with slow requests.
#[derive(Debug, Clone)]
pub struct InFlight {
    max: usize,
    counts: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
}

impl InFlight {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            counts: Arc::default(),
        }
    }

    /// A turn for `client`, given back when dropped; `None` when it has `max` already.
    fn enter(&self, client: std::net::IpAddr) -> Option<InFlightTurn> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(client).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(InFlightTurn {
            counts: self.counts.clone(),
            client,
        })
    }
}

struct InFlightTurn {
    counts: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
    client: std::net::IpAddr,
}

impl Drop for InFlightTurn {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

/// Middleware: [`InFlight`] for the request's [`ClientIp`] (`0`: no cap).
pub async fn in_flight(
    axum::extract::State(limit): axum::extract::State<InFlight>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if limit.max == 0 {
        return next.run(request).await;
    }
    let Some(ClientIp(client)) = request.extensions().get::<ClientIp>().copied() else {
        return next.run(request).await;
    };
    let Some(_turn) = limit.enter(client) else {
        return ApiError::TooManyRequests {
            detail: format!(
                "{} requests of yours are still being answered; wait for them",
                limit.max
            ),
            retry_after_secs: 1,
        }
        .into_response();
    };
    next.run(request).await
}
