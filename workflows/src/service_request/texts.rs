//! What the workflow tells people, in Spanish (Argentina), and how it writes a time.
//! These strings reach the history as activity inputs: change them only together with a
//! patch, never in place for requests already in flight.

use chrono::{DateTime, Utc};

/// `dd/mm a las HH:MM` in Buenos Aires time (UTC−3 all year, no daylight saving).
pub(super) fn local_text(at: DateTime<Utc>) -> String {
    domain::time::local(at)
        .format("%d/%m a las %H:%M")
        .to_string()
}

/// The visit's start in local time, or nothing when no visit is set.
pub(super) fn when(scheduled: Option<(DateTime<Utc>, DateTime<Utc>)>) -> String {
    scheduled.map_or_else(String::new, |(start, _)| local_text(start))
}

pub(super) fn owner_accepted() -> String {
    "¡Un veterinario aceptó tu solicitud! Te confirmamos el horario en breve.".into()
}

pub(super) fn owner_coordinated(start: DateTime<Utc>) -> String {
    format!("Tu visita quedó para el {}.", local_text(start))
}

pub(super) fn owner_payment_link(when: &str, url: &str, deadline: DateTime<Utc>) -> String {
    format!(
        "Para confirmar tu visita del {when}, pagá acá: {url} (hasta el {}).",
        local_text(deadline)
    )
}

pub(super) fn owner_payment_reminder(url: &str, deadline: DateTime<Utc>) -> String {
    format!(
        "Recordatorio: tu visita se confirma al pagar: {url} (hasta el {}).",
        local_text(deadline)
    )
}

pub(super) fn owner_payment_rejected() -> String {
    "Tu pago no se aprobó. Podés intentarlo de nuevo con el mismo link.".into()
}

pub(super) fn staff_payment_mismatch(payment: i64, amount: &str, currency: &str) -> String {
    format!("el pago {payment} se aprobó por {amount} {currency}, no por el precio acordado")
}

pub(super) fn staff_payment_reversed(payment: i64, status: &str) -> String {
    format!("el pago {payment} figura {status} en MercadoPago")
}

pub(super) fn owner_confirmed(when: &str) -> String {
    format!("¡Pago recibido! Tu visita del {when} está confirmada.")
}

pub(super) fn vet_confirmed(when: &str) -> String {
    format!("Visita confirmada y pagada: {when}.")
}

pub(super) fn owner_unpaid(when: &str) -> String {
    format!("Venció el plazo de pago y liberamos el turno del {when}.")
}

pub(super) fn vet_unpaid(when: &str) -> String {
    format!("La visita del {when} no se pagó: tu horario quedó libre.")
}

pub(super) fn owner_cancelled(refunded: Option<&str>) -> String {
    match refunded {
        Some(amount) => format!("Cancelamos tu visita y te devolvimos $ {amount}."),
        None => "Cancelamos tu solicitud.".to_owned(),
    }
}

pub(super) fn vet_cancelled() -> String {
    "La visita se canceló: tu horario quedó libre.".into()
}

pub(super) fn owner_expired() -> String {
    "Lo sentimos: ningún veterinario pudo tomar tu solicitud en ese horario. No se te cobró nada."
        .into()
}

pub(super) fn staff_expired(reason: &str) -> String {
    format!("solicitud vencida: {reason}")
}

pub(super) fn owner_stray_refund(amount: &str) -> String {
    format!("Recibimos un pago de más por tu solicitud y te lo devolvimos: $ {amount}.")
}

pub(super) fn owner_reassigned_refund(amount: &str) -> String {
    format!(
        "Cambiamos de veterinario para tu visita, así que te devolvimos lo que pagaste: $ {amount}. Cuando el nuevo veterinario fije el horario te mandamos un link de pago nuevo."
    )
}

pub(super) fn staff_reassigned_refund(payment: i64, amount: &str) -> String {
    format!("el pago {payment} era de la visita del veterinario reemplazado: devuelto $ {amount}")
}

pub(super) fn staff_stray_refund(payment: i64, amount: &str) -> String {
    format!("el pago {payment} no correspondía (pago doble o link viejo): devuelto $ {amount}")
}

pub(super) fn vet_coordinate_reminder() -> String {
    "Recordatorio: aceptaste una visita y falta fijar el horario. Fijalo en la app para que el dueño pueda pagarla.".into()
}

pub(super) fn vet_coordinate_lapsed() -> String {
    "No fijaste el horario a tiempo: la visita se ofrece a otro veterinario.".into()
}

pub(super) fn staff_coordinate_lapsed(vet: &str) -> String {
    format!("el veterinario {vet} aceptó y no fijó el horario: la solicitud vuelve a ofrecerse")
}

pub(super) fn owner_completed() -> String {
    "¡Gracias por confiar en AMAR Mascotas! Tu visita quedó registrada como realizada.".into()
}

pub(super) fn owner_report() -> String {
    "El informe de tu visita ya está listo.".into()
}

pub(super) fn vet_report_reminder() -> String {
    "Recordatorio: falta cargar el informe de la visita que hiciste.".into()
}

pub(super) fn owner_no_show(refunded: Option<&str>, refund_owed: bool) -> String {
    match refunded {
        Some(amount) => {
            format!("El veterinario no te encontró en el domicilio. Te devolvimos $ {amount}.")
        }
        None if refund_owed => "El veterinario no te encontró en el domicilio. Te vamos a \
                                devolver el pago; te escribimos cuando esté hecho."
            .into(),
        None => "El veterinario no te encontró en el domicilio; la visita se cobra igual. \
                 Escribinos para reprogramarla."
            .into(),
    }
}
