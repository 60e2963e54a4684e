//! On the Temporal dev server `make test` starts (`TEST_TEMPORAL_ADDRESS`).

mod issuer;
mod paid_visit;
mod responsable_inscripto;
mod setup;

use std::time::Duration;

use diesel_async::RunQueryDsl;
use e2e::TestApp;
use serde_json::Value;

/// The request's receipts as staff see them, once `count` of them are `state`.
pub async fn receipts_when(app: &TestApp, request: &str, count: usize, state: &str) -> Vec<Value> {
    let staff = app.staff().await;
    e2e::eventually(
        &format!("{count} {state} receipts of {request}"),
        Duration::from_secs(40),
        || {
            let staff = staff.clone();
            async move {
                let (status, body) = app
                    .call(
                        &staff,
                        reqwest::Method::GET,
                        &format!("/api/v1/service-requests/{request}/invoices"),
                        None,
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
                let all = body.as_array().cloned().unwrap_or_default();
                (all.len() == count && all.iter().all(|r| r["state"] == state)).then_some(all)
            }
        },
    )
    .await
}

/// `n` more requests like `request` (same owner, pet, service), each with a visit of its
/// own (cancelled, so the vet's time is not taken twice): what receipts need to exist.
pub async fn requests_like(
    app: &TestApp,
    request: &str,
    n: usize,
) -> Vec<(uuid::Uuid, uuid::Uuid)> {
    #[derive(diesel::QueryableByName)]
    struct Ids {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        request_id: uuid::Uuid,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        visit_id: uuid::Uuid,
    }
    let mut conn = app.db.conn().await;
    let mut made = Vec::with_capacity(n);
    for _ in 0..n {
        let statements = [
            "CREATE TEMP TABLE r AS SELECT * FROM service_requests WHERE id = $1::uuid",
            "UPDATE r SET id = gen_random_uuid()",
            "INSERT INTO service_requests SELECT * FROM r",
            "CREATE TEMP TABLE v AS SELECT * FROM visits WHERE request_id = $1::uuid",
            "UPDATE v SET id = gen_random_uuid(), request_id = (SELECT id FROM r), status = 'cancelled', calendar_event_id = NULL, sheet_row = NULL",
            "INSERT INTO visits SELECT * FROM v",
        ];
        for sql in statements {
            let done = if sql.contains("$1") {
                diesel::sql_query(sql)
                    .bind::<diesel::sql_types::Text, _>(request)
                    .execute(&mut conn)
                    .await
            } else {
                diesel::sql_query(sql).execute(&mut conn).await
            };
            done.expect(sql);
        }
        let ids: Ids = diesel::sql_query("SELECT r.id AS request_id, v.id AS visit_id FROM r, v")
            .get_result(&mut conn)
            .await
            .expect("ids");
        for drop in ["DROP TABLE r", "DROP TABLE v"] {
            diesel::sql_query(drop)
                .execute(&mut conn)
                .await
                .expect(drop);
        }
        made.push((ids.request_id, ids.visit_id));
    }
    made
}
