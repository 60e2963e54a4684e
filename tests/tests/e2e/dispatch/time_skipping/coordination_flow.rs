//! Coordination on the time-skipping server: the accepted vet sets the time (never
//! twice for overlapping times, never in the past), and staff reassign a request back to
//! dispatch with the vet's time released.

use super::dispatch_flow::{HOUR, flow, phone, policy, problem_type, vet_id};
use domain::{DispatchPolicy, VetAnswer};
use e2e::{
    fixtures::check_out,
    flow::{Flow, advance},
    offer_link,
};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn coordination_books_the_vet_once_and_reassignment_releases_and_redispatches() {
    let flow = flow(2, 1).await;
    let (app, w) = (&flow.app, &flow.w);
    // Both go to the first vet (no visits, no open offer, created first); he accepts
    // each as it comes.
    let mut ids = Vec::new();
    for n in 1..=2 {
        ids.push(check_out(app, w, w.start).await);
        let offers = app.await_messages(phone(w, 0), "vet_offer", n).await;
        let (status, _) = app
            .post_link(&offer_link(&offers[n - 1], VetAnswer::Accept))
            .await;
        assert_eq!(status, 200);
    }
    let (first, second) = (ids[0].clone(), ids[1].clone());
    app.await_state(&first, "vet_accepted").await;
    app.await_state(&second, "vet_accepted").await;
    let coordinate = |id: &str| format!("/api/v1/service-requests/{id}/coordinate");
    let vet = &w.vets[0].token;

    // Only the accepted vet (or staff), and only inside the window.
    for (token, start, want) in [
        (&w.vets[1].token, w.start, 403),
        (&w.booking.ana.token, w.start, 403),
        (vet, w.start - chrono::Duration::minutes(30), 422),
        (vet, w.start + chrono::Duration::minutes(90), 422),
    ] {
        let (status, body) = app
            .call(
                token,
                Method::POST,
                &coordinate(&first),
                Some(json!({ "start": start })),
            )
            .await;
        assert_eq!(status, want, "{body}");
    }

    // The same vet, the same time, two requests, at once: one is booked, one refused.
    let body = json!({ "start": w.start });
    let (path_first, path_second) = (coordinate(&first), coordinate(&second));
    let (a, b) = tokio::join!(
        app.call(vet, Method::POST, &path_first, Some(body.clone())),
        app.call(vet, Method::POST, &path_second, Some(body.clone())),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{} {}", a.1, b.1);
    let (booked, refused, refusal) = if a.0 == 200 {
        (&first, &second, b.1)
    } else {
        (&second, &first, a.1)
    };
    assert!(
        problem_type(&refusal).ends_with("vet-double-booked"),
        "{refusal}"
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM visits WHERE status <> 'cancelled'")
            .await,
        1
    );
    app.await_state(booked, "coordinated").await;
    // The refused one is still waiting for a time; an hour later fits.
    let later = w.start + chrono::Duration::hours(1);
    let (status, coordinated) = app
        .call(
            vet,
            Method::POST,
            &coordinate(refused),
            Some(json!({ "start": later })),
        )
        .await;
    assert_eq!(status, 200, "{coordinated}");
    assert_eq!(coordinated["state"], "coordinated");
    assert_eq!(
        coordinated["end"]
            .as_str()
            .map(|e| e.parse::<chrono::DateTime<chrono::Utc>>().expect("time")),
        Some(later + chrono::Duration::minutes(60)),
    );
    app.await_state(refused, "coordinated").await;

    // Staff reassign the first: a reason is required; then its visit is released and the
    // other vet is asked, never the first again.
    let reassign = format!("/api/v1/service-requests/{booked}/reassign");
    let (status, body) = w
        .booking
        .staff
        .post(app, &reassign, json!({ "reason": "  " }))
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = w
        .booking
        .staff
        .post(
            app,
            &reassign,
            json!({ "reason": "el veterinario se enfermó" }),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let request = app.await_state(booked, "vet_asked").await;
    let last = request["history"]
        .as_array()
        .and_then(|h| h.last())
        .expect("history");
    assert!(
        last["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("staff:"))
    );
    assert_eq!(last["reason"], "el veterinario se enfermó");
    assert_eq!(request["vet_id"], Value::Null);
    app.await_messages(phone(w, 1), "vet_offer", 1).await;
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM visits WHERE request_id = '{booked}' AND status <> 'cancelled'"
            ))
            .await,
        0
    );
    assert_eq!(
        app.messages_to(phone(w, 0), "vet_offer").len(),
        2,
        "the first vet is not asked again"
    );
    // The other request keeps its visit.
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM visits WHERE request_id = '{refused}' AND status = 'scheduled'"
            ))
            .await,
        1
    );
    // The other vet takes it and books the same hour: the request's one visit row now
    // holds his time.
    let offer = app.await_messages(phone(w, 1), "vet_offer", 1).await;
    let (status, _) = app
        .post_link(&offer_link(&offer[0], VetAnswer::Accept))
        .await;
    assert_eq!(status, 200);
    app.await_state(booked, "vet_accepted").await;
    let (status, body) = app
        .call(
            &w.vets[1].token,
            Method::POST,
            &format!("/api/v1/service-requests/{booked}/coordinate"),
            Some(json!({ "start": w.start })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.await_state(booked, "coordinated").await;
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM visits WHERE request_id = '{booked}' \
                 AND vet_id = '{}' AND status = 'scheduled'",
                vet_id(w, 1)
            ))
            .await,
        1
    );
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{booked}"),
        "lean-dispatched-coordinated-reassigned.json",
    )
    .await;
}

#[tokio::test]
async fn a_visit_cannot_be_set_in_the_past() {
    // A vet who may take a month to set the time (no reminder, no lapse meanwhile).
    let patient = DispatchPolicy {
        coordinate_reminder_secs: 30 * 24 * HOUR,
        ..policy(1)
    };
    let flow = Flow::start(1, patient).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    let offer = app.await_messages(phone(w, 0), "vet_offer", 1).await;
    let (status, _) = app
        .post_link(&offer_link(&offer[0], VetAnswer::Accept))
        .await;
    assert_eq!(status, 200);
    app.await_state(&id, "vet_accepted").await;
    // The vet takes too long: the window has passed in workflow time.
    let past_window = (w.start - chrono::Utc::now()).to_std().expect("ahead");
    advance(app, past_window + Duration::from_secs(3 * HOUR)).await;
    let (status, body) = app
        .call(
            &w.vets[0].token,
            Method::POST,
            &format!("/api/v1/service-requests/{id}/coordinate"),
            Some(json!({ "start": w.start + chrono::Duration::minutes(30) })),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(e2e::problem_fields(&body), ["start"]);
    app.await_state(&id, "vet_accepted").await;
    assert_eq!(app.db.count("SELECT count(*) AS n FROM visits").await, 0);
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-coordinate-refused-in-the-past.json",
    )
    .await;
}

#[tokio::test]
async fn a_vet_reads_the_request_they_were_offered_with_their_offer_only() {
    let flow = flow(2, 1).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    app.await_messages(phone(w, 0), "vet_offer", 1).await;
    let path = format!("/api/v1/service-requests/{id}");
    // The vet asked reads it (where a 202 of their answer points)...
    let (status, seen) = app.call(&w.vets[0].token, Method::GET, &path, None).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["state"], "vet_asked");
    let offers = seen["offers"].as_array().expect("offers");
    assert_eq!(offers.len(), 1, "{seen}");
    assert_eq!(offers[0]["vet_id"], json!(vet_id(w, 0)));
    assert_eq!(seen["payment_link"], Value::Null);
    // ...the vet not asked does not learn it exists.
    let (status, hidden) = app.call(&w.vets[1].token, Method::GET, &path, None).await;
    assert_eq!(status, 404, "{hidden}");
    assert!(problem_type(&hidden).ends_with("/not-found"), "{hidden}");
}
