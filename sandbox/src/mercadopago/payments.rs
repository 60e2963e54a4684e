//! `/v1/payments`: a payment by id, the search by `external_reference`, and refunds
//! (idempotent by `X-Idempotency-Key`).

use super::*;

pub(super) async fn get_payment(
    State(mp): State<MercadoPago>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = mp.gate(&headers).await {
        return r.into_response();
    }
    let found = id
        .parse::<u64>()
        .ok()
        .and_then(|id| mp.lock().payments.get(&id).cloned());
    match found {
        Some(p) => Json(p).into_response(),
        None => refusal(404, "not_found", "Payment not found").into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    #[serde(default)]
    external_reference: Option<String>,
}

pub(super) async fn search_payments(
    State(mp): State<MercadoPago>,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Response {
    if let Err(r) = mp.gate(&headers).await {
        return r.into_response();
    }
    let results: Vec<Value> = mp
        .lock()
        .payments
        .values()
        .filter(|p| {
            q.external_reference
                .as_deref()
                .is_none_or(|r| p["external_reference"] == r)
        })
        .cloned()
        .collect();
    Json(json!({
        "paging": { "total": results.len(), "limit": 30, "offset": 0 },
        "results": results,
    }))
    .into_response()
}

pub(super) async fn refund(
    State(mp): State<MercadoPago>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    if let Err(r) = mp.gate(&headers).await {
        return r.into_response();
    }
    let body = body.map(|Json(b)| b).unwrap_or(json!({}));
    let endpoint = format!("refunds:{id}");
    match mp.replay(&endpoint, &headers, &body) {
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
    let Some(payment_id) = id.parse::<u64>().ok() else {
        return refusal(404, "not_found", "Payment not found").into_response();
    };
    let (refund, payment) = {
        let mut inner = mp.lock();
        inner.next_id += 1;
        let refund_id = inner.next_id;
        let Some(payment) = inner.payments.get_mut(&payment_id) else {
            return refusal(404, "not_found", "Payment not found").into_response();
        };
        if payment["status"] != "approved" {
            return refusal(
                400,
                "invalid_status",
                "only approved payments can be refunded",
            )
            .into_response();
        }
        payment["status"] = json!("refunded");
        payment["status_detail"] = json!("refunded");
        let amount = payment["transaction_amount"].clone();
        payment["transaction_amount_refunded"] = amount.clone();
        let refund = json!({
            "id": refund_id, "payment_id": payment_id, "amount": amount,
            "status": "approved", "date_created": Utc::now(),
        });
        (refund, payment.clone())
    };
    mp.remember(&endpoint, &headers, body, 201, &refund);
    mp.notify(&payment, &["payment.updated"]);
    (StatusCode::CREATED, Json(refund)).into_response()
}
