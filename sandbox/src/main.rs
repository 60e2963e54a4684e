//! `sandbox`: serves the emulators of the external services for `make run` and for
//! manual trials. Mercately on `SANDBOX_MERCATELY_BIND` (default `127.0.0.1:8091`), its
//! key from `MERCATELY_API_KEY` (default `sandbox-mercately-key`).

use sandbox::mercately::Mercately;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let bind = env_or("SANDBOX_MERCATELY_BIND", "127.0.0.1:8091");
    let key = env_or("MERCATELY_API_KEY", "sandbox-mercately-key");
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!(
        "sandbox: Mercately emulator on http://{bind}/retailers/api/v1 (received messages: http://{bind}/_emulator/messages)"
    );
    Mercately::with_amar_templates(&key).serve(listener).await
}
