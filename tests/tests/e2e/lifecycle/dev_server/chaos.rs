//! Chaos: 50 lifecycles (`CHAOS_LIFECYCLES`; `make chaos N=…` for a longer run) driven
//! through HTTP with a retrying client (as a frontend
//! retries) while the worker process is SIGKILLed every few seconds and the Temporal
//! server itself is killed and started again once. Every request ends `confirmed`, with
//! exactly one payment link, one approved payment and one visit, no workflow failed, and
//! no WhatsApp message or email sent twice: every message the emulators received is one
//! purpose key of the send ledger. A kill between claiming an offer's send and making it
//! leaves the offer "may not have left": it stays open and staff, alerted, record the
//! vet's answer by phone, as they would.

use std::{
    collections::BTreeSet,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{Datelike, Duration as Days, Utc};
use e2e::{
    TestApp, TestDb, WorkerProcess, fixtures, quick_policy, temporal::DevServer, temporal_settings,
    unique_task_queue,
};
use reqwest::Method;
use serde_json::{Value, json};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;

/// `CHAOS_LIFECYCLES`, default 50.
fn lifecycles() -> usize {
    std::env::var("CHAOS_LIFECYCLES")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(50)
}
const AT_ONCE: usize = 8;
/// How long a worker lives, from its first poll, before it is SIGKILLed.
const WORKER_LIFE: Duration = Duration::from_secs(2);
/// How long one step of a lifecycle may take before the test gives up on it: a guard
/// against a hang, not a goal (a lifecycle caught by the Temporal crash and a few kills
/// on two cores the rest of the suite shares has taken over 90 s).
const STEP_LIMIT: Duration = Duration::from_secs(300);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// How long [`call`] keeps sending a call again. A workflow whose worker is killed every
/// few seconds catches up a task at a time, while the rest of the suite loads the same
/// two cores: a 503 ("catching up") may last a minute or two.
const PATIENCE: Duration = Duration::from_secs(240);

/// As a frontend does: a 503/504 or a `202 pending` is sent again a little later (every
/// command carries an update id, so the same call again gets the first outcome).
async fn call(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let started = Instant::now();
    let mut attempt = 0u64;
    loop {
        attempt += 1;
        let mut request = app.http.request(method.clone(), url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = &body {
            request = request.json(body);
        }
        let Ok(response) = request.send().await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let status = response.status().as_u16();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        let again = matches!(status, 503 | 504) || (status == 202 && value["status"] == "pending");
        if again && started.elapsed() < PATIENCE {
            tokio::time::sleep(Duration::from_millis(250 * attempt.min(8))).await;
            continue;
        }
        return (status, value);
    }
}

async fn poll<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(start.elapsed() < STEP_LIMIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The ledger's rows of the keys `like` matches, as JSON (for a failure's message).
async fn ledger(app: &TestApp, like: &str) -> String {
    app.db
        .texts(&format!(
            "SELECT coalesce(json_agg(m ORDER BY m.key), '[]')::text AS t FROM \
             (SELECT key, attempts, claimed_until, sent_at, uncertain_at, provider_id \
              FROM outbound_messages WHERE key LIKE '{like}') m"
        ))
        .await
        .concat()
}

/// One lifecycle in hourly slot `slot`: checkout, accept, coordinate, pay, confirmed;
/// its request id and how long it took.
async fn lifecycle(
    app: &TestApp,
    w: &fixtures::Dispatch,
    slot: usize,
    cart: &tokio::sync::Mutex<()>,
) -> (String, Duration) {
    let began = Instant::now();
    let vet = &w.vets[0];
    let day = (Utc::now() + Days::days(3 + i64::try_from(slot / 13).expect("small"))).date_naive();
    // 07:00 … 19:00 local (UTC-3), each window two hours, the visit the first.
    let hour = 10 + u32::try_from(slot % 13).expect("small");
    let start = day.and_hms_opt(hour, 0, 0).expect("time").and_utc();
    let id = {
        let _one_cart = cart.lock().await;
        let (status, item) = call(
            app,
            Some(&w.booking.ana.token),
            Method::POST,
            &app.url("/api/v1/cart/items"),
            Some(
                json!({ "service_id": w.booking.service, "pet_id": w.booking.pet,
                         "address_id": w.booking.home, "vet_id": vet.id,
                         "wanted_start": start, "wanted_end": start + Days::hours(2) }),
            ),
        )
        .await;
        assert_eq!(status, 201, "slot {slot}: {item}");
        let key = uuid::Uuid::new_v4().to_string();
        // The same key again after a failure is safe: checkout is idempotent.
        let done = poll("checkout", || async {
            let response = app
                .http
                .post(app.url("/api/v1/cart/checkout"))
                .bearer_auth(&w.booking.ana.token)
                .header("Idempotency-Key", &key)
                .send()
                .await
                .ok()?;
            (response.status() == 201).then_some(())?;
            response.json::<Value>().await.ok()
        })
        .await;
        done["requests"][0]["id"]
            .as_str()
            .expect("a request")
            .to_owned()
    };
    let path = app.url(&format!("/api/v1/service-requests/{id}"));
    let state = |wanted: &'static str| {
        let path = path.clone();
        let token = w.booking.ana.token.clone();
        async move {
            let (_, request) = call(app, Some(&token), Method::GET, &path, None).await;
            (request["state"] == wanted).then_some(request)
        }
    };
    // The vet's offer, or (a worker killed between claiming the offer's send and
    // making it) word that it may not have left, on which staff call the vet.
    let uncertain = format!(
        "SELECT count(*) AS n FROM outbound_messages \
         WHERE key LIKE 'offer:{id}:%' AND uncertain_at IS NOT NULL"
    );
    let offer = poll("the WhatsApp offer", || async {
        let link = app
            .mercately
            .messages()
            .into_iter()
            .filter(|m| m.phone_number == vet.phone && m.template_params.len() > 4)
            .map(|m| m.template_params[4].clone())
            .find(|link| fixtures::offer_request(link).as_deref() == Some(id.as_str()));
        match link {
            Some(link) => Some(Some(link)),
            None => (app.db.count(&uncertain).await > 0).then_some(None),
        }
    });
    let Ok(offer) = tokio::time::timeout(STEP_LIMIT - Duration::from_secs(10), offer).await else {
        let events = e2e::temporal::events(&app.temporal, &format!("service-request:{id}")).await;
        panic!(
            "no WhatsApp offer for {id}; its sends in the ledger: {}; the workflow's steps: {:?}",
            ledger(app, &format!("offer:{id}:%")).await,
            e2e::temporal::steps(&events)
        );
    };
    let (status, answer) = match offer {
        Some(link) => call(app, None, Method::POST, &link, None).await,
        None => {
            let staff = app.staff().await;
            let body = json!({ "answer": "accept", "vet_id": vet.id });
            call(
                app,
                Some(&staff),
                Method::POST,
                &format!("{path}/vet-response"),
                Some(body),
            )
            .await
        }
    };
    assert!(status == 200 || status == 409, "accept: {status} {answer}");
    poll("vet_accepted", || state("vet_accepted")).await;
    let (status, coordinated) = call(
        app,
        Some(&vet.token),
        Method::POST,
        &format!("{path}/coordinate"),
        Some(json!({ "start": start })),
    )
    .await;
    if status != 200 {
        let events = e2e::temporal::events(&app.temporal, &format!("service-request:{id}")).await;
        panic!(
            "coordinate {id}: {status} {coordinated}; the workflow's steps: {:?}",
            e2e::temporal::step_names(&events)
        );
    }
    let wait = poll("the payment link", || async {
        let (_, request) = call(app, Some(&w.booking.ana.token), Method::GET, &path, None).await;
        request["payment_link"].as_str().map(str::to_owned)
    });
    let Ok(link) = tokio::time::timeout(STEP_LIMIT - Duration::from_secs(10), wait).await else {
        let (_, request) = call(app, Some(&w.booking.ana.token), Method::GET, &path, None).await;
        let events = e2e::temporal::events(&app.temporal, &format!("service-request:{id}")).await;
        panic!(
            "no payment link for {id}: {request}; the workflow's steps: {:?}",
            e2e::temporal::steps(&events)
        );
    };
    app.mercadopago
        .pay(&fixtures::preference_of(&link), "approved", None)
        .expect("the emulator takes the payment");
    poll("confirmed", || state("confirmed")).await;
    (id, began.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycles_survive_a_worker_killed_every_few_seconds_and_a_temporal_crash() {
    let mut temporal = DevServer::start().await;
    let app = TestApp::spawn_with(
        Arc::new(TestDb::new().await),
        temporal_settings(temporal.address.clone(), &unique_task_queue()),
        quick_policy(),
        |settings| {
            let n = i64::try_from(lifecycles()).expect("a count");
            settings.booking.max_unpaid_requests = n;
            settings.booking.max_checkouts_per_hour = n;
            // 13 hourly visits a day for the one vet.
            settings.booking.horizon = Days::days(n / 13 + 10);
        },
    )
    .await;
    let mut worker_settings = app.worker_settings();
    worker_settings.vet_max_offers_per_hour = 0;
    let w = fixtures::dispatch(&app, 1).await;
    // The vet works every day, 07:00–21:00.
    let first = (Utc::now() + Days::days(3))
        .date_naive()
        .weekday()
        .number_from_monday();
    for weekday in (1..=7).filter(|d| *d != first) {
        app.create(
            &w.vets[0].token,
            &format!("/api/v1/vets/{}/availability", w.vets[0].id),
            json!({ "weekday": weekday, "starts_at": "07:00", "ends_at": "21:00" }),
        )
        .await;
    }

    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let chaos = {
        let done = done.clone();
        let settings = worker_settings.clone();
        async move {
            let mut kills = 0u32;
            let mut crashed = false;
            let mut settings = settings;
            while !done.load(Ordering::SeqCst) {
                settings.health_bind = Some(([127, 0, 0, 1], free_port()).into());
                let mut worker = WorkerProcess::start(&settings);
                // A life counts from the first poll: on two loaded cores a start alone
                // can take seconds, and a worker killed before it polls did no work.
                // One that does not poll within the minute (Temporal is down) is
                // killed all the same.
                worker.polls(Duration::from_secs(60)).await;
                tokio::time::sleep(WORKER_LIFE).await;
                worker.kill().await;
                kills += 1;
                // After the second kill: however fast the lifecycles go, the crash
                // comes while they run.
                if !crashed && kills >= 2 {
                    temporal.crash_and_restart().await;
                    crashed = true;
                }
            }
            // A last worker finishes whatever the last kill interrupted.
            (kills, crashed, temporal, WorkerProcess::start(&settings))
        }
    };
    let cart = tokio::sync::Mutex::new(());
    let runs = async {
        use futures::StreamExt;
        let ids: Vec<(String, Duration)> = futures::stream::iter(0..lifecycles())
            .map(|slot| lifecycle(&app, &w, slot, &cart))
            .buffer_unordered(AT_ONCE)
            .collect()
            .await;
        done.store(true, Ordering::SeqCst);
        ids
    };
    let (runs, (kills, crashed, _temporal, _last_worker)) = tokio::join!(runs, chaos);
    let took = started.elapsed();
    let mut durations: Vec<Duration> = runs.iter().map(|(_, d)| *d).collect();
    durations.sort();
    let at = |p: usize| durations[(durations.len() * p).div_ceil(100).max(1) - 1];
    let ids: Vec<String> = runs.into_iter().map(|(id, _)| id).collect();
    let n = lifecycles();
    println!("| chaos run | |");
    println!("|---|---|");
    println!(
        "| lifecycles confirmed | {} of {n}, {AT_ONCE} at a time |",
        ids.len()
    );
    println!(
        "| wall time | {:.1} s ({:.2} lifecycles/s) |",
        took.as_secs_f64(),
        ids.len() as f64 / took.as_secs_f64()
    );
    println!(
        "| one lifecycle, p50 / p99 / max | {:.1} s / {:.1} s / {:.1} s |",
        at(50).as_secs_f64(),
        at(99).as_secs_f64(),
        at(100).as_secs_f64()
    );
    println!(
        "| worker SIGKILLed | {kills} times (each {} s after its first poll) |",
        WORKER_LIFE.as_secs()
    );
    println!(
        "| Temporal SIGKILLed and restarted | {} |",
        if crashed { "once" } else { "no" }
    );
    assert!(crashed, "the run lasted long enough to crash Temporal once");
    assert!(kills >= 5, "{kills} kills");

    // Money and visits: exactly one of each per request.
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), n);
    for (what, sql) in [
        ("payment links", "SELECT count(*) AS n FROM mp_preferences"),
        (
            "approved payments",
            "SELECT count(*) AS n FROM payments WHERE status = 'approved'",
        ),
        (
            "visits",
            "SELECT count(*) AS n FROM visits WHERE status <> 'cancelled'",
        ),
        (
            "confirmed requests",
            "SELECT count(*) AS n FROM service_requests WHERE state = 'confirmed'",
        ),
    ] {
        assert_eq!(
            app.db.count(sql).await,
            i64::try_from(n).expect("a count"),
            "{what}"
        );
    }
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM (SELECT request_id FROM mp_preferences GROUP BY request_id HAVING count(*) > 1) d")
            .await,
        0,
        "one payment link per request"
    );
    assert_eq!(
        app.mercadopago.preferences().len(),
        n,
        "no preference made twice at MercadoPago"
    );
    assert_eq!(app.mercadopago.payments().len(), n);

    // WhatsApp: every message the emulator has is one ledger key, sent once. A key whose
    // send was interrupted by a kill is marked uncertain and never sent again, so the
    // emulator may hold a message the ledger did not get to mark, never two for a key.
    let messages = app.mercately.messages();
    let ledger_ids = app
        .db
        .texts(
            "SELECT provider_id AS t FROM outbound_messages \
             WHERE channel = 'whatsapp' AND provider_id IS NOT NULL",
        )
        .await;
    let marked: BTreeSet<&String> = ledger_ids.iter().collect();
    assert_eq!(
        marked.len(),
        ledger_ids.len(),
        "no message id recorded for two keys"
    );
    let unmarked_in_emulator = messages
        .iter()
        .filter(|m| !marked.contains(&m.id.to_string()))
        .count();
    let not_marked_sent = app
        .db
        .count(
            "SELECT count(*) AS n FROM outbound_messages \
             WHERE channel = 'whatsapp' AND sent_at IS NULL",
        )
        .await;
    println!(
        "| WhatsApp messages received / keys marked sent | {} / {} |",
        messages.len(),
        ledger_ids.len()
    );
    println!(
        "| received but not marked (a send cut by a kill) / keys not marked sent | {unmarked_in_emulator} / {not_marked_sent} |"
    );
    assert!(
        i64::try_from(unmarked_in_emulator).expect("small") <= not_marked_sent,
        "every message is a key's: {unmarked_in_emulator} messages without a key marked sent, {not_marked_sent} keys unmarked"
    );
    let every_marked_received = ledger_ids
        .iter()
        .all(|id| messages.iter().any(|m| &m.id.to_string() == id));
    assert!(every_marked_received, "a key marked sent was received");

    // Email: the same, through the Message-ID each key gives its message.
    let emails = app.smtp.emails();
    let email_ids: BTreeSet<&str> = emails.iter().map(|e| e.message_id.as_str()).collect();
    assert_eq!(email_ids.len(), emails.len(), "no email received twice");
    let email_keys_sent = app
        .db
        .texts(
            "SELECT key AS t FROM outbound_messages \
             WHERE channel = 'email' AND sent_at IS NOT NULL",
        )
        .await;
    for key in &email_keys_sent {
        let id = messages::email::message_id(key);
        assert!(
            email_ids.contains(id.as_str()),
            "email {key} marked sent was received"
        );
    }
    println!(
        "| emails received / keys marked sent | {} / {} |",
        emails.len(),
        email_keys_sent.len()
    );
    println!(
        "| a message sent twice, a payment or a visit doubled, a workflow failed | none (asserted) |"
    );

    // No workflow task failed (a panic, a nondeterminism) and no workflow failed: the
    // kills only ever timed tasks out, to be picked up by the next worker.
    for id in &ids {
        let request: domain::RequestId = id.parse().expect("a request id");
        let events = e2e::temporal::events(&app.temporal, &request.workflow_id()).await;
        let failures: Vec<_> = events
            .iter()
            .filter(|e| {
                matches!(
                    e.attributes,
                    Some(
                        Attributes::WorkflowTaskFailedEventAttributes(_)
                            | Attributes::WorkflowExecutionFailedEventAttributes(_)
                    )
                )
            })
            .collect();
        assert!(failures.is_empty(), "{id}: {failures:?}");
    }
}
