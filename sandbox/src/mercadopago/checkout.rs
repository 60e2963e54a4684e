//! The Checkout Pro page a payer opens from a preference's `init_point`: it shows what
//! is paid, takes the payment, and sends the payer back to the preference's
//! `back_urls` as MercadoPago does.

use super::*;

#[derive(Deserialize)]
pub(super) struct PrefQuery {
    pref_id: String,
}

/// The checkout page the owner opens from the payment link.
pub(super) async fn checkout_page(
    State(mp): State<MercadoPago>,
    Query(q): Query<PrefQuery>,
) -> Response {
    let Some(preference) = mp.lock().preferences.get(&q.pref_id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Html("<h1>Link de pago inválido</h1>".to_owned()),
        )
            .into_response();
    };
    let title = preference["items"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .replace('<', "&lt;");
    let price = &preference["items"][0]["unit_price"];
    Html(format!(
        "<!doctype html><html lang=\"es\"><head><meta charset=\"utf-8\"><title>MercadoPago (sandbox)</title></head>\
         <body><h1>Pagar {title}</h1><p>Total: $ {price}</p>\
         <form method=\"post\"><input type=\"hidden\" name=\"status\" value=\"approved\"><button>Pagar</button></form>\
         <form method=\"post\"><input type=\"hidden\" name=\"status\" value=\"rejected\"><button>Simular rechazo</button></form>\
         </body></html>"
    ))
    .into_response()
}

#[derive(Deserialize)]
pub(super) struct PayForm {
    status: String,
}

pub(super) async fn checkout_submit(
    State(mp): State<MercadoPago>,
    Query(q): Query<PrefQuery>,
    Form(form): Form<PayForm>,
) -> Response {
    let payment = match mp.pay(&q.pref_id, &form.status, None) {
        Ok(payment) => payment,
        Err(e) => return (StatusCode::BAD_REQUEST, Html(format!("<h1>{e}</h1>"))).into_response(),
    };
    let preference = mp
        .lock()
        .preferences
        .get(&q.pref_id)
        .cloned()
        .unwrap_or_default();
    let status = payment["status"].as_str().unwrap_or_default().to_owned();
    // As Checkout Pro does: the payer goes back to the matching `back_urls` entry, with
    // the payment's ids in the query; at once for an approved payment when
    // `auto_return` is `approved`, else through a "Volver al sitio" link.
    let which = match status.as_str() {
        "approved" => "success",
        "pending" | "in_process" => "pending",
        _ => "failure",
    };
    let back = preference["back_urls"][which].as_str().map(|url| {
        let query = [
            ("collection_id", payment["id"].to_string()),
            ("collection_status", status.clone()),
            ("payment_id", payment["id"].to_string()),
            ("status", status.clone()),
            (
                "external_reference",
                preference["external_reference"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            ("payment_type", "credit_card".to_owned()),
            ("preference_id", q.pref_id.clone()),
            ("site_id", "MLA".to_owned()),
            ("processing_mode", "aggregator".to_owned()),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
        let joiner = if url.contains('?') { '&' } else { '?' };
        format!("{url}{joiner}{query}")
    });
    match back {
        Some(url) if which == "success" && preference["auto_return"] == "approved" => {
            (StatusCode::FOUND, [(axum::http::header::LOCATION, url)]).into_response()
        }
        Some(url) => Html(format!(
            "<!doctype html><html><body><h1>Pago {status}</h1><p>Operación {}</p>\
             <p><a href=\"{url}\">Volver al sitio</a></p></body></html>",
            payment["id"]
        ))
        .into_response(),
        None => Html(format!(
            "<!doctype html><html><body><h1>Pago {status}</h1><p>Operación {}</p></body></html>",
            payment["id"]
        ))
        .into_response(),
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
