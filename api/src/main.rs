//! `api`: serves HTTP (default); `api migrate` applies the database migrations;
//! `api seed-demo` loads the demo data (idempotent; only with `AMAR_ENV=development`).

use api::ApiSettings;
use config::{env_required, init_tracing, shutdown_signal};

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
        Some("seed-demo") => {
            // The demo accounts' passwords are published: never in a deployment.
            if config::Deployment::from_env()? != config::Deployment::Development {
                anyhow::bail!(
                    "seed-demo loads accounts whose passwords are published; it runs only \
                     with AMAR_ENV=development (which `make run` sets)"
                );
            }
            let url: String = env_required("DATABASE_URL")?;
            api::seed::demo(&url).await?;
            println!("Demo data loaded. Accounts (email / password):");
            for (role, email, password) in api::seed::ACCOUNTS {
                println!("  {role:<6} {email:<36} {password}");
            }
            Ok(())
        }
        None | Some("serve") => {
            let settings = ApiSettings::from_env()?;
            api::serve(settings, shutdown_signal()).await
        }
        Some(other) => {
            anyhow::bail!("unknown command {other:?}; expected `serve`, `migrate` or `seed-demo`")
        }
    }
}
