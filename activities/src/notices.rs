//! Telling an owner about their request: on WhatsApp when they have a number, and by
//! email when they have an address and either no number or a notice worth keeping
//! ([`messages::email::emailed`]); the confirmation comes with the visit as an `.ics`.
//! Each channel is sent once per purpose key through the ledger, so a retry after one
//! channel failed sends only the other.

use integrations::{email::Mailer, mercately::WhatsApp};

use messages::{
    email::{self, Recipient},
    ledger::{send_email_once, send_template_once},
};

use crate::dispatch::{Notice, OfferLinks};

/// What a notice is about: its key without the state counter (`payment-reminder-2`).
fn purpose(notice: &Notice) -> &str {
    notice.key.split(':').next().unwrap_or(&notice.key)
}

/// Sends `notice` to the request's owner on each channel it goes by; `key` is the
/// WhatsApp send's ledger key (the email's adds `:email`). Both channels are tried; a
/// failure that may pass (retryable) is answered before a final one, so the activity's
/// retry sends what is still missing.
pub async fn tell_owner(
    pool: &db::Pool,
    whatsapp: &impl WhatsApp,
    mailer: &impl Mailer,
    links: &OfferLinks,
    notice: &Notice,
    key: &str,
) -> anyhow::Result<()> {
    let contact = {
        let mut conn = db::conn(pool).await?;
        db::dispatch::owner_contact(&mut conn, notice.request).await?
    };
    let Some(contact) = contact else {
        tracing::warn!(request = %notice.request, "the request has no owner to tell");
        return Ok(());
    };
    let purpose = purpose(notice);
    // The report goes with its link (and by email, as a PDF).
    let report = if purpose == "report" {
        let mut conn = db::conn(pool).await?;
        match db::reports::filed_report(&mut conn, notice.request).await? {
            Some(filed) => db::reports::report_sheet(&mut conn, filed.visit_id).await?,
            None => None,
        }
    } else {
        None
    };
    let link = report
        .as_ref()
        .map(|sheet| links.report_link(sheet.visit.visit_id, chrono::Utc::now()));
    let on_whatsapp = async {
        let Some(phone) = &contact.phone else {
            return Ok(());
        };
        let text = match &link {
            Some(link) => format!("{} Descargalo acá: {link}", notice.text),
            None => notice.text.clone(),
        };
        let params = vec![contact.name.clone(), text];
        send_template_once(pool, whatsapp, key, phone, "owner_update", &params)
            .await
            .map(drop)
    };
    let by_email = async {
        let Some(address) = &contact.email else {
            if contact.phone.is_none() {
                tracing::warn!(request = %notice.request, "owner has neither WhatsApp nor email; not told");
            }
            return Ok(());
        };
        if contact.phone.is_some() && !email::emailed(purpose) {
            return Ok(());
        }
        let key = format!("{key}:email");
        let to = Recipient {
            email: address,
            full_name: &contact.name,
        };
        let visit = if purpose == "confirmed" {
            let mut conn = db::conn(pool).await?;
            db::visits::visit_details(&mut conn, notice.request).await?
        } else {
            None
        };
        let (template, message) = match (&visit, &report, &link) {
            (Some(visit), _, _) => ("confirmed", email::confirmed(&to, &key, visit)),
            (_, Some(sheet), Some(link)) => {
                let render = {
                    let sheet = sheet.clone();
                    tokio::task::spawn_blocking(move || documents::report::render(&sheet))
                };
                match render.await {
                    Ok(Ok(pdf)) => (
                        "report",
                        email::report(&to, &key, &notice.text, sheet, pdf, link),
                    ),
                    // The PDF is ours to fix, not the owner's to wait for: the link goes.
                    failed => {
                        tracing::error!(request = %notice.request, ?failed, "the report's PDF could not be rendered; emailed the link only");
                        let text = format!("{} Descargalo acá: {link}", notice.text);
                        ("notice", email::notice(&to, &key, purpose, &text))
                    }
                }
            }
            _ => ("notice", email::notice(&to, &key, purpose, &notice.text)),
        };
        send_email_once(pool, mailer, &key, template, &message).await
    };
    both(on_whatsapp, by_email).await
}

/// Where staff hear of trouble, and the request's link for them.
pub struct Staff<'a> {
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub link: &'a str,
}

/// Sends a staff alert on WhatsApp (`STAFF_ALERT_PHONE`) and by email
/// (`STAFF_ALERT_EMAIL`), each once per key, at once; with neither set it is only logged.
pub async fn tell_staff(
    pool: &db::Pool,
    whatsapp: &impl WhatsApp,
    mailer: &impl Mailer,
    staff: &Staff<'_>,
    notice: &Notice,
    key: &str,
) -> anyhow::Result<()> {
    if staff.phone.is_none() && staff.email.is_none() {
        tracing::warn!(request = %notice.request, text = %notice.text, "staff alert (STAFF_ALERT_PHONE and STAFF_ALERT_EMAIL unset)");
        return Ok(());
    }
    let on_whatsapp = async {
        let Some(phone) = staff.phone else {
            return Ok(());
        };
        let params = vec![format!("{}: {}", notice.request, notice.text)];
        send_template_once(pool, whatsapp, key, phone, "staff_alert", &params)
            .await
            .map(drop)
    };
    let by_email = async {
        let Some(address) = staff.email else {
            return Ok(());
        };
        let key = format!("{key}:email");
        let message = email::staff_alert(address, &key, notice.request, &notice.text, staff.link);
        send_email_once(pool, mailer, &key, "staff_alert", &message).await
    };
    both(on_whatsapp, by_email).await
}

/// Sends on both channels at once (each has the activity's whole attempt); the first
/// failure, a retryable one before a final one, so the retry completes what is missing.
async fn both(
    whatsapp: impl std::future::Future<Output = anyhow::Result<()>>,
    email: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let (whatsapp, email) = tokio::join!(whatsapp, email);
    let mut failures: Vec<anyhow::Error> = [whatsapp.err(), email.err()]
        .into_iter()
        .flatten()
        .collect();
    failures.sort_by_key(|e| !retryable(e));
    match failures.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Whether a send's failure may pass on a later try (anything but a provider's
/// refusal or an uncertain send).
pub(crate) fn retryable(e: &anyhow::Error) -> bool {
    use integrations::{email::EmailError, mercately::MercatelyError};
    match (
        e.downcast_ref::<MercatelyError>(),
        e.downcast_ref::<EmailError>(),
    ) {
        (Some(m), _) => m.is_retryable(),
        (_, Some(m)) => m.is_retryable(),
        _ => true,
    }
}

/// Whether `e` is a send that may have reached its recipient.
pub(crate) fn uncertain(e: &anyhow::Error) -> bool {
    use integrations::{email::EmailError, mercately::MercatelyError};
    use messages::ledger::SendFailure;
    e.downcast_ref::<MercatelyError>()
        .is_some_and(SendFailure::is_uncertain)
        || e.downcast_ref::<EmailError>()
            .is_some_and(SendFailure::is_uncertain)
}
