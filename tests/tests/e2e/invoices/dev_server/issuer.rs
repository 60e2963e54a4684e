//! The issuer never duplicates and never skips a number: a lost answer is recovered by
//! `FECompConsultar`; a number taken elsewhere (10016) is read again; twenty receipts
//! asked for at once are numbered 1 to 20 in order, on one ticket; a ticket near its
//! end is renewed once; a worker killed while AFIP holds the answer loses nothing.

use std::time::{Duration, Instant};

use chrono::Utc;
use domain::{InvoiceId, RequestId};
use e2e::{InProcessWorker, TestApp, WorkerProcess, fixtures};

use super::{receipts_when, requests_like};

#[tokio::test]
async fn a_lost_answer_is_found_by_lookup_and_adopted_without_a_second_receipt() {
    e2e::logs();
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    app.afip.drop_next_answer();
    let w = fixtures::dispatch(&app, 1).await;
    let id = fixtures::paid(&app, &w).await;
    let receipts = receipts_when(&app, &id, 1, "authorized").await;
    let issued = app.afip.receipts();
    assert_eq!(issued.len(), 1, "one receipt at AFIP: {issued:?}");
    assert_eq!(receipts[0]["number"], 1);
    assert_eq!(
        receipts[0]["cae"].as_str().map(str::trim),
        Some(issued[0].cae.as_str())
    );
    assert_eq!(
        app.afip.calls("FECAESolicitar"),
        1,
        "never sent again blind"
    );
    let said = receipts[0]["afip_messages"].to_string();
    assert!(said.contains("FECompConsultar"), "{said}");
    let issuer = format!(
        "invoice-issuer:{}:20123456786:1:11",
        app.settings.task_queue
    );
    e2e::temporal::save_history(&app.temporal, &issuer, "invoice-issuer-recovered.json").await;
}

#[tokio::test]
async fn a_request_lost_before_afip_saw_it_is_sent_again_once_it_cannot_land_any_more() {
    e2e::logs();
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    app.afip.lose_next_request();
    let w = fixtures::dispatch(&app, 1).await;
    let id = fixtures::paid(&app, &w).await;
    // The 503 is ambiguous: the number stays taken, and while the request could still
    // land (twice the client's timeout, 3 s in tests, and 30 s) a 602 frees nothing.
    e2e::eventually(
        "two lookups of the number",
        Duration::from_secs(30),
        || async { (app.afip.calls("FECompConsultar") >= 2).then_some(()) },
    )
    .await;
    assert_eq!(
        app.afip.calls("FECAESolicitar"),
        1,
        "not sent again while it may land"
    );
    let pending = receipts_when(&app, &id, 1, "pending").await;
    assert_eq!(
        pending[0]["number"],
        serde_json::Value::Null,
        "the number is held, not shown"
    );
    // Then it is freed and sent again: the same number, once.
    let receipts = e2e::eventually("authorized", Duration::from_secs(120), || async {
        let mut conn = app.db.conn().await;
        let rows = db::invoices::of_request(&mut conn, RequestId::from_uuid(id.parse().ok()?))
            .await
            .ok()?;
        rows.first().filter(|r| r.state == "authorized").cloned()
    })
    .await;
    assert_eq!(receipts.number, Some(1), "the same number, no gap");
    assert_eq!(app.afip.calls("FECAESolicitar"), 2, "sent again once");
    assert_eq!(app.afip.receipts().len(), 1);
}

#[tokio::test]
async fn a_number_taken_elsewhere_is_read_again_and_the_next_one_issued() {
    e2e::logs();
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    app.afip.issue_elsewhere_next();
    let w = fixtures::dispatch(&app, 1).await;
    let id = fixtures::paid(&app, &w).await;
    let receipts = receipts_when(&app, &id, 1, "authorized").await;
    assert_eq!(receipts[0]["number"], 2);
    let issued = app.afip.receipts();
    let numbers: Vec<(u64, bool)> = issued.iter().map(|r| (r.number, r.elsewhere)).collect();
    assert_eq!(numbers, [(1, true), (2, false)]);
    assert_eq!(
        app.afip.calls("FECAESolicitar"),
        2,
        "the 10016, then the next number"
    );
}

/// A pending Factura C of `total` pesos to an anonymous buyer for (request, visit).
fn factura_c(
    app: &TestApp,
    request: uuid::Uuid,
    visit: uuid::Uuid,
    point_of_sale: u32,
    total: i64,
) -> db::invoices::NewInvoice {
    let total = rust_decimal::Decimal::from(total);
    db::invoices::NewInvoice {
        id: InvoiceId::new(),
        request_id: RequestId::from_uuid(request),
        visit_id: visit,
        cancels: None,
        issuer_cuit: app.afip_settings.cuit,
        point_of_sale,
        receipt_type: 11,
        service_date: domain::time::local_date(Utc::now()),
        buyer_name: "Ana Gómez".into(),
        doc_type: 99,
        doc_number: 0,
        buyer_vat_condition: 5,
        description: "Visita veterinaria a domicilio".into(),
        net: total,
        vat: rust_decimal::Decimal::ZERO,
        total,
        rejected_because: None,
    }
}

/// Writes a pending Factura C for each (request, visit) on `point_of_sale`, totals 1001,
/// 1002, …, and wakes its issuer for all of them at once.
async fn queue_receipts(
    app: &TestApp,
    pairs: &[(uuid::Uuid, uuid::Uuid)],
    point_of_sale: u32,
) -> Vec<InvoiceId> {
    let mut conn = app.db.conn().await;
    let mut ids = Vec::new();
    for (i, (request, visit)) in pairs.iter().enumerate() {
        let new = factura_c(app, *request, *visit, point_of_sale, 1001 + i as i64);
        ids.push(
            db::invoices::insert(&mut conn, &new)
                .await
                .expect("insert")
                .invoice_id(),
        );
    }
    let issuer = domain::invoices::IssuerKey {
        cuit: app.afip_settings.cuit,
        point_of_sale,
        receipt_type: 11,
    };
    let wakes = pairs.iter().zip(&ids).map(|((request, _), invoice)| {
        let queued = domain::invoices::Queued {
            invoice: *invoice,
            request: RequestId::from_uuid(*request),
        };
        activities::issuers::wake(&app.temporal, &app.settings.task_queue, issuer, queued)
    });
    for woken in futures::future::join_all(wakes).await {
        woken.expect("woken");
    }
    ids
}

async fn authorized(app: &TestApp, ids: &[InvoiceId]) -> Vec<db::invoices::InvoiceRow> {
    e2e::eventually(
        "every receipt authorized",
        Duration::from_secs(90),
        || async {
            let mut conn = app.db.conn().await;
            let mut rows = Vec::new();
            for id in ids {
                let row = db::invoices::get(&mut conn, *id)
                    .await
                    .expect("get")
                    .expect("row");
                if row.state != "authorized" {
                    return None;
                }
                rows.push(row);
            }
            Some(rows)
        },
    )
    .await
}

#[tokio::test]
async fn twenty_receipts_at_once_are_numbered_1_to_20_in_order_on_one_ticket() {
    e2e::logs();
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    let w = fixtures::dispatch(&app, 1).await;
    let id = fixtures::paid(&app, &w).await;
    receipts_when(&app, &id, 1, "authorized").await;
    let logins_before = app.afip.logins();
    let pairs = requests_like(&app, &id, 20).await;

    // A point of sale of their own, so its numbering starts at 1.
    let started = Instant::now();
    let ids = queue_receipts(&app, &pairs, 2).await;
    let rows = authorized(&app, &ids).await;
    let elapsed = started.elapsed();

    let mut by_time = rows.clone();
    by_time.sort_by_key(|r| r.authorized_at);
    let numbers: Vec<i64> = by_time.iter().filter_map(|r| r.number).collect();
    assert_eq!(
        numbers,
        (1..=20).collect::<Vec<_>>(),
        "one at a time, in order, no gap"
    );
    let at_afip: Vec<u64> = app
        .afip
        .receipts()
        .iter()
        .filter(|r| r.point_of_sale == 2)
        .map(|r| r.number)
        .collect();
    assert_eq!(at_afip, (1..=20).collect::<Vec<_>>(), "AFIP has each once");
    for row in &rows {
        let at = app
            .afip
            .receipts()
            .into_iter()
            .find(|r| r.point_of_sale == 2 && Some(r.number as i64) == row.number)
            .expect("at AFIP");
        assert_eq!(
            at.total, row.total,
            "the receipt numbered {:?} is the one sent",
            row.number
        );
    }
    assert_eq!(app.afip.logins(), logins_before, "the one shared ticket");
    let calls = app.afip.calls("FECAESolicitar");
    eprintln!(
        "numbering: 20 receipts in {:.1} s ({:.0} ms each), {calls} FECAESolicitar calls in all, {} WSAA logins",
        elapsed.as_secs_f64(),
        elapsed.as_millis() as f64 / 20.0,
        app.afip.logins()
    );
}

#[tokio::test]
async fn a_ticket_near_its_end_is_renewed_once_and_reused_after() {
    e2e::logs();
    let app = TestApp::start().await;
    // Tickets of 10 minutes and 2 seconds: renewed when 10 minutes are left.
    app.afip
        .set_tickets(Duration::from_secs(602), Duration::from_secs(1));
    let _worker = InProcessWorker::start(app.worker_settings());
    let w = fixtures::dispatch(&app, 1).await;
    let id = fixtures::paid(&app, &w).await;
    receipts_when(&app, &id, 1, "authorized").await;
    assert_eq!(app.afip.logins(), 1);
    let pairs = requests_like(&app, &id, 2).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let first = queue_receipts(&app, &pairs[..1], 1).await;
    authorized(&app, &first).await;
    assert_eq!(app.afip.logins(), 2, "renewed ahead of its end");
    app.afip
        .set_tickets(Duration::from_secs(12 * 3600), Duration::from_secs(600));
    let second = queue_receipts(&app, &pairs[1..], 1).await;
    authorized(&app, &second).await;
    assert_eq!(app.afip.logins(), 2, "the renewed ticket reused");
}

#[tokio::test]
async fn a_worker_killed_while_afip_holds_the_answer_loses_and_duplicates_nothing() {
    e2e::logs();
    let app = TestApp::start().await;
    let settings = app.worker_settings();
    let worker = WorkerProcess::start(&settings);
    let w = fixtures::dispatch(&app, 1).await;
    // AFIP authorizes the receipt and answers 30 s later: the worker dies meanwhile.
    app.afip.slow_next_answer(Duration::from_secs(30));
    let id = fixtures::paid(&app, &w).await;
    e2e::eventually("the receipt sent", Duration::from_secs(30), || async {
        (app.afip.calls("FECAESolicitar") == 1).then_some(())
    })
    .await;
    worker.kill().await;
    let _worker = WorkerProcess::start(&settings);
    let receipts = receipts_when(&app, &id, 1, "authorized").await;
    assert_eq!(receipts[0]["number"], 1);
    assert_eq!(app.afip.receipts().len(), 1);
    assert_eq!(
        app.afip.calls("FECAESolicitar"),
        1,
        "found by lookup, not sent again"
    );
}

#[tokio::test]
async fn an_issuer_continues_as_new_with_its_queue_and_its_numbering_goes_on() {
    e2e::logs();
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    let w = fixtures::dispatch(&app, 1).await;
    let id = fixtures::paid(&app, &w).await;
    receipts_when(&app, &id, 1, "authorized").await;
    let pairs = requests_like(&app, &id, 12).await;
    // Written, but queued at the issuer's start instead of signalled: five per run.
    let mut conn = app.db.conn().await;
    let mut queue = Vec::new();
    for (i, (request, visit)) in pairs.iter().enumerate() {
        let new = factura_c(&app, *request, *visit, 2, 2001 + i as i64);
        let row = db::invoices::insert(&mut conn, &new).await.expect("insert");
        queue.push(domain::invoices::Queued {
            invoice: row.invoice_id(),
            request: RequestId::from_uuid(*request),
        });
    }
    let ids: Vec<InvoiceId> = queue.iter().map(|q| q.invoice).collect();
    let issuer = domain::invoices::IssuerKey {
        cuit: app.afip_settings.cuit,
        point_of_sale: 2,
        receipt_type: 11,
    };
    let workflow_id = issuer.workflow_id(&app.settings.task_queue);
    app.temporal
        .start_workflow(
            workflows::InvoiceIssuerWorkflow::run,
            domain::invoices::IssuerInput {
                issuer,
                queue,
                receipts_per_run: Some(5),
            },
            temporalio_client::WorkflowStartOptions::new(
                app.settings.task_queue.clone(),
                workflow_id.clone(),
            )
            .build(),
        )
        .await
        .expect("started");
    let rows = authorized(&app, &ids).await;
    let mut numbers: Vec<i64> = rows.iter().filter_map(|r| r.number).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=12).collect::<Vec<_>>());
    // In the order they were queued, across runs.
    let in_order: Vec<i64> = rows.iter().filter_map(|r| r.number).collect();
    assert_eq!(in_order, (1..=12).collect::<Vec<_>>());
    let events = e2e::temporal::events(&app.temporal, &workflow_id).await;
    let continued = events.iter().any(|e| {
        matches!(
            &e.attributes,
            Some(temporalio_common::protos::temporal::api::history::v1::history_event::Attributes::WorkflowExecutionStartedEventAttributes(a))
                if !a.continued_execution_run_id.is_empty()
        )
    });
    assert!(continued, "the latest run continued an earlier one");
}
