//! The role dashboards after a scripted day: Ana's bookings in every state, written as
//! the workflow would have left them (its offers, visits, payments, notes, report and
//! vaccines), then each dashboard read as staff, each vet and Ana — the right counts and
//! items, a page of each list, and nobody's but one's own.

use e2e::{
    TestApp,
    fixtures::{Dispatch, dispatch},
};
use serde_json::Value;

/// Local midnight `days` from today, as SQL.
fn midnight(days: i32) -> String {
    let zone = domain::time::ZONE;
    format!(
        "((date_trunc('day', now() AT TIME ZONE '{zone}') + interval '{days} days') AT TIME ZONE '{zone}')"
    )
}

/// A request of Ana's in `state`, with `vet`, last changed `since` (SQL); its id.
async fn request(
    app: &TestApp,
    w: &Dispatch,
    state: &str,
    vet: Option<usize>,
    since: &str,
) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let vet = vet.map_or("NULL".to_owned(), |v| format!("'{}'", w.vets[v].id));
    let b = &w.booking;
    app.db
        .execute(&format!(
            "INSERT INTO service_requests (id, state, state_seq, description, vet_id, owner_id, pet_id, \
               service_id, address_id, wanted, total, updated_at, created_at) \
             VALUES ('{id}', '{state}', 1, 'Consulta', {vet}, '{}', '{}', '{}', '{}', \
               tstzrange(now() + interval '3 days', now() + interval '3 days 2 hours'), 12000, {since}, {since})",
            b.ana.id, b.pet, b.service, b.home
        ))
        .await;
    id
}

/// A visit of `request` by `vet`, from `start` (SQL) for an hour; its id.
async fn visit(
    app: &TestApp,
    w: &Dispatch,
    request: &str,
    vet: usize,
    start: &str,
    status: &str,
) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    app.db
        .execute(&format!(
            "INSERT INTO visits (id, request_id, vet_id, scheduled, status) \
             VALUES ('{id}', '{request}', '{}', tstzrange({start}, {start} + interval '1 hour'), '{status}')",
            w.vets[vet].id
        ))
        .await;
    id
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn each_role_sees_its_day_and_only_its_own() {
    // The outbox would start the workflow of the request written below as never
    // started, and it would no longer be stuck: it stays off for this test.
    let app = TestApp::spawn_with(
        std::sync::Arc::new(e2e::TestDb::new().await),
        e2e::temporal_settings(e2e::dev_server_address(), &e2e::unique_task_queue()),
        e2e::quick_policy(),
        |s| s.outbox_interval = std::time::Duration::from_secs(24 * 3600),
    )
    .await;
    let w = dispatch(&app, 2).await;
    let now = "now()";
    let ago = |interval: &str| format!("now() - interval '{interval}'");

    let _pending = request(&app, &w, "pending", None, now).await;
    // Asked: vet 0's offer open for an hour, vet 1's expired.
    let asked = request(&app, &w, "vet_asked", None, now).await;
    app.db
        .execute(&format!(
            "INSERT INTO vet_offers (request_id, offer_no, vet_id, offered_at, expires_at) VALUES \
             ('{asked}', 1, '{}', now(), now() + interval '1 hour'), \
             ('{asked}', 2, '{}', now() - interval '3 hours', now() - interval '1 hour')",
            w.vets[0].id, w.vets[1].id
        ))
        .await;
    // Accepted three days ago and never coordinated: stuck.
    let stalled = request(&app, &w, "vet_accepted", Some(1), &ago("3 days")).await;
    // Coordinated for tomorrow, its payment link open.
    let coordinated = request(&app, &w, "coordinated", Some(0), now).await;
    let tomorrow = visit(
        &app,
        &w,
        &coordinated,
        0,
        &format!("{} + interval '10 hours'", midnight(1)),
        "scheduled",
    )
    .await;
    app.db
        .execute(&format!(
            "INSERT INTO mp_preferences (id, request_id, idempotency_key, init_point, amount, expires_at) \
             VALUES ('pref-1', '{coordinated}', 'k1', 'https://mp.example/checkout/pref-1', 12000, now() + interval '20 hours')"
        ))
        .await;
    let _payed = request(&app, &w, "payed", Some(1), now).await;
    // Confirmed: one visit started earlier today (its report is due), one later today.
    let started = request(&app, &w, "confirmed", Some(0), now).await;
    let started_at = format!("GREATEST({}, now() - interval '30 minutes')", midnight(0));
    let due = visit(&app, &w, &started, 0, &started_at, "scheduled").await;
    let later = request(&app, &w, "confirmed", Some(1), now).await;
    let later_at = format!("(now() + ({} - now()) / 2)", midnight(1));
    let later_visit = visit(&app, &w, &later, 1, &later_at, "scheduled").await;
    // Completed with its report; a note that needs attention.
    let completed = request(&app, &w, "completed", Some(0), now).await;
    let done = visit(&app, &w, &completed, 0, &ago("2 days"), "completed").await;
    app.db
        .execute(&format!(
            "INSERT INTO visit_reports (id, visit_id, author_user_id, findings, diagnosis) \
             SELECT gen_random_uuid(), '{done}', user_id, 'Sano.', 'Control anual sin hallazgos.' \
             FROM veterinarians WHERE id = '{}'",
            w.vets[0].id
        ))
        .await;
    app.db
        .execute(&format!(
            "INSERT INTO state_history (request_id, seq, from_state, to_state, actor, reason, occurred_at) \
             VALUES ('{completed}', 1, 'completed', 'completed', 'system', \
               'needs attention: the visit''s calendar and sheet were not told of the change', now())"
        ))
        .await;
    // Cancelled with its payment kept: to reconcile.
    let cancelled = request(&app, &w, "cancelled", None, now).await;
    app.db
        .execute(&format!(
            "INSERT INTO payments (id, request_id, status, amount, currency, raw) \
             VALUES (9001, '{cancelled}', 'approved', 12000, 'ARS', '{{}}')"
        ))
        .await;
    let _expired = request(&app, &w, "expired", None, now).await;
    let _absent = request(&app, &w, "no_show", Some(0), now).await;
    // Checked out an hour ago, its workflow never started: stuck.
    let unstarted = request(&app, &w, "pending", None, &ago("1 hour")).await;
    app.db
        .execute(&format!(
            "UPDATE service_requests SET workflow_started = false WHERE id = '{unstarted}'"
        ))
        .await;
    // Luna's vaccines: rabies due in ten days, parvovirus overdue, distemper renewed.
    let staff = &w.booking.staff;
    let mut vaccines = Vec::new();
    for name in ["Antirrábica", "Parvovirus", "Moquillo"] {
        vaccines.push(
            app.create(
                staff,
                "/api/v1/vaccines",
                serde_json::json!({ "name": name, "interval_days": 365 }),
            )
            .await,
        );
    }
    for (vaccine, applied, due) in [
        (&vaccines[0], "355 days", "10 days"),
        (&vaccines[1], "400 days", "-35 days"),
        (&vaccines[2], "370 days", "-5 days"),
    ] {
        app.db
            .execute(&format!(
                "INSERT INTO vaccine_applications (id, pet_id, vaccine_id, applied_on, next_due_on) \
                 VALUES (gen_random_uuid(), '{}', '{vaccine}', (now() - interval '{applied}')::date, \
                   (now() + interval '{due}')::date)",
                w.booking.pet
            ))
            .await;
    }
    app.db
        .execute(&format!(
            "INSERT INTO vaccine_applications (id, pet_id, vaccine_id, applied_on, next_due_on) \
             VALUES (gen_random_uuid(), '{}', '{}', (now() - interval '3 days')::date, (now() + interval '362 days')::date)",
            w.booking.pet, vaccines[2]
        ))
        .await;

    // Staff.
    let (status, board) = staff.get(&app, "/api/v1/dashboards/staff").await;
    assert_eq!(status, 200, "{board}");
    let counts: Vec<(String, i64)> = board["requests_by_state"]
        .as_array()
        .expect("states")
        .iter()
        .map(|c| {
            (
                c["state"].as_str().unwrap_or_default().to_owned(),
                c["count"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    let count = |state: &str| counts.iter().find(|(s, _)| s == state).map(|(_, n)| *n);
    assert_eq!(counts.len(), 10, "every state, {counts:?}");
    for (state, n) in [
        ("pending", 2),
        ("vet_asked", 1),
        ("vet_accepted", 1),
        ("coordinated", 1),
        ("payed", 1),
        ("confirmed", 2),
        ("completed", 1),
        ("cancelled", 1),
        ("expired", 1),
        ("no_show", 1),
    ] {
        assert_eq!(count(state), Some(n), "{state}: {counts:?}");
    }
    assert_eq!(
        ids(&board["needing_attention"], "request_id"),
        [completed.as_str()]
    );
    let mut stuck = ids(&board["stuck"], "request_id");
    stuck.sort();
    let mut want = vec![stalled.clone(), unstarted.clone()];
    want.sort();
    assert_eq!(stuck, want, "{}", board["stuck"]);
    assert_eq!(
        ids(&board["visits_today"], "visit_id"),
        [due.as_str(), later_visit.as_str()]
    );
    assert_eq!(
        ids(&board["visits_tomorrow"], "visit_id"),
        [tomorrow.as_str()]
    );
    assert_eq!(
        ids(&board["payments_to_reconcile"], "request_id"),
        [cancelled.as_str()]
    );
    // A page of each list, and its total.
    let (_, first) = staff.get(&app, "/api/v1/dashboards/staff?limit=1").await;
    assert_eq!(first["visits_today"]["total"], 2);
    assert_eq!(ids(&first["visits_today"], "visit_id"), [due.as_str()]);
    let (_, second) = staff
        .get(&app, "/api/v1/dashboards/staff?limit=1&offset=1")
        .await;
    assert_eq!(
        ids(&second["visits_today"], "visit_id"),
        [later_visit.as_str()]
    );
    let (status, body) = staff.get(&app, "/api/v1/dashboards/staff?limit=0").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(e2e::problem_fields(&body), ["limit"]);

    // Vet 0: the open offer, the visits ahead, the report he owes.
    let martin = w.vets[0].caller();
    let (status, board) = martin
        .get(&app, &format!("/api/v1/vets/{}/dashboard", martin.id))
        .await;
    assert_eq!(status, 200, "{board}");
    assert_eq!(ids(&board["open_offers"], "request_id"), [asked.as_str()]);
    assert!(board["open_offers"]["items"][0]["answer_by"].is_string());
    assert!(
        !board.to_string().contains("Gurruchaga"),
        "no street before acceptance"
    );
    assert_eq!(
        ids(&board["upcoming_visits"], "visit_id"),
        [due.as_str(), tomorrow.as_str()]
    );
    assert_eq!(ids(&board["reports_to_file"], "visit_id"), [due.as_str()]);
    // Vet 1: his offer expired, his later visit ahead, no report owed; not vet 0's board.
    let other = w.vets[1].caller();
    let (_, board) = other
        .get(&app, &format!("/api/v1/vets/{}/dashboard", other.id))
        .await;
    assert_eq!(board["open_offers"]["total"], 0, "{board}");
    assert_eq!(
        ids(&board["upcoming_visits"], "visit_id"),
        [later_visit.as_str()]
    );
    assert_eq!(board["reports_to_file"]["total"], 0);
    let (status, _) = other
        .get(&app, &format!("/api/v1/vets/{}/dashboard", martin.id))
        .await;
    assert_eq!(status, 404);

    // Ana: her visits ahead, the payment due, two vaccines due (one overdue), the report.
    let ana = &w.booking.ana;
    let (status, board) = ana
        .get(&app, &format!("/api/v1/owners/{}/dashboard", ana.id))
        .await;
    assert_eq!(status, 200, "{board}");
    assert_eq!(
        ids(&board["upcoming_visits"], "visit_id"),
        [due.as_str(), later_visit.as_str(), tomorrow.as_str()]
    );
    assert_eq!(
        ids(&board["payments_due"], "request_id"),
        [coordinated.as_str()]
    );
    assert_eq!(
        board["payments_due"]["items"][0]["link"],
        "https://mp.example/checkout/pref-1"
    );
    let due_vaccines: Vec<(String, bool)> = board["vaccines_due"]["items"]
        .as_array()
        .expect("vaccines")
        .iter()
        .map(|v| {
            (
                v["vaccine"].as_str().unwrap_or_default().to_owned(),
                v["overdue"] == true,
            )
        })
        .collect();
    assert_eq!(
        due_vaccines,
        [
            ("Parvovirus".to_owned(), true),
            ("Antirrábica".to_owned(), false)
        ],
        "the renewed distemper is not due"
    );
    assert_eq!(ids(&board["reports"], "visit_id"), [done.as_str()]);
    assert_eq!(
        board["reports"]["items"][0]["diagnosis"],
        "Control anual sin hallazgos."
    );
    // Someone else's: not found; a vet: not an owner's to read.
    let bob = app.register("bob@example.com").await;
    let (status, _) = app
        .call(
            &bob,
            reqwest::Method::GET,
            &format!("/api/v1/owners/{}/dashboard", ana.id),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = martin
        .get(&app, &format!("/api/v1/owners/{}/dashboard", ana.id))
        .await;
    assert_eq!(status, 403);
    let (status, board) = staff
        .get(&app, &format!("/api/v1/owners/{}/dashboard", ana.id))
        .await;
    assert_eq!(
        (status, board["payments_due"]["total"].clone()),
        (200, serde_json::json!(1))
    );
}
