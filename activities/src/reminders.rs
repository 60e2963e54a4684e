//! Vaccine reminders: each dose due within the horizon gets one reminder per due date
//! and channel (WhatsApp `owner_update`, and email), as the owner chose on their
//! profile, with a link that opens a booking of the vaccination service for that pet at
//! their address. The send-once ledger keys each by pet, vaccine, due date and channel,
//! so a re-run of the day (or of the next day) sends nothing twice, and a new dose
//! (a later due date) stops the old one.

use std::sync::Arc;

use chrono::NaiveDate;
use integrations::{email::SmtpMailer, mercately::MercatelyClient};
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use messages::{
    email::{self, Recipient},
    ledger::{send_email_once, send_template_once},
};

/// One day's run.
///
/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderRun {
    /// The local day the run is for.
    pub today: NaiveDate,
    /// Doses due up to this many days ahead are reminded.
    pub horizon_days: u32,
    /// The code of the service a reminder books (`VACCINATION_SERVICE_CODE`).
    pub service_code: String,
}

/// What a run did.
///
/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderCounts {
    /// Doses due within the horizon.
    pub due: u32,
    /// Reminders handed to WhatsApp or the mail server, or found sent before.
    pub whatsapp: u32,
    pub email: u32,
    /// Doses whose owner gets no reminder (opted out, or no way to reach them).
    pub unreachable: u32,
    /// Sends that failed for good (a refusal); staff can read them in the ledger.
    pub failed: u32,
}

pub struct ReminderActivities {
    pool: db::Pool,
    mercately: MercatelyClient,
    mailer: SmtpMailer,
    /// `PUBLIC_BASE_URL`, where the booking link points.
    public_base_url: String,
}

impl ReminderActivities {
    pub fn new(
        pool: db::Pool,
        mercately: MercatelyClient,
        mailer: SmtpMailer,
        public_base_url: String,
    ) -> Self {
        Self {
            pool,
            mercately,
            mailer,
            public_base_url,
        }
    }
}

/// How many doses are read at a time.
const PAGE: i32 = 200;

/// The booking page, prefilled with what a reminder books.
pub fn booking_link(
    base: &str,
    service: Option<uuid::Uuid>,
    pet: uuid::Uuid,
    address: Option<uuid::Uuid>,
) -> String {
    let mut link = format!(
        "{}{}?pet={pet}",
        base.trim_end_matches('/'),
        domain::paths::BOOKING
    );
    if let Some(service) = service {
        link.push_str(&format!("&service={service}"));
    }
    if let Some(address) = address {
        link.push_str(&format!("&address={address}"));
    }
    link
}

fn text(dose: &db::reminders::DueDose, today: NaiveDate, link: &str) -> String {
    let when = if dose.due_on <= today {
        "ya le toca".to_owned()
    } else {
        format!("le toca el {}", dose.due_on.format("%d/%m/%Y"))
    };
    format!(
        "A {} {when} la vacuna {}. Reservá la visita a domicilio acá: {link}",
        dose.pet, dose.vaccine
    )
}

#[activities]
impl ReminderActivities {
    /// Sends the day's vaccine reminders; heartbeats as it goes. A refusal is counted
    /// and logged, never fatal; anything that may pass fails the attempt, and the retry
    /// sends only what is missing.
    #[activity(name = "send_vaccine_reminders")]
    pub async fn send_vaccine_reminders(
        self: Arc<Self>,
        ctx: ActivityContext,
        run: ReminderRun,
    ) -> Result<ReminderCounts, ActivityError> {
        crate::alive(&ctx, async move {
            let service = {
                let mut conn = db::conn(&self.pool).await?;
                db::reminders::service_by_code(&mut conn, &run.service_code).await?
            };
            if service.is_none() {
                tracing::warn!(code = %run.service_code, "no service with VACCINATION_SERVICE_CODE: reminders link to a booking without a service");
            }
            let horizon = i32::try_from(run.horizon_days).unwrap_or(i32::MAX);
            let mut counts = ReminderCounts::default();
            let mut after = None;
            loop {
                let doses = {
                    let mut conn = db::conn(&self.pool).await?;
                    db::reminders::due_doses(&mut conn, run.today, horizon, after, PAGE).await?
                };
                let Some(last) = doses.last() else { break };
                after = Some((last.pet_id, last.vaccine_id));
                for dose in &doses {
                    self.remind(dose, &run, service, &mut counts).await?;
                }
            }
            tracing::info!(today = %run.today, ?counts, "vaccine reminders");
            Ok(counts)
        })
        .await
    }
}

impl ReminderActivities {
    async fn remind(
        &self,
        dose: &db::reminders::DueDose,
        run: &ReminderRun,
        service: Option<uuid::Uuid>,
        counts: &mut ReminderCounts,
    ) -> Result<(), ActivityError> {
        counts.due += 1;
        let link = booking_link(&self.public_base_url, service, dose.pet_id, dose.address_id);
        let body = text(dose, run.today, &link);
        let key = format!(
            "vaccine-reminder:{}:{}:{}",
            dose.pet_id, dose.vaccine_id, dose.due_on
        );
        let mut reached = false;
        if let Some(phone) = dose.phone.as_deref().filter(|_| dose.by_whatsapp) {
            reached = true;
            let params = vec![dose.owner_name.clone(), body.clone()];
            match send_template_once(
                &self.pool,
                &self.mercately,
                &key,
                phone,
                "owner_update",
                &params,
            )
            .await
            {
                Ok(_) => counts.whatsapp += 1,
                Err(e) if !crate::notices::retryable(&e) => {
                    tracing::warn!(%key, error = %e, "vaccine reminder refused on WhatsApp");
                    counts.failed += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(address) = dose.email.as_deref().filter(|_| dose.by_email) {
            reached = true;
            let to = Recipient {
                email: address,
                full_name: &dose.owner_name,
            };
            let key = format!("{key}:email");
            let message = email::notice(&to, &key, "vaccine-reminder", &body);
            match send_email_once(&self.pool, &self.mailer, &key, "notice", &message).await {
                Ok(()) => counts.email += 1,
                Err(e) if !crate::notices::retryable(&e) => {
                    tracing::warn!(%key, error = %e, "vaccine reminder refused by email");
                    counts.failed += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !reached {
            counts.unreachable += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_booking_link_carries_what_is_known() {
        let pet = uuid::Uuid::from_u128(1);
        let service = uuid::Uuid::from_u128(2);
        let address = uuid::Uuid::from_u128(3);
        assert_eq!(
            booking_link("https://amar.example/", Some(service), pet, Some(address)),
            format!(
                "https://amar.example/api/v1/book?pet={pet}&service={service}&address={address}"
            )
        );
        assert_eq!(
            booking_link("https://amar.example", None, pet, None),
            format!("https://amar.example/api/v1/book?pet={pet}")
        );
    }
}
