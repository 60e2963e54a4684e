//! `api`: serves HTTP (default); `api migrate` applies the database migrations;
//! `api seed-demo` loads the demo data (idempotent; only with `AMAR_ENV=development`);
//! `api afip-csr --cuit … --name …` makes the AFIP key and certificate request.

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
        Some("afip-csr") => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            let args = api::afip_csr::parse(&args).map_err(anyhow::Error::msg)?;
            let (key, csr) = api::afip_csr::run(&args).map_err(anyhow::Error::msg)?;
            println!("{}", api::afip_csr::next_steps(&key, &csr));
            Ok(())
        }
        None | Some("serve") => {
            let settings = ApiSettings::from_env()?;
            api::serve(settings, shutdown_signal()).await
        }
        Some(other) => {
            anyhow::bail!(
                "unknown command {other:?}; expected `serve`, `migrate`, `seed-demo` or `afip-csr`"
            )
        }
    }
}
