//! A responsable inscripto issues Factura B to a final consumer (IVA 21 % itemized) and
//! Factura A to a VAT-registered buyer with a CUIT; a receipt AFIP rejects frees its
//! number, staff are told why, and once the owner's record is fixed staff issue it again.

use std::time::Duration;

use e2e::{InProcessWorker, STAFF_EMAIL, TestApp, fixtures};
use serde_json::json;

use super::receipts_when;

/// An app whose API and worker invoice as a responsable inscripto.
async fn app() -> TestApp {
    app_with_limit(None).await
}

/// As [`app`], with an anonymous buyer's limit of `limit` pesos.
async fn app_with_limit(limit: Option<i64>) -> TestApp {
    let db = std::sync::Arc::new(e2e::TestDb::new().await);
    TestApp::spawn_with(
        db,
        e2e::temporal_settings(e2e::dev_server_address(), &e2e::unique_task_queue()),
        e2e::quick_policy(),
        |api| {
            if let Some(afip) = api.afip.as_mut() {
                afip.condition = domain::invoices::IssuerCondition::ResponsableInscripto;
                if let Some(limit) = limit {
                    afip.anonymous_limit = rust_decimal::Decimal::from(limit);
                }
            }
        },
    )
    .await
}

fn responsable_inscripto(app: &TestApp) -> worker::WorkerSettings {
    let mut settings = app.worker_settings();
    if let Some(afip) = settings.afip.as_mut() {
        afip.condition = domain::invoices::IssuerCondition::ResponsableInscripto;
    }
    settings
}

#[tokio::test]
async fn a_final_consumer_gets_factura_b_with_its_iva_itemized() {
    e2e::logs();
    let app = app().await;
    let _worker = InProcessWorker::start(responsable_inscripto(&app));
    let w = fixtures::dispatch(&app, 1).await;
    let id = fixtures::paid(&app, &w).await;
    let receipts = receipts_when(&app, &id, 1, "authorized").await;
    let invoice = &receipts[0];
    assert_eq!(
        (invoice["receipt_type"].as_i64(), invoice["letter"].as_str()),
        (Some(6), Some("B"))
    );
    assert_eq!(
        (
            invoice["net"].as_str(),
            invoice["vat"].as_str(),
            invoice["total"].as_str()
        ),
        (Some("9917.36"), Some("2082.64"), Some("12000.00"))
    );
    let issued = app.afip.receipts();
    assert_eq!(issued.len(), 1);
    assert_eq!((issued[0].receipt_type, issued[0].vat_condition), (6, 5));
    let sent = app.afip.last_request().expect("the request");
    assert!(
        sent.contains("<Iva><AlicIva><Id>5</Id><BaseImp>9917.36</BaseImp><Importe>2082.64</Importe></AlicIva></Iva>"),
        "{sent}"
    );
}

#[tokio::test]
async fn a_vat_registered_buyer_with_a_cuit_gets_factura_a() {
    e2e::logs();
    let app = app().await;
    let _worker = InProcessWorker::start(responsable_inscripto(&app));
    let w = fixtures::dispatch(&app, 1).await;
    let ana = &w.booking.ana;
    let (status, body) = ana
        .patch(
            &app,
            &format!("/api/v1/owners/{}", ana.id),
            json!({ "document_type_id": 80, "document_number": "27234567891", "vat_condition_id": 1 }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = fixtures::paid(&app, &w).await;
    let receipts = receipts_when(&app, &id, 1, "authorized").await;
    let invoice = &receipts[0];
    assert_eq!(
        (invoice["receipt_type"].as_i64(), invoice["letter"].as_str()),
        (Some(1), Some("A"))
    );
    assert_eq!(
        (invoice["doc_type"].as_i64(), invoice["doc_number"].as_i64()),
        (Some(80), Some(27_234_567_891))
    );
    let issued = app.afip.receipts();
    assert_eq!(
        (
            issued[0].receipt_type,
            issued[0].doc_type,
            issued[0].vat_condition
        ),
        (1, 80, 1)
    );
}

#[tokio::test]
async fn a_rejected_receipt_frees_its_number_tells_staff_and_is_issued_again_by_staff() {
    e2e::logs();
    let app = app().await;
    let _worker = InProcessWorker::start(responsable_inscripto(&app));
    app.afip
        .reject_next(10015, "El receptor debe identificarse");
    let w = fixtures::dispatch(&app, 1).await;
    let id = fixtures::paid(&app, &w).await;
    let receipts = receipts_when(&app, &id, 1, "rejected").await;
    assert!(receipts[0]["number"].is_null(), "the number is free again");
    assert!(
        receipts[0]["afip_messages"].to_string().contains("10015"),
        "{}",
        receipts[0]
    );
    e2e::eventually("the staff alert", Duration::from_secs(20), || async {
        app.emails_to(STAFF_EMAIL)
            .into_iter()
            .find(|e| e.text.contains("AFIP rejected receipt") && e.text.contains("10015"))
    })
    .await;
    assert!(app.afip.receipts().is_empty());

    // Staff fix Ana's record and issue it again: the first number, no gap.
    let staff = app.staff().await;
    let ana = &w.booking.ana;
    let (status, body) = app
        .call(
            &staff,
            reqwest::Method::PATCH,
            &format!("/api/v1/owners/{}", ana.id),
            Some(json!({ "document_type_id": 96, "document_number": "30123456" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let invoice = receipts[0]["id"].as_str().unwrap();
    let (status, body) = app
        .call(
            &staff,
            reqwest::Method::POST,
            &format!("/api/v1/invoices/{invoice}/reissue"),
            None,
        )
        .await;
    assert_eq!(
        (status, body["state"].as_str()),
        (202, Some("pending")),
        "{body}"
    );
    let receipts = receipts_when(&app, &id, 1, "authorized").await;
    assert_eq!(receipts[0]["number"], 1);
    assert_eq!(
        (
            receipts[0]["doc_type"].as_i64(),
            receipts[0]["doc_number"].as_i64()
        ),
        (Some(96), Some(30_123_456))
    );
    assert_eq!(app.afip.receipts().len(), 1);
}

#[tokio::test]
async fn a_buyer_who_must_be_identified_is_invoiced_once_staff_complete_the_record() {
    e2e::logs();
    let app = app_with_limit(Some(5_000)).await;
    let mut settings = responsable_inscripto(&app);
    if let Some(afip) = settings.afip.as_mut() {
        afip.anonymous_limit = rust_decimal::Decimal::from(5_000);
    }
    let _worker = InProcessWorker::start(settings);
    let w = fixtures::dispatch(&app, 1).await;
    let id = fixtures::paid(&app, &w).await;
    // 12,000 pesos to an anonymous buyer: over the limit, nothing sent to AFIP.
    let receipts = receipts_when(&app, &id, 1, "rejected").await;
    assert_eq!(
        receipts[0]["letter"], "B",
        "the buyer's class, for the re-issue"
    );
    assert!(
        receipts[0]["afip_messages"]
            .to_string()
            .contains("DNI, CUIL or CUIT"),
        "{}",
        receipts[0]
    );
    e2e::eventually("the staff alert", Duration::from_secs(20), || async {
        app.emails_to(STAFF_EMAIL)
            .into_iter()
            .find(|e| e.text.contains("invoice cannot be issued"))
    })
    .await;
    assert_eq!(app.afip.calls("FECAESolicitar"), 0);

    let staff = app.staff().await;
    let invoice = receipts[0]["id"].as_str().unwrap();
    let (status, problem) = app
        .call(
            &staff,
            reqwest::Method::POST,
            &format!("/api/v1/invoices/{invoice}/reissue"),
            None,
        )
        .await;
    assert_eq!(status, 409, "still anonymous: {problem}");
    let ana = &w.booking.ana;
    let (status, body) = app
        .call(
            &staff,
            reqwest::Method::PATCH,
            &format!("/api/v1/owners/{}", ana.id),
            Some(json!({ "document_type_id": 96, "document_number": "30123456" })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call(
            &staff,
            reqwest::Method::POST,
            &format!("/api/v1/invoices/{invoice}/reissue"),
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let receipts = receipts_when(&app, &id, 1, "authorized").await;
    assert_eq!(
        (
            receipts[0]["letter"].as_str(),
            receipts[0]["number"].as_i64()
        ),
        (Some("B"), Some(1))
    );
    assert_eq!(receipts[0]["doc_number"], 30_123_456);
}
