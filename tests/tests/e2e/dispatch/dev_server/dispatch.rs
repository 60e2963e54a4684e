//! Who a checked-out request is offered to, and in what order: covering vets available in
//! the window, fewest visits that day first, the asked-for vet before everyone.

use chrono::{Datelike, Duration, Utc};
use diesel_async::RunQueryDsl;
use domain::RequestId;
use e2e::{
    TestApp,
    fixtures::{booking, square, working_vet},
};
use serde_json::json;

/// A vet covering Palermo (or not), available all day on `weekday` (1–7).
async fn vet(
    app: &TestApp,
    staff: &str,
    email: &str,
    cuit: &str,
    covers: bool,
    weekday: u32,
) -> (String, String) {
    let area = if covers {
        square(-58.45, -34.61, -58.39, -34.55)
    } else {
        square(-58.60, -34.70, -58.55, -34.65)
    };
    working_vet(app, staff, email, cuit, area, weekday).await
}

#[tokio::test]
async fn candidates_cover_the_address_are_free_then_and_come_in_ranking_order() {
    let app = TestApp::start().await;
    let w = booking(&app).await;
    let day = (Utc::now() + Duration::days(3)).date_naive();
    let weekday = day.weekday().number_from_monday();
    let start = day.and_hms_opt(13, 0, 0).expect("time").and_utc(); // 10:00 local

    let (martin, _) = vet(
        &app,
        &w.staff,
        "martin@example.com",
        "20-12345678-6",
        true,
        weekday,
    )
    .await;
    let (lucia, _) = vet(
        &app,
        &w.staff,
        "lucia@example.com",
        "27-23456789-1",
        true,
        weekday,
    )
    .await;
    let (_far, _) = vet(
        &app,
        &w.staff,
        "lejos@example.com",
        "20-11111111-2",
        false,
        weekday,
    )
    .await;
    let (resting, resting_token) = vet(
        &app,
        &w.staff,
        "descanso@example.com",
        "20-22222222-3",
        true,
        weekday,
    )
    .await;
    app.create(
        &resting_token,
        &format!("/api/v1/vets/{resting}/time-off"),
        json!({ "starts": start - Duration::hours(1), "ends": start + Duration::hours(8) }),
    )
    .await;
    let (other_day, _) = vet(
        &app,
        &w.staff,
        "otrodia@example.com",
        "20-33333333-4",
        true,
        weekday % 7 + 1,
    )
    .await;

    app.create(
        &w.ana,
        "/api/v1/cart/items",
        json!({ "service_id": w.service, "pet_id": w.pet, "address_id": w.home,
                "wanted_start": start, "wanted_end": start + Duration::hours(2) }),
    )
    .await;
    let response = app
        .http
        .post(app.url("/api/v1/cart/checkout"))
        .bearer_auth(&w.ana.token)
        .header("Idempotency-Key", "k")
        .send()
        .await
        .expect("checkout");
    let done: serde_json::Value = response.json().await.expect("json");
    let request: RequestId = done["requests"][0]["id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("uuid");

    let mut conn = app.db.conn().await;
    let target = db::dispatch::target(&mut conn, request)
        .await
        .expect("target")
        .expect("a checked-out request has one");
    assert_eq!(
        (target.wanted_start, target.wanted_end),
        (start, start + Duration::hours(2))
    );
    let ids =
        |vets: Vec<domain::VetId>| vets.into_iter().map(|v| v.to_string()).collect::<Vec<_>>();

    // Martín and Lucía, both idle: by id (Martín was created first). Not the vet who does
    // not cover the address, the one on time off, nor the one available another day.
    let first = ids(db::dispatch::candidates(&mut conn, &target, 10)
        .await
        .expect("candidates"));
    assert_eq!(
        first,
        [martin.clone(), lucia.clone()],
        "not {resting} nor {other_day}"
    );

    // Martín has a visit that day: Lucía goes first.
    let (_, busy) = app
        .staff_post(
            "/api/v1/service-requests",
            &json!({ "description": "otra visita" }),
        )
        .await;
    diesel::sql_query(format!(
        "INSERT INTO visits (id, request_id, vet_id, scheduled) VALUES (gen_random_uuid(), '{}', '{martin}', \
         tstzrange('{}', '{}'))",
        busy["id"].as_str().expect("id"),
        (start + Duration::hours(4)).to_rfc3339(),
        (start + Duration::hours(5)).to_rfc3339(),
    ))
    .execute(&mut conn)
    .await
    .expect("visit");
    let second = ids(db::dispatch::candidates(&mut conn, &target, 10)
        .await
        .expect("candidates"));
    assert_eq!(second, [lucia.clone(), martin.clone()]);

    // Ana asked for Martín: he goes first whatever his load.
    diesel::sql_query(format!(
        "UPDATE service_requests SET requested_vet_id = '{martin}' WHERE id = '{request}'"
    ))
    .execute(&mut conn)
    .await
    .expect("ask for Martín");
    let target = db::dispatch::target(&mut conn, request)
        .await
        .expect("target")
        .expect("target");
    let third = ids(db::dispatch::candidates(&mut conn, &target, 10)
        .await
        .expect("candidates"));
    assert_eq!(third, [martin.clone(), lucia.clone()]);

    // Martín was sent 3 offers in the last hour: with a cap of 3 an hour he is left out,
    // even asked for by name; older offers do not count.
    for (no, ago) in [(10, 5), (11, 20), (12, 50), (13, 70)] {
        diesel::sql_query(format!(
            "INSERT INTO vet_offers (request_id, offer_no, vet_id, offered_at, expires_at) \
             VALUES ('{}', {no}, '{martin}', now() - interval '{ago} minutes', now())",
            busy["id"].as_str().expect("id")
        ))
        .execute(&mut conn)
        .await
        .expect("an offer sent earlier");
    }
    let capped = ids(db::dispatch::candidates(&mut conn, &target, 3)
        .await
        .expect("candidates"));
    assert_eq!(capped, std::slice::from_ref(&lucia));
    let uncapped = ids(db::dispatch::candidates(&mut conn, &target, 4)
        .await
        .expect("candidates"));
    assert_eq!(uncapped, [martin, lucia]);

    // A request created directly by staff has nowhere to dispatch to.
    let id: RequestId = busy["id"].as_str().expect("id").parse().expect("uuid");
    assert_eq!(
        db::dispatch::target(&mut conn, id).await.expect("target"),
        None
    );
}
