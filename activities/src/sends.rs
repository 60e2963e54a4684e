//! Sending a WhatsApp template once per purpose key: each send is claimed in the
//! `outbound_messages` ledger with a lease before it leaves and marked after, so a
//! retried activity finds it done, two concurrent attempts never both send, and a send
//! interrupted mid-flight (or unanswered) is never repeated blind.

use std::time::Duration;

use db::messages::Claim;
use integrations::mercately::{MercatelyError, Sent, WhatsApp};

/// How long a claim on a send holds: longer than the client's worst case, so a live
/// attempt never loses it; a claim that runs out without being marked was interrupted
/// mid-flight (a killed worker), and its message may have left.
fn lease(client: &impl WhatsApp) -> Duration {
    client.worst_case() + Duration::from_secs(30)
}

/// Sends a template message once per `key`: a second call with the same key (a retried
/// activity) answers what the first send got, without sending. The claim is a lease:
/// while one attempt holds it another gets [`MercatelyError::InFlight`] (retryable); a
/// send that was interrupted, or ended [`MercatelyError::Uncertain`], is never repeated
/// (the caller alerts staff instead); a refused or undelivered one frees the claim.
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
    params
        .iter()
        .map(|param| match param.find(&marker) {
            Some(at) => {
                let (head, rest) = param.split_at(at + marker.len());
                let tail = rest.find('/').map_or("", |end| &rest[end..]);
                format!("{head}***{tail}")
            }
            None => param.clone(),
        })
        .collect()
}

pub async fn send_template_once(
    pool: &db::Pool,
    client: &impl WhatsApp,
    key: &str,
    phone_number: &str,
    template: &str,
    params: &[String],
) -> anyhow::Result<Sent> {
    let mut conn = db::conn(pool).await?;
    let recorded = recorded(template, params);
    let message = db::messages::NewMessage {
        key,
        recipient: phone_number,
        template,
        params: &recorded,
    };
    match db::messages::claim(&mut conn, &message, lease(client)).await? {
        Claim::Won => {}
        Claim::Sent { provider_id } => return Ok(Sent { provider_id }),
        Claim::Held => {
            return Err(MercatelyError::InFlight {
                key: key.to_owned(),
            }
            .into());
        }
        Claim::Uncertain => {
            let last = "an earlier attempt was interrupted while sending".to_owned();
            return Err(MercatelyError::Uncertain { last }.into());
        }
    }
    drop(conn);
    let sent = client.send_template(phone_number, template, params).await;
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

/// Tries to write a send's outcome; with a 5 s pool wait each, under 17 s in all, inside
/// the lease and the activity's attempt.
const MARK_TRIES: u32 = 3;

async fn mark(
    pool: &db::Pool,
    key: &str,
    sent: &Result<Sent, MercatelyError>,
) -> anyhow::Result<()> {
    let mut conn = db::conn(pool).await?;
    match sent {
        Ok(sent) => db::messages::mark_sent(&mut conn, key, sent.provider_id.as_deref()).await?,
        Err(MercatelyError::Uncertain { .. }) => {
            db::messages::mark_uncertain(&mut conn, key).await?;
        }
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
}
