//! As owners and staff live it: a paid visit gets its Factura C (a monotributista
//! issuer), authorized by AFIP with a CAE, emailed to the owner with its PDF; the PDF
//! and the receipt are the owner's and staff's only; a refund gets its Nota de Crédito
//! C naming the invoice.

use std::{process::Command, time::Duration};

use e2e::{InProcessWorker, TestApp, fixtures};
use serde_json::json;

use super::receipts_when;

#[tokio::test]
async fn a_paid_visit_gets_an_authorized_factura_c_emailed_with_its_pdf() {
    e2e::logs();
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    let w = fixtures::dispatch(&app, 1).await;
    let id = fixtures::paid(&app, &w).await;

    let receipts = receipts_when(&app, &id, 1, "authorized").await;
    let invoice = &receipts[0];
    assert_eq!(invoice["kind"], "invoice");
    assert_eq!(
        (invoice["receipt_type"].as_i64(), invoice["letter"].as_str()),
        (Some(11), Some("C"))
    );
    assert_eq!(invoice["number_label"], "0001-00000001");
    assert_eq!(invoice["total"], "12000.00");
    assert_eq!(
        (invoice["net"].as_str(), invoice["vat"].as_str()),
        (Some("12000.00"), Some("0.00"))
    );
    // Ana has no document on record: an anonymous final consumer, under the limit.
    assert_eq!(
        (invoice["doc_type"].as_i64(), invoice["doc_number"].as_i64()),
        (Some(99), Some(0))
    );
    assert_eq!(invoice["buyer_vat_condition"], 5);

    // AFIP has exactly that receipt, with that CAE, for that buyer and total.
    let issued = app.afip.receipts();
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(issued[0].cae, invoice["cae"].as_str().unwrap().trim());
    assert_eq!(
        (
            issued[0].number,
            issued[0].receipt_type,
            issued[0].point_of_sale
        ),
        (1, 11, 1)
    );
    assert_eq!(issued[0].total.to_string(), "12000.00");
    assert_eq!(issued[0].concept, 2, "services");
    assert_eq!(
        issued[0].service_from,
        Some(domain::time::local_date(w.start))
    );

    // Her copy by email, the PDF attached.
    let email = e2e::eventually("the invoice email", Duration::from_secs(20), || async {
        app.emails_to("ana@example.com")
            .into_iter()
            .find(|e| e.subject == "Tu factura de AMAR Mascotas")
    })
    .await;
    assert!(email.text.contains("0001-00000001"), "{}", email.text);
    assert!(
        email
            .attachments
            .iter()
            .any(|a| a.filename == "factura-c-0001-00000001.pdf"),
        "{:?}",
        email
            .attachments
            .iter()
            .map(|a| &a.filename)
            .collect::<Vec<_>>()
    );

    // The PDF, as Ana downloads it: read back, it has the number, the CAE and the total.
    let pdf_url = invoice["pdf_url"].as_str().expect("pdf_url");
    let response = app
        .http
        .get(format!("{}{pdf_url}", app.base))
        .bearer_auth(&w.booking.ana.token)
        .send()
        .await
        .expect("GET pdf");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.expect("bytes");
    let path = std::env::temp_dir().join(format!("invoice-{id}.pdf"));
    std::fs::write(&path, &pdf).expect("write");
    let text = Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext");
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&text.stdout);
    let cae = invoice["cae"].as_str().unwrap().trim();
    for expected in [
        "FACTURA C Nº 0001-00000001",
        &format!("CAE Nº {cae}"),
        "$ 12.000,00",
        "20-12345678-6",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    // Asked again, the same bytes (stored the first time).
    let again = app
        .http
        .get(format!("{}{pdf_url}", app.base))
        .bearer_auth(&w.booking.ana.token)
        .send()
        .await
        .expect("GET pdf")
        .bytes()
        .await
        .expect("bytes");
    assert_eq!(again, pdf);

    // Someone else's receipt is not found; a malformed id names the field.
    let e2e::Caller { token: other, .. } = app.owner("otro@example.com").await;
    let invoice_id = invoice["id"].as_str().unwrap();
    let (status, _) = app
        .call(
            &other,
            reqwest::Method::GET,
            &format!("/api/v1/invoices/{invoice_id}"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = app
        .call(
            &other,
            reqwest::Method::GET,
            &format!("/api/v1/invoices/{invoice_id}.pdf"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, problem) = app
        .call(
            &other,
            reqwest::Method::GET,
            "/api/v1/invoices/not-a-uuid.pdf",
            None,
        )
        .await;
    assert_eq!(
        (status, e2e::problem_fields(&problem)),
        (422, vec!["id".to_owned()]),
        "{problem}"
    );
    let (status, _) = app
        .call(
            &w.booking.ana.token,
            reqwest::Method::GET,
            &format!("/api/v1/service-requests/{id}/invoices"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = app
        .call(
            &other,
            reqwest::Method::GET,
            &format!("/api/v1/service-requests/{id}/invoices"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    // Only staff re-issue, and only a rejected receipt.
    let (status, _) = app
        .call(
            &w.booking.ana.token,
            reqwest::Method::POST,
            &format!("/api/v1/invoices/{invoice_id}/reissue"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 403);
    let staff = app.staff().await;
    let (status, problem) = app
        .call(
            &staff,
            reqwest::Method::POST,
            &format!("/api/v1/invoices/{invoice_id}/reissue"),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (
            status,
            problem["type"]
                .as_str()
                .map(|t| t.ends_with("invoice-not-rejected"))
        ),
        (409, Some(true)),
        "{problem}"
    );

    let issuer = format!(
        "invoice-issuer:{}:20123456786:1:11",
        app.settings.task_queue
    );
    e2e::temporal::save_history(&app.temporal, &issuer, "invoice-issuer-authorized.json").await;
    let request = domain::RequestId::from_uuid(id.parse().unwrap()).workflow_id();
    e2e::temporal::save_history(&app.temporal, &request, "lean-paid-invoiced.json").await;
}

#[tokio::test]
async fn a_refunded_visit_gets_a_credit_note_naming_its_invoice() {
    e2e::logs();
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    let w = fixtures::dispatch(&app, 1).await;
    let id = fixtures::paid(&app, &w).await;
    receipts_when(&app, &id, 1, "authorized").await;

    let staff = app.staff().await;
    let (status, body) = app
        .call(
            &staff,
            reqwest::Method::POST,
            &format!("/api/v1/service-requests/{id}/cancel"),
            Some(json!({ "reason": "la veterinaria se enfermó" })),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    app.await_state(&id, "cancelled").await;

    let receipts = receipts_when(&app, &id, 2, "authorized").await;
    let (invoice, note) = (&receipts[0], &receipts[1]);
    assert_eq!(note["kind"], "credit_note");
    assert_eq!(
        (note["receipt_type"].as_i64(), note["letter"].as_str()),
        (Some(13), Some("C"))
    );
    assert_eq!(note["cancels"], invoice["id"]);
    assert_eq!(note["total"], invoice["total"]);
    assert_eq!(
        note["number_label"], "0001-00000001",
        "the notes' own numbering"
    );
    let issued = app.afip.receipts();
    assert_eq!(issued.len(), 2, "{issued:?}");
    assert_eq!(issued[1].receipt_type, 13);
    assert_eq!(issued[1].associated, Some((11, 1, 1)));
    let email = e2e::eventually("the credit note email", Duration::from_secs(20), || async {
        app.emails_to("ana@example.com")
            .into_iter()
            .find(|e| e.subject == "Tu nota de crédito de AMAR Mascotas")
    })
    .await;
    assert!(
        email
            .attachments
            .iter()
            .any(|a| a.filename == "nota-de-credito-c-0001-00000001.pdf")
    );

    let issuer = format!(
        "invoice-issuer:{}:20123456786:1:13",
        app.settings.task_queue
    );
    e2e::temporal::save_history(&app.temporal, &issuer, "invoice-issuer-credit-note.json").await;
    let request = domain::RequestId::from_uuid(id.parse().unwrap()).workflow_id();
    e2e::temporal::save_history(
        &app.temporal,
        &request,
        "lean-paid-invoiced-cancelled-credit-note.json",
    )
    .await;
}
