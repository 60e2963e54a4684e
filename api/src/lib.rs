//! The AMAR Mascotas HTTP API. Thin: it validates and authorizes, reads PostgreSQL, and
//! starts, updates and queries workflows; workflows own every state change.

pub mod afip_csr;
pub mod auth;
pub mod booking;
pub mod client_ip;
pub mod db_errors;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod limits;
pub mod metrics;
pub mod outbox;
pub mod payment_news;
pub mod routes;
pub mod seed;
pub mod server;
pub mod settings;
pub mod sign_in_throttle;
pub mod storage;
pub mod uploads;
pub mod vet_directory;
pub mod workflow_client;

/// Every request is cut off after this long (`504`).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

use std::sync::Arc;

use axum::Router;
use temporalio_client::Client;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

pub use error::{ApiError, FieldError};

/// For PATCH bodies: a present field (even `null`) is `Some`, an absent one `None`
/// (with `#[serde(default)]`).
pub(crate) fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
pub use settings::ApiSettings;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub pool: db::Pool,
    pub temporal: Client,
    pub settings: Arc<ApiSettings>,
    pub storage: storage::Storage,
    /// Fetches notified payments (webhook hand-over).
    pub mercadopago: integrations::mercadopago::MercadoPagoClient,
    /// Sends owners their phone verification codes.
    pub whatsapp: integrations::mercately::MercatelyClient,
    /// Sends the welcome of an owner whose login staff created.
    pub mailer: integrations::email::SmtpMailer,
    /// The vets and their coverage, searched in memory (never stale: see the module).
    pub vets: Arc<vet_directory::VetDirectory>,
}

/// The API sends its one email (a welcome) while staff wait for the answer: at most
/// [`WELCOME_SEND_TIMEOUT`], well inside the request's [`REQUEST_TIMEOUT`] with the
/// ledger's writes around it. A welcome that did not leave in time says so, and staff
/// send it again.
fn welcome_mail_settings(
    email: &integrations::email::EmailSettings,
) -> integrations::email::EmailSettings {
    let mut email = email.clone();
    email.send_timeout = email.send_timeout.min(WELCOME_SEND_TIMEOUT);
    email
}

/// See [`welcome_mail_settings`].
const WELCOME_SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let max_file_bytes = state.settings.study_file_max_bytes;
    let limits = state.settings.rate_limits;
    let in_flight = state.settings.connections.max_requests_per_client;
    let trusted = Arc::new(state.settings.trusted_proxies.clone());
    let x_request_id = axum::http::HeaderName::from_static("x-request-id");
    let api = routes::requests::router(&limits)
        .merge(routes::auth::router(
            &limits,
            state.settings.database_pool_size,
        ))
        .merge(routes::owners::router())
        .merge(routes::owner_logins::router())
        .merge(routes::pets::router())
        .merge(routes::breeds::router())
        .merge(routes::vaccines::router())
        .merge(routes::vets::router())
        .merge(routes::vet_schedule::router())
        .merge(routes::vet_agenda::router())
        .merge(routes::dashboards::router())
        .merge(routes::book::router())
        .merge(routes::catalog::router())
        .merge(routes::reference::router())
        .merge(routes::studies::router(max_file_bytes))
        .merge(routes::visits::router(max_file_bytes))
        .merge(routes::invoices::router())
        .merge(routes::pricing::router())
        .merge(routes::cart::router(&limits))
        .merge(routes::payments::router(&limits))
        .merge(routes::phone_codes::router(&limits));
    let api = limits::limit(api, "requests", limits.general)
        // Answers are personal or live: no browser or proxy keeps a copy.
        .layer(security_header("cache-control", "no-store"));
    Router::new()
        .merge(routes::health::router())
        .merge(routes::docs::router())
        .nest("/api/v1", api)
        .with_state(state)
        // Every answer: no content-type sniffing, never framed (the offer and payment
        // pages cannot be clickjacked), no referrer leaving with a signed link, and
        // pages that load only our own scripts and post only to us.
        .layer(security_header("x-content-type-options", "nosniff"))
        .layer(security_header("x-frame-options", "DENY"))
        .layer(security_header(
            "content-security-policy",
            CONTENT_SECURITY_POLICY,
        ))
        .layer(security_header("referrer-policy", "no-referrer"))
        // One client's requests in flight at once.
        .layer(axum::middleware::from_fn_with_state(
            limits::InFlight::new(in_flight),
            limits::in_flight,
        ))
        // Before any limit: who is calling (behind our proxies, whom they forwarded).
        .layer(axum::middleware::from_fn_with_state(
            trusted,
            client_ip::resolve,
        ))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http())
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::GATEWAY_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}

/// Connects to PostgreSQL and Temporal, then serves until `shutdown` resolves.
pub async fn serve(
    settings: ApiSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = server::bind(settings.bind)?;
    serve_on(listener, settings, shutdown).await
}

/// As [`serve`], on a listener the caller bound (tests bind port 0).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    settings: ApiSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let pool = db::pool(&settings.database_url, settings.database_pool_size)?;
    let temporal = settings.temporal.connect().await?;
    let storage = storage::Storage::open(&settings.storage)?;
    let mercadopago =
        integrations::mercadopago::MercadoPagoClient::new(settings.mercadopago.clone())?;
    let whatsapp = integrations::mercately::MercatelyClient::new(settings.mercately.clone())?;
    let state = AppState {
        pool,
        temporal,
        storage,
        mercadopago,
        whatsapp,
        mailer: integrations::email::SmtpMailer::new(welcome_mail_settings(&settings.email)),
        vets: Arc::default(),
        settings: Arc::new(settings),
    };
    let outbox = tokio::spawn(outbox::run(state.clone(), state.settings.outbox_interval));
    let housekeeping = tokio::spawn(housekeeping(state.pool.clone()));
    let metrics = match state.settings.metrics_bind {
        Some(bind) => {
            let listener = server::bind(bind)?;
            tracing::info!(addr = %listener.local_addr()?, "metrics listening");
            let router = metrics::router(state.pool.clone());
            Some(tokio::spawn(async move {
                let _ = axum::serve(listener, router).await;
            }))
        }
        None => None,
    };
    tracing::info!(addr = %listener.local_addr()?, "api listening");
    let limits = state.settings.connections;
    let served = server::serve(listener, router(state), limits, shutdown).await;
    outbox.abort();
    housekeeping.abort();
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    Ok(served?)
}

/// Every hour, forgets old sign-in attempts and processed webhooks
/// ([`db::housekeeping`]), a batch at a time until none is left.
async fn housekeeping(pool: db::Pool) {
    let hour = std::time::Duration::from_secs(3600);
    // The first pass an hour after start: nothing at start-up competes with serving.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + hour, hour);
    loop {
        tick.tick().await;
        loop {
            let pass = async {
                let mut conn = db::conn(&pool).await?;
                Ok::<_, anyhow::Error>(
                    db::housekeeping::prune(&mut conn, chrono::Utc::now()).await?,
                )
            };
            match pass.await {
                Ok(pruned) => {
                    if pruned.login_attempts > 0 || pruned.webhook_events > 0 {
                        tracing::info!(?pruned, "housekeeping");
                    }
                    let batch = db::housekeeping::BATCH as usize;
                    if pruned.login_attempts < batch && pruned.webhook_events < batch {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "housekeeping failed; trying again in an hour");
                    break;
                }
            }
        }
    }
}

/// The pages (offer answers, payment results, the API docs) run no inline script, load
/// nothing from elsewhere, and post only to the API. Swagger UI needs inline styles and
/// `data:` images.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn security_header(
    name: &'static str,
    value: &'static str,
) -> tower_http::set_header::SetResponseHeaderLayer<axum::http::HeaderValue> {
    tower_http::set_header::SetResponseHeaderLayer::if_not_present(
        axum::http::HeaderName::from_static(name),
        axum::http::HeaderValue::from_static(value),
    )
}
