//! The emails AMAR sends, in Spanish (Argentina), each a plain-text and an HTML part
//! rendered from the templates in `messages/templates/email/` (askama: checked when
//! the crate compiles, HTML escaped): the welcome of an owner whose login staff
//! created, the owner's notices about a request, and the confirmation with the visit
//! as an `.ics` file. Which notices an owner also gets by email: [`emailed`].

use askama::Template;
use chrono::{DateTime, Utc};
use integrations::email::{Attachment, Email};

/// The domain of the `Message-ID`s and calendar `UID`s AMAR makes.
const ID_DOMAIN: &str = "amarmascotas.ar";

/// The `Message-ID` of the message sent for `key` (a ledger purpose key): the same key,
/// the same id, so a copy delivered twice threads as one.
pub fn message_id(key: &str) -> String {
    let local: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '.'
            }
        })
        .collect();
    format!("{}@{ID_DOMAIN}", local.trim_matches('.'))
}

/// Whether an owner with a WhatsApp number also gets the notice `purpose` by email
/// (an owner without one gets every notice by email): what they may want to keep or
/// find again — the payment link and its reminders, the confirmation, a new time, a
/// cancellation, a refund.
pub fn emailed(purpose: &str) -> bool {
    let purpose = purpose.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
    matches!(
        purpose,
        "payment-link"
            | "payment-reminder"
            | "confirmed"
            | "coordinated"
            | "cancelled"
            | "refunded"
            | "report"
            | "no-show"
    )
}

/// The subject of an owner's notice.
fn subject(purpose: &str) -> &'static str {
    let purpose = purpose.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
    match purpose {
        "accepted" => "Un veterinario aceptó tu solicitud",
        "coordinated" => "El horario de tu visita",
        "payment-link" => "Pagá tu visita para confirmarla",
        "payment-reminder" => "Recordatorio: tu visita espera el pago",
        "payment-rejected" => "Tu pago no se aprobó",
        "confirmed" => "Tu visita está confirmada",
        "cancelled" => "Cancelamos tu visita",
        "unpaid" => "Liberamos el turno de tu visita",
        "expired" => "No pudimos tomar tu solicitud",
        "refunded" => "Te devolvimos un pago",
        "completed" => "Gracias por tu visita",
        "report" => "El informe de tu visita",
        "no-show" => "No te encontramos en tu visita",
        "vaccine-reminder" => "Se acerca una vacuna de tu mascota",
        "invoice" => "Tu factura de AMAR Mascotas",
        "credit-note" => "Tu nota de crédito de AMAR Mascotas",
        _ => "Novedades de tu solicitud",
    }
}

/// The first word of a full name, for a greeting.
fn first_name(full_name: &str) -> String {
    full_name
        .split_whitespace()
        .next()
        .unwrap_or(full_name)
        .to_owned()
}

pub use domain::{pricing::pesos, time::local_long};

#[derive(Template)]
#[template(path = "email/welcome.txt")]
struct WelcomeText<'a> {
    name: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "email/welcome.html")]
struct WelcomeHtml<'a> {
    subject: &'a str,
    name: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "email/notice.txt")]
struct NoticeText<'a> {
    name: &'a str,
    text: &'a str,
}

#[derive(Template)]
#[template(path = "email/notice.html")]
struct NoticeHtml<'a> {
    subject: &'a str,
    name: &'a str,
    text: &'a str,
}

#[derive(Template)]
#[template(path = "email/confirmed.txt")]
struct ConfirmedText<'a> {
    name: &'a str,
    service: &'a str,
    pet: &'a str,
    when: &'a str,
    address: &'a str,
    vet: &'a str,
    total: Option<String>,
}

#[derive(Template)]
#[template(path = "email/confirmed.html")]
struct ConfirmedHtml<'a> {
    subject: &'a str,
    name: &'a str,
    service: &'a str,
    pet: &'a str,
    when: &'a str,
    address: &'a str,
    vet: &'a str,
    total: Option<String>,
}

/// A template that failed to render (cannot happen for these: their fields are plain
/// strings) becomes an empty part rather than a panic.
fn render(template: &impl Template) -> String {
    template.render().unwrap_or_default()
}

/// Who an email goes to.
pub struct Recipient<'a> {
    pub email: &'a str,
    pub full_name: &'a str,
}

fn email(to: &Recipient<'_>, key: &str, subject: &str, text: String, html: String) -> Email {
    Email {
        to: to.email.to_owned(),
        to_name: Some(to.full_name.to_owned()),
        subject: subject.to_owned(),
        text,
        html,
        attachments: Vec::new(),
        message_id: message_id(key),
    }
}

/// The welcome of an owner whose login staff created, with the one-time link to choose
/// a password.
pub fn welcome(to: &Recipient<'_>, key: &str, link: &str, expires_at: DateTime<Utc>) -> Email {
    let subject = "Te damos la bienvenida a AMAR Mascotas";
    let name = first_name(to.full_name);
    let expires = local_long(expires_at);
    let text = render(&WelcomeText {
        name: &name,
        link,
        expires: &expires,
    });
    let html = render(&WelcomeHtml {
        subject,
        name: &name,
        link,
        expires: &expires,
    });
    email(to, key, subject, text, html)
}

/// An owner's notice about a request (what WhatsApp says, by email).
pub fn notice(to: &Recipient<'_>, key: &str, purpose: &str, text: &str) -> Email {
    let subject = subject(purpose);
    let name = first_name(to.full_name);
    let plain = render(&NoticeText { name: &name, text });
    let html = render(&NoticeHtml {
        subject,
        name: &name,
        text,
    });
    email(to, key, subject, plain, html)
}

/// The visit's report: what the WhatsApp notice says, the diagnosis, the link, and the
/// report itself as a PDF attachment.
pub fn report(
    to: &Recipient<'_>,
    key: &str,
    text: &str,
    sheet: &db::reports::ReportSheet,
    pdf: Vec<u8>,
    link: &str,
) -> Email {
    let pet = sheet.visit.pet.as_deref().unwrap_or("tu mascota");
    let body = format!(
        "{text}\n\nVisita de {pet} del {}. Diagnóstico: {}\n\nTe lo mandamos en PDF, adjunto; \
         también lo podés descargar acá: {link}",
        local_long(sheet.visit.start),
        sheet.report.diagnosis,
    );
    let mut email = notice(to, key, "report", &body);
    email.attachments.push(Attachment {
        filename: documents::report::file_name(sheet),
        content_type: "application/pdf".into(),
        body: pdf,
    });
    email
}

/// An authorized receipt (factura or nota de crédito), its PDF attached.
pub fn receipt(
    to: &Recipient<'_>,
    key: &str,
    row: &db::invoices::InvoiceRow,
    file_name: String,
    pdf: Vec<u8>,
) -> Email {
    let kind = domain::invoices::ReceiptType(row.receipt_type);
    let number = domain::invoices::number_label(
        row.point_of_sale as u32,
        row.number.unwrap_or_default() as u64,
    );
    let (purpose, body) = if kind.is_credit_note() {
        (
            "credit-note",
            format!(
                "Te mandamos la nota de crédito {} {number} por {}, que anula la factura de tu visita \
                 porque te devolvimos el pago. La encontrás adjunta en PDF.",
                kind.letter(),
                documents::invoice::pesos(row.total)
            ),
        )
    } else {
        (
            "invoice",
            format!(
                "Te mandamos la factura {} {number} de tu visita, por {}. La encontrás adjunta en PDF; \
                 también está en tu cuenta.",
                kind.letter(),
                documents::invoice::pesos(row.total)
            ),
        )
    };
    let mut email = notice(to, key, purpose, &body);
    email.attachments.push(Attachment {
        filename: file_name,
        content_type: "application/pdf".into(),
        body: pdf,
    });
    email
}

/// A staff alert about the business as a whole (not one request).
pub fn staff_notice(to: &str, key: &str, subject: &str, text: &str) -> Email {
    let recipient = Recipient {
        email: to,
        full_name: "Equipo AMAR",
    };
    let plain = render(&NoticeText {
        name: "equipo",
        text,
    });
    let html = render(&NoticeHtml {
        subject,
        name: "equipo",
        text,
    });
    email(&recipient, key, subject, plain, html)
}

/// A staff alert about a request, with its link.
pub fn staff_alert(
    to: &str,
    key: &str,
    request: domain::RequestId,
    text: &str,
    link: &str,
) -> Email {
    let subject = format!("Atención: solicitud {request}");
    let recipient = Recipient {
        email: to,
        full_name: "Equipo AMAR",
    };
    let body = format!("{text}\n\nLa solicitud: {link}");
    let plain = render(&NoticeText {
        name: "equipo",
        text: &body,
    });
    let html = render(&NoticeHtml {
        subject: &subject,
        name: "equipo",
        text: &body,
    });
    email(&recipient, key, &subject, plain, html)
}

/// The confirmation of a paid visit, with the visit as `visita.ics`.
pub fn confirmed(to: &Recipient<'_>, key: &str, visit: &db::visits::VisitDetails) -> Email {
    let subject = subject("confirmed");
    let name = first_name(to.full_name);
    let when = local_long(visit.start);
    let total = visit.total.as_deref().map(pesos);
    let text = render(&ConfirmedText {
        name: &name,
        service: &visit.service,
        pet: &visit.pet,
        when: &when,
        address: &visit.address,
        vet: &visit.vet_name,
        total: total.clone(),
    });
    let html = render(&ConfirmedHtml {
        subject,
        name: &name,
        service: &visit.service,
        pet: &visit.pet,
        when: &when,
        address: &visit.address,
        vet: &visit.vet_name,
        total,
    });
    let mut email = email(to, key, subject, text, html);
    email.attachments.push(Attachment {
        filename: "visita.ics".into(),
        content_type: "text/calendar; charset=utf-8; method=PUBLISH".into(),
        body: ics(visit).into_bytes(),
    });
    email
}

/// The visit as an iCalendar (RFC 5545) event the owner can add to their calendar: its
/// `UID` is the visit's, so a later copy (a new time) replaces the first.
pub fn ics(visit: &db::visits::VisitDetails) -> String {
    use icalendar::{Calendar, Component, Event, EventLike, EventStatus};
    let event = Event::new()
        .uid(&format!("visit-{}@{ID_DOMAIN}", visit.visit_id))
        .summary(&format!(
            "{} · {} (AMAR Mascotas)",
            visit.service, visit.pet
        ))
        .description(&format!(
            "Visita a domicilio de {} para {}.",
            visit.vet_name, visit.pet
        ))
        .location(&visit.address)
        .starts(visit.start)
        .ends(visit.end)
        .status(EventStatus::Confirmed)
        .done();
    Calendar::new()
        .name("AMAR Mascotas")
        .push(event)
        .done()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_pesos_in_argentina() {
        assert_eq!(pesos("41040.00"), "$ 41.040,00");
        assert_eq!(pesos("999.5"), "$ 999,50");
        assert_eq!(pesos("1234567.89"), "$ 1.234.567,89");
        assert_eq!(pesos("0.00"), "$ 0,00");
    }

    #[test]
    fn message_ids_follow_the_purpose_key() {
        let id = message_id("notice:0b2c:Owner:confirmed:7:email");
        assert_eq!(id, "notice.0b2c.Owner.confirmed.7.email@amarmascotas.ar");
        assert_eq!(id, message_id("notice:0b2c:Owner:confirmed:7:email"));
    }

    #[test]
    fn what_an_owner_with_whatsapp_also_gets_by_email() {
        assert!(emailed("payment-link"));
        assert!(emailed("payment-reminder-2"));
        assert!(emailed("confirmed"));
        assert!(!emailed("accepted"));
        assert!(!emailed("completed"));
        assert_eq!(subject("payment-reminder-3"), subject("payment-reminder"));
    }

    #[test]
    fn html_parts_escape_what_people_typed() {
        let to = Recipient {
            email: "ana@example.com",
            full_name: "Ana <b>Pérez</b>",
        };
        let email = notice(&to, "k", "accepted", "Luna & <script>");
        assert!(
            email.html.contains("<p>Luna &#38; &#60;script&#62;</p>"),
            "{}",
            email.html
        );
        assert!(email.text.contains("Luna & <script>"));
        assert!(email.text.starts_with("¡Hola, Ana!"));
    }
}
