//! PostgreSQL access: the pool, migrations and the queries, by business area.

pub mod afip;
pub mod breeds;
pub mod cart;
pub mod catalog;
pub mod dashboards;
pub mod dispatch;
pub mod housekeeping;
pub mod invoices;
pub mod messages;
pub mod owners;
pub mod payments;
pub mod pets;
pub mod phone_codes;
pub mod pricing;
pub mod reference;
pub mod reminders;
pub mod reports;
pub mod requests;
pub mod schema;
pub mod studies;
pub mod users;
pub mod vaccines;
pub mod vets;
pub mod visits;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{
    AsyncPgConnection,
    pooled_connection::{AsyncDieselConnectionManager, PoolError, PoolableConnection},
};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use diesel_async::AsyncConnection;

/// Limit and offset of a list; the limit is capped.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
}

/// `raw` with the LIKE wildcards escaped, for a "contains" filter.
pub(crate) fn escape_like(raw: &str) -> String {
    raw.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

// Every migration under `migrations/`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

pub type Pool = deadpool::managed::Pool<Manager>;
pub type Conn = deadpool::managed::Object<Manager>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database error: {0}")]
    Query(#[from] DieselError),
    #[error("no database connection available: {0}")]
    Pool(String),
    #[error("migration failed: {0}")]
    Migration(String),
}

impl Error {
    /// The name of the constraint the database refused the change for, if any.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Self::Query(DieselError::DatabaseError(_, info)) => info.constraint_name(),
            _ => None,
        }
    }

    /// The name of the violated unique constraint, if that is what went wrong.
    pub fn unique_violation(&self) -> Option<&str> {
        match self {
            Self::Query(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)) => {
                Some(info.constraint_name().unwrap_or(""))
            }
            _ => None,
        }
    }
}

/// How long a caller waits for a free connection before it gets [`Error::Pool`]: well
/// under the 30 s an activity attempt may take, so a starved pool is a retried attempt
/// (or a 503 from the API), never an attempt timed out while it queues.
pub const POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A connection handed out less than this long ago is handed out again without asking
/// PostgreSQL first; an older one is checked with a `SELECT 1`.
///
/// The check is a round trip of its own, and a request checks a connection out twice
/// (for its caller and for its handler): a vet search ran six statements, two of them
/// this check. A connection that was in use a moment ago and came back unbroken
/// is as good as a checked one; one idle for longer may have been closed by the server
/// or the network, and is checked before anyone gets it (the same trade as HikariCP's
/// `aliveBypassWindowMs`, whose default this is).
pub const CHECKED_AFTER_IDLE: std::time::Duration = std::time::Duration::from_millis(500);

/// The pool's manager: diesel-async's, except that a connection used within
/// [`CHECKED_AFTER_IDLE`] is recycled without a `SELECT 1`. One diesel-async marks
/// broken (a transaction left open or failed) always goes through diesel-async's own
/// recycling, which drops it.
pub struct Manager(AsyncDieselConnectionManager<AsyncPgConnection>);

impl deadpool::managed::Manager for Manager {
    type Type = AsyncPgConnection;
    type Error = PoolError;

    async fn create(&self) -> Result<AsyncPgConnection, PoolError> {
        deadpool::managed::Manager::create(&self.0).await
    }

    async fn recycle(
        &self,
        conn: &mut AsyncPgConnection,
        metrics: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<PoolError> {
        if metrics.last_used() < CHECKED_AFTER_IDLE
            && !std::thread::panicking()
            && !conn.is_broken()
        {
            return Ok(());
        }
        deadpool::managed::Manager::recycle(&self.0, conn, metrics).await
    }
}

/// A pool of at most `max_size` connections to `database_url`; a checkout waits at most
/// [`POOL_WAIT`], opening a connection at most as long.
pub fn pool(database_url: &str, max_size: usize) -> Result<Pool, Error> {
    let manager = Manager(AsyncDieselConnectionManager::<AsyncPgConnection>::new(
        database_url,
    ));
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(POOL_WAIT))
        .runtime(::deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| Error::Pool(e.to_string()))
}

pub async fn conn(pool: &Pool) -> Result<Conn, Error> {
    pool.get().await.map_err(|e| Error::Pool(e.to_string()))
}

/// Applies the pending migrations; returns the versions applied.
pub async fn migrate(database_url: &str) -> Result<Vec<String>, Error> {
    use diesel::Connection;
    use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;

    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = <AsyncConnectionWrapper<AsyncPgConnection> as Connection>::establish(&url)
            .map_err(|e| Error::Migration(e.to_string()))?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| Error::Migration(e.to_string()))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
    .await
    .map_err(|e| Error::Migration(e.to_string()))?
}

/// `SELECT 1`, for readiness checks.
pub async fn ping(pool: &Pool) -> Result<(), Error> {
    use diesel_async::RunQueryDsl;
    let mut conn = conn(pool).await?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;
    Ok(())
}

/// The catalog and reference tables staff retire with a soft delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retirable {
    Services,
    Neighborhoods,
    Vaccines,
    TurnFeeGroups,
    Discounts,
    Species,
    Specialties,
    StudyTypes,
}

impl Retirable {
    const fn table(self) -> &'static str {
        match self {
            Self::Services => "services",
            Self::Neighborhoods => "neighborhoods",
            Self::Vaccines => "vaccines",
            Self::TurnFeeGroups => "turn_fee_groups",
            Self::Discounts => "discounts",
            Self::Species => "species",
            Self::Specialties => "specialties",
            Self::StudyTypes => "study_types",
        }
    }
}

/// Soft-deletes row `id` of `table`: it disappears from every read, and rows that refer
/// to it keep working. False when there was no such live row.
pub async fn retire(
    conn: &mut AsyncPgConnection,
    table: Retirable,
    id: uuid::Uuid,
) -> Result<bool, Error> {
    use diesel_async::RunQueryDsl;
    let n = diesel::sql_query(format!(
        "UPDATE {} SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL",
        table.table()
    ))
    .bind::<diesel::sql_types::Uuid, _>(id)
    .execute(conn)
    .await?;
    Ok(n == 1)
}
