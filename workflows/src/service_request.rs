//! `ServiceRequestWorkflow`: one durable workflow per service request, the single writer
//! of its state after creation.
//!
//! A checked-out request is dispatched: its ranked candidate vets get WhatsApp offers,
//! `offer_batch_size` at a time, each followed up `vet_max_followups` times; a reject or
//! silence moves on to the next vets, nobody left expires the request (owner and staff
//! are told). The first vet to accept wins; the vet (or staff) then sets the start inside
//! the wanted window, which books the vet's time (`coordinated`). Staff may reassign an
//! accepted or coordinated request: its vet is released and excluded, dispatch starts
//! again.
//!
//! A request created directly by staff (no address, no window) is dispatched by hand:
//! one open offer whose answer staff record for a vet — the original walking skeleton,
//! whose command sequence is kept so that its workflows in flight still replay.

use std::{pin::pin, time::Duration};

use activities::{
    RecordTransition, RequestActivities,
    dispatch::{Audience, BookVisit, DispatchActivities, Notice, Plan, PlanInput, SendOffer},
    payments::{CheckPayment, CreatePreference, PaymentActivities, RefundPayment, Verdict},
};
use chrono::{DateTime, Utc};
use db::{dispatch::Booking, requests::OfferRecord};
use domain::{
    Actor, DispatchPolicy, RequestId, RequestState, StateChange, VetAnswer, VetId, check_transition,
};
use serde::{Deserialize, Serialize};
use temporalio_common::protos::temporal::api::common::v1::RetryPolicy;
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, ApplicationFailure, CancellableFuture, SyncWorkflowContext, WorkflowContext,
    WorkflowContextView, WorkflowResult, workflows::select,
};

use crate::{names, search};

/// How a request finds its vet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DispatchMode {
    /// Created by staff without address or window: staff record which vet answered.
    /// (Inputs from before dispatch existed read as this.)
    #[default]
    Staff,
    /// Checked out by an owner: offered to the candidate vets on WhatsApp.
    Candidates,
}

/// What checkout (or the staff create endpoint) hands the workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRequestInput {
    pub request: RequestId,
    pub description: String,
    pub policy: DispatchPolicy,
    #[serde(default)]
    pub mode: DispatchMode,
}

/// A vet's answer, sent as the `vet_response` update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VetResponse {
    pub answer: VetAnswer,
    /// The vet answering (required for dispatched requests).
    #[serde(default)]
    pub vet: Option<VetId>,
    /// The offer answered (from a link); absent from the vet's API: their latest offer.
    #[serde(default)]
    pub offer_no: Option<i32>,
    /// Sent by the vet (a link, their API), not recorded by staff.
    #[serde(default)]
    pub by_vet: bool,
}

/// What the caller of `vet_response` learns at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VetResponseOutcome {
    Accepted,
    Rejected,
    /// Another vet accepted first.
    Taken,
    /// The offer closed unanswered (no answer in time, or the request moved on).
    Expired,
    /// This offer was answered already (a link works once).
    AlreadyAnswered,
    /// No such offer was made to this vet.
    NotYours,
}

/// The `coordinate` update: the visit's exact start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coordinate {
    pub start: DateTime<Utc>,
    /// The accepted vet or staff.
    pub actor: Actor,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CoordinateOutcome {
    Coordinated {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    /// The vet already has a visit overlapping that time; nothing changed.
    Overlap,
}

/// The `reassign` update: staff send the request back to dispatch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reassign {
    pub actor: Actor,
    pub reason: String,
}

/// The `cancel` update: the owner (before payment) or staff call the request off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cancel {
    pub actor: Actor,
    pub reason: Option<String>,
}

/// What follows a phase of the dispatched path.
enum Next {
    Redispatch,
    Done,
}

/// How collecting the payment ended.
enum Collected {
    Paid(i64),
    Unpaid,
    /// A reassignment or cancellation arrived.
    Interrupted,
}

/// One offer as the workflow sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub offer_no: i32,
    pub vet: VetId,
    pub status: OfferStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferStatus {
    Open,
    Accepted,
    Rejected,
    /// Closed unanswered.
    Closed,
}

/// The wanted window and the visit's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub duration_minutes: i32,
}

/// The live view answered by the `status` query, and the workflow's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestStatus {
    pub request: RequestId,
    pub state: RequestState,
    /// seq of the last state change; matches `state_seq` in PostgreSQL once recorded.
    pub seq: i32,
    /// Follow-ups sent for the offers now open (the staff path: for its one offer).
    pub followups_sent: u32,
    /// Whether a vet's answer is being waited for.
    pub awaiting_vet: bool,
    pub vet: Option<VetId>,
    /// Every offer made, in order.
    #[serde(default)]
    pub offers: Vec<Offer>,
    /// The coordinated visit.
    #[serde(default)]
    pub scheduled: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Where the owner pays.
    #[serde(default)]
    pub payment_link: Option<String>,
}

#[workflow]
pub struct ServiceRequestWorkflow {
    input: ServiceRequestInput,
    state: RequestState,
    seq: i32,
    followups_sent: u32,
    /// The staff path's one answer.
    response: Option<VetResponse>,
    vet: Option<VetId>,
    offers: Vec<Offer>,
    /// Offers whose answer is not yet in PostgreSQL, with when it came.
    unrecorded: Vec<(i32, VetAnswer, DateTime<Utc>)>,
    window: Option<Window>,
    scheduled: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// A `coordinate` update is booking the vet's time.
    coordinating: bool,
    reassign: Option<Reassign>,
    /// Vets taken off this request by reassignment, never asked again.
    excluded: Vec<VetId>,
    /// Payments MercadoPago told us about (webhooks), not yet looked at.
    payment_events: Vec<i64>,
    /// The approved payment.
    payment: Option<i64>,
    payment_link: Option<String>,
    cancel: Option<Cancel>,
}

/// Recording a state change or an offer: PostgreSQL may be briefly away, so retry
/// patiently; the activity is idempotent.
fn db_activity() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(30))
        .retry_policy(RetryPolicy {
            initial_interval: Some(Duration::from_millis(200).try_into().unwrap_or_default()),
            backoff_coefficient: 2.0,
            maximum_interval: Some(Duration::from_secs(30).try_into().unwrap_or_default()),
            ..Default::default()
        })
        .build()
}

/// Sending a WhatsApp message: the client retries quickly inside one attempt; between
/// attempts back off up to a minute. Refusals fail at once (non-retryable).
fn send_activity() -> ActivityOptions {
    ActivityOptions::with_start_to_close_timeout(Duration::from_secs(90))
        .retry_policy(RetryPolicy {
            initial_interval: Some(Duration::from_secs(1).try_into().unwrap_or_default()),
            backoff_coefficient: 2.0,
            maximum_interval: Some(Duration::from_secs(60).try_into().unwrap_or_default()),
            ..Default::default()
        })
        .build()
}

/// Coordinated requests collect the payment (added after the first dispatch histories).
const PAYMENT_PHASE: &str = "payment-phase";

fn seconds(secs: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

/// Owners are told the agreed time (added after the first dispatch histories).
const OWNER_TOLD_THE_TIME: &str = "owner-told-the-time";

/// `dd/mm a las HH:MM` in Buenos Aires time (UTC−3 all year, no daylight saving).
fn local_text(at: DateTime<Utc>) -> String {
    let offset = chrono::FixedOffset::west_opt(3 * 3600).unwrap_or_else(|| unreachable!());
    at.with_timezone(&offset)
        .format("%d/%m a las %H:%M")
        .to_string()
}

fn to_utc(time: Option<std::time::SystemTime>) -> DateTime<Utc> {
    time.map(DateTime::<Utc>::from).unwrap_or_default()
}

#[workflow_methods]
impl ServiceRequestWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, input: ServiceRequestInput) -> Self {
        Self {
            input,
            state: RequestState::Pending,
            seq: 0,
            followups_sent: 0,
            response: None,
            vet: None,
            offers: Vec::new(),
            unrecorded: Vec::new(),
            window: None,
            scheduled: None,
            coordinating: false,
            reassign: None,
            excluded: Vec::new(),
            payment_events: Vec::new(),
            payment: None,
            payment_link: None,
            cancel: None,
        }
    }

    #[run(name = names::SERVICE_REQUEST_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<RequestStatus> {
        match ctx.state(|s| s.input.mode) {
            DispatchMode::Staff => Self::run_staff_dispatched(ctx).await,
            DispatchMode::Candidates => Self::run_dispatched(ctx).await,
        }
    }

    /// Candidates, offers, acceptance, coordination; again after a reassignment.
    async fn run_dispatched(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<RequestStatus> {
        let (request, policy) = ctx.state(|s| (s.input.request, s.input.policy));
        loop {
            let exclude = ctx.state(|s| s.excluded.clone());
            let plan = ctx
                .execute_activity(
                    DispatchActivities::plan_dispatch,
                    PlanInput { request, exclude },
                    db_activity(),
                )
                .await?;
            let Some(plan) = plan else {
                let reason = "the request has no address or window to dispatch".to_owned();
                return Self::expire(ctx, reason).await;
            };
            ctx.state_mut(|s| {
                s.window = Some(Window {
                    start: plan.window_start,
                    end: plan.window_end,
                    duration_minutes: plan.duration_minutes,
                });
            });
            if ctx.state(|s| s.cancel.is_some()) {
                Self::cancel_now(ctx).await?;
                return Ok(ctx.state(Self::status));
            }
            if plan.candidates.is_empty() {
                let reason = "no vet covering the address is available in the wanted window";
                return Self::expire(ctx, reason.to_owned()).await;
            }
            if ctx.state(|s| s.state) == RequestState::Pending {
                let reason = format!("{} candidate vets", plan.candidates.len());
                Self::transition(ctx, RequestState::VetAsked, Actor::System, Some(reason)).await?;
            }

            let accepted = Self::offer_in_batches(ctx, &policy, &plan).await?;
            if ctx.state(|s| s.cancel.is_some()) {
                Self::cancel_now(ctx).await?;
                return Ok(ctx.state(Self::status));
            }
            let Some(vet) = accepted else {
                let asked = ctx.state(|s| s.offers.len());
                let reason = if asked < plan.candidates.len() {
                    format!("the wanted time came before any of the {asked} vets asked accepted")
                } else {
                    format!("none of the {asked} vets asked accepted")
                };
                return Self::expire(ctx, reason).await;
            };
            Self::transition(ctx, RequestState::VetAccepted, Actor::Vet(vet), None).await?;
            Self::notify(
                ctx,
                Audience::Owner,
                "accepted",
                "¡Un veterinario aceptó tu solicitud! Te confirmamos el horario en breve.".into(),
            )
            .await?;

            match Self::after_acceptance(ctx).await? {
                Next::Redispatch => continue,
                Next::Done => return Ok(ctx.state(Self::status)),
            }
        }
    }

    /// From `vet_accepted`: coordination (in the `coordinate` update), then payment and
    /// confirmation; or a reassignment, or a cancellation, whenever they come.
    async fn after_acceptance(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<Next> {
        ctx.wait_condition(|s| {
            s.reassign.is_some()
                || s.cancel.is_some()
                || (s.state == RequestState::Coordinated && !s.coordinating)
        })
        .await?;
        if ctx.state(|s| s.reassign.is_some()) {
            Self::reassign_now(ctx).await?;
            return Ok(Next::Redispatch);
        }
        if ctx.state(|s| s.cancel.is_some()) {
            Self::cancel_now(ctx).await?;
            return Ok(Next::Done);
        }
        if !ctx.patched(PAYMENT_PHASE) {
            // Workflows coordinated before payment existed wait for staff only.
            ctx.wait_condition(|s| s.reassign.is_some()).await?;
            Self::reassign_now(ctx).await?;
            return Ok(Next::Redispatch);
        }
        match Self::collect_payment(ctx).await? {
            Collected::Paid(payment) => {
                Self::confirm(ctx, payment).await?;
                Self::after_confirmation(ctx).await?;
                Ok(Next::Done)
            }
            Collected::Unpaid => {
                Self::expire_unpaid(ctx).await?;
                Ok(Next::Done)
            }
            Collected::Interrupted => {
                if ctx.state(|s| s.reassign.is_some()) {
                    Self::reassign_now(ctx).await?;
                    Ok(Next::Redispatch)
                } else {
                    Self::cancel_now(ctx).await?;
                    Ok(Next::Done)
                }
            }
        }
    }

    /// Staff took the vet off: the visit is released, the vet excluded, dispatch again.
    async fn reassign_now(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        let request = ctx.state(|s| s.input.request);
        let Reassign { actor, reason } = ctx
            .state_mut(|s| s.reassign.take())
            .unwrap_or_else(|| unreachable!("called with a reassignment pending"));
        if ctx.state(|s| s.scheduled.is_some()) {
            ctx.execute_activity(DispatchActivities::release_visit, request, db_activity())
                .await?;
        }
        ctx.state_mut(|s| {
            if let Some(vet) = s.vet.take() {
                s.excluded.push(vet);
            }
            s.scheduled = None;
            // The accepted offer no longer holds: a late click on it is expired.
            for offer in &mut s.offers {
                if offer.status == OfferStatus::Accepted {
                    offer.status = OfferStatus::Closed;
                }
            }
        });
        ctx.upsert_search_attributes([search::VET_ID.value_unset()]);
        Self::transition(ctx, RequestState::VetAsked, actor, Some(reason)).await
    }

    /// The payment link, reminders, and the webhooks' news until paid or the deadline
    /// (when MercadoPago is searched once more, in case a webhook was lost).
    async fn collect_payment(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<Collected> {
        let (request, policy, seq, scheduled) =
            ctx.state(|s| (s.input.request, s.input.policy, s.seq, s.scheduled));
        let started = to_utc(ctx.workflow_time());
        // Never later than the visit itself.
        let deadline = (started + seconds(policy.payment_deadline_secs))
            .min(scheduled.map_or(DateTime::<Utc>::MAX_UTC, |(start, _)| start));
        let link = ctx
            .execute_activity(
                PaymentActivities::create_preference,
                CreatePreference {
                    request,
                    idempotency_key: format!("preference:{request}:{seq}"),
                    expires_at: deadline,
                },
                send_activity(),
            )
            .await?;
        ctx.state_mut(|s| s.payment_link = Some(link.url.clone()));
        let when = scheduled.map_or_else(String::new, |(start, _)| local_text(start));
        Self::notify(
            ctx,
            Audience::Owner,
            "payment-link",
            format!(
                "Para confirmar tu visita del {when}, pagá acá: {} (hasta el {}).",
                link.url,
                local_text(deadline)
            ),
        )
        .await?;

        let mut reminders: u32 = 0;
        loop {
            let next_reminder = (policy.payment_reminder_secs > 0).then(|| {
                started
                    + seconds(policy.payment_reminder_secs)
                        * i32::try_from(reminders + 1).unwrap_or(i32::MAX)
            });
            let (wake_at, at_deadline) = match next_reminder {
                Some(at) if at < deadline => (at, false),
                _ => (deadline, true),
            };
            let wait = (wake_at - to_utc(ctx.workflow_time()))
                .to_std()
                .unwrap_or(Duration::ZERO);
            let woken = {
                let mut timer = pin!(ctx.timer(wait.max(Duration::from_millis(1))));
                let mut news = pin!(ctx.wait_condition(|s| {
                    !s.payment_events.is_empty() || s.reassign.is_some() || s.cancel.is_some()
                }));
                let woken = select! {
                    _ = news => true,
                    _ = timer => false
                };
                if woken {
                    timer.cancel();
                }
                woken
            };
            if woken {
                if ctx.state(|s| s.reassign.is_some() || s.cancel.is_some()) {
                    return Ok(Collected::Interrupted);
                }
                let events = ctx.state_mut(|s| std::mem::take(&mut s.payment_events));
                for payment in events {
                    let verdict = ctx
                        .execute_activity(
                            PaymentActivities::check_payment,
                            CheckPayment { request, payment },
                            send_activity(),
                        )
                        .await?;
                    if let Some(paid) = Self::weigh(ctx, verdict).await? {
                        return Ok(Collected::Paid(paid));
                    }
                }
                continue;
            }
            if at_deadline {
                let verdict = ctx
                    .execute_activity(
                        PaymentActivities::reconcile_payments,
                        request,
                        send_activity(),
                    )
                    .await?;
                return Ok(match Self::weigh(ctx, verdict).await? {
                    Some(paid) => Collected::Paid(paid),
                    None => Collected::Unpaid,
                });
            }
            reminders += 1;
            let url = ctx.state(|s| s.payment_link.clone()).unwrap_or_default();
            Self::notify(
                ctx,
                Audience::Owner,
                &format!("payment-reminder-{reminders}"),
                format!(
                    "Recordatorio: tu visita se confirma al pagar: {url} (hasta el {}).",
                    local_text(deadline)
                ),
            )
            .await?;
        }
    }

    /// Acts on what a payment turned out to be; the approved payment's id, if it is one.
    async fn weigh(
        ctx: &mut WorkflowContext<Self>,
        verdict: Verdict,
    ) -> WorkflowResult<Option<i64>> {
        match verdict {
            Verdict::Approved { payment } => return Ok(Some(payment)),
            Verdict::Rejected { payment } => {
                Self::notify(
                    ctx,
                    Audience::Owner,
                    &format!("payment-rejected-{payment}"),
                    "Tu pago no se aprobó. Podés intentarlo de nuevo con el mismo link.".into(),
                )
                .await?;
            }
            Verdict::Mismatch {
                payment,
                amount,
                currency,
            } => {
                Self::notify(
                    ctx,
                    Audience::Staff,
                    &format!("payment-mismatch-{payment}"),
                    format!("el pago {payment} se aprobó por {amount} {currency}, no por el precio acordado"),
                )
                .await?;
            }
            Verdict::Reversed { payment, status } => {
                let reason = format!("MercadoPago reports payment {payment} {status}");
                Self::note(ctx, reason).await?;
                Self::notify(
                    ctx,
                    Audience::Staff,
                    &format!("payment-{status}-{payment}"),
                    format!("el pago {payment} figura {status} en MercadoPago"),
                )
                .await?;
            }
            Verdict::Nothing => {}
        }
        Ok(None)
    }

    /// Paid: `payed`, the confirmation seam (calendar, sheet, invoice), `confirmed`, and
    /// owner and vet are told.
    async fn confirm(ctx: &mut WorkflowContext<Self>, payment: i64) -> WorkflowResult<()> {
        let request = ctx.state_mut(|s| {
            s.payment = Some(payment);
            s.input.request
        });
        let reason = format!("MercadoPago payment {payment} approved");
        Self::transition(ctx, RequestState::Payed, Actor::System, Some(reason)).await?;
        ctx.execute_activity(PaymentActivities::confirm_visit, request, db_activity())
            .await?;
        Self::transition(ctx, RequestState::Confirmed, Actor::System, None).await?;
        let when = ctx
            .state(|s| s.scheduled)
            .map_or_else(String::new, |(start, _)| local_text(start));
        Self::notify(
            ctx,
            Audience::Owner,
            "confirmed",
            format!("¡Pago recibido! Tu visita del {when} está confirmada."),
        )
        .await?;
        Self::notify(
            ctx,
            Audience::Vet,
            "confirmed",
            format!("Visita confirmada y pagada: {when}."),
        )
        .await
    }

    /// Confirmed: waits for a cancellation (with a refund) while watching for refunds or
    /// charge-backs MercadoPago reports.
    async fn after_confirmation(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        let request = ctx.state(|s| s.input.request);
        loop {
            ctx.wait_condition(|s| s.cancel.is_some() || !s.payment_events.is_empty())
                .await?;
            if ctx.state(|s| s.cancel.is_some()) {
                return Self::cancel_now(ctx).await;
            }
            let events = ctx.state_mut(|s| std::mem::take(&mut s.payment_events));
            for payment in events {
                let verdict = ctx
                    .execute_activity(
                        PaymentActivities::check_payment,
                        CheckPayment { request, payment },
                        send_activity(),
                    )
                    .await?;
                if !matches!(verdict, Verdict::Approved { .. }) {
                    Self::weigh(ctx, verdict).await?;
                }
            }
        }
    }

    /// Not paid by the deadline: `expired`, the vet's time released, both told.
    async fn expire_unpaid(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        let (request, scheduled) = ctx.state(|s| (s.input.request, s.scheduled));
        ctx.execute_activity(DispatchActivities::release_visit, request, db_activity())
            .await?;
        ctx.state_mut(|s| s.scheduled = None);
        let reason = "not paid by the deadline".to_owned();
        Self::transition(ctx, RequestState::Expired, Actor::System, Some(reason)).await?;
        let when = scheduled.map_or_else(String::new, |(start, _)| local_text(start));
        Self::notify(
            ctx,
            Audience::Owner,
            "unpaid",
            format!("Venció el plazo de pago y liberamos el turno del {when}."),
        )
        .await?;
        Self::notify(
            ctx,
            Audience::Vet,
            "unpaid",
            format!("La visita del {when} no se pagó: tu horario quedó libre."),
        )
        .await
    }

    /// A cancellation: a payment is refunded, the vet's time released, `cancelled`.
    async fn cancel_now(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        let (request, mut payment, had_vet, link) = ctx.state(|s| {
            (
                s.input.request,
                s.payment,
                s.vet.is_some(),
                s.payment_link.is_some(),
            )
        });
        if payment.is_none() && link {
            // The owner may have paid a moment ago, the news not here yet: ask
            // MercadoPago, so that a payment is never kept for a cancelled visit.
            let verdict = ctx
                .execute_activity(
                    PaymentActivities::reconcile_payments,
                    request,
                    send_activity(),
                )
                .await?;
            if let Verdict::Approved { payment: found } = verdict {
                payment = Some(found);
            }
        }
        let Cancel { actor, reason } = ctx
            .state_mut(|s| s.cancel.take())
            .unwrap_or_else(|| unreachable!("called with a cancellation pending"));
        ctx.state_mut(|s| {
            for offer in &mut s.offers {
                if offer.status == OfferStatus::Open {
                    offer.status = OfferStatus::Closed;
                }
            }
        });
        let mut refunded = None;
        if let Some(payment) = payment {
            let amount = ctx
                .execute_activity(
                    PaymentActivities::refund_payment,
                    RefundPayment {
                        request,
                        payment,
                        idempotency_key: format!("refund:{request}:{payment}"),
                    },
                    send_activity(),
                )
                .await?;
            refunded = Some(amount);
        }
        ctx.execute_activity(DispatchActivities::release_visit, request, db_activity())
            .await?;
        ctx.state_mut(|s| s.scheduled = None);
        let reason = match (&reason, &refunded) {
            (Some(r), Some(amount)) => Some(format!("{r} (refunded {amount})")),
            (None, Some(amount)) => Some(format!("refunded {amount}")),
            (r, None) => r.clone(),
        };
        Self::transition(ctx, RequestState::Cancelled, actor, reason).await?;
        let text = match &refunded {
            Some(amount) => format!("Cancelamos tu visita y te devolvimos $ {amount}."),
            None => "Cancelamos tu solicitud.".to_owned(),
        };
        Self::notify(ctx, Audience::Owner, "cancelled", text).await?;
        if had_vet {
            Self::notify(
                ctx,
                Audience::Vet,
                "cancelled",
                "La visita se canceló: tu horario quedó libre.".into(),
            )
            .await?;
        }
        Ok(())
    }

    /// Offers the request to the candidates, a batch at a time, with follow-ups. The
    /// first vet to accept, or `None` when every batch passed.
    async fn offer_in_batches(
        ctx: &mut WorkflowContext<Self>,
        policy: &DispatchPolicy,
        plan: &Plan,
    ) -> WorkflowResult<Option<VetId>> {
        let request = ctx.state(|s| s.input.request);
        let batch_size = usize::try_from(policy.offer_batch_size.max(1)).unwrap_or(1);
        for batch in plan.candidates.chunks(batch_size) {
            let offered_at = to_utc(ctx.workflow_time());
            if offered_at >= plan.window_start {
                // The wanted time has come: asking more vets is pointless.
                break;
            }
            let expires_at = offered_at
                + chrono::Duration::from_std(policy.offer_lifetime())
                    .unwrap_or(chrono::Duration::MAX);
            let mut numbers = Vec::with_capacity(batch.len());
            for &vet in batch {
                let offer_no = ctx.state_mut(|s| {
                    let offer_no = i32::try_from(s.offers.len()).unwrap_or(i32::MAX) + 1;
                    s.offers.push(Offer {
                        offer_no,
                        vet,
                        status: OfferStatus::Open,
                    });
                    s.followups_sent = 0;
                    offer_no
                });
                numbers.push(offer_no);
                let record = OfferRecord {
                    request,
                    offer_no,
                    vet: Some(vet),
                    offered_at,
                    followups_sent: 0,
                    answer: None,
                    expires_at: Some(expires_at),
                };
                Self::record_offer(ctx, &record).await?;
            }
            for (&vet, &offer_no) in batch.iter().zip(&numbers) {
                Self::send_offer(ctx, vet, offer_no, 0, expires_at).await?;
            }

            let mut followups = 0;
            loop {
                let next_followup = offered_at
                    + chrono::Duration::from_std(policy.vet_followup_delay())
                        .unwrap_or(chrono::Duration::MAX)
                        * i32::try_from(followups + 1).unwrap_or(i32::MAX);
                let wait = (next_followup - to_utc(ctx.workflow_time()))
                    .to_std()
                    .unwrap_or(Duration::ZERO);
                let woken = {
                    let batch_done = |s: &Self| {
                        !s.unrecorded.is_empty()
                            || s.cancel.is_some()
                            || s.batch_winner(&numbers).is_some()
                            || !numbers.iter().any(|n| s.offer_open(*n))
                    };
                    let mut timer = pin!(ctx.timer(wait.max(Duration::from_millis(1))));
                    let mut answered = pin!(ctx.wait_condition(batch_done));
                    let woken = select! {
                        _ = answered => true,
                        _ = timer => false
                    };
                    if woken {
                        timer.cancel();
                    }
                    woken
                };
                if woken {
                    Self::record_answers(ctx, request, offered_at, followups).await?;
                    if ctx.state(|s| s.cancel.is_some()) {
                        Self::close_open(ctx, request, &numbers, offered_at, followups).await?;
                        return Ok(None);
                    }
                    let winner = ctx.state(|s| s.batch_winner(&numbers));
                    let open = ctx.state(|s| numbers.iter().any(|n| s.offer_open(*n)));
                    if winner.is_some() {
                        Self::close_open(ctx, request, &numbers, offered_at, followups).await?;
                        return Ok(winner);
                    }
                    if !open {
                        // Everyone in the batch rejected: on to the next.
                        break;
                    }
                    continue;
                }
                if followups >= policy.vet_max_followups {
                    Self::close_open(ctx, request, &numbers, offered_at, followups).await?;
                    break;
                }
                followups += 1;
                ctx.state_mut(|s| s.followups_sent = followups);
                let open: Vec<(i32, VetId)> = ctx.state(|s| {
                    s.offers
                        .iter()
                        .filter(|o| numbers.contains(&o.offer_no) && o.status == OfferStatus::Open)
                        .map(|o| (o.offer_no, o.vet))
                        .collect()
                });
                for (offer_no, vet) in open {
                    Self::send_offer(ctx, vet, offer_no, followups, expires_at).await?;
                    let record = OfferRecord {
                        request,
                        offer_no,
                        vet: Some(vet),
                        offered_at,
                        followups_sent: i32::try_from(followups).unwrap_or(i32::MAX),
                        answer: None,
                        expires_at: Some(expires_at),
                    };
                    Self::record_offer(ctx, &record).await?;
                }
            }
        }
        Ok(None)
    }

    /// The vet who accepted one of these offers.
    fn batch_winner(&self, numbers: &[i32]) -> Option<VetId> {
        self.offers
            .iter()
            .find(|o| numbers.contains(&o.offer_no) && o.status == OfferStatus::Accepted)
            .map(|o| o.vet)
    }

    fn offer_open(&self, offer_no: i32) -> bool {
        self.offers
            .iter()
            .any(|o| o.offer_no == offer_no && o.status == OfferStatus::Open)
    }

    /// Writes the answers that came in since the last look.
    async fn record_answers(
        ctx: &mut WorkflowContext<Self>,
        request: RequestId,
        offered_at: DateTime<Utc>,
        followups: u32,
    ) -> WorkflowResult<()> {
        let answers = ctx.state_mut(|s| std::mem::take(&mut s.unrecorded));
        for (offer_no, answer, at) in answers {
            let vet = ctx.state(|s| {
                s.offers
                    .iter()
                    .find(|o| o.offer_no == offer_no)
                    .map(|o| o.vet)
            });
            let record = OfferRecord {
                request,
                offer_no,
                vet,
                offered_at,
                followups_sent: i32::try_from(followups).unwrap_or(i32::MAX),
                answer: Some((answer, at)),
                expires_at: None,
            };
            Self::record_offer(ctx, &record).await?;
        }
        Ok(())
    }

    /// Closes the batch's offers still open: their links stop working now.
    async fn close_open(
        ctx: &mut WorkflowContext<Self>,
        request: RequestId,
        numbers: &[i32],
        offered_at: DateTime<Utc>,
        followups: u32,
    ) -> WorkflowResult<()> {
        let now = to_utc(ctx.workflow_time());
        let closed: Vec<(i32, VetId)> = ctx.state_mut(|s| {
            s.offers
                .iter_mut()
                .filter(|o| numbers.contains(&o.offer_no) && o.status == OfferStatus::Open)
                .map(|o| {
                    o.status = OfferStatus::Closed;
                    (o.offer_no, o.vet)
                })
                .collect()
        });
        for (offer_no, vet) in closed {
            let record = OfferRecord {
                request,
                offer_no,
                vet: Some(vet),
                offered_at,
                followups_sent: i32::try_from(followups).unwrap_or(i32::MAX),
                answer: None,
                expires_at: Some(now),
            };
            Self::record_offer(ctx, &record).await?;
        }
        Ok(())
    }

    async fn send_offer(
        ctx: &mut WorkflowContext<Self>,
        vet: VetId,
        offer_no: i32,
        attempt: u32,
        expires_at: DateTime<Utc>,
    ) -> WorkflowResult<()> {
        let request = ctx.state(|s| s.input.request);
        ctx.execute_activity(
            DispatchActivities::send_offer,
            SendOffer {
                request,
                vet,
                offer_no,
                attempt,
                expires_at,
            },
            send_activity(),
        )
        .await?;
        Ok(())
    }

    async fn notify(
        ctx: &mut WorkflowContext<Self>,
        audience: Audience,
        key: &str,
        text: String,
    ) -> WorkflowResult<()> {
        let (request, seq) = ctx.state(|s| (s.input.request, s.seq));
        ctx.execute_activity(
            DispatchActivities::notify,
            Notice {
                request,
                audience,
                // One notice per state change: a second round after a reassignment
                // tells again.
                key: format!("{key}:{seq}"),
                text,
            },
            send_activity(),
        )
        .await?;
        Ok(())
    }

    /// Nobody can take the request: `expired`, and the owner and staff are told.
    async fn expire(
        ctx: &mut WorkflowContext<Self>,
        reason: String,
    ) -> WorkflowResult<RequestStatus> {
        Self::transition(
            ctx,
            RequestState::Expired,
            Actor::System,
            Some(reason.clone()),
        )
        .await?;
        Self::notify(
            ctx,
            Audience::Owner,
            "expired",
            "Lo sentimos: ningún veterinario pudo tomar tu solicitud en ese horario. No se te cobró nada.".into(),
        )
        .await?;
        Self::notify(
            ctx,
            Audience::Staff,
            "expired",
            format!("solicitud vencida: {reason}"),
        )
        .await?;
        Ok(ctx.state(Self::status))
    }

    /// The staff path (see the module documentation). Its commands must stay as they
    /// are: saved histories replay them.
    async fn run_staff_dispatched(
        ctx: &mut WorkflowContext<Self>,
    ) -> WorkflowResult<RequestStatus> {
        let (request, policy) = ctx.state(|s| (s.input.request, s.input.policy));

        Self::transition(ctx, RequestState::VetAsked, Actor::System, None).await?;
        let offered_at = to_utc(ctx.workflow_time());
        let mut offer = OfferRecord {
            request,
            offer_no: 0,
            vet: None,
            offered_at,
            followups_sent: 0,
            answer: None,
            expires_at: None,
        };
        Self::record_offer(ctx, &offer).await?;

        let response = Self::await_vet_answer(ctx, &policy, &mut offer).await?;
        match response {
            Some(VetResponse { answer, vet, .. }) => {
                offer.answer = Some((answer, to_utc(ctx.workflow_time())));
                offer.vet = vet;
                Self::record_offer(ctx, &offer).await?;
                let actor = vet.map_or(Actor::System, Actor::Vet);
                let (to, reason) = match answer {
                    VetAnswer::Accept => (RequestState::VetAccepted, None),
                    VetAnswer::Reject => (
                        RequestState::Expired,
                        Some("the vet rejected the offer and no other vet is available".into()),
                    ),
                };
                Self::transition(ctx, to, actor, reason).await?;
            }
            None => {
                let reason = format!(
                    "no answer from the vet after {} follow-ups",
                    policy.vet_max_followups
                );
                Self::transition(ctx, RequestState::Expired, Actor::System, Some(reason)).await?;
            }
        }
        Ok(ctx.state(Self::status))
    }

    /// Waits for the vet's answer, re-sending the offer after each silent delay, up to
    /// the policy's count. `None` when the vet never answered.
    async fn await_vet_answer(
        ctx: &mut WorkflowContext<Self>,
        policy: &DispatchPolicy,
        offer: &mut OfferRecord,
    ) -> WorkflowResult<Option<VetResponse>> {
        loop {
            let got_answer = {
                let mut timer = pin!(ctx.timer(policy.vet_followup_delay()));
                let mut answered = pin!(ctx.wait_condition(|s| s.response.is_some()));
                let got_answer = select! {
                    result = answered => { result?; true }
                    _ = timer => false
                };
                if got_answer {
                    // A timer dropped unfired stays in the history until cancelled.
                    timer.cancel();
                }
                got_answer
            };
            if got_answer {
                return Ok(ctx.state(|s| s.response));
            }
            if ctx.state(|s| s.followups_sent) >= policy.vet_max_followups {
                return Ok(None);
            }
            let sent = ctx.state_mut(|s| {
                s.followups_sent += 1;
                s.followups_sent
            });
            offer.followups_sent = i32::try_from(sent).unwrap_or(i32::MAX);
            Self::record_offer(ctx, offer).await?;
        }
    }

    /// Moves the request to `to`: checks the move is legal, updates the search attribute,
    /// and records it in PostgreSQL (projection and history, one transaction).
    async fn transition(
        ctx: &mut WorkflowContext<Self>,
        to: RequestState,
        actor: Actor,
        reason: Option<String>,
    ) -> WorkflowResult<()> {
        let at = to_utc(ctx.workflow_time());
        let vet = match actor {
            Actor::Vet(vet) if to == RequestState::VetAccepted => Some(vet),
            _ => None,
        };
        let input = ctx
            .state_mut(|s| {
                check_transition(s.state, to)?;
                s.seq += 1;
                let change = StateChange {
                    seq: s.seq,
                    from: Some(s.state),
                    to,
                    actor,
                    reason,
                    at,
                };
                s.state = to;
                if vet.is_some() {
                    s.vet = vet;
                }
                Ok::<_, domain::TransitionError>(RecordTransition {
                    request: s.input.request,
                    description: s.input.description.clone(),
                    change,
                    vet,
                })
            })
            .map_err(ApplicationFailure::non_retryable)?;
        let mut attributes = vec![search::REQUEST_STATE.value_set(to.as_str().to_owned())];
        if let Some(vet) = vet {
            attributes.push(search::VET_ID.value_set(vet.to_string()));
        }
        ctx.upsert_search_attributes(attributes);
        ctx.execute_activity(RequestActivities::record_transition, input, db_activity())
            .await?;
        Ok(())
    }

    /// Something happened that does not move the request (a charge-back): a history
    /// entry from the state to itself, with why.
    async fn note(ctx: &mut WorkflowContext<Self>, reason: String) -> WorkflowResult<()> {
        let at = to_utc(ctx.workflow_time());
        let input = ctx.state_mut(|s| {
            s.seq += 1;
            RecordTransition {
                request: s.input.request,
                description: s.input.description.clone(),
                change: StateChange {
                    seq: s.seq,
                    from: Some(s.state),
                    to: s.state,
                    actor: Actor::System,
                    reason: Some(reason),
                    at,
                },
                vet: None,
            }
        });
        ctx.execute_activity(RequestActivities::record_transition, input, db_activity())
            .await?;
        Ok(())
    }

    async fn record_offer(
        ctx: &mut WorkflowContext<Self>,
        offer: &OfferRecord,
    ) -> WorkflowResult<()> {
        ctx.execute_activity(
            RequestActivities::record_offer,
            offer.clone(),
            db_activity(),
        )
        .await?;
        Ok(())
    }

    fn status(&self) -> RequestStatus {
        let awaiting_vet = match self.input.mode {
            DispatchMode::Staff => self.state == RequestState::VetAsked && self.response.is_none(),
            DispatchMode::Candidates => self.offers.iter().any(|o| o.status == OfferStatus::Open),
        };
        RequestStatus {
            request: self.input.request,
            state: self.state,
            seq: self.seq,
            followups_sent: self.followups_sent,
            awaiting_vet,
            vet: self.vet,
            offers: self.offers.clone(),
            scheduled: self.scheduled,
            payment_link: self.payment_link.clone(),
        }
    }

    #[query(name = names::STATUS_QUERY)]
    pub fn query_status(&self, _ctx: &WorkflowContextView) -> RequestStatus {
        self.status()
    }

    #[update_validator(vet_response)]
    fn validate_vet_response(
        &self,
        _ctx: &WorkflowContextView,
        response: &VetResponse,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        match self.input.mode {
            DispatchMode::Staff => {
                if response.by_vet {
                    return Err("vet: this request is dispatched by staff".into());
                }
                if self.state != RequestState::VetAsked {
                    return Err(format!("the request is {}, no offer is open", self.state).into());
                }
                if self.response.is_some() {
                    return Err("the offer has already been answered".into());
                }
            }
            DispatchMode::Candidates => {
                if response.vet.is_none() {
                    return Err("vet_id: which vet is answering is required".into());
                }
            }
        }
        Ok(())
    }

    /// A vet's answer. An update, not a signal, so that the caller learns at once
    /// whether it counted: accepted, rejected, taken by another vet, expired, already
    /// answered, or not their offer. The first acceptance wins, whatever the timing:
    /// updates are applied one at a time.
    #[update(name = names::VET_RESPONSE_UPDATE)]
    pub fn vet_response(
        &mut self,
        ctx: &mut SyncWorkflowContext<Self>,
        response: VetResponse,
    ) -> VetResponseOutcome {
        if self.input.mode == DispatchMode::Staff {
            self.response = Some(response);
            return match response.answer {
                VetAnswer::Accept => VetResponseOutcome::Accepted,
                VetAnswer::Reject => VetResponseOutcome::Rejected,
            };
        }
        let Some(vet) = response.vet else {
            return VetResponseOutcome::NotYours;
        };
        let found = match response.offer_no {
            Some(no) => self.offers.iter().position(|o| o.offer_no == no),
            None => self.offers.iter().rposition(|o| o.vet == vet),
        };
        let Some(index) = found.filter(|&i| self.offers[i].vet == vet) else {
            return VetResponseOutcome::NotYours;
        };
        let taken = self
            .offers
            .iter()
            .any(|o| o.status == OfferStatus::Accepted && o.vet != vet)
            || (self.vet.is_some() && self.vet != Some(vet));
        let offer = &mut self.offers[index];
        match offer.status {
            OfferStatus::Open if taken => VetResponseOutcome::Taken,
            OfferStatus::Open => {
                let at = to_utc(ctx.workflow_time());
                self.unrecorded.push((offer.offer_no, response.answer, at));
                match response.answer {
                    VetAnswer::Accept => {
                        offer.status = OfferStatus::Accepted;
                        VetResponseOutcome::Accepted
                    }
                    VetAnswer::Reject => {
                        offer.status = OfferStatus::Rejected;
                        VetResponseOutcome::Rejected
                    }
                }
            }
            OfferStatus::Accepted | OfferStatus::Rejected => VetResponseOutcome::AlreadyAnswered,
            OfferStatus::Closed if taken => VetResponseOutcome::Taken,
            OfferStatus::Closed => VetResponseOutcome::Expired,
        }
    }

    #[update_validator(coordinate)]
    fn validate_coordinate(
        &self,
        _ctx: &WorkflowContextView,
        input: &Coordinate,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        match input.actor {
            Actor::Staff(_) => {}
            Actor::Vet(vet) if Some(vet) == self.vet => {}
            _ => return Err("vet: only the accepted vet or staff set the time".into()),
        }
        if self.state != RequestState::VetAccepted || self.input.mode == DispatchMode::Staff {
            return Err(format!("the request is {}, not waiting for a time", self.state).into());
        }
        if self.coordinating || self.reassign.is_some() {
            return Err("the request is changing; try again".into());
        }
        let Some(window) = self.window else {
            return Err("the request has no window".into());
        };
        let end = input.start + chrono::Duration::minutes(window.duration_minutes.into());
        if input.start < window.start || end > window.end {
            return Err(format!(
                "start: the visit ({} min) must fit inside the wanted window {} – {}",
                window.duration_minutes, window.start, window.end
            )
            .into());
        }
        Ok(())
    }

    /// The visit's exact start: books the vet's time (a database constraint refuses an
    /// overlapping visit) and moves the request to `coordinated`.
    #[update(name = names::COORDINATE_UPDATE)]
    pub async fn coordinate(
        ctx: &mut WorkflowContext<Self>,
        input: Coordinate,
    ) -> Result<CoordinateOutcome, Box<dyn std::error::Error + Send + Sync>> {
        // (The validator has no clock; a visit in the past is refused here.)
        if input.start <= to_utc(ctx.workflow_time()) {
            return Err("start: must be in the future".into());
        }
        let (request, vet, window) = ctx.state_mut(|s| {
            s.coordinating = true;
            (s.input.request, s.vet, s.window)
        });
        let (Some(vet), Some(window)) = (vet, window) else {
            ctx.state_mut(|s| s.coordinating = false);
            return Err("no vet or window".into());
        };
        let start = input.start;
        let end = start + chrono::Duration::minutes(window.duration_minutes.into());
        let booked = ctx
            .execute_activity(
                DispatchActivities::book_visit,
                BookVisit {
                    request,
                    vet,
                    start,
                    end,
                },
                db_activity(),
            )
            .await;
        let outcome = match booked {
            Ok(Booking::Booked) => {
                ctx.state_mut(|s| s.scheduled = Some((start, end)));
                let reason = format!("visit at {start}");
                let recorded =
                    Self::transition(ctx, RequestState::Coordinated, input.actor, Some(reason))
                        .await;
                match recorded {
                    Ok(()) if ctx.patched(OWNER_TOLD_THE_TIME) => {
                        let text = format!("Tu visita quedó para el {}.", local_text(start));
                        Self::notify(ctx, Audience::Owner, "coordinated", text)
                            .await
                            .map(|()| CoordinateOutcome::Coordinated { start, end })
                            .map_err(|e| e.to_string().into())
                    }
                    Ok(()) => Ok(CoordinateOutcome::Coordinated { start, end }),
                    Err(e) => Err(e.to_string().into()),
                }
            }
            Ok(Booking::Overlap) => Ok(CoordinateOutcome::Overlap),
            Err(e) => Err(e.to_string().into()),
        };
        ctx.state_mut(|s| s.coordinating = false);
        outcome
    }

    #[update_validator(reassign)]
    fn validate_reassign(
        &self,
        _ctx: &WorkflowContextView,
        input: &Reassign,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if !matches!(
            self.state,
            RequestState::VetAccepted | RequestState::Coordinated
        ) || self.input.mode == DispatchMode::Staff
        {
            return Err(format!("the request is {}, it has no vet to replace", self.state).into());
        }
        if self.coordinating || self.reassign.is_some() {
            return Err("the request is changing; try again".into());
        }
        if input.reason.trim().is_empty() {
            return Err("reason: must not be blank".into());
        }
        Ok(())
    }

    /// MercadoPago says something happened to payment `payment` (the API forwards each
    /// webhook once); the workflow fetches the payment itself and trusts only that.
    #[signal(name = names::PAYMENT_SIGNAL)]
    pub fn payment_notified(&mut self, _ctx: &mut SyncWorkflowContext<Self>, payment: i64) {
        if !self.payment_events.contains(&payment) {
            self.payment_events.push(payment);
        }
    }

    #[update_validator(cancel)]
    fn validate_cancel(
        &self,
        _ctx: &WorkflowContextView,
        input: &Cancel,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.input.mode == DispatchMode::Staff || self.state.is_terminal() {
            return Err(
                format!("the request is {}, it cannot be cancelled here", self.state).into(),
            );
        }
        if self.coordinating || self.cancel.is_some() || self.reassign.is_some() {
            return Err("the request is changing; try again".into());
        }
        match input.actor {
            Actor::Staff(_) => {}
            Actor::Owner(_)
                if matches!(self.state, RequestState::Payed | RequestState::Confirmed) =>
            {
                return Err("the request is paid: staff cancel it, with a refund".into());
            }
            Actor::Owner(_) => {}
            _ => return Err("vet: only the owner or staff cancel a request".into()),
        }
        Ok(())
    }

    /// Calls the request off: before payment, the owner or staff; after, staff, and the
    /// payment is refunded. The workflow does the rest (refund, release, `cancelled`).
    #[update(name = names::CANCEL_UPDATE)]
    pub fn cancel(&mut self, _ctx: &mut SyncWorkflowContext<Self>, input: Cancel) {
        self.cancel = Some(input);
    }

    /// Staff send the request back to dispatch: the current vet is released and not
    /// asked again.
    #[update(name = names::REASSIGN_UPDATE)]
    pub fn reassign(&mut self, _ctx: &mut SyncWorkflowContext<Self>, input: Reassign) {
        self.reassign = Some(Reassign {
            actor: input.actor,
            reason: input.reason.trim().to_owned(),
        });
    }
}
