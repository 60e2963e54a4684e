//! Sending a WhatsApp template or an email once per purpose key: each send is claimed in the
//! `outbound_messages` ledger with a lease before it leaves and marked after, so a
//! retried activity finds it done, two concurrent attempts never both send, and a send
//! interrupted mid-flight (or unanswered) is never repeated blind.

use std::time::Duration;

use db::messages::Claim;
use integrations::{
    email::{Email, EmailError, Mailer},
    mercately::{MercatelyError, Sent, WhatsApp},
};

/// A provider's failure as the ledger needs to read it.
pub trait SendFailure: std::error::Error + Send + Sync + Sized + 'static {
    /// Another attempt holds the claim on `key`.
    fn in_flight(key: &str) -> Self;
    /// An earlier attempt was interrupted mid-send (or ended uncertain).
    fn interrupted() -> Self;
    /// The message may have left: never to be resent.
    fn is_uncertain(&self) -> bool;
}

/// Both providers' errors have the same three variants the ledger needs.
macro_rules! send_failure {
    ($error:ty) => {
        impl SendFailure for $error {
            fn in_flight(key: &str) -> Self {
                Self::InFlight {
                    key: key.to_owned(),
                }
            }
            fn interrupted() -> Self {
                Self::Uncertain {
                    last: INTERRUPTED.to_owned(),
                }
            }
            fn is_uncertain(&self) -> bool {
                matches!(self, Self::Uncertain { .. })
            }
        }
    };
}

send_failure!(MercatelyError);
send_failure!(EmailError);

const INTERRUPTED: &str = "an earlier attempt was interrupted while sending";

/// Sends `message` once per its key: a second call with the same key (a retried
/// activity) answers what the first send got, without sending. The claim is a lease
/// (longer than the provider's worst case, so a live attempt never loses it): while one
/// attempt holds it another gets `in_flight` (retryable); a send that was interrupted,
/// or ended uncertain, is never repeated (the caller alerts staff instead); a refused
/// or undelivered one frees the claim.
async fn send_once<E: SendFailure>(
    pool: &db::Pool,
    message: &db::messages::NewMessage<'_>,
    worst_case: Duration,
    send: impl std::future::Future<Output = Result<Option<String>, E>>,
) -> anyhow::Result<Option<String>> {
    let key = message.key;
    let lease = worst_case + Duration::from_secs(30);
    let mut conn = db::conn(pool).await?;
    match db::messages::claim(&mut conn, message, lease).await? {
        Claim::Won => {}
        Claim::Sent { provider_id } => return Ok(provider_id),
        Claim::Held => return Err(E::in_flight(key).into()),
        Claim::Uncertain => return Err(E::interrupted().into()),
    }
    drop(conn);
    let sent = send.await;
    // What happened is written down before the attempt ends, retrying a database that is
    // briefly away: an unmarked claim would later read as "interrupted mid-send".
    let mut tries = 0;
    loop {
        tries += 1;
        match mark(pool, key, &sent).await {
            Ok(()) => break,
            Err(e) if tries >= MARK_TRIES => return Err(e),
            Err(e) => {
                tracing::warn!(key, error = %e, "send not marked yet; trying again");
                tokio::time::sleep(Duration::from_millis(500) * tries).await;
            }
        }
    }
    Ok(sent?)
}

/// Sends a WhatsApp template message once per `key` (see [`send_once`]).
pub async fn send_template_once(
    pool: &db::Pool,
    client: &impl WhatsApp,
    key: &str,
    phone_number: &str,
    template: &str,
    params: &[String],
) -> anyhow::Result<Sent> {
    let recorded = recorded(template, params);
    let message = db::messages::NewMessage {
        channel: "whatsapp",
        key,
        recipient: phone_number,
        template,
        params: &recorded,
    };
    let send = async {
        let sent = client.send_template(phone_number, template, params).await?;
        Ok::<_, MercatelyError>(sent.provider_id)
    };
    let provider_id = send_once(pool, &message, client.worst_case(), send).await?;
    Ok(Sent { provider_id })
}

/// Sends an email once per `key` (see [`send_once`]); `template` names what it is
/// (`welcome`, `confirmed` …). The ledger keeps the subject and the attachments' names,
/// never the body (it may hold a one-time link).
pub async fn send_email_once(
    pool: &db::Pool,
    mailer: &impl Mailer,
    key: &str,
    template: &str,
    email: &Email,
) -> anyhow::Result<()> {
    let mut params = vec![email.subject.clone()];
    params.extend(email.attachments.iter().map(|a| a.filename.clone()));
    let message = db::messages::NewMessage {
        channel: "email",
        key,
        recipient: &email.to,
        template,
        params: &params,
    };
    let send = async {
        mailer.send(email).await?;
        Ok::<_, EmailError>(None)
    };
    send_once(pool, &message, mailer.worst_case(), send).await?;
    Ok(())
}

/// The template of the code that proves an owner's WhatsApp number (its one parameter).
pub const PHONE_CODE_TEMPLATE: &str = "phone_code";

/// The parameters as the ledger keeps them: an offer link's signed token is a key to
/// the offer (whoever holds it can answer for the vet), so only the vet's phone gets
/// it; the ledger says `***` in its place.
fn recorded(template: &str, params: &[String]) -> Vec<String> {
    // A verification code is a key to the owner's number in the same way.
    if template == PHONE_CODE_TEMPLATE {
        return params.iter().map(|_| "***".to_owned()).collect();
    }
    let marker = format!("{}/", domain::paths::OFFERS);
    // Where a report link's token starts (`…/report.pdf?link=<token>`).
    let report_link = format!(
        "{}{}",
        domain::paths::REPORT_PDF,
        domain::paths::REPORT_LINK_QUERY
    );
    params
        .iter()
        .map(|param| {
            let param = match param.find(&marker) {
                Some(at) => {
                    let (head, rest) = param.split_at(at + marker.len());
                    let tail = rest.find('/').map_or("", |end| &rest[end..]);
                    format!("{head}***{tail}")
                }
                None => param.clone(),
            };
            // A report link opens a medical report for 90 days: its token is not kept.
            match param.find(&report_link) {
                Some(at) => {
                    let (head, rest) = param.split_at(at + report_link.len());
                    let tail = rest
                        .find(char::is_whitespace)
                        .map_or("", |end| &rest[end..]);
                    format!("{head}***{tail}")
                }
                None => param,
            }
        })
        .collect()
}

/// Tries to write a send's outcome; with a 5 s pool wait each, under 17 s in all, inside
/// the lease and the activity's attempt.
const MARK_TRIES: u32 = 3;

async fn mark<E: SendFailure>(
    pool: &db::Pool,
    key: &str,
    sent: &Result<Option<String>, E>,
) -> anyhow::Result<()> {
    let mut conn = db::conn(pool).await?;
    match sent {
        Ok(provider_id) => db::messages::mark_sent(&mut conn, key, provider_id.as_deref()).await?,
        Err(e) if e.is_uncertain() => db::messages::mark_uncertain(&mut conn, key).await?,
        Err(_) => db::messages::release(&mut conn, key).await?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_ledger_never_keeps_an_offer_links_token() {
        let params = vec![
            "Luna".to_owned(),
            "https://amar.example/api/v1/offers/v1.abc.def/accept".to_owned(),
            "https://amar.example/api/v1/offers/v1.abc.def".to_owned(),
            "https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=1".to_owned(),
        ];
        assert_eq!(
            super::recorded("phone_code", &["123456".to_owned()]),
            ["***"]
        );
        assert_eq!(
            super::recorded("vet_offer", &params),
            [
                "Luna",
                "https://amar.example/api/v1/offers/***/accept",
                "https://amar.example/api/v1/offers/***",
                "https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=1",
            ]
        );
    }

    #[test]
    fn the_ledger_never_keeps_a_report_links_token() {
        let params = vec![
            "Ana".to_owned(),
            "El informe está listo. Descargalo acá: https://amar.example/api/v1/visits/1/report.pdf?link=abc.def y listo".to_owned(),
        ];
        assert_eq!(
            super::recorded("owner_update", &params),
            [
                "Ana",
                "El informe está listo. Descargalo acá: https://amar.example/api/v1/visits/1/report.pdf?link=*** y listo",
            ]
        );
    }
}
