//! The taxpayer's setup: a certificate AFIP no longer accepts stops invoicing with a
//! clear alert to staff (the invoice waits, nothing is lost); the daily check warns
//! staff a month before the certificate expires and syncs the points of sale.

use std::time::Duration;

use chrono::Utc;
use e2e::{InProcessWorker, STAFF_EMAIL, TestApp, fixtures};

use super::receipts_when;

/// A certificate for a new key of the sandbox taxpayer, valid from `from` to `to` days
/// from now, signed by the emulator: (certificate PEM, key PEM).
fn certificate(app: &TestApp, from: i64, to: i64) -> (String, String) {
    let dir = std::env::temp_dir().join(format!(
        "afip-cert-{}-{from}-{to}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let args = api::afip_csr::CsrArgs {
        cuit: "20123456786".into(),
        name: "AMAR Mascotas".into(),
        alias: "amar".into(),
        out: dir.clone(),
    };
    let (key, csr) = api::afip_csr::run(&args).expect("afip-csr");
    let now = Utc::now();
    let cert = app
        .afip
        .issue_certificate(
            &std::fs::read_to_string(csr).expect("csr"),
            now + chrono::Duration::days(from),
            now + chrono::Duration::days(to),
        )
        .expect("signed");
    let key = std::fs::read_to_string(key).expect("key");
    let _ = std::fs::remove_dir_all(&dir);
    (cert, key)
}

#[tokio::test]
async fn an_expired_certificate_holds_the_invoice_and_tells_staff_why() {
    e2e::logs();
    let app = TestApp::start().await;
    let (cert, key) = certificate(&app, -400, -1);
    let mut settings = app.worker_settings();
    if let Some(afip) = settings.afip.as_mut() {
        afip.certificate = config::Secret::new(cert);
        afip.key = config::Secret::new(key);
    }
    let _worker = InProcessWorker::start(settings);
    let w = fixtures::dispatch(&app, 1).await;
    let id = fixtures::paid(&app, &w).await;
    let alert = e2e::eventually("the staff alert", Duration::from_secs(40), || async {
        app.emails_to(STAFF_EMAIL)
            .into_iter()
            .find(|e| e.text.contains("certificate expired"))
    })
    .await;
    assert!(alert.text.contains("api afip-csr"), "{}", alert.text);
    let receipts = receipts_when(&app, &id, 1, "pending").await;
    assert!(receipts[0]["number"].is_null());
    assert_eq!(app.afip.receipts().len(), 0);
    assert_eq!(app.afip.logins(), 0, "never sent to AFIP");
}

#[tokio::test]
async fn the_daily_check_warns_a_month_ahead_and_syncs_the_points_of_sale() {
    e2e::logs();
    let app = TestApp::start().await;
    let (cert, key) = certificate(&app, -300, 12);
    let mut settings = app.worker_settings();
    if let Some(afip) = settings.afip.as_mut() {
        afip.certificate = config::Secret::new(cert);
        afip.key = config::Secret::new(key);
    }
    let _worker = InProcessWorker::start(settings);
    let handle = app
        .temporal
        .start_workflow(
            workflows::AfipCheckWorkflow::run,
            (),
            temporalio_client::WorkflowStartOptions::new(
                app.settings.task_queue.clone(),
                format!("afip-check-{}", uuid::Uuid::new_v4()),
            )
            .build(),
        )
        .await
        .expect("started");
    let check = handle
        .get_result(Default::default())
        .await
        .expect("the check's result");
    assert_eq!(check.points_of_sale, [1, 2]);
    assert_eq!(check.warnings.len(), 1, "{:?}", check.warnings);
    assert!(check.warnings[0].contains("vence"), "{:?}", check.warnings);
    let alert = e2e::eventually("the staff alert", Duration::from_secs(20), || async {
        app.emails_to(STAFF_EMAIL)
            .into_iter()
            .find(|e| e.text.contains("certificado de AFIP vence"))
    })
    .await;
    assert!(
        alert.text.contains("faltan 11 días") || alert.text.contains("faltan 12 días"),
        "{}",
        alert.text
    );
    let mut conn = app.db.conn().await;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::Int8)]
        n: i64,
    }
    let count: Count = diesel_async::RunQueryDsl::get_result(
        diesel::sql_query("SELECT count(*) AS n FROM afip_points_of_sale"),
        &mut conn,
    )
    .await
    .expect("count");
    assert_eq!(count.n, 2);
}
