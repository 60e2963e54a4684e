//! `/checkout/preferences`: create (checked field by field as MercadoPago checks it),
//! read, and update a preference (its term, to close a link).

use super::*;

pub(super) fn check_preference(body: &Value) -> Result<(), Refusal> {
    let items = body["items"]
        .as_array()
        .filter(|i| !i.is_empty())
        .ok_or_else(|| refusal(400, "invalid_items", "items is required"))?;
    for item in items {
        if item["title"].as_str().is_none_or(str::is_empty) {
            return Err(refusal(400, "invalid_items", "items.title is required"));
        }
        if item["quantity"].as_u64().is_none_or(|q| q == 0) {
            return Err(refusal(
                400,
                "invalid_items",
                "items.quantity must be a positive integer",
            ));
        }
        if item["unit_price"].as_f64().is_none_or(|p| p <= 0.0) {
            return Err(refusal(
                400,
                "invalid_items",
                "items.unit_price must be positive",
            ));
        }
        if item["currency_id"].as_str() != Some("ARS") {
            return Err(refusal(
                400,
                "invalid_items",
                "items.currency_id must be ARS",
            ));
        }
    }
    if body["external_reference"]
        .as_str()
        .is_none_or(str::is_empty)
    {
        return Err(refusal(
            400,
            "bad_request",
            "external_reference is required",
        ));
    }
    if !body["notification_url"]
        .as_str()
        .is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"))
    {
        return Err(refusal(
            400,
            "bad_request",
            "notification_url must be an http(s) URL",
        ));
    }
    if body["auto_return"].is_string() && body["back_urls"]["success"].as_str().is_none() {
        return Err(refusal(
            400,
            "invalid_auto_return",
            "auto_return requires back_urls.success",
        ));
    }
    Ok(())
}

pub(super) async fn create_preference(
    State(mp): State<MercadoPago>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    if let Err(r) = mp.gate(&headers).await {
        return r.into_response();
    }
    let body = match json_body(body) {
        Ok(body) => body,
        Err(r) => return r.into_response(),
    };
    match mp.replay("preferences", &headers, &body) {
        Ok(Some((status, answer))) => {
            return (
                StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
                Json(answer),
            )
                .into_response();
        }
        Ok(None) => {}
        Err(r) => return r.into_response(),
    }
    if let Err(r) = check_preference(&body) {
        return r.into_response();
    }
    let id = format!("123456-{}", uuid::Uuid::new_v4());
    let base = mp.lock().public_base.clone();
    let init_point = format!("{base}/checkout/v1/redirect?pref_id={id}");
    let mut preference = body.clone();
    preference["id"] = json!(id);
    preference["init_point"] = json!(init_point);
    preference["sandbox_init_point"] = json!(init_point);
    preference["date_created"] = json!(Utc::now());
    preference["collector_id"] = json!(123_456);
    mp.lock().preferences.insert(id, preference.clone());
    mp.remember("preferences", &headers, body, 201, &preference);
    (StatusCode::CREATED, Json(preference)).into_response()
}

pub(super) async fn get_preference(
    State(mp): State<MercadoPago>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = mp.gate(&headers).await {
        return r.into_response();
    }
    match mp.lock().preferences.get(&id) {
        Some(p) => Json(p.clone()).into_response(),
        None => refusal(404, "not_found", "preference not found").into_response(),
    }
}

/// `PUT /checkout/preferences/{id}`: changes the fields sent; here the term
/// (`expires`, `expiration_date_from`/`_to`, ISO 8601 with an offset), which is what a
/// link is closed with. An unknown id is MercadoPago's `invalid_id`.
pub(super) async fn update_preference(
    State(mp): State<MercadoPago>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Response {
    if let Err(r) = mp.gate(&headers).await {
        return r.into_response();
    }
    let body = match json_body(body) {
        Ok(body) => body,
        Err(r) => return r.into_response(),
    };
    for field in ["expiration_date_from", "expiration_date_to"] {
        let value = &body[field];
        if !value.is_null()
            && value
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_none()
        {
            let error = format!("invalid_{field}");
            return refusal(400, &error, &format!("{field} invalid.")).into_response();
        }
    }
    if !body["expires"].is_null() && !body["expires"].is_boolean() {
        return refusal(400, "invalid_expires", "expires must be a boolean").into_response();
    }
    let mut inner = mp.lock();
    let Some(preference) = inner.preferences.get_mut(&id) else {
        return refusal(404, "invalid_id", "preference_id not found.").into_response();
    };
    for field in ["expires", "expiration_date_from", "expiration_date_to"] {
        if !body[field].is_null() {
            preference[field] = body[field].clone();
        }
    }
    Json(preference.clone()).into_response()
}
