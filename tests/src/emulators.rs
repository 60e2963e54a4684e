//! The provider emulators of `sandbox/`, on port 0, with the keys the apps are given.

use std::time::Duration;

/// A vet's WhatsApp number in tests, told apart by their CUIT.
pub fn vet_phone(cuit: &str) -> String {
    format!("+54{}", cuit.replace('-', ""))
}

pub const MERCATELY_KEY: &str = "test-mercately-key";

/// The staff WhatsApp number of the test workers.
pub const STAFF_PHONE: &str = "+5491100000000";

/// The staff mailbox of the test workers.
pub const STAFF_EMAIL: &str = "alertas@amarmascotas.ar";

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

/// An SMTP sink on a port of its own, and the email settings that send to it.
pub async fn smtp_sink() -> (sandbox::smtp::Smtp, integrations::email::EmailSettings) {
    let sink = sandbox::smtp::Smtp::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(sink.clone().serve(listener));
    let mut settings = integrations::email::EmailSettings::plain("127.0.0.1", port);
    settings.timeout = Duration::from_secs(5);
    settings.send_timeout = Duration::from_secs(10);
    (sink, settings)
}

/// The sandbox's service account key (`sandbox/keys/service-account.json`).
pub const GOOGLE_KEY: &str = include_str!("../../sandbox/keys/service-account.json");
/// Another key for the same account: Google refuses what it signs.
pub const GOOGLE_WRONG_KEY: &str = include_str!("../files/google-wrong-key.json");
/// The spreadsheet of visits the Google emulator has, and its tab.
pub const VISITS_SHEET: &str = "sandbox-visitas";
pub const VISITS_TAB: &str = "Visitas";

/// A Google emulator on a port of its own, and settings whose key (`key_json`) points
/// at it: a shared calendar `agenda@amar`, the visits sheet.
pub async fn google_emulator(
    key_json: &str,
) -> (
    sandbox::google::Google,
    integrations::google::GoogleSettings,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let token_uri = format!("{base}/token");
    let emulator = sandbox::google::Google::new(GOOGLE_KEY, &token_uri)
        .expect("the sandbox key")
        .with_spreadsheet(VISITS_SHEET, &[VISITS_TAB]);
    tokio::spawn(emulator.clone().serve(listener));
    let mut key = integrations::google::ServiceAccountKey::parse(key_json).expect("a key");
    key.token_uri = token_uri;
    let settings = integrations::google::GoogleSettings {
        key: Some(key),
        calendar_base: format!("{base}/calendar/v3"),
        sheets_base: format!("{base}/v4"),
        calendar: integrations::google::CalendarChoice::Shared("agenda@amar".into()),
        spreadsheet_id: Some(VISITS_SHEET.into()),
        sheet_tab: VISITS_TAB.into(),
        timeout: Duration::from_secs(5),
        max_attempts: 3,
    };
    (emulator, settings)
}

/// An AFIP emulator on a port of its own, and the settings of the sandbox taxpayer
/// (a monotributista, CUIT 20-12345678-6, point of sale 1) that point at it.
pub async fn afip_emulator() -> (sandbox::afip::Afip, integrations::afip::AfipSettings) {
    let emulator = sandbox::afip::Afip::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(emulator.clone().serve(listener));
    (emulator, afip_settings(&base))
}

/// The sandbox taxpayer's settings for the emulator at `base`.
pub fn afip_settings(base: &str) -> integrations::afip::AfipSettings {
    integrations::afip::AfipSettings {
        cuit: integrations::afip::SANDBOX_CUIT,
        condition: domain::invoices::IssuerCondition::Monotributo,
        environment: integrations::afip::Environment::Homologation,
        point_of_sale: 1,
        certificate: config::Secret::new(sandbox::afip::TAXPAYER_CERT),
        key: config::Secret::new(sandbox::afip::TAXPAYER_KEY),
        wsaa_url: format!("{base}/ws/services/LoginCms"),
        wsfe_url: format!("{base}/wsfev1/service.asmx"),
        timeout: Duration::from_secs(3),
        max_attempts: 2,
        tls_min: integrations::afip::TlsMin::V1_2,
        business_name: "AMAR Mascotas".into(),
        address: "Av. Corrientes 1234, CABA".into(),
        activity_start: chrono::NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"),
        gross_income: "Exento".into(),
        anonymous_limit: rust_decimal::Decimal::from(10_000_000),
        qr_base: "https://www.afip.gob.ar/fe/qr/".into(),
    }
}
