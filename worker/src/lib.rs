//! The worker: polls the service-request task queue and runs workflows and activities.
//! Shared by the binary and the end-to-end tests, which run it in-process.

pub mod health;
pub mod schedules;

use std::future::Future;

use activities::{
    RequestActivities,
    dispatch::{DispatchActivities, OfferLinks},
    invoices::InvoiceActivities,
    payments::{PaymentActivities, PaymentLinks},
    reminders::ReminderActivities,
    visit_records::VisitRecordsActivities,
};
use config::{SettingsError, TemporalSettings, env_or, env_required};
use integrations::{
    afip::AfipSettings,
    email::{EmailSettings, SmtpMailer},
    google::{GoogleClient, GoogleSettings},
    mercadopago::{MercadoPagoClient, MercadoPagoSettings},
    mercately::{MercatelyClient, MercatelySettings},
};
use temporalio_sdk::{Worker, WorkerOptions};
use workflows::{
    AfipCheckWorkflow, InvoiceIssuerWorkflow, LatePaymentWorkflow, ServiceRequestWorkflow,
    VaccineRemindersWorkflow, VisitRecordsWorkflow, vaccine_reminders::VaccineRemindersInput,
};

/// The worker's configuration, read once from the environment.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `DATABASE_POOL_SIZE`, connections the activities may hold at once.
    pub database_pool_size: usize,
    pub temporal: TemporalSettings,
    /// `MERCATELY_*`: where WhatsApp messages go.
    pub mercately: MercatelySettings,
    /// `SMTP_*`, `EMAIL_FROM`: where emails go.
    pub email: EmailSettings,
    /// `GOOGLE_*`: the visits' calendar events and sheet rows.
    pub google: GoogleSettings,
    /// `OFFER_LINK_SECRET`, `PUBLIC_BASE_URL`: the offer links in those messages.
    pub links: OfferLinks,
    /// `STAFF_ALERT_PHONE`: staff's WhatsApp for alerts (unset: alerts are only logged).
    pub staff_alert_phone: Option<String>,
    /// `STAFF_ALERT_EMAIL`: staff's mailbox for the same alerts (unset: none by email).
    pub staff_alert_email: Option<String>,
    /// `MP_*`: payments.
    pub mercadopago: MercadoPagoSettings,
    /// `VET_MAX_OFFERS_PER_HOUR` (default 10; `0`: no cap): a vet who was sent this many
    /// offers in the last hour is left out when a request's candidates are chosen.
    pub vet_max_offers_per_hour: u32,
    /// `WORKER_METRICS_BIND`: where the Temporal SDK's Prometheus metrics are served
    /// (`GET /metrics`; unset: nowhere). An internal interface, never a public one.
    pub metrics_bind: Option<std::net::SocketAddr>,
    /// `WORKER_HEALTH_BIND`: where `/healthz` and `/readyz` are served (unset: nowhere).
    pub health_bind: Option<std::net::SocketAddr>,
    /// `WORKER_DEPLOYMENT_NAME` and `WORKER_BUILD_ID`: with a name, the worker opts in to
    /// Worker Deployment Versioning as that deployment's version `WORKER_BUILD_ID`
    /// (default: a hash of the binary) and takes only the tasks Temporal routes to it;
    /// unset, it is unversioned (`make run`, the tests). See `docs/OPERATIONS.md`.
    pub deployment: Option<Deployment>,
    /// The daily vaccine reminders' schedule (`VACCINE_REMINDERS=off`: none).
    pub vaccine_reminders: Option<VaccineReminders>,
    /// `AFIP_*`: the issuing taxpayer (unset in production, or `AFIP=off`: no invoices).
    pub afip: Option<AfipSettings>,
    /// `AFIP_DAILY_CHECK` (`on`, the default, or `off`): the daily schedule that checks
    /// the certificate and points of sale (the tests share one server, so they go without).
    pub afip_daily_check: bool,
    /// `WORKER_MAX_CACHED_WORKFLOWS` (default 1000, the SDK's): how many workflows the
    /// worker keeps in memory between their tasks (the sticky cache). A workflow not in
    /// the cache is rebuilt from its history on its next task; `docs/PERFORMANCE.md`
    /// measures memory against this.
    pub max_cached_workflows: usize,
}

/// When and what the daily vaccine reminders send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaccineReminders {
    /// The schedule's id ([`schedules::ID`]; tests use their own).
    pub schedule_id: String,
    /// `VACCINE_REMINDER_HOUR` (default 9): the local hour of the daily run, 0 to 23.
    pub hour: u8,
    /// `VACCINE_REMINDER_HORIZON_DAYS` (default 14): doses due this many days ahead, 1 to 90.
    pub horizon_days: u32,
    /// `VACCINATION_SERVICE_CODE` (default `VACUNA`): what the reminder's link books.
    pub service_code: String,
}

impl VaccineReminders {
    fn from_env() -> Result<Option<Self>, SettingsError> {
        let on: String = env_or("VACCINE_REMINDERS", "on".to_owned())?;
        match on.trim() {
            "on" => {}
            "off" => return Ok(None),
            other => {
                return Err(SettingsError::Invalid {
                    name: "VACCINE_REMINDERS",
                    value: other.to_owned(),
                    reason: "must be `on` or `off`".into(),
                });
            }
        }
        let hour: u8 = env_or("VACCINE_REMINDER_HOUR", 9)?;
        if hour > 23 {
            return Err(SettingsError::Invalid {
                name: "VACCINE_REMINDER_HOUR",
                value: hour.to_string(),
                reason: "must be 0 to 23".into(),
            });
        }
        let horizon_days: u32 = env_or("VACCINE_REMINDER_HORIZON_DAYS", 14)?;
        if !(1..=90).contains(&horizon_days) {
            return Err(SettingsError::Invalid {
                name: "VACCINE_REMINDER_HORIZON_DAYS",
                value: horizon_days.to_string(),
                reason: "must be 1 to 90".into(),
            });
        }
        Ok(Some(Self {
            schedule_id: schedules::ID.to_owned(),
            hour,
            horizon_days,
            service_code: env_or("VACCINATION_SERVICE_CODE", "VACUNA".to_owned())?,
        }))
    }

    /// What each run starts with.
    pub fn input(&self) -> VaccineRemindersInput {
        VaccineRemindersInput {
            horizon_days: self.horizon_days,
            service_code: self.service_code.clone(),
        }
    }
}

/// A worker's place among the deployment's versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub name: String,
    pub build_id: String,
}

impl Deployment {
    fn from_env() -> Result<Option<Self>, SettingsError> {
        let name: String = env_or("WORKER_DEPLOYMENT_NAME", String::new())?;
        if name.trim().is_empty() {
            return Ok(None);
        }
        let build_id = env_or(
            "WORKER_BUILD_ID",
            temporalio_common::worker::build_id_from_current_exe().to_owned(),
        )?;
        Ok(Some(Self {
            name: name.trim().to_owned(),
            build_id,
        }))
    }

    /// Versioned, and every workflow type auto-upgrading: a request in flight moves to
    /// the current version at its next workflow task, which the patches make safe (the
    /// Rust SDK 1.1 sets the behaviour per worker, not per workflow type).
    fn options(&self) -> temporalio_common::worker::WorkerDeploymentOptions {
        use temporalio_common::worker::{
            VersioningBehavior, WorkerDeploymentOptions, WorkerDeploymentVersion,
        };
        WorkerDeploymentOptions::new(
            WorkerDeploymentVersion::builder()
                .deployment_name(self.name.clone())
                .build_id(self.build_id.clone())
                .build(),
        )
        .use_worker_versioning(true)
        .default_versioning_behavior(VersioningBehavior::AutoUpgrade)
        .build()
    }
}

impl WorkerSettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        let settings = Self {
            database_url: env_required("DATABASE_URL")?,
            database_pool_size: env_or("DATABASE_POOL_SIZE", 10)?,
            temporal: TemporalSettings::from_env()?,
            mercately: MercatelySettings::from_env()?,
            email: EmailSettings::from_env()?,
            google: GoogleSettings::from_env()?,
            links: OfferLinks::from_env()?,
            staff_alert_phone: Some(env_or("STAFF_ALERT_PHONE", String::new())?)
                .filter(|p| !p.is_empty()),
            staff_alert_email: Some(env_or("STAFF_ALERT_EMAIL", String::new())?)
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty()),
            mercadopago: MercadoPagoSettings::from_env()?,
            vet_max_offers_per_hour: env_or("VET_MAX_OFFERS_PER_HOUR", 10)?,
            metrics_bind: match std::env::var("WORKER_METRICS_BIND") {
                Ok(raw) if !raw.trim().is_empty() => Some(env_required("WORKER_METRICS_BIND")?),
                _ => None,
            },
            health_bind: match std::env::var("WORKER_HEALTH_BIND") {
                Ok(raw) if !raw.trim().is_empty() => Some(env_required("WORKER_HEALTH_BIND")?),
                _ => None,
            },
            deployment: Deployment::from_env()?,
            vaccine_reminders: VaccineReminders::from_env()?,
            afip: AfipSettings::from_env()?,
            afip_daily_check: env_or("AFIP_DAILY_CHECK", "on".to_owned())?.trim() != "off",
            max_cached_workflows: env_or("WORKER_MAX_CACHED_WORKFLOWS", 1000)?,
        };
        check_attempt_budget(
            &settings.mercately,
            &settings.mercadopago,
            &settings.email,
            &settings.google,
        )?;
        Ok(settings)
    }
}

/// A provider activity's attempt is timed out after [`workflows::PROVIDER_ATTEMPT`]: a
/// client whose tries (timeout × attempts, backoff, two pool checkouts) could take longer
/// would be cut off mid-call and retried while its request is still in flight, so such
/// settings are refused at start-up.
fn check_attempt_budget(
    mercately: &MercatelySettings,
    mercadopago: &MercadoPagoSettings,
    email: &EmailSettings,
    google: &GoogleSettings,
) -> Result<(), SettingsError> {
    let room = workflows::PROVIDER_ATTEMPT.saturating_sub(db::POOL_WAIT * 2);
    let clients = [
        (
            "MERCATELY_TIMEOUT_MS",
            mercately.timeout,
            mercately.worst_case(),
        ),
        (
            "MP_TIMEOUT_MS",
            mercadopago.timeout,
            mercadopago.worst_case(),
        ),
        // An owner's notice goes on WhatsApp and by email at once.
        (
            "SMTP_SEND_TIMEOUT_MS",
            email.send_timeout,
            email.worst_case(),
        ),
        // One Google call, its token's included (a sync of several calls stops at its
        // attempt's end and goes on in the next).
        ("GOOGLE_TIMEOUT_MS", google.timeout, google.worst_case()),
    ];
    for (name, timeout, worst) in clients {
        if worst > room {
            return Err(SettingsError::Invalid {
                name,
                value: timeout.as_millis().to_string(),
                reason: format!(
                    "with its attempts a call may take {} s, more than the {} s an activity \
                     attempt may (lower the timeout or the *_MAX_ATTEMPTS)",
                    worst.as_secs(),
                    room.as_secs()
                ),
            });
        }
    }
    Ok(())
}

/// Runs the worker until `shutdown` resolves, then drains it gracefully: in-flight
/// activities finish, workflow tasks are handed back to the server.
///
/// The SDK's worker is not `Send`: call this on the main task or in a `LocalSet`.
pub async fn run(
    settings: &WorkerSettings,
    shutdown: impl Future<Output = ()> + 'static,
) -> anyhow::Result<()> {
    let pool = db::pool(&settings.database_url, settings.database_pool_size)?;
    let health_pool = pool.clone();
    let client = settings.temporal.connect().await?;
    // The SDK's own metrics (workflow task and activity latencies and failures, polls,
    // schedule-to-start, sticky cache) on WORKER_METRICS_BIND, when set.
    let mut telemetry = temporalio_common::telemetry::TelemetryOptions::builder().build();
    let _metrics = match settings.metrics_bind {
        Some(addr) => {
            let started = temporalio_common::telemetry::start_prometheus_metric_exporter(
                temporalio_common::telemetry::PrometheusExporterOptions::builder()
                    .socket_addr(addr)
                    .counters_total_suffix(true)
                    .use_seconds_for_durations(true)
                    .build(),
            )?;
            tracing::info!(addr = %started.bound_addr, "worker metrics listening");
            telemetry.metrics = Some(started.meter.clone());
            activities::install_metrics(started.meter.clone());
            Some(started)
        }
        None => None,
    };
    let runtime = temporalio_sdk::Runtime::from_current_tokio(
        temporalio_sdk::runtime::RuntimeOptions::builder()
            .telemetry_options(telemetry)
            .build()
            .map_err(anyhow::Error::msg)?,
    )?;
    if settings.google.key.is_none() {
        tracing::warn!(
            "no GOOGLE_SERVICE_ACCOUNT_KEY_FILE: confirmed visits get no calendar event and no sheet row"
        );
    }
    let mut options = WorkerOptions::new(settings.temporal.task_queue.clone())
        .register_workflow::<ServiceRequestWorkflow>()?
        .register_workflow::<LatePaymentWorkflow>()?
        .register_workflow::<VisitRecordsWorkflow>()?
        .register_workflow::<VaccineRemindersWorkflow>()?
        .register_workflow::<InvoiceIssuerWorkflow>()?
        .register_workflow::<AfipCheckWorkflow>()?
        .register_activities(
            InvoiceActivities::new(
                pool.clone(),
                settings.afip.clone(),
                SmtpMailer::new(settings.email.clone()),
                Some((client.clone(), settings.temporal.task_queue.clone())),
            )?
            .with_staff(
                MercatelyClient::new(settings.mercately.clone())?,
                settings.staff_alert_phone.clone(),
                settings.staff_alert_email.clone(),
            ),
        )
        .register_activities(ReminderActivities::new(
            pool.clone(),
            MercatelyClient::new(settings.mercately.clone())?,
            SmtpMailer::new(settings.email.clone()),
            settings.links.public_base_url.clone(),
        ))
        .register_activities(VisitRecordsActivities::new(
            pool.clone(),
            GoogleClient::new(settings.google.clone()).map_err(anyhow::Error::msg)?,
            settings.links.public_base_url.clone(),
        ))
        .register_activities(RequestActivities::new(pool.clone()))
        .register_activities(PaymentActivities::new(
            pool.clone(),
            MercadoPagoClient::new(settings.mercadopago.clone())?,
            PaymentLinks::from_public_base(&settings.links.public_base_url),
        ))
        .register_activities(
            DispatchActivities::new(
                pool,
                MercatelyClient::new(settings.mercately.clone())?,
                SmtpMailer::new(settings.email.clone()),
                settings.links.clone(),
                settings.staff_alert_phone.clone(),
            )
            .with_offer_cap(settings.vet_max_offers_per_hour)
            .with_staff_email(settings.staff_alert_email.clone()),
        )
        .build();
    options.max_cached_workflows = settings.max_cached_workflows;
    if let Some(deployment) = &settings.deployment {
        tracing::info!(deployment = %deployment.name, build_id = %deployment.build_id, "versioned worker");
        options.deployment_options = deployment.options();
    }
    let phase = health::Phase::default();
    if let Some(bind) = settings.health_bind {
        let listener = tokio::net::TcpListener::bind(bind).await?;
        tracing::info!(addr = %listener.local_addr()?, "worker health listening");
        let router = health::router(phase.clone(), health_pool, client.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
    }
    if let Some(reminders) = &settings.vaccine_reminders {
        // Every worker makes sure of it; a failure is loud but not fatal (the requests
        // must go on), and the next start tries again.
        match schedules::ensure(
            &client,
            &reminders.schedule_id,
            &settings.temporal.task_queue,
            reminders.hour,
            reminders.input(),
        )
        .await
        {
            Ok(()) => {
                tracing::info!(schedule = %reminders.schedule_id, hour = reminders.hour, "vaccine reminders scheduled daily")
            }
            Err(e) => {
                tracing::error!(schedule = %reminders.schedule_id, error = %e, "the vaccine reminders' schedule could not be created")
            }
        }
    }
    match &settings.afip {
        None => tracing::warn!("no AFIP_CUIT (or AFIP=off): paid visits get no invoice"),
        Some(afip) => {
            match afip.credentials() {
                Ok(credentials) => {
                    let expires = credentials.expires_at();
                    match activities::invoices::certificate_warning(expires, chrono::Utc::now()) {
                        Some(warning) => tracing::error!(%expires, %warning, "AFIP certificate"),
                        None => {
                            tracing::info!(cuit = afip.cuit, %expires, "AFIP certificate valid")
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "the AFIP certificate or key cannot be used: invoices wait")
                }
            }
            if let Err(e) =
                schedules::ensure_afip_check(&client, &settings.temporal.task_queue).await
            {
                tracing::error!(error = %e, "the daily AFIP check's schedule could not be created");
            }
        }
    }
    let mut worker = Worker::new(&runtime, client, options)?;
    let stop = worker.shutdown_handle();
    let draining = phase.clone();
    tokio::task::spawn_local(async move {
        shutdown.await;
        tracing::info!("worker shutting down");
        draining.draining();
        stop();
    });
    tracing::info!(task_queue = %settings.temporal.task_queue, "worker polling");
    phase.polling();
    worker.run().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn clients(timeout_ms: u64, attempts: u32) -> (MercatelySettings, MercadoPagoSettings) {
        let timeout = Duration::from_millis(timeout_ms);
        let mercately = MercatelySettings {
            base_url: String::new(),
            api_key: config::Secret::new("mercately-key-1234"),
            timeout,
            max_attempts: attempts,
        };
        let mercadopago = MercadoPagoSettings {
            base_url: String::new(),
            access_token: config::Secret::new("APP_USR-token-5678"),
            timeout,
            max_attempts: attempts,
        };
        (mercately, mercadopago)
    }

    #[test]
    fn the_default_client_settings_fit_inside_an_activity_attempt() {
        let (mercately, mercadopago) = clients(10_000, 4);
        let email = EmailSettings::plain("127.0.0.1", 2525);
        let google = GoogleSettings::disabled();
        assert!(check_attempt_budget(&mercately, &mercadopago, &email, &google).is_ok());
    }

    #[test]
    fn client_settings_an_attempt_could_cut_off_are_refused_by_name() {
        let email = EmailSettings::plain("127.0.0.1", 2525);
        let google = GoogleSettings::disabled();
        let (mercately, mercadopago) = clients(30_000, 4);
        let error =
            check_attempt_budget(&mercately, &mercadopago, &email, &google).expect_err("too long");
        assert!(
            error.to_string().contains("MERCATELY_TIMEOUT_MS"),
            "{error}"
        );
        let (_, slow_mp) = clients(30_000, 4);
        let (fine, _) = clients(10_000, 4);
        let error = check_attempt_budget(&fine, &slow_mp, &email, &google).expect_err("too long");
        assert!(error.to_string().contains("MP_TIMEOUT_MS"), "{error}");
        let (fine_mp, _) = clients(10_000, 4);
        let (_, fine_mercadopago) = clients(10_000, 4);
        let slow_smtp = EmailSettings {
            send_timeout: Duration::from_secs(120),
            ..email
        };
        let error = check_attempt_budget(&fine_mp, &fine_mercadopago, &slow_smtp, &google)
            .expect_err("too long");
        assert!(
            error.to_string().contains("SMTP_SEND_TIMEOUT_MS"),
            "{error}"
        );
    }

    #[test]
    fn the_providers_credentials_never_show_in_the_settings_debug() {
        let (mercately, mercadopago) = clients(10_000, 4);
        let printed = format!("{mercately:?} {mercadopago:?}");
        assert!(!printed.contains("mercately-key-1234"), "{printed}");
        assert!(!printed.contains("APP_USR-token-5678"), "{printed}");
        assert!(printed.contains("***"), "{printed}");
    }
}
