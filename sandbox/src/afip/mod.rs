//! AFIP (ARCA), emulated: WSAA on `POST /ws/services/LoginCms` and WSFEv1 on
//! `POST /wsfev1/service.asmx`, SOAP 1.1 as the real services speak it.
//!
//! - WSAA verifies the CMS: the signature over the signed attributes with the included
//!   certificate, the content's digest, the certificate issued by the emulator's own
//!   authority (`sandbox/keys/afip-ca.*`, standing for AFIP's) and valid today; the
//!   ticket request's times. It answers 12-hour tickets, and `coe.alreadyAuthenticated`
//!   while a ticket issued less than 10 minutes ago is valid.
//! - WSFEv1 keeps per (CUIT, point of sale, type) numbering and enforces last + 1 and the
//!   dates (10016), the totals (10048), the fields and their order, the buyer's VAT
//!   condition (10246, 10242, 10243), credit notes' associated receipt (10197) and the
//!   anonymous buyer's limit (10015); `FECompConsultar` answers 602 for an unknown number.
//!
//! Control, for tests and the demo, under `/_emulator` and as methods: fail the next
//! calls, authorize but lose the answer, answer slowly, issue a receipt "elsewhere"
//! before the next request, refuse the next login with a fault, shorten tickets, sign a
//! CSR as AFIP's web does. `GET /afip/` lists the issued receipts.

mod checks;
mod pages;
mod wsaa;
mod wsfe;
mod xml;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::State,
    routing::{get, post},
};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::failures::Failures;

/// A receipt the emulator authorized.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Receipt {
    pub cuit: u64,
    pub point_of_sale: u32,
    pub receipt_type: i16,
    pub number: u64,
    pub date: NaiveDate,
    pub concept: u8,
    pub doc_type: i16,
    pub doc_number: u64,
    pub total: Decimal,
    pub net: Decimal,
    pub vat: Decimal,
    pub vat_condition: i16,
    pub service_from: Option<NaiveDate>,
    pub service_to: Option<NaiveDate>,
    pub payment_due: Option<NaiveDate>,
    /// (type, point of sale, number) of the receipt a credit note cancels.
    pub associated: Option<(i16, u32, u64)>,
    pub cae: String,
    pub cae_due: NaiveDate,
    pub authorized_at: DateTime<Utc>,
    /// Whether it was issued by the emulator itself ("elsewhere"), not requested.
    pub elsewhere: bool,
}

#[derive(Debug, Clone)]
struct TicketIssued {
    cuit: u64,
    service: String,
    token: String,
    sign: String,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

#[derive(Debug)]
struct Inner {
    authority: wsaa::Authority,
    tickets: Vec<TicketIssued>,
    logins: u32,
    login_fault: Option<String>,
    ticket_lifetime: Duration,
    already_window: Duration,
    receipts: Vec<Receipt>,
    points_of_sale: Vec<u32>,
    anonymous_limit: Decimal,
    failures: Failures,
    /// The next FECAESolicitar is authorized and then answered 503 / after a delay.
    drop_next: u32,
    slow_next: Option<Duration>,
    elsewhere_next: u32,
    reject_next: Option<(i64, String)>,
    lose_next: u32,
    requests: BTreeMap<String, u32>,
    last_request: Option<String>,
}

/// The emulator's state; clone it to look inside from a test.
#[derive(Debug, Clone)]
pub struct Afip {
    inner: Arc<Mutex<Inner>>,
}

/// The emulator's authority: the PEMs of `sandbox/keys/afip-ca.*`.
pub const AUTHORITY_CERT: &str = include_str!("../../keys/afip-ca.crt");
pub const AUTHORITY_KEY: &str = include_str!("../../keys/afip-ca.key");
/// The sandbox taxpayer's certificate and key (CUIT 20-12345678-6), issued by it.
pub const TAXPAYER_CERT: &str = include_str!("../../keys/afip-taxpayer.crt");
pub const TAXPAYER_KEY: &str = include_str!("../../keys/afip-taxpayer.key");

impl Afip {
    /// With the sandbox authority, points of sale 1 and 2.
    pub fn new() -> Self {
        Self::with_authority(AUTHORITY_CERT, AUTHORITY_KEY)
            .unwrap_or_else(|e| panic!("the sandbox's AFIP authority is broken: {e}"))
    }

    pub fn with_authority(cert_pem: &str, key_pem: &str) -> Result<Self, String> {
        Ok(Self {
            inner: Arc::new(Mutex::new(Inner {
                authority: wsaa::Authority::from_pem(cert_pem, key_pem)?,
                tickets: Vec::new(),
                logins: 0,
                login_fault: None,
                ticket_lifetime: Duration::from_secs(12 * 3600),
                already_window: Duration::from_secs(600),
                receipts: Vec::new(),
                points_of_sale: vec![1, 2],
                anonymous_limit: Decimal::from(10_000_000),
                failures: Failures::default(),
                drop_next: 0,
                slow_next: None,
                elsewhere_next: 0,
                reject_next: None,
                lose_next: 0,
                requests: BTreeMap::new(),
                last_request: None,
            })),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every receipt authorized, in order.
    pub fn receipts(&self) -> Vec<Receipt> {
        self.lock().receipts.clone()
    }

    /// How many tickets were issued.
    pub fn logins(&self) -> u32 {
        self.lock().logins
    }

    /// How many calls of each WSFE method arrived.
    pub fn calls(&self, method: &str) -> u32 {
        self.lock().requests.get(method).copied().unwrap_or(0)
    }

    /// The last `FECAESolicitar` body, as it came.
    pub fn last_request(&self) -> Option<String> {
        self.lock().last_request.clone()
    }

    /// The next `count` WSFE calls answer `status` after `delay`, doing nothing.
    pub fn fail_next(&self, count: u32, status: u16, delay: Duration) {
        self.lock().failures = Failures::new(count, status, delay);
    }

    /// The next `FECAESolicitar` is authorized, and its answer lost (HTTP 503).
    pub fn drop_next_answer(&self) {
        self.lock().drop_next += 1;
    }

    /// The next `FECAESolicitar` is answered 503 before anything is done: lost on its
    /// way, nothing authorized.
    pub fn lose_next_request(&self) {
        self.lock().lose_next += 1;
    }

    /// The next `FECAESolicitar` is authorized, and answered after `delay`.
    pub fn slow_next_answer(&self, delay: Duration) {
        self.lock().slow_next = Some(delay);
    }

    /// Before the next `FECAESolicitar`, another system issues a receipt of that pair.
    pub fn issue_elsewhere_next(&self) {
        self.lock().elsewhere_next += 1;
    }

    /// The next `FECAESolicitar` that would pass is rejected with the observation
    /// `code` and `message` (as AFIP rejects what this emulator does not check).
    pub fn reject_next(&self, code: i64, message: &str) {
        self.lock().reject_next = Some((code, message.to_owned()));
    }

    /// The next login is refused with the fault `code` (`cms.cert.expired`, …).
    pub fn fail_next_login(&self, code: &str) {
        self.lock().login_fault = Some(code.to_owned());
    }

    /// Tickets issued from now on live `lifetime`; a new one may be asked for once the
    /// last is `window` old.
    pub fn set_tickets(&self, lifetime: Duration, window: Duration) {
        let mut inner = self.lock();
        inner.ticket_lifetime = lifetime;
        inner.already_window = window;
    }

    /// Signs `csr_pem` as AFIP's web does, valid from `not_before` to `not_after`:
    /// the certificate PEM.
    pub fn issue_certificate(
        &self,
        csr_pem: &str,
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<String, String> {
        self.lock().authority.issue(csr_pem, not_before, not_after)
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/ws/services/LoginCms", post(wsaa::login_cms))
            .route("/wsfev1/service.asmx", post(wsfe::service))
            .route("/afip/", get(pages::page))
            .route("/_emulator/receipts", get(list_receipts))
            .route("/_emulator/control", post(control))
            .route("/_emulator/certificates", post(certificates))
            .with_state(self.clone())
    }

    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }
}

impl Default for Afip {
    fn default() -> Self {
        Self::new()
    }
}

async fn list_receipts(State(afip): State<Afip>) -> Json<Vec<Receipt>> {
    Json(afip.receipts())
}

#[derive(Debug, Deserialize)]
struct Control {
    /// `drop_answer`, `lose_request`, `slow_answer`, `issue_elsewhere`, `fail`, `login_fault`,
    /// `reject`.
    action: String,
    #[serde(default)]
    delay_ms: u64,
    #[serde(default)]
    count: u32,
    #[serde(default)]
    status: u16,
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

async fn control(
    State(afip): State<Afip>,
    Json(control): Json<Control>,
) -> Result<&'static str, (axum::http::StatusCode, String)> {
    match control.action.as_str() {
        "drop_answer" => afip.drop_next_answer(),
        "lose_request" => afip.lose_next_request(),
        "slow_answer" => afip.slow_next_answer(Duration::from_millis(control.delay_ms)),
        "issue_elsewhere" => afip.issue_elsewhere_next(),
        "fail" => afip.fail_next(
            control.count.max(1),
            control.status,
            Duration::from_millis(control.delay_ms),
        ),
        "login_fault" => afip.fail_next_login(&control.code),
        "reject" => afip.reject_next(control.code.parse().unwrap_or(10000), &control.message),
        other => {
            return Err((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                format!("unknown action {other:?}"),
            ));
        }
    }
    Ok("ok")
}

#[derive(Debug, Deserialize)]
struct CertificateRequest {
    csr: String,
    #[serde(default = "two_years")]
    days: i64,
}

fn two_years() -> i64 {
    730
}

/// What AFIP's "Administración de Certificados Digitales" does with an uploaded CSR.
async fn certificates(
    State(afip): State<Afip>,
    Json(request): Json<CertificateRequest>,
) -> Result<String, (axum::http::StatusCode, String)> {
    let now = Utc::now();
    afip.issue_certificate(
        &request.csr,
        now - chrono::Duration::minutes(1),
        now + chrono::Duration::days(request.days),
    )
    .map_err(|e| (axum::http::StatusCode::UNPROCESSABLE_ENTITY, e))
}
