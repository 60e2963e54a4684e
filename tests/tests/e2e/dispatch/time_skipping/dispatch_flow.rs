//! Dispatch, each path, on the time-skipping server: checkout through the API, offers
//! through the Mercately emulator, answers through the links in those messages and the
//! vet's API. Hours of follow-ups pass in an instant; assertions are on what vets and
//! owners receive and what PostgreSQL records.

use std::time::Duration;

use domain::{DispatchPolicy, VetAnswer, dispatch::OfferToken};
use e2e::{
    STAFF_PHONE, TEST_LINK_SECRET,
    fixtures::{ANA_PHONE, Dispatch, check_out},
    flow::{Flow, advance},
    offer_link,
    temporal::{events, workflow_duration},
};
use reqwest::Method;
use serde_json::{Value, json};

pub(super) const HOUR: u64 = 60 * 60;

/// Two hours to answer, two follow-ups: an offer stays open six hours.
pub(super) fn policy(batch: u32) -> DispatchPolicy {
    DispatchPolicy {
        vet_followup_delay_secs: 2 * HOUR,
        vet_max_followups: 2,
        offer_batch_size: batch,
        ..DispatchPolicy::default()
    }
}

pub(super) async fn flow(vets: usize, batch: u32) -> Flow {
    Flow::start(vets, policy(batch)).await
}

pub(super) fn phone(w: &Dispatch, vet: usize) -> &str {
    &w.vets[vet].phone
}

pub(super) fn vet_id(w: &Dispatch, vet: usize) -> &str {
    &w.vets[vet].id
}

pub(super) fn problem_type(body: &Value) -> &str {
    body["type"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn an_unanswered_offer_is_followed_up_and_a_later_accept_wins_the_visit() {
    let flow = flow(2, 1).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;

    let offer = app.await_messages(phone(w, 0), "vet_offer", 1).await;
    assert_eq!(offer.len(), 1);
    let params = &offer[0].template_params;
    assert_eq!(params[0], "Consulta");
    assert_eq!(params[1], "Luna");
    assert_eq!(params[2], "Palermo", "the neighbourhood, never the street");
    assert!(params[3].ends_with("10:00-12:00"), "{}", params[3]);
    assert!(params[4].starts_with(&app.base) && params[4].ends_with("/accept"));
    assert!(params[5].ends_with("/reject"));
    assert!(app.messages_to(phone(w, 1), "vet_offer").is_empty());

    // Two and a half hours of silence: one follow-up, recorded.
    advance(app, Duration::from_secs(2 * HOUR + HOUR / 2)).await;
    let followups = app
        .await_messages(phone(w, 0), "vet_offer_followup", 1)
        .await;
    assert_eq!(followups.len(), 1);
    app.await_request(&id, "the follow-up to be recorded", |r| {
        r["offers"][0]["followups_sent"] == 1
    })
    .await;

    let (status, answer) = app
        .post_link(&offer_link(&followups[0], VetAnswer::Accept))
        .await;
    assert_eq!((status, &answer), (200, &json!({ "outcome": "accepted" })));
    let request = app.await_state(&id, "vet_accepted").await;
    assert_eq!(request["vet_id"], vet_id(w, 0));
    let history = request["history"].as_array().expect("history");
    let states: Vec<&Value> = history.iter().map(|h| &h["to_state"]).collect();
    assert_eq!(states, ["pending", "vet_asked", "vet_accepted"]);
    assert_eq!(history[1]["actor"], "system");
    assert_eq!(history[1]["reason"], "2 candidate vets");
    assert_eq!(history[2]["actor"], format!("vet:{}", vet_id(w, 0)));
    let offer_row = &request["offers"][0];
    assert_eq!(offer_row["answer"], "accept");
    assert_eq!(offer_row["vet_id"], vet_id(w, 0));

    // Pressing a link again is safe: the same answer to the same offer is the same
    // call and gets its first outcome; the other answer is refused. The other vet was
    // never troubled; Ana heard the news.
    let (status, again) = app
        .post_link(&offer_link(&offer[0], VetAnswer::Accept))
        .await;
    assert_eq!((status, &again), (200, &json!({ "outcome": "accepted" })));
    let (status, other) = app
        .post_link(&offer_link(&offer[0], VetAnswer::Reject))
        .await;
    assert_eq!(status, 409, "{other}");
    assert!(problem_type(&other).ends_with("offer-answered"), "{other}");
    assert!(app.messages_to(phone(w, 1), "vet_offer").is_empty());
    let news = app.await_messages(ANA_PHONE, "owner_update", 1).await;
    assert!(news[0].template_params[1].contains("aceptó"), "{news:?}");
    // Exactly one message per attempt, however the activities went.
    assert_eq!(app.messages_to(phone(w, 0), "vet_offer").len(), 1);
    assert_eq!(app.messages_to(phone(w, 0), "vet_offer_followup").len(), 1);
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-dispatched-followup-accepted.json",
    )
    .await;
}

#[tokio::test]
async fn a_reject_moves_the_offer_to_the_next_vet_who_accepts() {
    let flow = flow(2, 1).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;

    let first = app.await_messages(phone(w, 0), "vet_offer", 1).await;
    let (status, answer) = app
        .post_link(&offer_link(&first[0], VetAnswer::Reject))
        .await;
    assert_eq!((status, &answer), (200, &json!({ "outcome": "rejected" })));

    let second = app.await_messages(phone(w, 1), "vet_offer", 1).await;
    let (status, _) = app
        .post_link(&offer_link(&second[0], VetAnswer::Accept))
        .await;
    assert_eq!(status, 200);
    let request = app.await_state(&id, "vet_accepted").await;
    assert_eq!(request["vet_id"], vet_id(w, 1));
    let answers: Vec<&Value> = request["offers"]
        .as_array()
        .expect("offers")
        .iter()
        .map(|o| &o["answer"])
        .collect();
    assert_eq!(answers, [&json!("reject"), &json!("accept")]);

    // The first vet changes his mind: too late, his answer stands.
    let (status, late) = app
        .post_link(&offer_link(&first[0], VetAnswer::Accept))
        .await;
    assert_eq!(status, 409, "{late}");
    assert!(problem_type(&late).ends_with("offer-answered"), "{late}");
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-rejected-then-next-vet-accepts.json",
    )
    .await;
}

#[tokio::test]
async fn when_nobody_accepts_the_request_expires_and_owner_and_staff_are_told() {
    let flow = flow(2, 1).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    let first = app.await_messages(phone(w, 0), "vet_offer", 1).await;

    // Six and a half hours: two follow-ups, then the offer closes and the next vet is asked.
    advance(app, Duration::from_secs(6 * HOUR + HOUR / 2)).await;
    app.await_messages(phone(w, 1), "vet_offer", 1).await;
    assert_eq!(app.messages_to(phone(w, 0), "vet_offer_followup").len(), 2);

    // The first vet answers after his offer expired.
    let (status, late) = app
        .post_link(&offer_link(&first[0], VetAnswer::Accept))
        .await;
    assert_eq!(status, 409, "{late}");
    assert!(problem_type(&late).ends_with("offer-expired"), "{late}");

    advance(app, Duration::from_secs(7 * HOUR)).await;
    let request = app.await_state(&id, "expired").await;
    let last = request["history"]
        .as_array()
        .and_then(|h| h.last())
        .expect("history");
    assert_eq!(last["actor"], "system");
    assert_eq!(
        last["reason"], "none of the 2 vets asked accepted",
        "{request}"
    );
    assert_eq!(request["vet_id"], Value::Null);

    let owner = app.await_messages(ANA_PHONE, "owner_update", 1).await;
    assert!(owner[0].template_params[1].contains("ningún veterinario"));
    let staff = app.await_messages(STAFF_PHONE, "staff_alert", 1).await;
    assert!(staff[0].template_params[0].contains(&id), "{staff:?}");
    assert_eq!(app.messages_to(phone(w, 1), "vet_offer_followup").len(), 2);

    // Twelve hours of workflow time: two vets, six hours each.
    let events = events(&app.temporal, &format!("service-request:{id}")).await;
    let elapsed = workflow_duration(&events);
    assert!(
        elapsed >= chrono::Duration::hours(12) && elapsed < chrono::Duration::hours(13),
        "{elapsed}"
    );

    // And after the request expired, links are closed.
    let second = app.messages_to(phone(w, 1), "vet_offer");
    let (status, closed) = app
        .post_link(&offer_link(&second[0], VetAnswer::Accept))
        .await;
    assert_eq!(status, 409, "{closed}");
    assert!(problem_type(&closed).ends_with("offer-expired"), "{closed}");
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-dispatched-nobody-accepts.json",
    )
    .await;
}

#[tokio::test]
async fn two_vets_of_a_batch_accepting_at_the_same_moment_exactly_one_wins() {
    let flow = flow(3, 2).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;

    let a = app.await_messages(phone(w, 0), "vet_offer", 1).await;
    let b = app.await_messages(phone(w, 1), "vet_offer", 1).await;
    assert!(
        app.messages_to(phone(w, 2), "vet_offer").is_empty(),
        "the third vet is not in the first batch"
    );
    let link_a = offer_link(&a[0], VetAnswer::Accept);
    let link_b = offer_link(&b[0], VetAnswer::Accept);
    let ((status_a, body_a), (status_b, body_b)) =
        tokio::join!(app.post_link(&link_a), app.post_link(&link_b));
    let mut statuses = [status_a, status_b];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{body_a} {body_b}");
    let (winner, loser_body) = if status_a == 200 {
        (vet_id(w, 0), body_b)
    } else {
        (vet_id(w, 1), body_a)
    };
    assert!(
        problem_type(&loser_body).ends_with("offer-taken"),
        "{loser_body}"
    );

    let request = app.await_state(&id, "vet_accepted").await;
    assert_eq!(request["vet_id"], winner);
    // The loser's offer is closed at once, not left open until its expiry.
    let closed_early = |o: &Value| {
        let time = |k: &str| {
            o[k].as_str()
                .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
        };
        matches!((time("offered_at"), time("expires_at")),
            (Some(at), Some(until)) if until < at + chrono::Duration::hours(6))
    };
    let request = app
        .await_request(&id, "the losing offer to be closed", |r| {
            r["offers"].as_array().is_some_and(|offers| {
                offers
                    .iter()
                    .all(|o| o["answer"] == "accept" || closed_early(o))
            })
        })
        .await;
    let accepted: Vec<_> = request["offers"]
        .as_array()
        .expect("offers")
        .iter()
        .filter(|o| o["answer"] == "accept")
        .collect();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["vet_id"], winner);
    assert!(app.messages_to(phone(w, 2), "vet_offer").is_empty());
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-dispatched-batch-race.json",
    )
    .await;
}

#[tokio::test]
async fn a_vet_cannot_answer_an_offer_that_is_not_theirs_nor_forge_a_link() {
    let flow = flow(3, 1).await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    let offer = app.await_messages(phone(w, 0), "vet_offer", 1).await;
    let link = offer_link(&offer[0], VetAnswer::Accept);
    let answer = format!("/api/v1/service-requests/{id}/answer");

    // Vets never offered the request, and its owner: refused, nothing changes.
    for token in [&w.vets[1].token, &w.vets[2].token, &w.booking.ana.token] {
        let (status, body) = app
            .call(
                token,
                Method::POST,
                &answer,
                Some(json!({ "answer": "accept" })),
            )
            .await;
        assert_eq!(status, 403, "{body}");
    }
    // The offered vet naming an offer of someone else's.
    let (status, body) = app
        .call(
            &w.vets[0].token,
            Method::POST,
            &answer,
            Some(json!({ "answer": "accept", "offer_no": 2 })),
        )
        .await;
    assert_eq!(status, 403, "{body}");

    // Links: the payload changed to another vet, a signature of another key, a made-up
    // answer — all "not found", and the page of a real link shows what it will do.
    let raw = link
        .rsplit('/')
        .nth(1)
        .expect("the token segment")
        .to_owned();
    let token = OfferToken::verify(&raw, TEST_LINK_SECRET.as_bytes(), 0).expect("our token");
    let (_, signature) = raw.split_once('.').expect("payload.signature");
    let to_other_vet = OfferToken {
        vet: vet_id(w, 1).parse().expect("vet id"),
        ..token.clone()
    };
    let (other_payload, _) = to_other_vet
        .sign(TEST_LINK_SECRET.as_bytes())
        .split_once('.')
        .map(|(p, s)| (p.to_owned(), s.to_owned()))
        .expect("signed");
    for forged in [
        // The payload changed to another vet, the signature kept.
        format!("{other_payload}.{signature}"),
        // Signed with another key.
        to_other_vet.sign(b"another-secret-another-secret-!!!"),
        token.sign(b"another-secret-another-secret-!!!"),
        // Mangled.
        raw[1..].to_owned(),
        "not-a-token".to_owned(),
    ] {
        let url = format!("{}/api/v1/offers/{forged}/accept", app.base);
        let (status, body) = app.post_link(&url).await;
        assert_eq!(status, 404, "{forged}: {body}");
        let (status, _) = app
            .get_json(&format!("/api/v1/offers/{forged}/accept"))
            .await;
        assert_eq!(status, 404, "GET {forged}");
    }
    let (status, _) = app
        .post_link(&format!("{}/api/v1/offers/{raw}/maybe", app.base))
        .await;
    assert_eq!(status, 404, "a made-up answer");
    let request = app.await_state(&id, "vet_asked").await;
    assert!(request["offers"][0]["answer"].is_null());

    let shown: Value = app
        .http
        .get(&link)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(shown["answer"], "accept");
    assert_eq!(shown["pet"], "Luna");
    assert_eq!(shown["state"], "vet_asked");
    let page = app
        .http
        .get(&link)
        .header("Accept", "text/html")
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("<form method=\"post\">") && page.contains("Luna"),
        "{page}"
    );

    // Opening the link changed nothing; the offered vet's own answer counts.
    let (status, body) = app
        .call(
            &w.vets[0].token,
            Method::POST,
            &answer,
            Some(json!({ "answer": "accept" })),
        )
        .await;
    assert_eq!((status, body), (200, json!({ "outcome": "accepted" })));
    app.await_state(&id, "vet_accepted").await;
}

#[tokio::test]
async fn no_vet_is_asked_once_the_wanted_time_has_come() {
    // A day and a half to answer and two follow-ups: the first vet's offer (4.5 days)
    // outlasts the wait for the window, which starts in three to four days.
    let flow = Flow::start(
        2,
        DispatchPolicy {
            vet_followup_delay_secs: 36 * HOUR,
            vet_max_followups: 2,
            offer_batch_size: 1,
            ..DispatchPolicy::default()
        },
    )
    .await;
    let (app, w) = (&flow.app, &flow.w);
    let id = check_out(app, w, w.start).await;
    app.await_messages(phone(w, 0), "vet_offer", 1).await;
    advance(app, Duration::from_secs(4 * 24 * HOUR + 13 * HOUR)).await;
    let request = app.await_state(&id, "expired").await;
    let last = request["history"]
        .as_array()
        .and_then(|h| h.last())
        .expect("history");
    assert_eq!(
        last["reason"],
        "the wanted time came before any of the 1 vets asked accepted"
    );
    assert!(app.messages_to(phone(w, 1), "vet_offer").is_empty());
    e2e::temporal::save_history(
        &app.temporal,
        &format!("service-request:{id}"),
        "lean-cascade-stops-at-the-window-start.json",
    )
    .await;
}
