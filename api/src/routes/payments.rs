//! MercadoPago's webhook and cancellations.
//!
//! A notification is believed only as far as its signature goes, and even then it only
//! says "look at payment N": it is stored once (a repeat delivery is acknowledged and
//! ignored), answered at once, and handed to the workflow of the payment's request,
//! which fetches the payment from MercadoPago itself; when that workflow is over, to a
//! `LatePaymentWorkflow` of its own.

use std::collections::HashMap;

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use domain::paths;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    AppState,
    error::{ApiError, Problem},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(mercadopago_webhook, payment_return))]
pub struct Docs;

pub fn router(limits: &crate::limits::RateLimits) -> Router<AppState> {
    let webhooks = Router::new().route(
        paths::under_api(paths::MERCADOPAGO_WEBHOOK),
        post(mercadopago_webhook),
    );
    crate::limits::limit(webhooks, "webhooks", limits.webhooks).route(
        &format!("{}/{{result}}", paths::under_api(paths::PAYMENT_RETURN)),
        get(payment_return),
    )
}

#[utoipa::path(
    get,
    path = "/api/v1/payments/return/{result}",
    tag = "payments",
    params(("result" = String, Path, description = "`success`, `pending` or `failure`, as MercadoPago sends the payer back")),
    responses(
        (status = 200, description = "A page for the payer saying what happens next", content_type = "text/html"),
        (status = 404, description = "Not a result MercadoPago sends", body = Problem, content_type = "application/problem+json"),
    )
)]
/// Where MercadoPago sends the payer back after the checkout. The page only says what
/// happens next: the payment counts once MercadoPago confirms it to us (the webhook),
/// never because of this visit or its query string. No login, nothing read or written.
async fn payment_return(Path(result): Path<String>) -> Result<Response, ApiError> {
    let (title, text) = match result.as_str() {
        "success" => (
            "¡Gracias!",
            "Recibimos tu pago. En cuanto MercadoPago nos lo confirme te avisamos por WhatsApp que tu visita quedó confirmada.",
        ),
        "pending" => (
            "Pago pendiente",
            "Tu pago quedó pendiente. Cuando se acredite te confirmamos la visita por WhatsApp; no hace falta pagar de nuevo.",
        ),
        "failure" => (
            "El pago no se completó",
            "No se cobró nada. Podés intentarlo otra vez desde el link de pago que te mandamos por WhatsApp.",
        ),
        _ => return Err(ApiError::NotFound("payment result")),
    };
    let page = format!(
        "<!doctype html><html lang=\"es-AR\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>AMAR Mascotas</title></head><body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    Ok(Html(page).into_response())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Received {
    /// `received`, or `duplicate` for an event already stored.
    pub status: String,
}

/// Checks `x-signature: ts=<ts>,v1=<hex>` over
/// `id:<data.id>;request-id:<x-request-id>;ts:<ts>;` (a pair whose value is missing is
/// left out), HMAC-SHA256 with the webhook secret, in constant time; and that `ts` is
/// recent. MercadoPago sends `ts` in Unix seconds (`ts=1704908010`); a 13-digit value is
/// read as milliseconds, as some of its integrations sign.
fn verify_signature(
    secret: &[u8],
    headers: &HeaderMap,
    data_id: Option<&str>,
    max_age: std::time::Duration,
) -> Result<(), &'static str> {
    use hmac::Mac;
    let signature = headers
        .get("x-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or("no x-signature")?;
    let mut ts = None;
    let mut v1 = None;
    for part in signature.split(',') {
        match part.trim().split_once('=') {
            Some(("ts", value)) => ts = Some(value),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (ts, v1) = ts.zip(v1).ok_or("x-signature lacks ts or v1")?;
    let expected = decode_hex(v1).ok_or("v1 is not hex")?;
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok());
    let mut manifest = String::new();
    if let Some(id) = data_id {
        manifest.push_str(&format!("id:{id};"));
    }
    if let Some(request_id) = request_id {
        manifest.push_str(&format!("request-id:{request_id};"));
    }
    manifest.push_str(&format!("ts:{ts};"));
    let mut mac =
        <hmac::Hmac<sha2::Sha256>>::new_from_slice(secret).map_err(|_| "unusable secret")?;
    mac.update(manifest.as_bytes());
    mac.verify_slice(&expected)
        .map_err(|_| "signature mismatch")?;
    let sent_ms = ts_millis(ts).ok_or("ts is not a Unix time")?;
    let age_ms = chrono::Utc::now().timestamp_millis() - sent_ms;
    let max_ms = i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX);
    if age_ms > max_ms || age_ms < -60_000 {
        return Err("stale or future ts");
    }
    Ok(())
}

/// `ts` as milliseconds: seconds (up to 12 digits) or milliseconds (13 digits).
fn ts_millis(ts: &str) -> Option<i64> {
    if ts.is_empty() || ts.len() > 13 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: i64 = ts.parse().ok()?;
    Some(if ts.len() == 13 { value } else { value * 1000 })
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[utoipa::path(
    post,
    path = "/api/v1/webhooks/mercadopago",
    tag = "payments",
    params(
        ("data.id" = String, Query, description = "The payment notified"),
        ("type" = String, Query, description = "`payment`"),
    ),
    responses(
        (status = 200, description = "Stored (or a repeat, ignored)", body = Received),
        (status = 400, description = "Not a notification", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Bad or missing signature; nothing stored", body = Problem, content_type = "application/problem+json"),
    )
)]
/// MercadoPago's notification: signature checked, stored once, answered at once; the
/// payment's workflow is told right after (and by the outbox, should that fail).
async fn mercadopago_webhook(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Json<Received>, ApiError> {
    let data_id = query.get("data.id").map(String::as_str);
    if let Err(why) = verify_signature(
        state.settings.mp_webhook_secret.as_bytes(),
        &headers,
        data_id,
        state.settings.mp_webhook_max_age,
    ) {
        tracing::warn!(why, data_id, "MercadoPago webhook refused");
        crate::metrics::webhook("bad_signature");
        return Err(ApiError::Unauthorized(
            "the notification's signature does not check".into(),
        ));
    }
    // The body is read only for a signed notification, and only so much of it.
    let body = axum::body::to_bytes(body, WEBHOOK_BODY_MAX)
        .await
        .map_err(|_| ApiError::BadRequest {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            detail: format!("a notification is at most {WEBHOOK_BODY_MAX} bytes"),
        })?;
    let payload: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
        crate::metrics::webhook("malformed");
        ApiError::BadRequest {
            status: StatusCode::BAD_REQUEST,
            detail: "the notification is not JSON".into(),
        }
    })?;
    let kind = payload["type"].as_str().unwrap_or_default().to_owned();
    let action = payload["action"].as_str().unwrap_or_default().to_owned();
    let body_id = match &payload["data"]["id"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    // The signature covers the query's data.id only: a body naming another payment is
    // someone replaying a signature.
    if kind.is_empty() || action.is_empty() || Some(body_id.as_str()) != data_id {
        tracing::warn!(
            data_id,
            body_id,
            "MercadoPago webhook body does not match its signature"
        );
        crate::metrics::webhook("malformed");
        return Err(ApiError::BadRequest {
            status: StatusCode::BAD_REQUEST,
            detail: "the notification's body does not match its signed data.id".into(),
        });
    }
    let notification = match &payload["id"] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let mut conn = db::conn(&state.pool).await?;
    let stored = db::payments::store_event(
        &mut conn,
        "mercadopago",
        &kind,
        &body_id,
        &action,
        &notification,
        &payload,
    )
    .await?;
    drop(conn);
    let Some(event) = stored else {
        tracing::info!(data_id, action, "MercadoPago webhook repeated; ignored");
        crate::metrics::webhook("duplicate");
        return Ok(Json(Received {
            status: "duplicate".into(),
        }));
    };
    crate::metrics::webhook("received");
    let background = state.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::payment_news::hand_over(&background, event, &kind, &body_id).await {
            tracing::warn!(error = %e, event, "webhook not handed over yet; the outbox retries");
        }
    });
    Ok(Json(Received {
        status: "received".into(),
    }))
}

/// MercadoPago's notifications are a few hundred bytes.
const WEBHOOK_BODY_MAX: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_check_the_manifest_the_age_and_the_key() {
        use hmac::Mac;
        let secret = b"webhook-secret";
        let now = chrono::Utc::now().timestamp().to_string();
        let sign = |data: &str, request: &str, ts: &str, key: &[u8]| {
            let mut mac = <hmac::Hmac<sha2::Sha256>>::new_from_slice(key).expect("key");
            mac.update(format!("id:{data};request-id:{request};ts:{ts};").as_bytes());
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let headers = |ts: &str, v1: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                "x-signature",
                format!("ts={ts},v1={v1}").parse().expect("header"),
            );
            h.insert("x-request-id", "req-1".parse().expect("header"));
            h
        };
        let age = std::time::Duration::from_secs(900);
        let good = sign("123", "req-1", &now, secret);
        assert_eq!(
            verify_signature(secret, &headers(&now, &good), Some("123"), age),
            Ok(())
        );
        // Another payment, another key, a tampered hex, an old timestamp: refused.
        assert!(verify_signature(secret, &headers(&now, &good), Some("124"), age).is_err());
        let foreign = sign("123", "req-1", &now, b"other");
        assert!(verify_signature(secret, &headers(&now, &foreign), Some("123"), age).is_err());
        assert!(verify_signature(secret, &headers(&now, &good[1..]), Some("123"), age).is_err());
        let old = (chrono::Utc::now().timestamp() - 3_600).to_string();
        let old_sig = sign("123", "req-1", &old, secret);
        assert!(verify_signature(secret, &headers(&old, &old_sig), Some("123"), age).is_err());
        let future = (chrono::Utc::now().timestamp() + 3_600).to_string();
        let future_sig = sign("123", "req-1", &future, secret);
        assert!(
            verify_signature(secret, &headers(&future, &future_sig), Some("123"), age).is_err()
        );
        assert!(verify_signature(secret, &HeaderMap::new(), Some("123"), age).is_err());
        // A millisecond timestamp, as some integrations sign, checks too.
        let now_ms = chrono::Utc::now().timestamp_millis().to_string();
        let ms_sig = sign("123", "req-1", &now_ms, secret);
        assert_eq!(
            verify_signature(secret, &headers(&now_ms, &ms_sig), Some("123"), age),
            Ok(())
        );
        // Not a time: refused even when signed.
        for ts in ["", "-5", "1e9", "17049080100000"] {
            let sig = sign("123", "req-1", ts, secret);
            assert!(verify_signature(secret, &headers(ts, &sig), Some("123"), age).is_err());
        }
    }
}
