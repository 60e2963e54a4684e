//! The daily check of the taxpayer's AFIP setup: what it reports, when the certificate
//! is worth a warning, and how staff hear of it.

use super::*;

/// What the daily check of the taxpayer's AFIP setup found.
///
/// FROZEN wire type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AfipCheck {
    /// When the certificate expires (`None`: unreadable).
    pub certificate_expires: Option<chrono::DateTime<Utc>>,
    /// The web-service points of sale AFIP lists.
    pub points_of_sale: Vec<u32>,
    /// What staff were told.
    pub warnings: Vec<String>,
}

/// Staff are warned this many days before the certificate expires.
pub const CERTIFICATE_WARNING_DAYS: i64 = 30;

/// What is wrong with a certificate expiring at `expires`, seen at `now`.
pub fn certificate_warning(
    expires: chrono::DateTime<Utc>,
    now: chrono::DateTime<Utc>,
) -> Option<String> {
    let left = (expires - now).num_days();
    if expires <= now {
        Some(format!(
            "el certificado de AFIP venció el {}: no se emiten facturas hasta cargar uno nuevo (`api afip-csr`, ver docs/AFIP.md)",
            expires.format("%d/%m/%Y")
        ))
    } else if left < CERTIFICATE_WARNING_DAYS {
        Some(format!(
            "el certificado de AFIP vence el {} (faltan {left} días): generá uno nuevo con `api afip-csr` y subilo a AFIP (ver docs/AFIP.md)",
            expires.format("%d/%m/%Y")
        ))
    } else {
        None
    }
}

impl InvoiceActivities {
    /// A staff alert about invoicing as a whole (not one request); best effort.
    pub(super) async fn tell_staff(&self, key: &str, text: &str) {
        let Some((mercately, phone, email)) = &self.staff else {
            tracing::warn!(%text, "AFIP alert (no staff contacts)");
            return;
        };
        let text = format!("AFIP: {text}");
        if let Some(phone) = phone {
            let params = vec![text.clone()];
            if let Err(e) = messages::ledger::send_template_once(
                &self.pool,
                mercately,
                key,
                phone,
                "staff_alert",
                &params,
            )
            .await
            {
                tracing::error!(error = %e, "AFIP alert not sent on WhatsApp");
            }
        }
        if let Some(address) = email {
            let key = format!("{key}:email");
            let message =
                messages::email::staff_notice(address, &key, "Atención: facturación AFIP", &text);
            if let Err(e) =
                send_email_once(&self.pool, &self.mailer, &key, "staff_alert", &message).await
            {
                tracing::error!(error = %e, "AFIP alert not sent by email");
            }
        }
    }
}
