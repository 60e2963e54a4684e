//! The end-to-end test harness: a fresh database per test cloned from a migrated
//! template, the real API on port 0, the real worker in-process or as a child process,
//! and Temporal servers that `make test` starts (the dev server) or that a test starts
//! for itself (the time-skipping server).
//!
//! Tests wait for conditions with a deadline ([`eventually`]); they never sleep.

pub mod temporal;

pub mod fixtures;
pub mod flow;

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use activities::settings::TemporalSettings;
use api::ApiSettings;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::DispatchPolicy;
use temporalio_client::{Client, Url};
use tokio::sync::OnceCell;
use worker::WorkerSettings;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with `make test`, which starts what they need")
    })
}

/// `DATABASE_URL` with its database name replaced.
fn database_url(database: &str) -> String {
    let mut url = Url::parse(&required_env("DATABASE_URL")).expect("DATABASE_URL is a URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

/// The migrated template every test database is cloned from. Its name carries a hash of
/// the migrations, so a changed migration gets a new template.
async fn template() -> &'static str {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let mut hasher = DefaultHasher::new();
            let mut files: Vec<_> = walk(&root().join("migrations"));
            files.sort();
            for file in files {
                file.hash(&mut hasher);
                std::fs::read(&file)
                    .expect("readable migration")
                    .hash(&mut hasher);
            }
            let name = format!("amar_tmpl_{}_{:016x}", run_id(), hasher.finish());
            let mut admin = AsyncPgConnection::establish(&required_env("DATABASE_URL"))
                .await
                .expect("connect to DATABASE_URL");
            // Test binaries run in parallel processes: one of them builds the template.
            diesel::sql_query("SELECT pg_advisory_lock(7304)")
                .execute(&mut admin)
                .await
                .expect("advisory lock");
            let exists: i64 = count(
                &mut admin,
                &format!("SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"),
            )
            .await;
            if exists == 0 {
                let building = format!("{name}_building");
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {building}"))
                    .execute(&mut admin)
                    .await
                    .expect("drop a half-built template");
                diesel::sql_query(format!("CREATE DATABASE {building}"))
                    .execute(&mut admin)
                    .await
                    .expect("create template");
                db::migrate(&database_url(&building))
                    .await
                    .expect("migrations apply to an empty database");
                diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("publish template");
            }
            diesel::sql_query("SELECT pg_advisory_unlock(7304)")
                .execute(&mut admin)
                .await
                .expect("advisory unlock");
            name
        })
        .await
}

/// This run's id (`make test` sets `TEST_RUN_ID`), in the names of its databases.
fn run_id() -> String {
    std::env::var("TEST_RUN_ID")
        .ok()
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| "local".to_owned())
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)
        .expect("readable migrations folder")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Runs a `SELECT count(*) AS n ...` query.
pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// A database of its own for one test. `make test` drops its run's databases when the
/// run ends, interrupted or not.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: db::Pool,
}

impl TestDb {
    pub async fn new() -> Self {
        let template = template().await;
        let name = format!("t_{}_{}", run_id(), uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&required_env("DATABASE_URL"))
            .await
            .expect("connect to DATABASE_URL");
        diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .execute(&mut admin)
            .await
            .expect("clone the template");
        let url = database_url(&name);
        let pool = db::pool(&url, 8).expect("pool");
        Self { name, url, pool }
    }

    pub async fn conn(&self) -> db::Conn {
        db::conn(&self.pool).await.expect("a connection")
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let mut conn = self.conn().await;
        count(&mut conn, sql).await
    }
}

/// The Temporal dev server `make test` started for this run.
pub fn dev_server_address() -> Url {
    Url::parse(&format!("http://{}", required_env("TEST_TEMPORAL_ADDRESS")))
        .expect("TEST_TEMPORAL_ADDRESS is host:port")
}

/// A task queue (and so a set of workflows) of the test's own.
pub fn unique_task_queue() -> String {
    format!("test-{}", uuid::Uuid::new_v4().simple())
}

pub fn temporal_settings(address: Url, task_queue: &str) -> TemporalSettings {
    TemporalSettings {
        address,
        namespace: "default".to_owned(),
        task_queue: task_queue.to_owned(),
    }
}

/// Short delays so that tests against the dev server never wait on a real follow-up.
pub fn quick_policy() -> DispatchPolicy {
    DispatchPolicy {
        vet_followup_delay_secs: 3600,
        vet_max_followups: 2,
        offer_batch_size: 1,
        ..DispatchPolicy::default()
    }
}

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
pub struct WorkerProcess {
    pub child: tokio::process::Child,
}

impl WorkerProcess {
    pub fn start(settings: &WorkerSettings) -> Self {
        let exe = binary("worker");
        let temporal = &settings.temporal;
        let child = tokio::process::Command::new(&exe)
            .env("DATABASE_URL", &settings.database_url)
            .env("TEMPORAL_ADDRESS", temporal.address.as_str())
            .env("TEMPORAL_NAMESPACE", &temporal.namespace)
            .env("TEMPORAL_TASK_QUEUE", &temporal.task_queue)
            .env("MERCATELY_BASE_URL", &settings.mercately.base_url)
            .env("MERCATELY_API_KEY", &settings.mercately.api_key)
            .env("PUBLIC_BASE_URL", &settings.links.public_base_url)
            .env("OFFER_LINK_SECRET", TEST_LINK_SECRET)
            .env("STAFF_ALERT_PHONE", STAFF_PHONE)
            .env("MP_BASE_URL", &settings.mercadopago.base_url)
            .env("MP_ACCESS_TOKEN", &settings.mercadopago.access_token)
            .env("RUST_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", exe.display()));
        Self { child }
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let (mercadopago, mercadopago_base) = mercadopago_emulator().await;
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
            },
            outbox_interval: Duration::from_millis(200),
            offer_link_secret: TEST_LINK_SECRET.as_bytes().to_vec(),
            mercadopago: activities::mercadopago::MercadoPagoSettings {
                base_url: mercadopago_base.clone(),
                access_token: MP_TOKEN.to_owned(),
                timeout: Duration::from_secs(5),
                max_attempts: 3,
            },
            mp_webhook_secret: MP_WEBHOOK_SECRET.as_bytes().to_vec(),
            mp_webhook_max_age: Duration::from_secs(900),
        };
        tune(&mut settings);
        let (mercately, mercately_base) = mercately_emulator().await;
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
            _shutdown: shutdown,
        }
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
            mercadopago: activities::mercadopago::MercadoPagoSettings {
                base_url: self.mercadopago_base.clone(),
                access_token: MP_TOKEN.to_owned(),
                timeout: Duration::from_secs(5),
                max_attempts: 3,
            },
            ..worker_settings(
                &self.db.url,
                self.settings.clone(),
                &self.mercately_base,
                &self.base,
            )
        }
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

    /// Registers an owner account: (access token, owner id).
    pub async fn owner(&self, email: &str) -> (String, String) {
        let token = self.register(email).await;
        let (status, me) = self
            .call(&token, reqwest::Method::GET, "/api/v1/me", None)
            .await;
        assert_eq!(status, 200, "{me}");
        let owner = me["owner_id"].as_str().expect("owner id").to_owned();
        (token, owner)
    }

    /// Creates a vet (as `staff`): (vet id, the vet's own access token).
    pub async fn vet(&self, staff: &str, email: &str, cuit: &str) -> (String, String) {
        let (status, vet) = self
            .call(
                staff,
                reqwest::Method::POST,
                "/api/v1/vets",
                Some(serde_json::json!({
                    "email": email, "password": "vet password 123", "full_name": email,
                    "license_number": format!("MP {email}"), "cuit": cuit,
                    "phone": vet_phone(cuit)
                })),
            )
            .await;
        assert_eq!(status, 201, "{vet}");
        let token = self.sign_in(email, "vet password 123").await;
        (vet["id"].as_str().expect("id").to_owned(), token)
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

/// A vet's WhatsApp number in tests, told apart by their CUIT.
pub fn vet_phone(cuit: &str) -> String {
    format!("+54{}", cuit.replace('-', ""))
}

/// The offer-link secret shared by the test API and workers.
pub const TEST_LINK_SECRET: &str = "test-offer-link-secret-test-offer-link";
pub const MERCATELY_KEY: &str = "test-mercately-key";
/// The staff WhatsApp number of the test workers.
pub const STAFF_PHONE: &str = "+5491100000000";

pub const MP_TOKEN: &str = "test-mp-access-token";
pub const MP_WEBHOOK_SECRET: &str = "test-mp-webhook-secret";

/// A MercadoPago emulator on a port of its own (webhook retries every 200 ms), and its
/// base URL.
pub async fn mercadopago_emulator() -> (sandbox::mercadopago::MercadoPago, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let emulator = sandbox::mercadopago::MercadoPago::new(MP_TOKEN, MP_WEBHOOK_SECRET, &base);
    emulator.set_retry_every(Duration::from_millis(200));
    tokio::spawn(emulator.clone().serve(listener));
    (emulator, base)
}

/// A Mercately emulator on a port of its own, and its API base URL.
pub async fn mercately_emulator() -> (sandbox::mercately::Mercately, String) {
    let emulator = sandbox::mercately::Mercately::with_amar_templates(MERCATELY_KEY);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!(
        "http://{}/retailers/api/v1",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(emulator.clone().serve(listener));
    (emulator, base)
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
        mercately: activities::mercately::MercatelySettings {
            base_url: mercately.to_owned(),
            api_key: MERCATELY_KEY.to_owned(),
            timeout: Duration::from_secs(5),
            max_attempts: 3,
        },
        links: activities::dispatch::OfferLinks {
            secret: TEST_LINK_SECRET.as_bytes().to_vec(),
            public_base_url: public.to_owned(),
        },
        staff_alert_phone: Some(STAFF_PHONE.to_owned()),
        // No MercadoPago here: tests that pay use `TestApp::worker_settings`.
        mercadopago: activities::mercadopago::MercadoPagoSettings {
            base_url: "http://127.0.0.1:9".to_owned(),
            access_token: MP_TOKEN.to_owned(),
            timeout: Duration::from_secs(5),
            max_attempts: 1,
        },
    }
}

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

/// Polls `check` until it returns `Some`, or panics after `deadline` naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = tokio::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Shows the app's logs in a test's output when `RUST_LOG` is set (`-- --nocapture`).
pub fn logs() {
    if std::env::var("RUST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
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

/// A TCP proxy that can be cut and restored: stands in for a server going away (Temporal
/// restarting, a network partition) without touching the server itself.
pub struct TcpProxy {
    pub addr: std::net::SocketAddr,
    up: Arc<std::sync::atomic::AtomicBool>,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    pub async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let connections = Arc::new(std::sync::Mutex::new(Vec::new()));
        let accept = {
            let up = up.clone();
            let connections = connections.clone();
            tokio::spawn(async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !std::sync::atomic::AtomicBool::load(
                        &up,
                        std::sync::atomic::Ordering::SeqCst,
                    ) {
                        drop(inbound); // refused while cut
                        continue;
                    }
                    let task = tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    connections.lock().expect("lock").push(task);
                }
            })
        };
        Self {
            addr,
            up,
            connections,
            accept,
        }
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for task in self.connections.lock().expect("lock").drain(..) {
            task.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}
