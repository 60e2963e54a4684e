//! Payment, each path, on the time-skipping server: a coordinated visit gets a
//! MercadoPago payment link on WhatsApp; the emulator's checkout pays (or not) and
//! delivers signed webhooks to the API; the workflow trusts only what it fetches.

use std::time::Duration;

use domain::DispatchPolicy;
use e2e::{
    STAFF_PHONE, TestApp,
    fixtures::{ANA_PHONE, accept_and_coordinate, check_out},
    flow::{Flow, advance},
};
use serde_json::{Value, json};

pub(super) const HOUR: u64 = 60 * 60;

/// A day to pay, a reminder every six hours.
pub(super) fn policy() -> DispatchPolicy {
    DispatchPolicy {
        vet_followup_delay_secs: 2 * HOUR,
        vet_max_followups: 2,
        offer_batch_size: 1,
        payment_deadline_secs: 24 * HOUR,
        payment_reminder_secs: 6 * HOUR,
        ..DispatchPolicy::default()
    }
}

/// A request accepted by the first vet and coordinated at the window's start; its id and
/// the preference id of the payment link Ana got.
pub(super) async fn coordinated(flow: &Flow) -> (String, String) {
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    let link = accept_and_coordinate(app, w, &id).await;
    let preference = e2e::fixtures::preference_of(&link);
    (id, preference)
}

pub(super) fn ana_heard(app: &TestApp, words: &str) -> usize {
    app.messages_to(ANA_PHONE, "owner_update")
        .iter()
        .filter(|m| m.template_params[1].contains(words))
        .count()
}

pub(super) fn history_states(request: &Value) -> Vec<String> {
    request["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["to_state"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn paid_at_once_the_visit_is_confirmed_and_both_are_told() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let (id, preference) = coordinated(&flow).await;
    let asked = &app.mercadopago.preferences()[0];
    assert_eq!(asked["external_reference"], id);
    assert_eq!(
        asked["items"][0]["unit_price"], 12000.0,
        "10000 × 1.2 Palermo"
    );
    assert!(
        asked["notification_url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&app.base) && u.ends_with("/webhooks/mercadopago"))
    );

    let payment = app
        .mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    let request = app.await_state(&id, "confirmed").await;
    assert_eq!(
        history_states(&request)[3..],
        ["coordinated", "payed", "confirmed"]
    );
    let payed = &request["history"][4];
    assert_eq!(payed["actor"], "system");
    assert_eq!(
        payed["reason"],
        format!("MercadoPago payment {} approved", payment["id"])
    );
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM payments WHERE request_id = '{id}' AND status = 'approved' AND amount = 12000"
            ))
            .await,
        1
    );
    e2e::eventually("both told", Duration::from_secs(30), || async {
        (ana_heard(app, "está confirmada") == 1
            && !app.messages_to(&w.vets[0].phone, "vet_update").is_empty())
        .then_some(())
    })
    .await;
    // Both events stored once and handed over; one preference, ever.
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM webhook_events WHERE processed_at IS NOT NULL")
            .await,
        2
    );
    assert_eq!(app.mercadopago.preferences().len(), 1);
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-paid-confirmed.json",
    )
    .await;
}

#[tokio::test]
async fn reminders_go_out_until_paid_and_stop_then() {
    let flow = Flow::start(1, policy()).await;
    let app = &flow.app;
    let (id, preference) = coordinated(&flow).await;
    advance(app, Duration::from_secs(13 * HOUR)).await;
    e2e::eventually("two reminders", Duration::from_secs(30), || async {
        (ana_heard(app, "Recordatorio") == 2).then_some(())
    })
    .await;
    app.mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    app.await_state(&id, "confirmed").await;
    advance(app, Duration::from_secs(12 * HOUR)).await;
    assert_eq!(
        ana_heard(app, "Recordatorio"),
        2,
        "no reminder after paying"
    );
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-payment-reminders-then-paid.json",
    )
    .await;
}

#[tokio::test]
async fn never_paid_the_request_expires_and_the_vets_time_is_released() {
    let flow = Flow::start(1, policy()).await;
    let (app, w) = (&flow.app, &flow.w);
    let (id, _) = coordinated(&flow).await;
    advance(app, Duration::from_secs(25 * HOUR)).await;
    let request = app.await_state(&id, "expired").await;
    let last = request["history"]
        .as_array()
        .and_then(|h| h.last())
        .expect("history");
    assert_eq!(last["from_state"], "coordinated");
    assert_eq!(last["reason"], "not paid by the deadline");
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM visits WHERE request_id = '{id}' AND status = 'cancelled'"
            ))
            .await,
        1
    );
    assert_eq!(ana_heard(app, "Recordatorio"), 3);
    e2e::eventually("both told", Duration::from_secs(30), || async {
        (ana_heard(app, "Venció el plazo") == 1
            && app
                .messages_to(&w.vets[0].phone, "vet_update")
                .iter()
                .any(|m| m.template_params[1].contains("quedó libre")))
        .then_some(())
    })
    .await;
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-unpaid-expired.json",
    )
    .await;
}

#[tokio::test]
async fn a_rejected_payment_is_told_and_a_later_approval_confirms() {
    let flow = Flow::start(1, policy()).await;
    let app = &flow.app;
    let (id, preference) = coordinated(&flow).await;
    app.mercadopago
        .pay(&preference, "rejected", None)
        .expect("rejected");
    e2e::eventually("Ana told", Duration::from_secs(30), || async {
        (ana_heard(app, "no se aprobó") == 1).then_some(())
    })
    .await;
    app.await_state(&id, "coordinated").await;
    app.mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    app.await_state(&id, "confirmed").await;
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-payment-rejected-then-approved.json",
    )
    .await;
}

#[tokio::test]
async fn a_payment_for_another_amount_alerts_staff_and_confirms_nothing() {
    let flow = Flow::start(1, policy()).await;
    let app = &flow.app;
    let (id, preference) = coordinated(&flow).await;
    app.mercadopago
        .pay(&preference, "approved", Some(100.0))
        .expect("paid short");
    let alert = app.await_messages(STAFF_PHONE, "staff_alert", 1).await;
    assert!(
        alert[0].template_params[0].contains("no por el precio acordado"),
        "{alert:?}"
    );
    let request = app.await_state(&id, "coordinated").await;
    assert!(!history_states(&request).contains(&"payed".to_owned()));
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-payment-amount-mismatch.json",
    )
    .await;
}

#[tokio::test]
async fn a_charge_back_after_payment_alerts_staff_and_is_in_the_history() {
    let flow = Flow::start(1, policy()).await;
    let app = &flow.app;
    let (id, preference) = coordinated(&flow).await;
    let payment = app
        .mercadopago
        .pay(&preference, "approved", None)
        .expect("paid");
    app.await_state(&id, "confirmed").await;
    let changed = app
        .http
        .post(format!(
            "{}/_emulator/payments/{}/status",
            app.mercadopago_base, payment["id"]
        ))
        .json(&json!({ "status": "charged_back" }))
        .send()
        .await
        .expect("POST");
    assert_eq!(changed.status(), 200);
    let alert = app.await_messages(STAFF_PHONE, "staff_alert", 1).await;
    assert!(
        alert[0].template_params[0].contains("charged_back"),
        "{alert:?}"
    );
    let request = app
        .await_request(&id, "the charge-back in the history", |r| {
            r["history"].as_array().is_some_and(|h| {
                h.last().is_some_and(|e| {
                    e["reason"]
                        .as_str()
                        .is_some_and(|x| x.contains("charged_back"))
                })
            })
        })
        .await;
    let last = request["history"]
        .as_array()
        .and_then(|h| h.last())
        .expect("entry");
    assert_eq!(
        (&last["from_state"], &last["to_state"]),
        (&json!("confirmed"), &json!("confirmed"))
    );
    assert_eq!(request["state"], "confirmed");
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-confirmed-charged-back.json",
    )
    .await;
}

#[tokio::test]
async fn the_payment_deadline_is_never_after_the_visit() {
    // Five days to pay, but the visit is in three: the link expires at the visit.
    let flow = Flow::start(
        1,
        DispatchPolicy {
            payment_deadline_secs: 5 * 24 * HOUR,
            payment_reminder_secs: 0,
            ..policy()
        },
    )
    .await;
    let (app, w) = (&flow.app, &flow.w);
    let (id, _) = coordinated(&flow).await;
    let expires = app.mercadopago.preferences()[0]["expiration_date_to"]
        .as_str()
        .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
        .expect("an expiry");
    assert_eq!(expires, w.start);
    let until_visit = (w.start - chrono::Utc::now()).to_std().expect("ahead");
    advance(app, until_visit + Duration::from_secs(HOUR)).await;
    let request = app.await_state(&id, "expired").await;
    assert_eq!(ana_heard(app, "Recordatorio"), 0);
    assert!(history_states(&request).ends_with(&["coordinated".to_owned(), "expired".to_owned()]));
}

#[tokio::test]
async fn after_the_checkout_the_payer_lands_on_a_page_of_ours_that_says_what_happens_next() {
    let flow = Flow::start(1, policy()).await;
    let app = &flow.app;
    let (id, _) = coordinated(&flow).await;
    let link = app
        .messages_to(ANA_PHONE, "owner_update")
        .iter()
        .find_map(|m| {
            m.template_params[1]
                .split_whitespace()
                .find(|w| w.contains("pref_id="))
                .map(str::to_owned)
        })
        .expect("the payment link");
    // A rejected card first: MercadoPago's page links back to our failure page.
    let rejected = app
        .http
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("status=rejected")
        .send()
        .await
        .expect("POST the checkout");
    let page = rejected.text().await.expect("page");
    let back = page
        .split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link back to the site")
        .to_owned();
    assert!(back.contains("/api/v1/payments/return/failure?"), "{back}");
    let failure = app.http.get(&back).send().await.expect("GET");
    assert_eq!(failure.status(), 200);
    assert!(
        failure
            .text()
            .await
            .expect("html")
            .contains("No se cobró nada")
    );
    // Then an approved one: straight back to our success page (auto_return).
    let approved = app
        .http
        .post(&link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("status=approved")
        .send()
        .await
        .expect("POST the checkout");
    assert_eq!(approved.status(), 200);
    assert_eq!(approved.url().path(), "/api/v1/payments/return/success");
    assert!(
        approved
            .url()
            .query()
            .is_some_and(|q| q.contains(&format!("external_reference={id}")))
    );
    assert!(
        approved
            .text()
            .await
            .expect("html")
            .contains("Recibimos tu pago")
    );
    app.await_state(&id, "confirmed").await;
    // Anything else is not ours to show.
    let other = app
        .http
        .get(app.url("/api/v1/payments/return/maybe"))
        .send()
        .await
        .expect("GET");
    assert_eq!(other.status(), 404);
}
