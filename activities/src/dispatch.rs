//! Activities of dispatch: finding the candidates, sending offers and their follow-ups
//! on WhatsApp, telling the owner and staff, and booking (or releasing) the vet's time.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use db::visits::Booking;
use domain::{RequestId, VetId, dispatch::OfferToken};
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::{
    ApplicationFailure,
    activities::{ActivityContext, ActivityError},
};

use config::{SettingsError, env_or, env_secret};
use integrations::{email::SmtpMailer, mercately::MercatelyClient};

use messages::ledger::send_template_once;

/// How offer links are made: signed with a secret the API shares, pointing at the API's
/// public address.
#[derive(Clone)]
pub struct OfferLinks {
    /// `OFFER_LINK_SECRET`, at least 32 bytes.
    pub secret: Vec<u8>,
    /// `PUBLIC_BASE_URL`, where vets' phones reach the API, e.g. `https://amar.example`.
    pub public_base_url: String,
}

impl std::fmt::Debug for OfferLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfferLinks")
            .field("secret", &"***")
            .field("public_base_url", &self.public_base_url)
            .finish()
    }
}

impl OfferLinks {
    pub fn from_env() -> Result<Self, SettingsError> {
        Ok(Self {
            // The worker signs offer links with it, the API checks them.
            secret: env_secret("OFFER_LINK_SECRET")?.as_bytes().to_vec(),
            public_base_url: env_or("PUBLIC_BASE_URL", "http://127.0.0.1:8080".to_owned())?,
        })
    }

    /// The visit's report as a PDF, for its owner: opens without signing in for
    /// [`domain::links::ReportLink::LIFETIME_SECS`] from `now`.
    pub fn report_link(&self, visit: uuid::Uuid, now: DateTime<Utc>) -> String {
        let expires = now.timestamp() + domain::links::ReportLink::LIFETIME_SECS;
        let token = domain::links::ReportLink::new(visit, expires).sign(&self.secret);
        format!(
            "{}{}/{visit}{}{}{token}",
            self.public_base_url.trim_end_matches('/'),
            domain::paths::VISITS,
            domain::paths::REPORT_PDF,
            domain::paths::REPORT_LINK_QUERY,
        )
    }

    /// The page a vet opens to accept (or reject) the offer.
    pub fn link(&self, token: &OfferToken, answer: domain::VetAnswer) -> String {
        format!(
            "{}{}/{}/{}",
            self.public_base_url.trim_end_matches('/'),
            domain::paths::OFFERS,
            token.sign(&self.secret),
            answer.as_str()
        )
    }
}

/// What a dispatch round works with.
///
/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// The visit's length (the service's duration).
    pub duration_minutes: i32,
    /// Ranked, best first, without the excluded vets.
    pub candidates: Vec<VetId>,
}

/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanInput {
    pub request: RequestId,
    pub exclude: Vec<VetId>,
}

/// One WhatsApp message of an offer: `attempt` 0 is the offer, then its follow-ups.
///
/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendOffer {
    pub request: RequestId,
    pub vet: VetId,
    pub offer_no: i32,
    pub attempt: u32,
    pub expires_at: DateTime<Utc>,
}

/// Who a notice is for.
///
/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Owner,
    /// The request's vet.
    Vet,
    Staff,
}

/// A notice about a request; `key` makes it once-only (e.g. `expired`).
///
/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Notice {
    pub request: RequestId,
    pub audience: Audience,
    pub key: String,
    pub text: String,
}

/// FROZEN wire type: it reaches workflow histories (an activity's input or result), so
/// fields are only ever added, with a serde default; nothing is renamed or removed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BookVisit {
    pub request: RequestId,
    pub vet: VetId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

pub struct DispatchActivities {
    pool: db::Pool,
    mercately: MercatelyClient,
    mailer: SmtpMailer,
    links: OfferLinks,
    /// `STAFF_ALERT_PHONE`: the staff WhatsApp that hears about expired requests.
    staff_phone: Option<String>,
    /// `STAFF_ALERT_EMAIL`: the staff mailbox that hears the same.
    staff_email: Option<String>,
    /// Offers a vet may have been sent in the last hour and still be a candidate.
    offer_cap: u32,
}

impl DispatchActivities {
    pub fn new(
        pool: db::Pool,
        mercately: MercatelyClient,
        mailer: SmtpMailer,
        links: OfferLinks,
        staff_phone: Option<String>,
    ) -> Self {
        Self {
            pool,
            mercately,
            mailer,
            links,
            staff_phone,
            staff_email: None,
            offer_cap: 10,
        }
    }

    /// Staff alerts by email too, to `email`.
    pub fn with_staff_email(mut self, email: Option<String>) -> Self {
        self.staff_email = email;
        self
    }

    /// At most `per_hour` offers to one vet in an hour (`0`: no cap), however many
    /// requests are aimed at them.
    pub fn with_offer_cap(mut self, per_hour: u32) -> Self {
        self.offer_cap = per_hour;
        self
    }
}

/// The failure type of a send that may or may not have reached its recipient (an
/// attempt cut mid-send, or the provider's answer lost): never sent again, and told apart
/// by the workflow from a refusal, which certainly reached no one.
pub const SEND_UNCERTAIN: &str = "SendUncertain";

/// A refusal by Mercately or the mail server cannot be fixed by retrying, nor can a send
/// that may have left (typed [`SEND_UNCERTAIN`]); anything else may be.
fn send_error(e: anyhow::Error) -> ActivityError {
    if crate::notices::retryable(&e) {
        return e.into();
    }
    let uncertain = crate::notices::uncertain(&e);
    let failure = ApplicationFailure::builder(e).non_retryable(true);
    ActivityError::application(if uncertain {
        failure.type_name(SEND_UNCERTAIN.to_owned()).build()
    } else {
        failure.build()
    })
}

#[activities]
impl DispatchActivities {
    /// The request's window and ranked candidates; `None` when the request has no
    /// address or window (created by staff, dispatched by hand).
    #[activity(name = "plan_dispatch")]
    pub async fn plan_dispatch(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: PlanInput,
    ) -> Result<Option<Plan>, ActivityError> {
        let mut conn = db::conn(&self.pool).await?;
        let Some(target) = db::dispatch::target(&mut conn, input.request).await? else {
            return Ok(None);
        };
        let candidates = db::dispatch::candidates(&mut conn, &target, self.offer_cap)
            .await?
            .into_iter()
            .filter(|vet| !input.exclude.contains(vet))
            .collect::<Vec<_>>();
        tracing::info!(request = %input.request, candidates = candidates.len(), "dispatch planned");
        Ok(Some(Plan {
            window_start: target.wanted_start,
            window_end: target.wanted_end,
            duration_minutes: target.duration_minutes,
            candidates,
        }))
    }

    /// Sends one offer message (the offer or a follow-up) with its accept and reject
    /// links; once per (request, offer, attempt), however often it is retried.
    #[activity(name = "send_offer")]
    pub async fn send_offer(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: SendOffer,
    ) -> Result<(), ActivityError> {
        crate::alive(&ctx, async move {
            let mut conn = db::conn(&self.pool).await?;
            let context = db::dispatch::offer_context(&mut conn, input.request, input.vet)
                .await?
                .ok_or_else(|| {
                    ActivityError::application(ApplicationFailure::non_retryable(format!(
                        "request {} has nothing to offer",
                        input.request
                    )))
                })?;
            drop(conn);
            let token = OfferToken {
                request: input.request,
                vet: input.vet,
                offer_no: input.offer_no,
                expires_at: input.expires_at.timestamp(),
            };
            let params = vec![
                context.service,
                context.pet,
                context.neighborhood,
                context.window,
                self.links.link(&token, domain::VetAnswer::Accept),
                self.links.link(&token, domain::VetAnswer::Reject),
            ];
            let template = if input.attempt == 0 {
                "vet_offer"
            } else {
                "vet_offer_followup"
            };
            let key = format!(
                "offer:{}:{}:{}",
                input.request, input.offer_no, input.attempt
            );
            let sent = send_template_once(
                &self.pool,
                &self.mercately,
                &key,
                &context.vet_phone,
                template,
                &params,
            )
            .await
            .map_err(send_error)?;
            tracing::info!(
                request = %input.request, vet = %input.vet, offer_no = input.offer_no,
                attempt = input.attempt, provider_id = ?sent.provider_id, "offer sent"
            );
            Ok(())
        })
        .await
    }

    /// Tells the owner (WhatsApp `owner_update`) or staff (`staff_alert`) something about
    /// the request, once per key. An owner without a phone, or no staff phone
    /// configured, is logged and skipped.
    #[activity(name = "notify")]
    pub async fn notify(
        self: Arc<Self>,
        ctx: ActivityContext,
        notice: Notice,
    ) -> Result<(), ActivityError> {
        crate::alive(&ctx, async move {
            let key = format!(
                "notice:{}:{:?}:{}",
                notice.request, notice.audience, notice.key
            );
            let (phone, template, params) = match notice.audience {
                Audience::Owner => {
                    return crate::notices::tell_owner(
                        &self.pool,
                        &self.mercately,
                        &self.mailer,
                        &self.links,
                        &notice,
                        &key,
                    )
                    .await
                    .map_err(send_error);
                }
                Audience::Vet => {
                    let mut conn = db::conn(&self.pool).await?;
                    match db::dispatch::vet_contact(&mut conn, notice.request).await? {
                        Some((name, phone)) => (phone, "vet_update", vec![name, notice.text.clone()]),
                        None => {
                            tracing::warn!(request = %notice.request, "the request has no vet to tell");
                            return Ok(());
                        }
                    }
                }
                Audience::Staff => {
                    let link = format!(
                        "{}{}/service-requests/{}",
                        self.links.public_base_url.trim_end_matches('/'),
                        domain::paths::API_PREFIX,
                        notice.request
                    );
                    let staff = crate::notices::Staff {
                        phone: self.staff_phone.as_deref(),
                        email: self.staff_email.as_deref(),
                        link: &link,
                    };
                    return crate::notices::tell_staff(
                        &self.pool,
                        &self.mercately,
                        &self.mailer,
                        &staff,
                        &notice,
                        &key,
                    )
                    .await
                    .map_err(send_error);
                }
            };
            send_template_once(&self.pool, &self.mercately, &key, &phone, template, &params)
                .await
                .map_err(send_error)?;
            Ok(())
        })
        .await
    }

    /// Books the vet's time for the visit; `Overlap` when the vet is already booked then.
    #[activity(name = "book_visit")]
    pub async fn book_visit(
        self: Arc<Self>,
        _ctx: ActivityContext,
        input: BookVisit,
    ) -> Result<Booking, ActivityError> {
        let mut conn = db::conn(&self.pool).await?;
        let booking =
            db::visits::book_visit(&mut conn, input.request, input.vet, input.start, input.end)
                .await?;
        tracing::info!(request = %input.request, vet = %input.vet, ?booking, "visit booking");
        Ok(booking)
    }

    /// Frees the vet's time held for the request (reassignment, expiry).
    #[activity(name = "release_visit")]
    pub async fn release_visit(
        self: Arc<Self>,
        _ctx: ActivityContext,
        request: RequestId,
    ) -> Result<(), ActivityError> {
        let mut conn = db::conn(&self.pool).await?;
        db::visits::release_visit(&mut conn, request).await?;
        Ok(())
    }
}
