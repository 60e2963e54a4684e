//! The API's configuration, read once from the environment (see the README).

use std::{net::SocketAddr, time::Duration};

use config::{SettingsError, TemporalSettings, env_or, env_required};
use domain::DispatchPolicy;

use crate::{auth::AuthSettings, storage::StorageSettings};

#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// `API_BIND`, default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `DATABASE_POOL_SIZE`.
    pub database_pool_size: usize,
    pub temporal: TemporalSettings,
    /// `TEMPORAL_QUERY_TIMEOUT_MS`: how long a live view waits for the workflow; a query
    /// with no worker running would otherwise hang.
    pub query_timeout: Duration,
    /// `TEMPORAL_UPDATE_TIMEOUT_MS`: how long a command (answer, coordinate, reassign,
    /// cancel) waits for its outcome before answering `202` with where to look.
    pub update_timeout: Duration,
    /// `VET_FOLLOWUP_DELAY_SECS` and `VET_MAX_FOLLOWUPS`: production defaults of the
    /// policy handed to each new workflow.
    pub dispatch: DispatchPolicy,
    pub auth: AuthSettings,
    /// Where uploaded files go (see [`StorageSettings`]).
    pub storage: StorageSettings,
    /// `STUDY_FILE_MAX_BYTES`, default 20 MiB: the largest study file accepted.
    pub study_file_max_bytes: usize,
    /// `BOOKING_MIN_NOTICE_MINUTES` (default 120) and `BOOKING_HORIZON_DAYS` (default 60):
    /// a wanted window starts at least this far ahead and ends within the horizon.
    pub booking: BookingRules,
    /// `OUTBOX_INTERVAL_SECS`, default 5: how often workflows not yet started (Temporal
    /// was unreachable at checkout) are started.
    pub outbox_interval: Duration,
    /// `OFFER_LINK_SECRET`: checks the signed offer links the worker sends vets.
    pub offer_link_secret: config::Secret,
    /// `MP_*`: the API fetches a notified payment to learn its request.
    pub mercadopago: integrations::mercadopago::MercadoPagoSettings,
    /// `MERCATELY_*`: the API sends one message itself, an owner's verification code.
    pub mercately: integrations::mercately::MercatelySettings,
    /// `SMTP_*`, `EMAIL_FROM`: the API sends one email itself, the welcome of an owner
    /// whose login staff created.
    pub email: integrations::email::EmailSettings,
    /// `PUBLIC_BASE_URL`: the API's public address, for the links in that email.
    pub public_base_url: String,
    /// `MP_WEBHOOK_SECRET`: checks MercadoPago's `x-signature`.
    pub mp_webhook_secret: config::Secret,
    /// `MP_WEBHOOK_MAX_AGE_SECS`: a signed notification older than this is refused.
    pub mp_webhook_max_age: Duration,
    /// `TRUSTED_PROXIES`: whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::client_ip::TrustedProxies,
    /// `RATE_LIMIT_*`: requests per minute per client address.
    pub rate_limits: crate::limits::RateLimits,
    /// `API_MAX_CONNECTIONS`, `API_HEADER_READ_TIMEOUT_SECS`.
    pub connections: crate::server::ConnectionLimits,
    /// `API_METRICS_BIND`: where `GET /metrics` is served (unset: nowhere). Never the
    /// public address: bind it to an internal interface.
    pub metrics_bind: Option<SocketAddr>,
    /// `AFIP_*`: the issuing taxpayer, as printed receipts show it (unset: invoicing off).
    pub afip: Option<integrations::afip::AfipSettings>,
}

/// When a visit may be booked.
#[derive(Debug, Clone, Copy)]
pub struct BookingRules {
    pub min_notice: chrono::Duration,
    pub horizon: chrono::Duration,
    /// `CART_MAX_ITEMS` (default 10): items one cart may hold.
    pub max_cart_items: i64,
    /// `OWNER_MAX_UNPAID_REQUESTS` (default 5): an owner's requests waiting for a vet, a
    /// time or a payment at once; checkout refuses more.
    pub max_unpaid_requests: i64,
    /// `OWNER_MAX_CHECKOUTS_PER_HOUR` (default 3).
    pub max_checkouts_per_hour: i64,
    /// `CHECKOUT_REQUIRES_VERIFIED_PHONE` (default `true`): an owner checks out only from
    /// a WhatsApp number proven with a code (`POST /api/v1/me/phone/code`).
    pub require_verified_phone: bool,
}

impl ApiSettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        let defaults = DispatchPolicy::default();
        let settings = Self {
            bind: env_or("API_BIND", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            database_url: env_required("DATABASE_URL")?,
            database_pool_size: env_or("DATABASE_POOL_SIZE", 10)?,
            temporal: TemporalSettings::from_env()?,
            query_timeout: Duration::from_millis(env_or("TEMPORAL_QUERY_TIMEOUT_MS", 3000)?),
            update_timeout: Duration::from_millis(env_or("TEMPORAL_UPDATE_TIMEOUT_MS", 15_000)?),
            dispatch: DispatchPolicy {
                vet_followup_delay_secs: env_or(
                    "VET_FOLLOWUP_DELAY_SECS",
                    defaults.vet_followup_delay_secs,
                )?,
                vet_max_followups: env_or("VET_MAX_FOLLOWUPS", defaults.vet_max_followups)?,
                offer_batch_size: env_or("OFFER_BATCH_SIZE", defaults.offer_batch_size)?,
                payment_deadline_secs: env_or(
                    "PAYMENT_DEADLINE_SECS",
                    defaults.payment_deadline_secs,
                )?,
                payment_reminder_secs: env_or(
                    "PAYMENT_REMINDER_SECS",
                    defaults.payment_reminder_secs,
                )?,
                coordinate_reminder_secs: env_or(
                    "COORDINATE_REMINDER_SECS",
                    defaults.coordinate_reminder_secs,
                )?,
                coordinate_max_reminders: env_or(
                    "COORDINATE_MAX_REMINDERS",
                    defaults.coordinate_max_reminders,
                )?,
                completion_grace_secs: env_or(
                    "COMPLETION_GRACE_SECS",
                    defaults.completion_grace_secs,
                )?,
                report_reminder_secs: env_or(
                    "REPORT_REMINDER_SECS",
                    defaults.report_reminder_secs,
                )?,
                report_max_reminders: env_or(
                    "REPORT_MAX_REMINDERS",
                    defaults.report_max_reminders,
                )?,
                report_deadline_secs: env_or(
                    "REPORT_DEADLINE_SECS",
                    defaults.report_deadline_secs,
                )?,
                report_give_up_secs: env_or("REPORT_GIVE_UP_SECS", defaults.report_give_up_secs)?,
                no_show_refund: no_show_refund()?,
                history_events: env_or("DISPATCH_HISTORY_EVENTS", defaults.history_events)?,
            },
            auth: auth_from_env()?,
            storage: StorageSettings::from_env()?,
            study_file_max_bytes: env_or("STUDY_FILE_MAX_BYTES", 20 * 1024 * 1024)?,
            booking: BookingRules {
                min_notice: chrono::Duration::minutes(env_or("BOOKING_MIN_NOTICE_MINUTES", 120)?),
                horizon: chrono::Duration::days(env_or("BOOKING_HORIZON_DAYS", 60)?),
                max_cart_items: env_or("CART_MAX_ITEMS", 10)?,
                max_unpaid_requests: env_or("OWNER_MAX_UNPAID_REQUESTS", 5)?,
                max_checkouts_per_hour: env_or("OWNER_MAX_CHECKOUTS_PER_HOUR", 3)?,
                require_verified_phone: env_or("CHECKOUT_REQUIRES_VERIFIED_PHONE", true)?,
            },
            outbox_interval: Duration::from_secs(env_or("OUTBOX_INTERVAL_SECS", 5)?),
            offer_link_secret: config::env_secret("OFFER_LINK_SECRET")?,
            mercadopago: integrations::mercadopago::MercadoPagoSettings::from_env()?,
            mercately: integrations::mercately::MercatelySettings::from_env()?,
            email: integrations::email::EmailSettings::from_env()?,
            public_base_url: env_or("PUBLIC_BASE_URL", "http://127.0.0.1:8080".to_owned())?,
            mp_webhook_secret: mp_webhook_secret()?,
            mp_webhook_max_age: Duration::from_secs(env_or("MP_WEBHOOK_MAX_AGE_SECS", 900)?),
            trusted_proxies: crate::client_ip::TrustedProxies::from_env()?,
            rate_limits: crate::limits::RateLimits::from_env()?,
            connections: crate::server::ConnectionLimits::from_env()?,
            metrics_bind: match std::env::var("API_METRICS_BIND") {
                Ok(raw) if !raw.trim().is_empty() => Some(env_required("API_METRICS_BIND")?),
                _ => None,
            },
            afip: integrations::afip::AfipSettings::from_env()?,
        };
        settings
            .dispatch
            .validate()
            .map_err(|e| SettingsError::Invalid {
                name: e.name,
                value: std::env::var(e.name).unwrap_or_default(),
                reason: e.reason,
            })?;
        if settings.update_timeout >= crate::REQUEST_TIMEOUT {
            return Err(SettingsError::Invalid {
                name: "TEMPORAL_UPDATE_TIMEOUT_MS",
                value: settings.update_timeout.as_millis().to_string(),
                reason: format!(
                    "must be under the {} s every request is cut off at, so that a command \
                     without an outcome answers 202 rather than a bare 504",
                    crate::REQUEST_TIMEOUT.as_secs()
                ),
            });
        }
        Ok(settings)
    }
}

fn mp_webhook_secret() -> Result<config::Secret, SettingsError> {
    config::env_credential("MP_WEBHOOK_SECRET", "sandbox-mp-webhook-secret")
}

/// `NO_SHOW_PAYMENT`: what a no-show does with the payment, `keep` (the default: the
/// visit's fee) or `refund`.
fn no_show_refund() -> Result<bool, SettingsError> {
    match env_or("NO_SHOW_PAYMENT", "keep".to_owned())?.trim() {
        "keep" => Ok(false),
        "refund" => Ok(true),
        other => Err(SettingsError::Invalid {
            name: "NO_SHOW_PAYMENT",
            value: other.to_owned(),
            reason: "must be `keep` or `refund`".into(),
        }),
    }
}

fn auth_from_env() -> Result<AuthSettings, SettingsError> {
    Ok(AuthSettings {
        secret: config::env_secret("JWT_SECRET")?.as_bytes().to_vec(),
        issuer: env_or("JWT_ISSUER", "amar-mascotas".to_owned())?,
        audience: env_or("JWT_AUDIENCE", "amar-mascotas-api".to_owned())?,
        access_ttl: Duration::from_secs(env_or("ACCESS_TOKEN_TTL_SECS", 15 * 60)?),
        refresh_ttl: Duration::from_secs(env_or("REFRESH_TOKEN_TTL_SECS", 30 * 24 * 60 * 60)?),
        max_failures_per_account: env_or("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5)?,
        max_failures_per_address: env_or("LOGIN_MAX_FAILURES_PER_ADDRESS", 20)?,
        login_window: Duration::from_secs(env_or("LOGIN_WINDOW_SECS", 15 * 60)?),
    })
}
