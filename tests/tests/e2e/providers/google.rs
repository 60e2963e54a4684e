//! The Google client against the emulator: the service account's assertion is signed
//! and checked both ways (a wrong key is refused as Google refuses it), the token is
//! cached across calls, events are inserted once by their id and patched, sheet rows are
//! appended where the table ends and updated in place, and failures are told apart.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use e2e::{GOOGLE_KEY, GOOGLE_WRONG_KEY, VISITS_SHEET, VISITS_TAB, google_emulator};
use integrations::google::{Calendar, CalendarEvent, GoogleClient, GoogleError, Sheets, event_id};

fn client(settings: integrations::google::GoogleSettings) -> GoogleClient {
    GoogleClient::new(settings)
        .expect("a key")
        .expect("configured")
}

fn event(status: &str) -> CalendarEvent {
    CalendarEvent {
        summary: "Consulta · Luna (Ana)".into(),
        description: "Visita a domicilio".into(),
        location: "Palermo".into(),
        start: Utc
            .with_ymd_and_hms(2026, 12, 10, 13, 0, 0)
            .single()
            .expect("time"),
        end: Utc
            .with_ymd_and_hms(2026, 12, 10, 14, 0, 0)
            .single()
            .expect("time"),
        status: status.into(),
    }
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

#[tokio::test]
async fn events_are_inserted_once_by_their_id_and_patched_with_one_cached_token() {
    let (google, settings) = google_emulator(GOOGLE_KEY).await;
    let client = client(settings);
    let id = event_id(uuid::Uuid::now_v7());

    client
        .insert_event("agenda@amar", &id, &event("confirmed"))
        .await
        .expect("inserted");
    let again = client
        .insert_event("agenda@amar", &id, &event("confirmed"))
        .await;
    assert!(
        matches!(again, Err(GoogleError::Duplicate { .. })),
        "{again:?}"
    );
    client
        .patch_event("agenda@amar", &id, &event("cancelled"))
        .await
        .expect("patched");

    let events = google.events("agenda@amar");
    assert_eq!(events.len(), 1);
    let stored = &events[&id];
    assert_eq!(stored["status"], "cancelled");
    assert_eq!(stored["summary"], "Consulta · Luna (Ana)");
    assert_eq!(stored["start"]["dateTime"], "2026-12-10T13:00:00Z");
    assert_eq!(
        stored["start"]["timeZone"],
        "America/Argentina/Buenos_Aires"
    );
    assert_eq!(stored["sequence"], 1);
    assert_eq!(google.token_requests(), 1, "one token for every call");

    // An id Calendar would not take.
    let bad = client
        .insert_event("agenda@amar", "Not-Base32!", &event("confirmed"))
        .await;
    assert!(
        matches!(bad, Err(GoogleError::Refused { status: 400, .. })),
        "{bad:?}"
    );
}

#[tokio::test]
async fn rows_are_appended_after_the_table_and_updated_where_they_landed() {
    let (google, settings) = google_emulator(GOOGLE_KEY).await;
    let client = client(settings);
    client
        .update_row(
            VISITS_SHEET,
            &format!("{VISITS_TAB}!A1:C1"),
            &row(&["Visita", "Estado", "Total"]),
        )
        .await
        .expect("header");
    let first = client
        .append_row(
            VISITS_SHEET,
            VISITS_TAB,
            &row(&["v1", "Confirmada", "12000.00"]),
        )
        .await
        .expect("append");
    let second = client
        .append_row(
            VISITS_SHEET,
            VISITS_TAB,
            &row(&["v2", "Confirmada", "9000.00"]),
        )
        .await
        .expect("append");
    assert_eq!(
        (first.as_str(), second.as_str()),
        ("Visitas!A2:C2", "Visitas!A3:C3")
    );
    client
        .update_row(VISITS_SHEET, &first, &row(&["v1", "Cancelada", "12000.00"]))
        .await
        .expect("update");
    let column = client
        .read_range(VISITS_SHEET, &format!("{VISITS_TAB}!A:A"))
        .await
        .expect("read");
    assert_eq!(column, [row(&["Visita"]), row(&["v1"]), row(&["v2"])]);
    assert_eq!(
        google.rows(VISITS_SHEET, VISITS_TAB),
        [
            row(&["Visita", "Estado", "Total"]),
            row(&["v1", "Cancelada", "12000.00"]),
            row(&["v2", "Confirmada", "9000.00"])
        ]
    );

    // Another spreadsheet, another tab: Google's 404 and 400.
    let missing = client.read_range("nope", "Visitas!A:A").await;
    assert!(
        matches!(missing, Err(GoogleError::Refused { status: 404, .. })),
        "{missing:?}"
    );
    let tab = client.append_row(VISITS_SHEET, "Otra", &row(&["x"])).await;
    assert!(
        matches!(tab, Err(GoogleError::Refused { status: 400, .. })),
        "{tab:?}"
    );
}

#[tokio::test]
async fn a_key_google_does_not_know_is_refused_as_google_refuses_it() {
    let (google, settings) = google_emulator(GOOGLE_WRONG_KEY).await;
    let client = client(settings);
    let error = client.access_token().await.expect_err("wrong key");
    match &error {
        GoogleError::Auth { error, description } => {
            assert_eq!(error, "invalid_grant");
            assert_eq!(description, "Invalid JWT Signature.");
        }
        other => panic!("{other:?}"),
    }
    assert!(!error.is_retryable());
    assert!(google.events("agenda@amar").is_empty());
}

#[tokio::test]
async fn an_outage_is_retried_inside_a_call_and_then_told_as_unavailable() {
    let (google, settings) = google_emulator(GOOGLE_KEY).await;
    let client = client(settings);
    client.access_token().await.expect("token");
    let id = event_id(uuid::Uuid::now_v7());

    // Two 503s, then Google answers: the call retried and succeeded.
    google.fail_next(2, 503, Duration::ZERO);
    client
        .insert_event("agenda@amar", &id, &event("confirmed"))
        .await
        .expect("after retries");

    // Down for longer than the call's tries: unavailable, worth trying later.
    google.fail_next(5, 500, Duration::ZERO);
    let error = client
        .patch_event("agenda@amar", &id, &event("cancelled"))
        .await
        .expect_err("down");
    assert!(
        matches!(error, GoogleError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());

    // An append is tried once: a 500 may have written the row.
    google.fail_next(1, 500, Duration::ZERO);
    let error = client
        .append_row(VISITS_SHEET, VISITS_TAB, &row(&["v1"]))
        .await
        .expect_err("500");
    assert!(matches!(error, GoogleError::Uncertain { .. }), "{error:?}");
    // A 429 refused before doing anything: unavailable.
    google.fail_next(1, 429, Duration::ZERO);
    let error = client
        .append_row(VISITS_SHEET, VISITS_TAB, &row(&["v1"]))
        .await
        .expect_err("429");
    assert!(
        matches!(error, GoogleError::Unavailable { .. }),
        "{error:?}"
    );
    assert!(google.rows(VISITS_SHEET, VISITS_TAB).is_empty());
}

#[tokio::test]
async fn the_emulator_holds_googles_own_rules() {
    let (_google, settings) = google_emulator(GOOGLE_KEY).await;
    let base = settings.calendar_base.clone();
    let client = client(settings);
    let token = client.access_token().await.expect("token");
    let http = reqwest::Client::new();
    // Attendees need domain-wide delegation.
    let answer = http
        .post(format!("{base}/calendars/agenda%40amar/events"))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "start": { "dateTime": "2026-12-10T13:00:00Z" }, "end": { "dateTime": "2026-12-10T14:00:00Z" },
            "attendees": [{ "email": "ana@example.com" }]
        }))
        .send()
        .await
        .expect("POST");
    assert_eq!(answer.status(), 403);
    let body: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(
        body["error"]["errors"][0]["reason"],
        "forbiddenForServiceAccounts"
    );
    // No token, or one it did not issue.
    let answer = http
        .get(format!("{base}/calendars/agenda%40amar/events"))
        .bearer_auth("ya29.made-up")
        .send()
        .await
        .expect("GET");
    assert_eq!(answer.status(), 401);
    let body: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");
}
