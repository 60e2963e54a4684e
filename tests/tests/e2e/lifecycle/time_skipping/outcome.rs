//! A started visit's outcome, on the time-skipping server: the vet files the report,
//! the request completes and its workflow closes, the owner gets it on WhatsApp (a link
//! that opens the PDF) and by email (the PDF attached), its author corrects it until
//! staff lock it; no report reminds the vet, alerts staff and completes without one; a
//! no-show keeps the fee or refunds it.

use std::time::Duration;

use domain::DispatchPolicy;
use e2e::{
    STAFF_PHONE, TestApp,
    fixtures::{ANA_PHONE, Dispatch, paid, report, visit_of},
    flow::{Flow, advance},
};
use reqwest::Method;
use serde_json::{Value, json};

use super::saga::{HOUR, heard, policy, reasons, visits, workflow_result};

/// Skips to a minute after the visit's start.
async fn until_started(app: &TestApp, w: &Dispatch) {
    let until_start = (w.start - chrono::Utc::now()).to_std().expect("ahead");
    advance(app, until_start + Duration::from_secs(60)).await;
}

/// `PUT` of the visit's report by `token`, retried while the workflow has not yet seen
/// the visit start (its timer fires a moment after the skip).
async fn file(app: &TestApp, token: &str, visit: uuid::Uuid, body: Value) -> (u16, Value) {
    let path = format!("/api/v1/visits/{visit}/report");
    for _ in 0..50 {
        let (status, answer) = app
            .call(token, Method::PUT, &path, Some(body.clone()))
            .await;
        if status != 409
            || !answer["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("not started")
        {
            return (status, answer);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the visit never started for its workflow");
}

/// The text of a PDF, as `pdftotext` reads it.
fn pdf_text(pdf: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("informe-{}.pdf", uuid::Uuid::new_v4()));
    std::fs::write(&path, pdf).expect("write pdf");
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils; `make test` installs it)");
    std::fs::remove_file(&path).ok();
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("utf-8")
}

#[tokio::test]
async fn the_vets_report_completes_the_visit_and_reaches_the_owner_as_a_pdf() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = paid(app, w).await;
    let visit = visit_of(app, &id).await;
    let vet = &w.vets[0].token;
    let ana = &w.booking.ana;

    // Before the visit: no report yet.
    let path = format!("/api/v1/visits/{visit}/report");
    let (status, body) = app.call(vet, Method::PUT, &path, Some(report())).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["type"], "https://amarmascotas.ar/problems/request-state",
        "{body}"
    );

    until_started(app, w).await;
    // The owner does not write it; a field out of range is named; nothing is written.
    let (status, body) = app.call(ana, Method::PUT, &path, Some(report())).await;
    assert_eq!(status, 403, "{body}");
    let mut heavy = report();
    heavy["weight_kg"] = json!("1200");
    heavy["diagnosis"] = json!("  ");
    let (status, body) = file(app, vet, visit, heavy).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(e2e::problem_fields(&body), ["diagnosis", "weight_kg"]);
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM visit_reports")
            .await,
        0
    );

    // A NUL no text column can keep: named, not a 500.
    let mut nul = report();
    nul["findings"] = json!("oído\u{0}derecho");
    let (status, body) = file(app, vet, visit, nul).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(e2e::problem_fields(&body), ["findings"]);

    // Filed twice at once (a double tap): one filing, the other the same again.
    let (a, b) = tokio::join!(
        file(app, vet, visit, report()),
        file(app, vet, visit, report())
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 201], "{} {}", a.1, b.1);
    let filed = if a.0 == 201 { a.1 } else { b.1 };
    assert_eq!(filed["revision"], 1);
    assert_eq!(filed["weight_kg"], "12.5");
    let request = app.await_state(&id, "completed").await;
    assert!(
        reasons(&request).contains(&"the visit's report was filed".to_owned()),
        "{request}"
    );
    assert_eq!(
        workflow_result(app, &id).await.state,
        domain::RequestState::Completed,
        "the workflow closed"
    );
    assert_eq!(visits(app, &id, "completed").await, 1);

    // Ana reads it: through the API, and from the link WhatsApp brought her.
    let (status, seen) = ana.get(app, &format!("/api/v1/visits/{visit}")).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["request_state"], "completed");
    assert_eq!(seen["report"]["revision"], 1);
    let (status, read) = ana.get(app, &path).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["diagnosis"], "Otitis externa.");
    let told = e2e::eventually("Ana told", Duration::from_secs(30), || async {
        app.messages_to(ANA_PHONE, "owner_update")
            .into_iter()
            .find(|m| m.template_params[1].contains("informe"))
    })
    .await;
    let text = &told.template_params[1];
    let link = text[text.find("http").expect("a link")..].trim().to_owned();
    assert!(
        link.contains(&format!("/visits/{visit}/report.pdf?link=")),
        "{link}"
    );
    let response = app.http.get(&link).send().await.expect("GET");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.expect("pdf");
    let text = pdf_text(&pdf);
    for expected in [
        "Informe de visita veterinaria",
        "Luna",
        "Otitis externa.",
        "12,5 kg",
        "Vet0",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text}");
    }
    // A forged link, a link for another visit, or none: refused.
    let forged = format!("{}x", link);
    assert_eq!(
        app.http.get(&forged).send().await.expect("GET").status(),
        403
    );
    let other = link.replace(&visit.to_string(), &uuid::Uuid::new_v4().to_string());
    assert_eq!(
        app.http.get(&other).send().await.expect("GET").status(),
        403
    );
    let bare = app.url(&format!("/api/v1/visits/{visit}/report.pdf"));
    assert_eq!(app.http.get(&bare).send().await.expect("GET").status(), 401);

    // By email, with the PDF attached.
    let email = e2e::eventually("the report emailed", Duration::from_secs(30), || async {
        app.emails_to("ana@example.com")
            .into_iter()
            .find(|e| e.subject == "El informe de tu visita")
    })
    .await;
    let attached = &email.attachments[0];
    assert_eq!(attached.content_type, "application/pdf");
    assert!(
        attached.filename.starts_with("informe-luna-"),
        "{}",
        attached.filename
    );
    assert!(pdf_text(&attached.body).contains("Otitis externa."));

    // Someone else sees nothing of it.
    let bob = app.register("bob@example.com").await;
    let (status, _) = app.call(&bob, Method::GET, &path, None).await;
    assert_eq!(status, 404);

    // Its author corrects it; staff lock it; then it stays as it is.
    let mut corrected = report();
    corrected["diagnosis"] = json!("Otitis externa bilateral.");
    let (status, body) = file(app, vet, visit, corrected.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["revision"], 2);
    let (status, body) = file(app, vet, visit, corrected.clone()).await;
    assert_eq!(
        (status, body["revision"].clone()),
        (200, json!(2)),
        "the same again: unchanged"
    );
    let staff = &w.booking.staff;
    let (status, body) = app.call(staff, Method::PUT, &path, Some(report())).await;
    assert_eq!(status, 403, "only its author corrects it: {body}");
    let (status, body) = app
        .call(vet, Method::POST, &format!("{path}/lock"), None)
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = staff.post(app, &format!("{path}/lock"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["locked"], true);
    let (status, body) = file(app, vet, visit, report()).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        body["type"],
        "https://amarmascotas.ar/problems/report-locked"
    );
    let (_, read) = ana.get(app, &path).await;
    assert_eq!(read["diagnosis"], "Otitis externa bilateral.");
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-confirmed-report-completed.json",
    )
    .await;
}

#[tokio::test]
async fn without_a_report_the_vet_is_reminded_staff_alerted_and_the_request_completed() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = paid(app, w).await;
    until_started(app, w).await;
    // An hour of visit, then past the two reminders (6 h apart), the staff deadline (two
    // days) and the give-up (five days).
    // A day at a time: each skip's timers and activities run inside one call to the
    // test server, which must answer before its deadline.
    advance(app, Duration::from_secs(HOUR + 60)).await;
    for _ in 0..5 {
        advance(app, Duration::from_secs(24 * HOUR)).await;
    }
    let request = app.await_state(&id, "completed").await;
    assert!(
        reasons(&request).contains(&"completed without a report".to_owned()),
        "{request}"
    );
    let vet = &w.vets[0].phone;
    assert_eq!(heard(app, vet, "vet_update", "falta cargar el informe"), 2);
    e2e::eventually("staff alerted", Duration::from_secs(30), || async {
        (heard(
            app,
            STAFF_PHONE,
            "staff_alert",
            "has not filed the visit's report",
        ) == 1
            && heard(app, STAFF_PHONE, "staff_alert", "completed without one") == 1)
            .then_some(())
    })
    .await;
    assert_eq!(
        workflow_result(app, &id).await.state,
        domain::RequestState::Completed
    );
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-confirmed-no-report-completed.json",
    )
    .await;
}

/// Marks Ana absent as the vet, once the visit has started.
async fn mark_absent(app: &TestApp, w: &Dispatch, visit: uuid::Uuid) -> (u16, Value) {
    let path = format!("/api/v1/visits/{visit}/no-show");
    let body = json!({ "reason": "Toqué timbre dos veces; nadie respondió." });
    w.vets[0].caller().post(app, &path, body).await
}

/// Marks Ana absent as soon as the workflow has seen the visit start (its timer fires a
/// moment after the skip).
async fn absent_once_started(app: &TestApp, w: &Dispatch, visit: uuid::Uuid) -> (u16, Value) {
    e2e::eventually("the visit started", Duration::from_secs(30), || async {
        let (status, body) = mark_absent(app, w, visit).await;
        (status != 409).then_some((status, body))
    })
    .await
}

#[tokio::test]
async fn a_no_show_keeps_the_payment_as_the_fee_by_default() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = paid(app, w).await;
    let visit = visit_of(app, &id).await;
    let (status, body) = mark_absent(app, w, visit).await;
    assert_eq!(status, 409, "not before the visit: {body}");
    until_started(app, w).await;
    let (status, body) = w
        .booking
        .ana
        .post(
            app,
            &format!("/api/v1/visits/{visit}/no-show"),
            json!({ "reason": "x" }),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = w.vets[0]
        .caller()
        .post(
            app,
            &format!("/api/v1/visits/{visit}/no-show"),
            json!({ "reason": "nadie\u{0}" }),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(e2e::problem_fields(&body), ["reason"]);
    let (status, body) = absent_once_started(app, w, visit).await;
    assert_eq!(status, 202, "{body}");
    let request = app.await_state(&id, "no_show").await;
    assert!(
        reasons(&request)
            .iter()
            .any(|r| r.contains("nadie respondió") && r.contains("kept as the visit's fee")),
        "{request}"
    );
    assert_eq!(visits(app, &id, "no_show").await, 1);
    e2e::eventually("Ana told", Duration::from_secs(30), || async {
        (heard(app, ANA_PHONE, "owner_update", "no te encontró") == 1).then_some(())
    })
    .await;
    let refunded = app
        .mercadopago
        .payments()
        .iter()
        .filter(|p| p["status"] == "refunded")
        .count();
    assert_eq!(refunded, 0);
    assert_eq!(
        workflow_result(app, &id).await.state,
        domain::RequestState::NoShow
    );
    // A report for a visit that did not happen: refused.
    let (status, body) = file(app, &w.vets[0].token, visit, report()).await;
    assert_eq!(status, 409, "{body}");
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-confirmed-no-show.json",
    )
    .await;
}

#[tokio::test]
async fn a_no_show_is_refunded_when_the_setting_says_so() {
    let policy = DispatchPolicy {
        no_show_refund: true,
        ..policy()
    };
    let flow = Flow::start(1, policy).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = paid(app, w).await;
    let visit = visit_of(app, &id).await;
    until_started(app, w).await;
    let (status, body) = absent_once_started(app, w, visit).await;
    assert_eq!(status, 202, "{body}");
    let request = app.await_state(&id, "no_show").await;
    assert!(
        reasons(&request)
            .iter()
            .any(|r| r.contains("refunded 12000")),
        "{request}"
    );
    e2e::eventually(
        "Ana told of the refund",
        Duration::from_secs(30),
        || async {
            (heard(app, ANA_PHONE, "owner_update", "Te devolvimos $ 12000") == 1).then_some(())
        },
    )
    .await;
    let refunded = app
        .mercadopago
        .payments()
        .iter()
        .filter(|p| p["status"] == "refunded")
        .count();
    assert_eq!(refunded, 1);
}
