//! `api`: serves HTTP (default), or `api migrate` applies the database migrations.

use activities::settings::{env_required, init_tracing, shutdown_signal};
use api::ApiSettings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    dotenvy::dotenv().ok();
    init_tracing();
    match std::env::args().nth(1).as_deref() {
        Some("migrate") => {
            let url: String = env_required("DATABASE_URL")?;
            let applied = db::migrate(&url).await?;
            tracing::info!(count = applied.len(), ?applied, "migrations applied");
            Ok(())
        }
        None | Some("serve") => {
            let settings = ApiSettings::from_env()?;
            api::serve(settings, shutdown_signal()).await
        }
        Some(other) => anyhow::bail!("unknown command {other:?}; expected `serve` or `migrate`"),
    }
}
