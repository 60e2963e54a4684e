//! The database pool: a connection used a moment ago is handed out again as it is (no
//! `SELECT 1` round trip per checkout), and one idle longer is checked first, so a
//! connection the server closed meanwhile is replaced instead of failing a request.

use diesel::{QueryableByName, sql_types::Integer};
use diesel_async::RunQueryDsl;
use e2e::TestDb;
use std::time::Duration;

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

async fn backend_pid(pool: &db::Pool) -> i32 {
    let mut conn = db::conn(pool).await.expect("a connection");
    diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(&mut conn)
        .await
        .expect("pg_backend_pid")
        .pid
}

/// What the backend `pid` ran last, as PostgreSQL reports it.
async fn last_statement(db: &TestDb, pid: i32) -> String {
    #[derive(QueryableByName)]
    struct Query {
        #[diesel(sql_type = diesel::sql_types::Text)]
        query: String,
    }
    let mut conn = db.conn().await;
    diesel::sql_query(format!(
        "SELECT query FROM pg_stat_activity WHERE pid = {pid}"
    ))
    .get_result::<Query>(&mut conn)
    .await
    .expect("pg_stat_activity")
    .query
}

#[tokio::test]
async fn a_connection_just_used_is_reused_unchecked_and_one_closed_while_idle_is_replaced() {
    let db = TestDb::new().await;
    let pool = db::pool(&db.url, 1).expect("pool");

    // Checked out again at once: the same backend, and no `SELECT 1` ran on it. A loaded
    // machine may take longer than the window between the two checkouts; such a try
    // proves nothing and is made again.
    let mut first = None;
    for _ in 0..20 {
        let started = std::time::Instant::now();
        let pid = backend_pid(&pool).await;
        let _again = db::conn(&pool).await.expect("a connection");
        if started.elapsed() < db::CHECKED_AFTER_IDLE {
            assert_eq!(
                last_statement(&db, pid).await,
                "SELECT pg_backend_pid() AS pid",
                "a connection used a moment ago is handed out without a check"
            );
            first = Some(pid);
            break;
        }
    }
    let first = first.expect("two checkouts within the window in 20 tries");
    assert_eq!(backend_pid(&pool).await, first, "the connection is kept");

    // The server closes it while it idles in the pool (a restart, an idle timeout).
    let mut admin = db.conn().await;
    diesel::sql_query(format!("SELECT pg_terminate_backend({first})"))
        .execute(&mut admin)
        .await
        .expect("terminate the pooled connection's backend");
    drop(admin);
    tokio::time::sleep(db::CHECKED_AFTER_IDLE + Duration::from_millis(200)).await;

    // The next caller gets a working connection: the check found the dead one.
    let replaced = backend_pid(&pool).await;
    assert_ne!(replaced, first, "a new backend serves the next checkout");
}
