//! Quotes through HTTP: the general and the vet's own price, the distance coefficient,
//! turn-fee surcharges, discounts by weekday and hour, a price change on a future date,
//! and an address outside the service area.

use chrono::{Duration, Utc};
use e2e::{
    TestApp,
    fixtures::{Booking as World, booking as world, local, monday_after},
    problem_fields,
};
use reqwest::Method;
use serde_json::{Value, json};

async fn quote(app: &TestApp, w: &World, extra: Value) -> (u16, Value) {
    let mut body = json!({ "service_id": w.service, "pet_id": w.pet, "address_id": w.home, "start": local(monday_after(3), 10) });
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    app.call(&w.ana, Method::POST, "/api/v1/quotes", Some(body))
        .await
}

fn lines(q: &Value) -> Vec<(String, String)> {
    q["breakdown"]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().expect("kind").to_owned(),
                l["amount"].as_str().expect("amount").to_owned(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, a)| ((*k).to_owned(), (*a).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_quote_shows_base_distance_surcharge_and_discounts_line_by_line() {
    let app = TestApp::start().await;
    let w = world(&app).await;

    // 10000 × 1.2 (Palermo) = 12000.
    let (status, q) = quote(&app, &w, json!({})).await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(
        lines(&q),
        pairs(&[("base", "10000.00"), ("distance", "2000.00")])
    );
    assert_eq!(q["breakdown"]["total"], "12000.00");
    assert_eq!(q["breakdown"]["currency"], "ARS");
    assert_eq!(
        q["breakdown"]["lines"][1]["label"],
        "distance: Palermo × 1.2"
    );

    // Urgent: +50% of the distance-adjusted 12000.
    let (_, q) = quote(&app, &w, json!({ "turn_fee_group_id": w.urgent })).await;
    assert_eq!(
        lines(&q),
        pairs(&[
            ("base", "10000.00"),
            ("distance", "2000.00"),
            ("surcharge", "6000.00")
        ])
    );
    assert_eq!(q["breakdown"]["total"], "18000.00");
    // Night: a fixed 3000.
    let (_, q) = quote(&app, &w, json!({ "turn_fee_group_id": w.night })).await;
    assert_eq!(q["breakdown"]["total"], "15000.00");

    // Monday mornings 10% off; every day 500 off "promo" — both apply on Monday at 10:00,
    // measured on the same gross: 18000 − 1800 − 500 = 15700.
    let monday = monday_after(3);
    let (status, discount) = app
        .call(
            &w.staff,
            Method::POST,
            "/api/v1/discounts",
            Some(json!({ "name": "Lunes mañana", "kind": "percent", "value": "10", "valid_from": e2e::fixtures::local_today(),
                         "weekdays": [1], "time_from": "08:00:00", "time_until": "12:00:00" })),
        )
        .await;
    assert_eq!(status, 201, "{discount}");
    app.create(
        &w.staff,
        "/api/v1/discounts",
        json!({ "name": "Promo", "kind": "fixed", "value": "500", "valid_from": e2e::fixtures::local_today(), "service_id": w.service }),
    )
    .await;
    let (_, q) = quote(&app, &w, json!({ "turn_fee_group_id": w.urgent })).await;
    assert_eq!(
        lines(&q),
        pairs(&[
            ("base", "10000.00"),
            ("distance", "2000.00"),
            ("surcharge", "6000.00"),
            ("discount", "-1800.00"),
            ("discount", "-500.00")
        ]),
        "{q}"
    );
    assert_eq!(q["breakdown"]["total"], "15700.00");
    // Monday at 14:00 is outside the morning window; Tuesday at 10:00 is not a Monday.
    for start in [local(monday, 14), local(monday + Duration::days(1), 10)] {
        let (_, q) = quote(&app, &w, json!({ "start": start })).await;
        assert_eq!(q["breakdown"]["total"], "11500.00", "{start}: {q}");
    }
}

#[tokio::test]
async fn the_vets_own_price_applies_and_a_scheduled_price_applies_from_its_date() {
    let app = TestApp::start().await;
    let w = world(&app).await;
    let e2e::Caller {
        id: martin,
        token: martin_token,
    } = app
        .vet(&w.staff, "martin@example.com", "20-12345678-6")
        .await;
    let e2e::Caller {
        id: lucia,
        token: _,
    } = app
        .vet(&w.staff, "lucia@example.com", "27-23456789-1")
        .await;
    let today = e2e::fixtures::local_today();

    // A vet schedules their own price; not someone else's, nor the general one.
    let prices = format!("/api/v1/services/{}/prices", w.service);
    let (status, own) = app
        .call(
            &martin_token,
            Method::POST,
            &prices,
            Some(json!({ "amount": "15000", "valid_from": today, "vet_id": martin })),
        )
        .await;
    assert_eq!(status, 201, "{own}");
    for body in [
        json!({ "amount": "1", "valid_from": today, "vet_id": lucia }),
        json!({ "amount": "1", "valid_from": today }),
    ] {
        let (status, _) = app
            .call(&martin_token, Method::POST, &prices, Some(body))
            .await;
        assert_eq!(status, 403);
    }
    let (_, q) = quote(&app, &w, json!({ "vet_id": martin })).await;
    assert_eq!(q["breakdown"]["lines"][0]["amount"], "15000.00", "{q}");
    assert_eq!(q["breakdown"]["total"], "18000.00");
    let (_, q) = quote(&app, &w, json!({ "vet_id": lucia })).await;
    assert_eq!(
        q["breakdown"]["total"], "12000.00",
        "no own price: the general one"
    );

    // Staff schedule 12500 from a date ten days out: quotes before it keep 10000.
    let change = today + Duration::days(10);
    let (status, scheduled) = app
        .call(
            &w.staff,
            Method::POST,
            &prices,
            Some(json!({ "amount": "12500.50", "valid_from": change })),
        )
        .await;
    assert_eq!(status, 201, "{scheduled}");
    let (_, before) = quote(
        &app,
        &w,
        json!({ "start": local(change - Duration::days(1), 10) }),
    )
    .await;
    assert_eq!(before["breakdown"]["lines"][0]["amount"], "10000.00");
    let (_, after) = quote(&app, &w, json!({ "start": local(change, 10) })).await;
    assert_eq!(after["breakdown"]["lines"][0]["amount"], "12500.50");
    // 12500.50 × 1.2 = 15000.60 → 15001 (to the peso, half up), with a rounding line.
    assert_eq!(after["breakdown"]["total"], "15001.00");
    assert_eq!(lines(&after).last().map(|l| l.0.as_str()), Some("rounding"));

    // Past prices are kept; the list shows the closed one, the vet's and the scheduled.
    let (_, list) = app.get_json(&prices).await;
    let general: Vec<(Value, Value)> = list
        .as_array()
        .expect("prices")
        .iter()
        .filter(|p| p["vet_id"].is_null())
        .map(|p| (p["amount"].clone(), p["valid_until"].clone()))
        .collect();
    assert_eq!(
        general,
        [
            (json!("10000.00"), json!(change)),
            (json!("12500.50"), Value::Null)
        ]
    );
    // A second price from the same date collides; a date in the past is refused.
    let (status, _) = app
        .call(
            &w.staff,
            Method::POST,
            &prices,
            Some(json!({ "amount": "1", "valid_from": change })),
        )
        .await;
    assert_eq!(status, 409);
    let (status, problem) = app
        .call(
            &w.staff,
            Method::POST,
            &prices,
            Some(json!({ "amount": "1", "valid_from": today - Duration::days(1) })),
        )
        .await;
    assert_eq!(
        (status, problem_fields(&problem)),
        (422, vec!["valid_from".to_owned()])
    );
}

#[tokio::test]
async fn a_quote_refuses_what_cannot_be_priced_naming_the_field() {
    let app = TestApp::start().await;
    let w = world(&app).await;
    let (status, problem) = quote(&app, &w, json!({ "address_id": w.away })).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem_fields(&problem), ["address_id"]);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("outside the service area")
    );

    let e2e::Caller { token: bruno, .. } = app.owner("bruno@example.com").await;
    let (status, problem) = app
        .call(&bruno, Method::POST, "/api/v1/quotes", Some(json!({ "service_id": w.service, "pet_id": w.pet, "address_id": w.home, "start": local(monday_after(3), 10) })))
        .await;
    assert_eq!(
        (status, problem_fields(&problem)),
        (422, vec!["pet_id".to_owned()]),
        "not Bruno's pet"
    );

    let far = local(Utc::now().date_naive() - Duration::days(2), 10);
    let (status, problem) = quote(&app, &w, json!({ "start": far })).await;
    assert_eq!(
        (status, problem_fields(&problem)),
        (422, vec!["service_id".to_owned()]),
        "no price yet then: {problem}"
    );
    let (status, problem) = quote(&app, &w, json!({ "turn_fee_group_id": w.pet })).await;
    assert_eq!(
        (status, problem_fields(&problem)),
        (422, vec!["turn_fee_group_id".to_owned()])
    );
    let (status, problem) = quote(&app, &w, json!({ "colour": "red" })).await;
    assert_eq!(
        (status, problem_fields(&problem)),
        (422, vec!["colour".to_owned()])
    );

    // Bad pricing data is refused too.
    for (path, body, field) in [
        (
            "/api/v1/turn-fee-groups",
            json!({ "code": "X", "name": "X", "kind": "percent", "value": "101" }),
            "value",
        ),
        (
            "/api/v1/turn-fee-groups",
            json!({ "code": "X", "name": "X", "kind": "fixed", "value": "-1" }),
            "value",
        ),
        (
            "/api/v1/discounts",
            json!({ "name": "X", "kind": "fixed", "value": "1", "valid_from": "2026-01-01", "weekdays": [0] }),
            "weekdays",
        ),
        (
            "/api/v1/discounts",
            json!({ "name": "X", "kind": "fixed", "value": "1", "valid_from": "2026-01-01", "time_from": "08:00:00" }),
            "time_until",
        ),
        (
            "/api/v1/discounts",
            json!({ "name": "X", "kind": "fixed", "value": "1.234", "valid_from": "2026-01-01" }),
            "value",
        ),
    ] {
        let (status, problem) = app
            .call(&w.staff, Method::POST, path, Some(body.clone()))
            .await;
        assert_eq!(
            (status, problem_fields(&problem)),
            (422, vec![field.to_owned()]),
            "{body}: {problem}"
        );
    }
    // A code already taken is a conflict naming the field, not a server error.
    let (status, problem) = app
        .call(
            &w.staff,
            Method::POST,
            "/api/v1/turn-fee-groups",
            Some(json!({ "code": "urgent", "name": "Otra vez", "kind": "percent", "value": "10" })),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("code: ")),
        "{problem}"
    );
    let (_, groups) = app.get_json("/api/v1/turn-fee-groups").await;
    assert_eq!(groups.as_array().map(Vec::len), Some(2), "nothing added");
}
