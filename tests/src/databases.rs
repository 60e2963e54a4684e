//! A database per test: cloned from a migrated template built once per run and per set
//! of migrations, dropped with the run.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use std::{
    hash::{DefaultHasher, Hash, Hasher},
    path::PathBuf,
};
use temporalio_client::Url;
use tokio::sync::OnceCell;

use crate::*;

pub(crate) fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests with `make test`, which starts what they need")
    })
}

/// `DATABASE_URL` with its database name replaced.
pub(crate) fn database_url(database: &str) -> String {
    let mut url = Url::parse(&required_env("DATABASE_URL")).expect("DATABASE_URL is a URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

/// The migrated template every test database is cloned from. Its name carries a hash of
/// the migrations, so a changed migration gets a new template.
pub(crate) async fn template() -> &'static str {
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
pub(crate) fn run_id() -> String {
    std::env::var("TEST_RUN_ID")
        .ok()
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| "local".to_owned())
}

pub(crate) fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
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
pub(crate) struct Count {
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

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
}

/// Runs a `SELECT … AS t ...` query of one text column.
pub async fn texts(conn: &mut AsyncPgConnection, sql: &str) -> Vec<String> {
    diesel::sql_query(sql)
        .load::<Text>(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|row| row.t)
        .collect()
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

    pub async fn texts(&self, sql: &str) -> Vec<String> {
        let mut conn = self.conn().await;
        texts(&mut conn, sql).await
    }

    /// Runs a statement as an operator would by hand (what no endpoint does).
    pub async fn execute(&self, sql: &str) -> usize {
        let mut conn = self.conn().await;
        diesel::sql_query(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}
