//! The control endpoints under `/_emulator` (not MercadoPago's): failures on demand, how
//! webhooks are delivered, paying and changing a payment as a test or a person would.

use super::*;

#[derive(Deserialize)]
pub(super) struct FailBody {
    status: u16,
    count: u32,
    #[serde(default)]
    delay_ms: u64,
}

pub(super) async fn fail(State(mp): State<MercadoPago>, Json(body): Json<FailBody>) -> StatusCode {
    mp.fail_next(
        body.count,
        body.status,
        Duration::from_millis(body.delay_ms),
    );
    StatusCode::NO_CONTENT
}

pub(super) async fn webhooks(
    State(mp): State<MercadoPago>,
    Json(mode): Json<DeliveryMode>,
) -> StatusCode {
    mp.set_delivery(mode);
    StatusCode::NO_CONTENT
}

pub(super) async fn list_payments(State(mp): State<MercadoPago>) -> Json<Vec<Value>> {
    Json(mp.payments())
}

pub(super) async fn list_deliveries(State(mp): State<MercadoPago>) -> Json<Vec<Delivery>> {
    Json(mp.deliveries())
}

#[derive(Deserialize)]
pub(super) struct StatusBody {
    status: String,
}

pub(super) async fn change_status(
    State(mp): State<MercadoPago>,
    Path(id): Path<u64>,
    Json(body): Json<StatusBody>,
) -> Response {
    let payment = {
        let mut inner = mp.lock();
        let Some(payment) = inner.payments.get_mut(&id) else {
            return refusal(404, "not_found", "Payment not found").into_response();
        };
        payment["status"] = json!(body.status);
        payment.clone()
    };
    mp.notify(&payment, &["payment.updated"]);
    Json(payment).into_response()
}

#[derive(Deserialize)]
pub(super) struct PayControl {
    preference_id: String,
    status: String,
    #[serde(default)]
    amount: Option<f64>,
}

pub(super) async fn pay_control(
    State(mp): State<MercadoPago>,
    Json(body): Json<PayControl>,
) -> Response {
    match mp.pay(&body.preference_id, &body.status, body.amount) {
        Ok(payment) => (StatusCode::CREATED, Json(payment)).into_response(),
        Err(e) => refusal(400, "bad_request", &e).into_response(),
    }
}
