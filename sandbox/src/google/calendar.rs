//! Calendar v3 events: insert (with a client-chosen id), get, patch, list.

use axum::{
    Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{CALENDAR_SCOPE, Google, google_error};

/// Calendar's rule for a client-chosen id: base32hex digits, 5 to 1024 of them.
fn valid_id(id: &str) -> bool {
    (5..=1024).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b))
}

fn invalid(message: &str) -> Response {
    google_error(StatusCode::BAD_REQUEST, "invalid", message)
}

/// The checks an insert or a patch body must pass.
fn check_body(body: &Value) -> Result<(), Response> {
    if body["attendees"].as_array().is_some_and(|a| !a.is_empty()) {
        return Err(google_error(
            StatusCode::FORBIDDEN,
            "forbiddenForServiceAccounts",
            "Service accounts cannot invite attendees without Domain-Wide Delegation of Authority.",
        ));
    }
    for end in ["start", "end"] {
        if !body[end].is_null()
            && body[end]["dateTime"]
                .as_str()
                .is_none_or(|t| chrono::DateTime::parse_from_rfc3339(t).is_err())
        {
            return Err(invalid("Invalid start time."));
        }
    }
    if let Some(status) = body["status"].as_str()
        && !matches!(status, "confirmed" | "tentative" | "cancelled")
    {
        return Err(invalid("Invalid value for: status"));
    }
    Ok(())
}

pub(super) async fn insert(
    State(google): State<Google>,
    Path(calendar): Path<String>,
    headers: HeaderMap,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(refused) = google.admit(&headers, CALENDAR_SCOPE).await {
        return refused;
    }
    let Ok(Json(mut event)) = body else {
        return invalid("Parse Error");
    };
    if event["start"].is_null() || event["end"].is_null() {
        return google_error(StatusCode::BAD_REQUEST, "required", "Missing end time.");
    }
    if let Err(refused) = check_body(&event) {
        return refused;
    }
    let id = match event["id"].as_str() {
        Some(id) if valid_id(id) => id.to_owned(),
        Some(_) => return invalid("Invalid resource id value."),
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let key = (calendar.clone(), id.clone());
    let mut inner = google.lock();
    if inner.events.contains_key(&key) {
        return google_error(
            StatusCode::CONFLICT,
            "duplicate",
            "The requested identifier already exists.",
        );
    }
    event["id"] = json!(id);
    event["kind"] = json!("calendar#event");
    event["htmlLink"] = json!(format!("https://www.google.com/calendar/event?eid={id}"));
    event["organizer"] = json!({ "email": calendar, "self": true });
    if event["status"].is_null() {
        event["status"] = json!("confirmed");
    }
    event["sequence"] = json!(0);
    inner.events.insert(key, event.clone());
    (StatusCode::OK, Json(event)).into_response()
}

pub(super) async fn get(
    State(google): State<Google>,
    Path((calendar, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = google.admit(&headers, CALENDAR_SCOPE).await {
        return refused;
    }
    match google.lock().events.get(&(calendar, id)) {
        Some(event) => Json(event.clone()).into_response(),
        None => google_error(StatusCode::NOT_FOUND, "notFound", "Not Found"),
    }
}

pub(super) async fn patch(
    State(google): State<Google>,
    Path((calendar, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    if let Err(refused) = google.admit(&headers, CALENDAR_SCOPE).await {
        return refused;
    }
    let Ok(Json(changes)) = body else {
        return invalid("Parse Error");
    };
    if let Err(refused) = check_body(&changes) {
        return refused;
    }
    let mut inner = google.lock();
    let Some(event) = inner.events.get_mut(&(calendar, id)) else {
        return google_error(StatusCode::NOT_FOUND, "notFound", "Not Found");
    };
    if let (Some(event), Some(changes)) = (event.as_object_mut(), changes.as_object()) {
        for (field, value) in changes {
            if field != "id" {
                event.insert(field.clone(), value.clone());
            }
        }
        let sequence = event.get("sequence").and_then(Value::as_i64).unwrap_or(0);
        event.insert("sequence".into(), json!(sequence + 1));
    }
    Json(event.clone()).into_response()
}

pub(super) async fn list(
    State(google): State<Google>,
    Path(calendar): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = google.admit(&headers, CALENDAR_SCOPE).await {
        return refused;
    }
    let items: Vec<Value> = google.events(&calendar).into_values().collect();
    Json(json!({ "kind": "calendar#events", "summary": calendar, "items": items })).into_response()
}
