//! `sandbox`: serves the emulators of the external services for `make run` and for
//! manual trials:
//! - Mercately on `SANDBOX_MERCATELY_BIND` (default `127.0.0.1:8091`), its key from
//!   `MERCATELY_API_KEY` (default `sandbox-mercately-key`);
//! - MercadoPago on `SANDBOX_MERCADOPAGO_BIND` (default `127.0.0.1:8092`), its access
//!   token from `MP_ACCESS_TOKEN` and webhook secret from `MP_WEBHOOK_SECRET`.

use sandbox::{mercadopago::MercadoPago, mercately::Mercately};

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
    tokio::try_join!(
        Mercately::with_amar_templates(&key).serve(mercately),
        emulator.serve(mp),
    )?;
    Ok(())
}
