//! The real API on port 0 with its emulators, and the calls tests make to it.

use api::ApiSettings;
use config::TemporalSettings;
use diesel_async::RunQueryDsl;
use domain::DispatchPolicy;
use std::{path::PathBuf, sync::Arc, time::Duration};
use temporalio_client::Client;
use worker::WorkerSettings;

use crate::*;

/// The API on a free port, with the database, Temporal server and task queue given.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub db: Arc<TestDb>,
    pub temporal: Client,
    pub settings: TemporalSettings,
    staff_token: tokio::sync::OnceCell<String>,
    /// The Mercately emulator this app's workers send WhatsApp messages to.
    pub mercately: sandbox::mercately::Mercately,
    pub mercately_base: String,
    /// The MercadoPago emulator, delivering its webhooks to this app.
    pub mercadopago: sandbox::mercadopago::MercadoPago,
    pub mercadopago_base: String,
    /// The SMTP sink the API's and this app's workers' emails go to.
    pub smtp: sandbox::smtp::Smtp,
    pub email: integrations::email::EmailSettings,
    /// The Google emulator this app's workers put visits' events and rows in.
    pub google: sandbox::google::Google,
    pub google_settings: integrations::google::GoogleSettings,
    /// The AFIP emulator this app's workers issue receipts at.
    pub afip: sandbox::afip::Afip,
    pub afip_settings: integrations::afip::AfipSettings,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestApp {
    /// The usual app: a fresh database, the dev server, a task queue of its own and
    /// quick dispatch timings.
    pub async fn start() -> Self {
        let db = Arc::new(TestDb::new().await);
        Self::spawn(
            db,
            temporal_settings(dev_server_address(), &unique_task_queue()),
            quick_policy(),
        )
        .await
    }

    pub async fn spawn(
        db: Arc<TestDb>,
        temporal: TemporalSettings,
        dispatch: DispatchPolicy,
    ) -> Self {
        Self::spawn_with(db, temporal, dispatch, |_| {}).await
    }

    /// As [`TestApp::spawn`], with `tune` changing the API's settings.
    pub async fn spawn_with(
        db: Arc<TestDb>,
        temporal: TemporalSettings,
        dispatch: DispatchPolicy,
        tune: impl FnOnce(&mut ApiSettings),
    ) -> Self {
        // Files in a folder of this test's own (under the run's scratch folder in `make test`).
        let dir = std::env::var_os("TEST_FILES_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join(format!("files-{}", db.name));
        let storage = api::storage::StorageSettings::Local { dir };
        Self::spawn_tuned(db, temporal, dispatch, storage, tune).await
    }

    /// As [`TestApp::spawn`], storing uploaded files as `storage` says.
    pub async fn spawn_with_storage(
        db: Arc<TestDb>,
        temporal: TemporalSettings,
        dispatch: DispatchPolicy,
        storage: api::storage::StorageSettings,
    ) -> Self {
        Self::spawn_tuned(db, temporal, dispatch, storage, |_| {}).await
    }

    /// As [`TestApp::spawn_with_storage`], with `tune` changing the API's settings last.
    pub async fn spawn_tuned(
        db: Arc<TestDb>,
        temporal: TemporalSettings,
        dispatch: DispatchPolicy,
        storage: api::storage::StorageSettings,
        tune: impl FnOnce(&mut ApiSettings),
    ) -> Self {
        let listener = api::server::bind(([127, 0, 0, 1], 0).into()).expect("bind port 0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let (mercadopago, mercadopago_base) = mercadopago_emulator().await;
        let (mercately, mercately_base) = mercately_emulator().await;
        let (smtp, email) = smtp_sink().await;
        let (google, google_settings) = google_emulator(GOOGLE_KEY).await;
        let (afip, afip_settings) = afip_emulator().await;
        let mut settings = ApiSettings {
            bind: listener.local_addr().expect("local addr"),
            database_url: db.url.clone(),
            database_pool_size: 4,
            temporal: temporal.clone(),
            // Generous: after a worker dies, its workflow waits out the sticky-queue timeout.
            query_timeout: Duration::from_secs(20),
            update_timeout: Duration::from_secs(20),
            dispatch,
            auth: test_auth_settings(),
            storage,
            study_file_max_bytes: 256 * 1024,
            booking: api::settings::BookingRules {
                min_notice: chrono::Duration::minutes(120),
                horizon: chrono::Duration::days(60),
                max_cart_items: 10,
                max_unpaid_requests: 20,
                max_checkouts_per_hour: 20,
                // The phone check has its own test; the others book as a verified owner would.
                require_verified_phone: false,
            },
            outbox_interval: Duration::from_millis(200),
            offer_link_secret: config::Secret::new(TEST_LINK_SECRET),
            mercately: integrations::mercately::MercatelySettings {
                base_url: mercately_base.clone(),
                api_key: config::Secret::new(MERCATELY_KEY),
                timeout: Duration::from_secs(5),
                max_attempts: 3,
            },
            mercadopago: integrations::mercadopago::MercadoPagoSettings {
                base_url: mercadopago_base.clone(),
                access_token: config::Secret::new(MP_TOKEN),
                timeout: Duration::from_secs(5),
                max_attempts: 3,
            },
            email: email.clone(),
            public_base_url: base.clone(),
            mp_webhook_secret: config::Secret::new(MP_WEBHOOK_SECRET),
            trusted_proxies: Default::default(),
            rate_limits: api::limits::RateLimits::off(),
            connections: Default::default(),
            metrics_bind: None,
            mp_webhook_max_age: Duration::from_secs(900),
            afip: Some(afip_settings.clone()),
        };
        tune(&mut settings);
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let stopped = async move {
                let _ = stopped.await;
            };
            if let Err(e) = api::serve_on(listener, settings, stopped).await {
                eprintln!("api stopped with an error: {e:?}");
            }
        });
        let client = temporal.connect().await.expect("connect to Temporal");
        Self {
            base,
            http: reqwest::Client::new(),
            db,
            temporal: client,
            settings: temporal,
            staff_token: tokio::sync::OnceCell::new(),
            mercately,
            mercately_base,
            mercadopago,
            mercadopago_base,
            smtp,
            email,
            google,
            google_settings,
            afip,
            afip_settings,
            _shutdown: shutdown,
        }
    }

    /// `host:port` of the API, for a raw TCP connection.
    pub fn authority(&self) -> String {
        self.base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The WhatsApp template messages the emulator accepted for `phone`, oldest first.
    pub fn messages_to(&self, phone: &str, template: &str) -> Vec<sandbox::mercately::Message> {
        self.mercately
            .messages()
            .into_iter()
            .filter(|m| m.phone_number == phone && m.internal_id.as_deref() == Some(template))
            .collect()
    }

    /// Waits until `phone` has `count` messages of `template`; returns them all.
    pub async fn await_messages(
        &self,
        phone: &str,
        template: &str,
        count: usize,
    ) -> Vec<sandbox::mercately::Message> {
        eventually(
            &format!("{count} {template} message(s) to {phone}"),
            Duration::from_secs(30),
            || async {
                let got = self.messages_to(phone, template);
                (got.len() >= count).then_some(got)
            },
        )
        .await
    }

    /// A request as staff see it, once `check` holds for it.
    pub async fn await_request(
        &self,
        id: &str,
        what: &str,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let path = format!("/api/v1/service-requests/{id}");
        eventually(what, Duration::from_secs(30), || async {
            let (_, body) = self.staff_get(&path).await;
            check(&body).then_some(body)
        })
        .await
    }

    /// The request as staff see it, once it is in `state`.
    pub async fn await_state(&self, id: &str, state: &'static str) -> serde_json::Value {
        self.await_request(id, &format!("the request to be {state}"), |r| {
            r["state"] == state
        })
        .await
    }

    /// POSTs to a link (an offer link from a message): (status, JSON body).
    pub async fn post_link(&self, link: &str) -> (u16, serde_json::Value) {
        let response = self.http.post(link).send().await.expect("POST link");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    pub fn worker_settings(&self) -> WorkerSettings {
        WorkerSettings {
            mercadopago: integrations::mercadopago::MercadoPagoSettings {
                base_url: self.mercadopago_base.clone(),
                access_token: config::Secret::new(MP_TOKEN),
                timeout: Duration::from_secs(5),
                max_attempts: 3,
            },
            email: self.email.clone(),
            google: self.google_settings.clone(),
            afip: Some(self.afip_settings.clone()),
            ..worker_settings(
                &self.db.url,
                self.settings.clone(),
                &self.mercately_base,
                &self.base,
            )
        }
    }

    /// The emails the sink received for `to`, oldest first.
    pub fn emails_to(&self, to: &str) -> Vec<sandbox::smtp::Email> {
        self.smtp.emails_to(to)
    }

    /// The token of the `nth` set-password link emailed to `to` (from its `#token=`).
    pub fn set_password_token(&self, to: &str, nth: usize) -> String {
        let welcomes: Vec<_> = self
            .emails_to(to)
            .into_iter()
            .filter(|e| e.text.contains("#token="))
            .collect();
        let email = welcomes
            .get(nth)
            .unwrap_or_else(|| panic!("no welcome email {nth} to {to}: {welcomes:?}"));
        let (_, rest) = email.text.split_once("#token=").expect("a token");
        rest.split_whitespace().next().expect("a token").to_owned()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.http.get(self.url(path)).send().await.expect("GET");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// Any request, signed in with `token` (an empty token is not a valid one). Like a
    /// real frontend, a `503`/`504` (a dependency away for a moment) is tried again, a
    /// few times, a little later; whatever answers then is the answer.
    pub async fn call(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .http
                .request(method.clone(), self.url(path))
                .bearer_auth(token);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            let body = response.json().await.unwrap_or(serde_json::Value::Null);
            if matches!(status, 503 | 504) && attempt < 3 {
                tokio::time::sleep(Duration::from_millis(300 * attempt)).await;
                continue;
            }
            return (status, body);
        }
    }

    /// Registers an owner account and returns its access token.
    pub async fn register(&self, email: &str) -> String {
        let (status, tokens) = self
            .post_json(
                "/api/v1/auth/register",
                &serde_json::json!({ "email": email, "password": "correct horse battery", "full_name": "Dueña" }),
            )
            .await;
        assert_eq!(status, 201, "{tokens}");
        tokens["access_token"].as_str().expect("token").to_owned()
    }

    /// A staff member's access token (registered on first use, then made staff in the
    /// database, as no endpoint grants staff).
    pub async fn staff(&self) -> String {
        self.staff_token
            .get_or_init(|| async {
                let token = self.register("staff@amarmascotas.ar").await;
                let mut conn = self.db.conn().await;
                diesel::sql_query(
                    "UPDATE users SET is_staff = true WHERE email = 'staff@amarmascotas.ar'",
                )
                .execute(&mut conn)
                .await
                .expect("make staff");
                token
            })
            .await
            .clone()
    }

    /// GET as staff.
    pub async fn staff_get(&self, path: &str) -> (u16, serde_json::Value) {
        let staff = self.staff().await;
        self.call(&staff, reqwest::Method::GET, path, None).await
    }

    /// POST JSON as staff.
    pub async fn staff_post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let staff = self.staff().await;
        self.call(&staff, reqwest::Method::POST, path, Some(body.clone()))
            .await
    }

    /// Signs in with a password and returns the access token.
    pub async fn sign_in(&self, email: &str, password: &str) -> String {
        let (status, tokens) = self
            .post_json(
                "/api/v1/auth/login",
                &serde_json::json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(status, 200, "{tokens}");
        tokens["access_token"].as_str().expect("token").to_owned()
    }

    /// Registers an owner account: the owner (their owner id) and their token.
    pub async fn owner(&self, email: &str) -> Caller {
        let token = self.register(email).await;
        let (status, me) = self
            .call(&token, reqwest::Method::GET, "/api/v1/me", None)
            .await;
        assert_eq!(status, 200, "{me}");
        let id = me["owner_id"].as_str().expect("owner id").to_owned();
        Caller { id, token }
    }

    /// Creates a vet (as `staff`), named after the email ([`vet_name`]): the vet (their
    /// vet id) and their own access token.
    pub async fn vet(&self, staff: &str, email: &str, cuit: &str) -> Caller {
        let (status, vet) = self
            .call(
                staff,
                reqwest::Method::POST,
                "/api/v1/vets",
                Some(serde_json::json!({
                    "email": email, "password": "vet password 123", "full_name": vet_name(email),
                    "license_number": format!("MP {email}"), "cuit": cuit,
                    "phone": vet_phone(cuit)
                })),
            )
            .await;
        assert_eq!(status, 201, "{vet}");
        let token = self.sign_in(email, "vet password 123").await;
        let id = vet["id"].as_str().expect("id").to_owned();
        Caller { id, token }
    }

    /// Creates something as `token` with a POST that must answer 201; returns its `id`.
    pub async fn create(&self, token: &str, path: &str, body: serde_json::Value) -> String {
        let (status, created) = self
            .call(token, reqwest::Method::POST, path, Some(body))
            .await;
        assert_eq!(status, 201, "POST {path}: {created}");
        created["id"].as_str().expect("id").to_owned()
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST");
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }
}

/// Real auth settings with a test secret; login limits small enough to reach in a test.
/// The accept (or reject) link of an offer message.
pub fn offer_link(message: &sandbox::mercately::Message, answer: domain::VetAnswer) -> String {
    let index = match answer {
        domain::VetAnswer::Accept => 4,
        domain::VetAnswer::Reject => 5,
    };
    message.template_params[index].clone()
}

/// The offer-link secret shared by the test API and workers.
pub const TEST_LINK_SECRET: &str = "test-offer-link-secret-test-offer-link";

pub fn test_auth_settings() -> api::auth::AuthSettings {
    api::auth::AuthSettings {
        secret: b"test-secret-test-secret-test-secret!".to_vec(),
        issuer: "amar-mascotas".into(),
        audience: "amar-mascotas-api".into(),
        access_ttl: Duration::from_secs(900),
        refresh_ttl: Duration::from_secs(3600),
        max_failures_per_account: 5,
        max_failures_per_address: 20,
        login_window: Duration::from_secs(900),
    }
}

/// The fields a problem+json body names.
pub fn problem_fields(problem: &serde_json::Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Someone signed in, as a test acts: who (`id`: the owner's, the vet's or the user's,
/// whichever the test names them by) and their access token. It derefs to the token, so
/// it goes wherever a token does; its methods make the calls as them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: String,
    pub token: String,
}

impl std::ops::Deref for Caller {
    type Target = str;

    fn deref(&self) -> &str {
        &self.token
    }
}

impl Caller {
    pub async fn get(&self, app: &TestApp, path: &str) -> (u16, serde_json::Value) {
        app.call(&self.token, reqwest::Method::GET, path, None)
            .await
    }

    pub async fn post(
        &self,
        app: &TestApp,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        app.call(&self.token, reqwest::Method::POST, path, Some(body))
            .await
    }

    pub async fn put(
        &self,
        app: &TestApp,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        app.call(&self.token, reqwest::Method::PUT, path, Some(body))
            .await
    }

    pub async fn patch(
        &self,
        app: &TestApp,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        app.call(&self.token, reqwest::Method::PATCH, path, Some(body))
            .await
    }

    pub async fn delete(&self, app: &TestApp, path: &str) -> (u16, serde_json::Value) {
        app.call(&self.token, reqwest::Method::DELETE, path, None)
            .await
    }
}

/// The name [`TestApp::vet`] gives the vet with `email`: its local part, capitalised,
/// dots made spaces (`vet0@example.com` is "Vet0", `mia.vet@…` "Mia vet").
pub fn vet_name(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email).replace('.', " ");
    let mut chars = local.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
