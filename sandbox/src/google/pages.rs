//! `GET /`: the calendars and the sheets as a person would look at them.

use axum::{extract::State, response::Html};

use super::Google;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem}\
    table{border-collapse:collapse;margin-bottom:2rem}td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}\
    .cancelled{text-decoration:line-through;color:#999}";

pub(super) async fn page(State(google): State<Google>) -> Html<String> {
    let (events, sheets) = {
        let inner = google.lock();
        (inner.events.clone(), inner.sheets.clone())
    };
    let mut html = format!(
        "<!doctype html><html lang=\"es\"><meta charset=\"utf-8\"><title>Google (sandbox)</title>\
         <style>{STYLE}</style><h1>Calendario</h1>"
    );
    let mut calendars: Vec<&String> = events.keys().map(|(c, _)| c).collect();
    calendars.dedup();
    if calendars.is_empty() {
        html.push_str("<p>Todavía no hay eventos.</p>");
    }
    for calendar in calendars {
        html.push_str(&format!(
            "<h2>{}</h2><table><tr><th>Inicio</th><th>Fin</th><th>Evento</th><th>Lugar</th><th>Estado</th><th>Descripción</th></tr>",
            escape(calendar)
        ));
        let mut rows: Vec<_> = events
            .iter()
            .filter(|((c, _), _)| c == calendar)
            .map(|(_, e)| e)
            .collect();
        rows.sort_by_key(|e| e["start"]["dateTime"].as_str().unwrap_or("").to_owned());
        for event in rows {
            let status = event["status"].as_str().unwrap_or("");
            html.push_str(&format!(
                "<tr class=\"{status}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{status}</td><td>{}</td></tr>",
                escape(event["start"]["dateTime"].as_str().unwrap_or("")),
                escape(event["end"]["dateTime"].as_str().unwrap_or("")),
                escape(event["summary"].as_str().unwrap_or("")),
                escape(event["location"].as_str().unwrap_or("")),
                escape(event["description"].as_str().unwrap_or("")).replace('\n', "<br>"),
            ));
        }
        html.push_str("</table>");
    }
    html.push_str("<h1>Planillas</h1>");
    for ((spreadsheet, tab), rows) in &sheets {
        html.push_str(&format!(
            "<h2>{} · {}</h2><table>",
            escape(spreadsheet),
            escape(tab)
        ));
        for (i, row) in rows.iter().enumerate() {
            html.push_str(&format!("<tr><th>{}</th>", i + 1));
            for cell in row {
                html.push_str(&format!("<td>{}</td>", escape(cell)));
            }
            html.push_str("</tr>");
        }
        html.push_str("</table>");
    }
    html.push_str("</html>");
    Html(html)
}
