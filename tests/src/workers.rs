//! The real worker, in-process or as a child process a test can SIGKILL.

use config::TemporalSettings;
use std::{path::PathBuf, time::Duration};
use worker::WorkerSettings;

use crate::*;

/// The worker, running in-process on a thread of its own (its future is not `Send`).
/// Stops when dropped.
pub struct InProcessWorker {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl InProcessWorker {
    pub fn start(settings: WorkerSettings) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("worker runtime");
            let local = tokio::task::LocalSet::new();
            let shutdown = async move {
                let _ = stopped.await;
            };
            if let Err(e) = local.block_on(&runtime, worker::run(&settings, shutdown)) {
                eprintln!("in-process worker stopped with an error: {e:?}");
            }
        });
        Self { stop: Some(stop) }
    }
}

impl Drop for InProcessWorker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The worker binary as a separate process, which a test can kill with SIGKILL.
/// The `AFIP_*` variables that give a worker process `afip` (none: `AFIP=off`).
fn afip_env(afip: Option<&integrations::afip::AfipSettings>) -> Vec<(&'static str, String)> {
    let Some(afip) = afip else {
        return vec![("AFIP", "off".to_owned())];
    };
    vec![
        ("AFIP_CUIT", afip.cuit.to_string()),
        (
            "AFIP_VAT_CONDITION",
            match afip.condition {
                domain::invoices::IssuerCondition::Monotributo => "monotributo",
                domain::invoices::IssuerCondition::ResponsableInscripto => "responsable_inscripto",
            }
            .to_owned(),
        ),
        ("AFIP_POINT_OF_SALE", afip.point_of_sale.to_string()),
        ("AFIP_CERT", afip.certificate.expose().to_owned()),
        ("AFIP_KEY", afip.key.expose().to_owned()),
        ("AFIP_WSAA_URL", afip.wsaa_url.clone()),
        ("AFIP_WSFE_URL", afip.wsfe_url.clone()),
        ("AFIP_TIMEOUT_MS", afip.timeout.as_millis().to_string()),
        ("AFIP_MAX_ATTEMPTS", afip.max_attempts.to_string()),
    ]
}

pub struct WorkerProcess {
    pub child: tokio::process::Child,
    /// Where its `/healthz` is served, when its settings say.
    health: Option<std::net::SocketAddr>,
}

impl WorkerProcess {
    pub fn start(settings: &WorkerSettings) -> Self {
        let exe = binary("worker");
        let temporal = &settings.temporal;
        let child = tokio::process::Command::new(&exe)
            .env("AMAR_ENV", "development")
            .env("DATABASE_URL", &settings.database_url)
            .env("TEMPORAL_ADDRESS", temporal.address.as_str())
            .env("TEMPORAL_NAMESPACE", &temporal.namespace)
            .env("TEMPORAL_TASK_QUEUE", &temporal.task_queue)
            .env("MERCATELY_BASE_URL", &settings.mercately.base_url)
            .env("MERCATELY_API_KEY", settings.mercately.api_key.expose())
            .env("PUBLIC_BASE_URL", &settings.links.public_base_url)
            .env("OFFER_LINK_SECRET", TEST_LINK_SECRET)
            .env("STAFF_ALERT_PHONE", STAFF_PHONE)
            .env("STAFF_ALERT_EMAIL", STAFF_EMAIL)
            .env("MP_BASE_URL", &settings.mercadopago.base_url)
            .env("SMTP_HOST", &settings.email.host)
            .env("SMTP_PORT", settings.email.port.to_string())
            .env("SMTP_SECURITY", "none")
            .env(
                "VACCINE_REMINDERS",
                if settings.vaccine_reminders.is_some() {
                    "on"
                } else {
                    "off"
                },
            )
            .envs(settings.google.key.iter().map(|key| {
                let json = serde_json::to_string(key).expect("a key");
                ("GOOGLE_SERVICE_ACCOUNT_KEY", json)
            }))
            .env("GOOGLE_CALENDAR_BASE_URL", &settings.google.calendar_base)
            .env("GOOGLE_SHEETS_BASE_URL", &settings.google.sheets_base)
            .env(
                "GOOGLE_CALENDAR_ID",
                match &settings.google.calendar {
                    integrations::google::CalendarChoice::Shared(id) => id.as_str(),
                    integrations::google::CalendarChoice::PerVet => "per-vet",
                },
            )
            .env(
                "GOOGLE_SHEET_ID",
                settings.google.spreadsheet_id.clone().unwrap_or_default(),
            )
            .env("GOOGLE_SHEET_TAB", &settings.google.sheet_tab)
            .env(
                "MP_ACCESS_TOKEN",
                settings.mercadopago.access_token.expose(),
            )
            .env(
                "VET_MAX_OFFERS_PER_HOUR",
                settings.vet_max_offers_per_hour.to_string(),
            )
            .envs(
                settings
                    .metrics_bind
                    .map(|addr| ("WORKER_METRICS_BIND", addr.to_string())),
            )
            .envs(
                settings
                    .health_bind
                    .map(|addr| ("WORKER_HEALTH_BIND", addr.to_string())),
            )
            .envs(settings.deployment.iter().flat_map(|d| {
                [
                    ("WORKER_DEPLOYMENT_NAME", d.name.clone()),
                    ("WORKER_BUILD_ID", d.build_id.clone()),
                ]
            }))
            .envs(afip_env(settings.afip.as_ref()))
            .env(
                "AFIP_DAILY_CHECK",
                if settings.afip_daily_check {
                    "on"
                } else {
                    "off"
                },
            )
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", exe.display()));
        Self {
            child,
            health: settings.health_bind,
        }
    }

    /// Waits until the worker polls its task queue (its `/healthz` answers 200; its
    /// settings must have a `health_bind`), or its process ends, or `within` passes;
    /// whether it polls.
    pub async fn polls(&mut self, within: Duration) -> bool {
        let health = self
            .health
            .expect("a worker started with a health_bind to ask");
        let url = format!("http://{health}/healthz");
        let http = reqwest::Client::new();
        let until = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < until {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return false;
            }
            let asked = http.get(&url).timeout(Duration::from_secs(1)).send().await;
            if asked.is_ok_and(|r| r.status() == reqwest::StatusCode::OK) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// SIGKILL: no graceful shutdown, no chance to finish anything.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL the worker");
    }
}

/// A binary of this workspace, built next to the test executable (`make test` builds
/// them first).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first (`cargo build --bins`, as `make test` does)",
        path.display()
    );
    path
}

/// A worker's settings for tests: `mercately` is the emulator's base URL, `public` the
/// API's address put in offer links.
pub fn worker_settings(
    database_url: &str,
    temporal: TemporalSettings,
    mercately: &str,
    public: &str,
) -> WorkerSettings {
    WorkerSettings {
        database_url: database_url.to_owned(),
        database_pool_size: 4,
        temporal,
        mercately: integrations::mercately::MercatelySettings {
            base_url: mercately.to_owned(),
            api_key: config::Secret::new(MERCATELY_KEY),
            timeout: Duration::from_secs(5),
            max_attempts: 3,
        },
        // Nowhere: tests that email use `TestApp::worker_settings` (its SMTP sink).
        email: integrations::email::EmailSettings::plain("127.0.0.1", 9),
        // No Google either: `TestApp::worker_settings` has its emulator.
        google: integrations::google::GoogleSettings::disabled(),
        links: activities::dispatch::OfferLinks {
            secret: TEST_LINK_SECRET.as_bytes().to_vec(),
            public_base_url: public.to_owned(),
        },
        staff_alert_phone: Some(STAFF_PHONE.to_owned()),
        staff_alert_email: Some(STAFF_EMAIL.to_owned()),
        vet_max_offers_per_hour: 10,
        metrics_bind: None,
        health_bind: None,
        deployment: None,
        // No daily schedule: tests that need it set their own id (the dev server is
        // shared).
        vaccine_reminders: None,
        // No invoices: tests that pay use `TestApp::worker_settings` (its AFIP emulator).
        afip: None,
        afip_daily_check: false,
        max_cached_workflows: 1000,
        // No MercadoPago here: tests that pay use `TestApp::worker_settings`.
        mercadopago: integrations::mercadopago::MercadoPagoSettings {
            base_url: "http://127.0.0.1:9".to_owned(),
            access_token: config::Secret::new(MP_TOKEN),
            timeout: Duration::from_secs(5),
            max_attempts: 1,
        },
    }
}
