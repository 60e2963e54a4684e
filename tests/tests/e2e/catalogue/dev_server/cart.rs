//! The cart and checkout through HTTP: the booking rules, quotes on every item, and a
//! checkout that is idempotent (sequentially and concurrently), charges current prices,
//! and survives Temporal being unreachable.

use std::{sync::Arc, time::Duration as StdDuration};

use chrono::{Duration, Utc};
use e2e::{
    InProcessWorker, TcpProxy, TestApp, TestDb, dev_server_address, eventually,
    fixtures::{Booking as World, booking as world},
    problem_fields, quick_policy, temporal_settings, unique_task_queue,
};
use reqwest::Method;
use serde_json::{Value, json};

const WAIT: StdDuration = StdDuration::from_secs(30);

/// A valid item `days` days ahead, 10:00–12:00 UTC.
fn item(w: &World, days: i64) -> Value {
    let day = (Utc::now() + Duration::days(days)).date_naive();
    let start = day.and_hms_opt(13, 0, 0).expect("time").and_utc();
    json!({
        "service_id": w.service, "pet_id": w.pet, "address_id": w.home,
        "wanted_start": start, "wanted_end": start + Duration::hours(2),
    })
}

async fn add(app: &TestApp, w: &World, body: Value) -> Value {
    let (status, item) = app
        .call(&w.ana, Method::POST, "/api/v1/cart/items", Some(body))
        .await;
    assert_eq!(status, 201, "{item}");
    item
}

async fn checkout(
    app: &TestApp,
    token: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app
        .http
        .post(app.url("/api/v1/cart/checkout"))
        .bearer_auth(token);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("checkout");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_cart_keeps_priced_items_within_the_booking_rules() {
    let app = TestApp::start().await;
    let w = world(&app).await;

    let added = add(&app, &w, item(&w, 3)).await;
    assert_eq!(added["quote"]["total"], "12000.00");
    let id = added["id"].as_str().expect("id").to_owned();
    let (status, changed) = app
        .call(
            &w.ana,
            Method::PATCH,
            &format!("/api/v1/cart/items/{id}"),
            Some(json!({ "turn_fee_group_id": w.urgent })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["quote"]["total"], "18000.00", "re-priced");
    add(&app, &w, item(&w, 4)).await;
    let (_, cart) = app.call(&w.ana, Method::GET, "/api/v1/cart", None).await;
    assert_eq!(cart["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(cart["total"], "30000.00");

    let now = Utc::now();
    let mut soon = item(&w, 3);
    soon["wanted_start"] = json!(now + Duration::minutes(30));
    soon["wanted_end"] = json!(now + Duration::hours(3));
    let mut far = item(&w, 3);
    far["wanted_end"] = json!(now + Duration::days(61));
    let mut backwards = item(&w, 3);
    backwards["wanted_end"] = backwards["wanted_start"].clone();
    let mut short = item(&w, 3);
    short["wanted_end"] = json!(
        (Utc::now() + Duration::days(3))
            .date_naive()
            .and_hms_opt(13, 30, 0)
            .expect("t")
            .and_utc()
    );
    let mut outside = item(&w, 3);
    let (_, me) = app.call(&w.ana, Method::GET, "/api/v1/me", None).await;
    let away = app
        .create(
            &w.ana,
            &format!(
                "/api/v1/owners/{}/addresses",
                me["owner_id"].as_str().expect("owner")
            ),
            json!({ "street": "Lejos", "lat": -35.5, "lon": -57.9 }),
        )
        .await;
    outside["address_id"] = json!(away);
    for (body, field) in [
        (soon, "wanted_start"),
        (far, "wanted_end"),
        (backwards, "wanted_end"),
        (short, "wanted_end"),
        (outside, "address_id"),
    ] {
        let (status, problem) = app
            .call(
                &w.ana,
                Method::POST,
                "/api/v1/cart/items",
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (status, problem_fields(&problem)),
            (422, vec![field.to_owned()]),
            "{body}: {problem}"
        );
    }
    // Someone else's pet is not a pet of yours.
    let e2e::Caller { token: bruno, .. } = app.owner("bruno@example.com").await;
    let (status, problem) = app
        .call(
            &bruno,
            Method::POST,
            "/api/v1/cart/items",
            Some(item(&w, 3)),
        )
        .await;
    assert_eq!(
        (status, problem_fields(&problem)),
        (422, vec!["pet_id".to_owned()])
    );
    let (status, _) = app
        .call(
            &bruno,
            Method::DELETE,
            &format!("/api/v1/cart/items/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "nor an item of Bruno's cart");
    let e2e::Caller { token: vet, .. } =
        app.vet(&w.staff, "vet@example.com", "20-12345678-6").await;
    let (status, _) = app.call(&vet, Method::GET, "/api/v1/cart", None).await;
    assert_eq!(status, 403, "a vet (not an owner) has no cart");

    let (_, cart) = app.call(&w.ana, Method::GET, "/api/v1/cart", None).await;
    assert_eq!(
        cart["items"].as_array().map(Vec::len),
        Some(2),
        "refusals added nothing"
    );
    let (status, _) = app
        .call(
            &w.ana,
            Method::DELETE,
            &format!("/api/v1/cart/items/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, cart) = app.call(&w.ana, Method::GET, "/api/v1/cart", None).await;
    assert_eq!(cart["total"], "12000.00");
}

#[tokio::test]
async fn checkout_freezes_current_prices_into_requests_and_a_retry_changes_nothing() {
    let app = TestApp::start().await;
    let _worker = InProcessWorker::start(app.worker_settings());
    let w = world(&app).await;
    let first = add(&app, &w, item(&w, 3)).await;
    let second = add(
        &app,
        &w,
        json!({ "turn_fee_group_id": w.urgent })
            .as_object()
            .map(|extra| {
                let mut body = item(&w, 12);
                for (k, v) in extra {
                    body[k] = v.clone();
                }
                body
            })
            .expect("body"),
    )
    .await;
    assert_eq!(second["quote"]["total"], "18000.00");

    // The price changes from a date between the two items: the second is charged the new one.
    let change = (Utc::now() + Duration::days(8)).date_naive();
    let (status, _) = app
        .call(
            &w.staff,
            Method::POST,
            &format!("/api/v1/services/{}/prices", w.service),
            Some(json!({ "amount": "11000", "valid_from": change })),
        )
        .await;
    assert_eq!(status, 201);

    let (status, problem) = checkout(&app, &w.ana, None, None).await;
    assert_eq!(
        (status, problem_fields(&problem)),
        (422, vec!["Idempotency-Key".to_owned()]),
        "{problem}"
    );

    let (status, done) = checkout(&app, &w.ana, Some("key-1"), None).await;
    assert_eq!(status, 201, "{done}");
    let requests = done["requests"].as_array().expect("requests");
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["breakdown"]["total"], "12000.00");
    assert_eq!(requests[0]["price_changed"], false);
    // 11000 × 1.2 = 13200, + 50% = 19800.
    assert_eq!(requests[1]["breakdown"]["total"], "19800.00");
    assert_eq!(requests[1]["price_changed"], true);
    assert_eq!(requests[1]["previous_total"], "18000.00");
    assert_eq!(done["changed_items"], json!([second["id"]]));
    assert_eq!(done["total"], "31800.00");
    assert_eq!(requests[0]["cart_item_id"], first["id"]);

    // Frozen in PostgreSQL, and each workflow started exactly once.
    assert_eq!(app.db.count("SELECT count(*) AS n FROM service_requests WHERE total IS NOT NULL AND price_breakdown IS NOT NULL AND state_seq >= 0").await, 2);
    for request in requests {
        let path = format!(
            "/api/v1/service-requests/{}",
            request["id"].as_str().expect("id")
        );
        // No vet works in this world: the workflow looks, finds nobody, and says so.
        let body = eventually("the workflow to dispatch", WAIT, || async {
            let (_, body) = app.staff_get(&path).await;
            (body["state"] == "expired").then_some(body)
        })
        .await;
        let last = &body["history"][1];
        assert_eq!(last["from_state"], "pending");
        assert!(
            last["reason"]
                .as_str()
                .is_some_and(|r| r.contains("no vet")),
            "{last}"
        );
    }
    let (_, cart) = app.call(&w.ana, Method::GET, "/api/v1/cart", None).await;
    assert_eq!(cart["items"], json!([]), "the cart is empty");
    assert_eq!(cart["total"], "0.00");

    // Ana sees her requests with their frozen prices; nobody else does.
    let (status, mine) = app
        .call(&w.ana, Method::GET, "/api/v1/service-requests", None)
        .await;
    assert_eq!(status, 200, "{mine}");
    let mut totals: Vec<&str> = mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["total"].as_str())
        .collect();
    totals.sort_unstable();
    assert_eq!(totals, ["12000.00", "19800.00"]);
    let one = format!(
        "/api/v1/service-requests/{}",
        requests[1]["id"].as_str().expect("id")
    );
    let (status, shown) = app.call(&w.ana, Method::GET, &one, None).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["price"], requests[1]["breakdown"]);
    assert_eq!(shown["description"], "Consulta para Luna");
    let e2e::Caller { token: bruno, .. } = app.owner("bruno@example.com").await;
    let (status, _) = app.call(&bruno, Method::GET, &one, None).await;
    assert_eq!(status, 404);
    let (_, theirs) = app
        .call(&bruno, Method::GET, "/api/v1/service-requests", None)
        .await;
    assert_eq!(theirs["items"], json!([]));

    // The same key again: the same answer, nothing new.
    let (status, again) = checkout(&app, &w.ana, Some("key-1"), None).await;
    assert_eq!((status, &again), (201, &done));
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM service_requests")
            .await,
        2
    );
    // The same key with another body is refused; a new key on an empty cart too.
    let (status, problem) = checkout(
        &app,
        &w.ana,
        Some("key-1"),
        Some(json!({ "item_ids": [first["id"]] })),
    )
    .await;
    assert_eq!(
        (status, problem_fields(&problem)),
        (422, vec!["Idempotency-Key".to_owned()]),
        "{problem}"
    );
    let (status, problem) = checkout(&app, &w.ana, Some("key-2"), None).await;
    assert_eq!(
        (status, problem_fields(&problem)),
        (422, vec!["cart".to_owned()]),
        "{problem}"
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM service_requests")
            .await,
        2
    );
    assert_eq!(
        app.db.count("SELECT count(*) AS n FROM checkouts").await,
        1,
        "refused keys are not kept"
    );
}

#[tokio::test]
async fn concurrent_checkouts_make_one_set_of_requests() {
    let app = TestApp::start().await;
    let w = world(&app).await;
    add(&app, &w, item(&w, 3)).await;
    add(&app, &w, item(&w, 5)).await;

    // Eight submissions at once: four with one key, four with others.
    let keys = ["same", "same", "same", "same", "a", "b", "c", "d"];
    let results = futures::future::join_all(
        keys.iter()
            .map(|key| checkout(&app, &w.ana, Some(key), None)),
    )
    .await;
    let created: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b)
        .collect();
    let refused = results.iter().filter(|(s, _)| *s == 422).count();
    assert_eq!(created.len() + refused, keys.len(), "{results:?}");
    assert!(
        created.windows(2).all(|pair| pair[0] == pair[1]),
        "every success is the same checkout: {created:?}"
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM service_requests")
            .await,
        2
    );
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM state_history")
            .await,
        2
    );
}

#[tokio::test]
async fn checkout_while_temporal_is_unreachable_starts_the_workflows_once_it_is_back() {
    let db = Arc::new(TestDb::new().await);
    let queue = unique_task_queue();
    let server = dev_server_address();
    let target = format!(
        "{}:{}",
        server.host_str().expect("host"),
        server.port().expect("port")
    )
    .parse()
    .expect("socket address");
    let proxy = TcpProxy::start(target).await;
    let through_proxy =
        temporalio_client::Url::parse(&format!("http://{}", proxy.addr)).expect("url");
    let app = TestApp::spawn(db, temporal_settings(through_proxy, &queue), quick_policy()).await;
    // The worker talks to Temporal directly: only the API loses it.
    let _worker = InProcessWorker::start(worker::WorkerSettings {
        temporal: temporal_settings(server, &queue),
        ..app.worker_settings()
    });
    let w = world(&app).await;
    add(&app, &w, item(&w, 3)).await;

    proxy.cut();
    let (status, done) = checkout(&app, &w.ana, Some("while-down"), None).await;
    assert_eq!(status, 201, "recorded even without Temporal: {done}");
    let id = done["requests"][0]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM service_requests WHERE NOT workflow_started")
            .await,
        1,
        "in the outbox"
    );

    proxy.restore();
    let path = format!("/api/v1/service-requests/{id}");
    eventually("the outbox to start the workflow", WAIT, || async {
        let (_, body) = app.staff_get(&path).await;
        // Started and dispatched (to nobody: no vet works in this world).
        (body["state"] == "expired").then_some(())
    })
    .await;
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM service_requests WHERE NOT workflow_started")
            .await,
        0
    );
    let events = e2e::temporal::events(&app.temporal, &format!("service-request:{id}")).await;
    assert_eq!(e2e::temporal::workflow_starts(&events), 1, "started once");
    // A retry of that checkout after the fact answers the same and starts nothing more.
    let (status, again) = checkout(&app, &w.ana, Some("while-down"), None).await;
    assert_eq!((status, again), (201, done));
}

#[tokio::test]
async fn an_owner_cannot_make_vets_phones_ring_without_bound() {
    let app = TestApp::spawn_with(
        Arc::new(TestDb::new().await),
        temporal_settings(dev_server_address(), &unique_task_queue()),
        quick_policy(),
        |settings| {
            settings.booking.max_cart_items = 2;
            settings.booking.max_unpaid_requests = 3;
            settings.booking.max_checkouts_per_hour = 2;
        },
    )
    .await;
    let w = world(&app).await;
    let requests = || app.db.count("SELECT count(*) AS n FROM service_requests");
    let items = || {
        app.db.count("SELECT count(*) AS n FROM cart_items ci JOIN carts c ON c.id = ci.cart_id WHERE c.status = 'open'")
    };

    // A cart holds at most 2 items.
    add(&app, &w, item(&w, 3)).await;
    add(&app, &w, item(&w, 4)).await;
    let (status, problem) = app
        .call(
            &w.ana,
            Method::POST,
            "/api/v1/cart/items",
            Some(item(&w, 5)),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        problem["type"],
        "https://amarmascotas.ar/problems/cart-full"
    );
    assert_eq!(items().await, 2);

    let first = uuid::Uuid::new_v4().to_string();
    let (status, done) = checkout(&app, &w.ana.token, Some(&first), None).await;
    assert_eq!(status, 201, "{done}");
    assert_eq!(requests().await, 2);

    // Two waiting and two more would be four: more than 3 waiting for a vet or a payment.
    add(&app, &w, item(&w, 6)).await;
    let second_item = add(&app, &w, item(&w, 7)).await;
    let (status, problem) = checkout(&app, &w.ana.token, Some("second-try-1"), None).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        problem["type"],
        "https://amarmascotas.ar/problems/too-many-open-requests"
    );
    assert_eq!(requests().await, 2, "nothing was written");
    assert_eq!(items().await, 2, "the cart is as it was");

    // One of them fits.
    let id = second_item["id"].as_str().expect("id");
    let (status, _) = app
        .call(
            &w.ana,
            Method::DELETE,
            &format!("/api/v1/cart/items/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, done) = checkout(&app, &w.ana.token, Some("second-try-2"), None).await;
    assert_eq!(status, 201, "{done}");
    assert_eq!(requests().await, 3);

    // Two checkouts this hour: a third waits, however the cart looks.
    add(&app, &w, item(&w, 8)).await;
    let response = app
        .http
        .post(app.url("/api/v1/cart/checkout"))
        .bearer_auth(&w.ana.token)
        .header("Idempotency-Key", "third")
        .send()
        .await
        .expect("checkout");
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((3000..=3600).contains(&wait), "{wait}");
    assert_eq!(requests().await, 3);

    // A retry of a checkout that went through answers as it did, caps or not.
    let (status, again) = checkout(&app, &w.ana.token, Some(&first), None).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(requests().await, 3);
}
