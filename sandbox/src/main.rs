//! `sandbox`: serves the emulators of the external services for `make run` and for
//! manual trials:
//! - Mercately on `SANDBOX_MERCATELY_BIND` (default `127.0.0.1:8091`), its key from
//!   `MERCATELY_API_KEY` (default `sandbox-mercately-key`);
//! - MercadoPago on `SANDBOX_MERCADOPAGO_BIND` (default `127.0.0.1:8092`), its access
//!   token from `MP_ACCESS_TOKEN` and webhook secret from `MP_WEBHOOK_SECRET`;
//! - an SMTP sink on `SANDBOX_SMTP_BIND` (default `127.0.0.1:2525`), asking for
//!   `SMTP_USERNAME`/`SMTP_PASSWORD` when they are set, with its inbox on
//!   `SANDBOX_INBOX_BIND` (default `127.0.0.1:8093`);
//! - Google (token endpoint, Calendar, Sheets) on `SANDBOX_GOOGLE_BIND` (default
//!   `127.0.0.1:8094`), for the service account of `GOOGLE_SERVICE_ACCOUNT_KEY_FILE`
//!   (default the sandbox's own key, `sandbox/keys/service-account.json`), with the
//!   spreadsheet `GOOGLE_SHEET_ID` (default `sandbox-visitas`) and its tab
//!   `GOOGLE_SHEET_TAB` (default `Visitas`);
//! - AFIP (WSAA and WSFEv1) on `SANDBOX_AFIP_BIND` (default `127.0.0.1:8095`), trusting
//!   the certificates its own authority (`sandbox/keys/afip-ca.*`) issued, with its
//!   receipts on `/afip/`.

use sandbox::{
    afip::Afip, google::Google, mercadopago::MercadoPago, mercately::Mercately, smtp::Smtp,
};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mercately_bind = env_or("SANDBOX_MERCATELY_BIND", "127.0.0.1:8091");
    let key = env_or("MERCATELY_API_KEY", "sandbox-mercately-key");
    let mercately = tokio::net::TcpListener::bind(&mercately_bind).await?;
    println!(
        "sandbox: Mercately emulator on http://{mercately_bind}/retailers/api/v1 (received messages: http://{mercately_bind}/_emulator/messages)"
    );

    let mp_bind = env_or("SANDBOX_MERCADOPAGO_BIND", "127.0.0.1:8092");
    let mp = tokio::net::TcpListener::bind(&mp_bind).await?;
    let emulator = MercadoPago::new(
        &env_or("MP_ACCESS_TOKEN", "sandbox-mp-access-token"),
        &env_or("MP_WEBHOOK_SECRET", "sandbox-mp-webhook-secret"),
        &format!("http://{mp_bind}"),
    );
    println!(
        "sandbox: MercadoPago emulator on http://{mp_bind} (payments: http://{mp_bind}/_emulator/payments)"
    );
    let smtp_bind = env_or("SANDBOX_SMTP_BIND", "127.0.0.1:2525");
    let inbox_bind = env_or("SANDBOX_INBOX_BIND", "127.0.0.1:8093");
    let smtp = tokio::net::TcpListener::bind(&smtp_bind).await?;
    let inbox = tokio::net::TcpListener::bind(&inbox_bind).await?;
    let sink = match (env_or("SMTP_USERNAME", ""), env_or("SMTP_PASSWORD", "")) {
        (user, password) if !user.is_empty() => Smtp::with_credentials(&user, &password),
        _ => Smtp::new(),
    };
    println!("sandbox: SMTP sink on {smtp_bind} (inbox: http://{inbox_bind}/)");

    let google_bind = env_or("SANDBOX_GOOGLE_BIND", "127.0.0.1:8094");
    let google_listener = tokio::net::TcpListener::bind(&google_bind).await?;
    let google_key = match std::env::var("GOOGLE_SERVICE_ACCOUNT_KEY_FILE") {
        Ok(path) if !path.trim().is_empty() => std::fs::read_to_string(path.trim())?,
        _ => include_str!("../keys/service-account.json").to_owned(),
    };
    let google = Google::new(&google_key, &format!("http://{google_bind}/token"))
        .map_err(std::io::Error::other)?
        .with_spreadsheet(
            &env_or("GOOGLE_SHEET_ID", "sandbox-visitas"),
            &[&env_or("GOOGLE_SHEET_TAB", "Visitas")],
        );
    println!(
        "sandbox: Google emulator on http://{google_bind} (calendar and sheet: http://{google_bind}/)"
    );
    let afip_bind = env_or("SANDBOX_AFIP_BIND", "127.0.0.1:8095");
    let afip_listener = tokio::net::TcpListener::bind(&afip_bind).await?;
    println!("sandbox: AFIP emulator on http://{afip_bind} (receipts: http://{afip_bind}/afip/)");
    tokio::try_join!(
        Mercately::with_amar_templates(&key).serve(mercately),
        emulator.serve(mp),
        sink.clone().serve(smtp),
        sink.serve_inbox(inbox),
        google.serve(google_listener),
        Afip::new().serve(afip_listener),
    )?;
    Ok(())
}
