//! `GET /afip/`: the receipts the emulator authorized, as a person would look at them.

use axum::{extract::State, response::Html};

use super::Afip;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem}\
    table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left}\
    td.n{text-align:right;font-variant-numeric:tabular-nums}.elsewhere{color:#888}";

fn name(receipt_type: i16) -> &'static str {
    match receipt_type {
        1 => "Factura A",
        3 => "Nota de Crédito A",
        6 => "Factura B",
        8 => "Nota de Crédito B",
        11 => "Factura C",
        13 => "Nota de Crédito C",
        _ => "Otro",
    }
}

pub(super) async fn page(State(afip): State<Afip>) -> Html<String> {
    let (receipts, logins) = {
        let inner = afip.lock();
        (inner.receipts.clone(), inner.logins)
    };
    let mut html = format!(
        "<!doctype html><html lang=\"es\"><meta charset=\"utf-8\"><title>AFIP (sandbox)</title>\
         <style>{STYLE}</style><h1>Comprobantes autorizados</h1><p>{} comprobantes · {logins} tickets de acceso emitidos</p>",
        receipts.len()
    );
    if receipts.is_empty() {
        html.push_str("<p>Todavía no hay comprobantes.</p>");
    } else {
        html.push_str(
            "<table><tr><th>CUIT</th><th>Comprobante</th><th>Número</th><th>Fecha</th><th>Receptor</th>\
             <th>Neto</th><th>IVA</th><th>Total</th><th>CAE</th><th>Vto. CAE</th><th>Asociado</th></tr>",
        );
        for r in receipts.iter().rev() {
            let associated = r
                .associated
                .map(|(t, p, n)| format!("{} {p:04}-{n:08}", name(t)))
                .unwrap_or_default();
            html.push_str(&format!(
                "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{:04}-{:08}</td><td>{}</td><td>{} {}</td>\
                 <td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.2}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                if r.elsewhere { "elsewhere" } else { "" },
                r.cuit,
                name(r.receipt_type),
                r.point_of_sale,
                r.number,
                r.date,
                r.doc_type,
                r.doc_number,
                r.net,
                r.vat,
                r.total,
                escape(&r.cae),
                r.cae_due,
                escape(&associated),
            ));
        }
        html.push_str("</table>");
    }
    html.push_str("</html>");
    Html(html)
}
