//! Coordination: the accepted vet (or staff) sets the visit's start, which books the
//! vet's time; staff may send an accepted or coordinated request back to dispatch.

use activities::dispatch::{Audience, BookVisit, DispatchActivities};
use db::visits::Booking;
use std::time::Duration;

use domain::{Actor, RequestState};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use super::{
    Coordinate, CoordinateOutcome, OfferStatus, Reassign, Refusal, ServiceRequestWorkflow,
    effects::{Woken, db_activity, to_utc},
    texts,
};
use crate::search;

/// Owners are told the agreed time (added after the first dispatch histories).
const OWNER_TOLD_THE_TIME: &str = "owner-told-the-time";

/// Vets who declined are not asked again after a reassignment (added after the first
/// reassignment histories).
const REJECTERS_NOT_ASKED_AGAIN: &str = "rejecters-not-asked-again";

/// The accepted vet has a deadline to set the time (added after the payment histories).
const COORDINATE_DEADLINE: &str = "coordinate-deadline";

/// A cancellation or reassignment validated in the same moment as a `coordinate` lets the
/// booking finish before it releases the vet's time, and a `coordinate` that finds one
/// pending books nothing (added after the saga histories: a race left a booked visit on
/// a cancelled request).
pub(super) const COORDINATION_SETTLES_FIRST: &str = "coordination-settles-first";

/// The owner is told the agreed time by the workflow's main path, not inside the
/// `coordinate` update: the vet's call answers as soon as the time is booked, and a slow
/// WhatsApp never holds it (added after the saga histories).
const TIME_TOLD_AFTER_THE_UPDATE: &str = "time-told-after-the-update";

impl ServiceRequestWorkflow {
    /// Waits in `vet_accepted` until the time is set, a reassignment or a cancellation.
    /// The vet is reminded every `coordinate_reminder_secs`, up to
    /// `coordinate_max_reminders` times; one wait later the vet is released and excluded,
    /// staff alerted, and the request goes back to dispatch.
    pub(super) async fn await_coordination(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        let settled = |s: &Self| {
            s.reassign.is_some()
                || s.cancel.is_some()
                || (s.state == RequestState::Coordinated && !s.coordinating)
        };
        if !Self::patched(ctx, COORDINATE_DEADLINE) {
            ctx.wait_condition(settled).await?;
            return Ok(());
        }
        let policy = ctx.state(|s| s.input.policy);
        let wait = Duration::from_secs(policy.coordinate_reminder_secs.max(1));
        let mut reminders = 0;
        loop {
            if Self::timer_or(ctx, wait, settled).await? == Woken::Condition {
                return Ok(());
            }
            if ctx.state(|s| s.coordinating) {
                // A time is being booked right now: its outcome decides.
                ctx.wait_condition(|s| !s.coordinating).await?;
                if ctx.state(settled) {
                    return Ok(());
                }
            }
            if reminders < policy.coordinate_max_reminders {
                reminders += 1;
                let key = format!("coordinate-reminder-{reminders}");
                Self::notify(ctx, Audience::Vet, &key, texts::vet_coordinate_reminder()).await?;
                continue;
            }
            let vet = ctx
                .state(|s| s.vet)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let lapsed = "coordinate-lapsed";
            Self::notify(ctx, Audience::Vet, lapsed, texts::vet_coordinate_lapsed()).await?;
            let alert = texts::staff_coordinate_lapsed(&vet);
            Self::notify(ctx, Audience::Staff, lapsed, alert).await?;
            let hours = wait.as_secs() * u64::from(reminders + 1) / 3600;
            ctx.state_mut(|s| {
                s.reassign = Some(Reassign {
                    actor: Actor::System,
                    reason: format!("the vet did not set a time within {hours} h of accepting"),
                });
            });
            return Ok(());
        }
    }

    /// Tells the owner the time the vet set, once per time (a re-coordination after a
    /// reassignment is news too). Histories from before did it inside the update.
    pub(super) async fn tell_owner_the_time(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        // Not when a cancellation or reassignment is about to undo it.
        let scheduled = ctx.state(|s| {
            let pending = s.cancel.is_some() || s.reassign.is_some();
            (s.state == RequestState::Coordinated && !pending).then_some(s.scheduled)
        });
        let Some(Some((start, _))) = scheduled else {
            return Ok(());
        };
        if !Self::patched(ctx, TIME_TOLD_AFTER_THE_UPDATE) {
            return Ok(());
        }
        let key = format!("coordinated:{}", start.timestamp());
        Self::notify(ctx, Audience::Owner, &key, texts::owner_coordinated(start)).await
    }

    /// Staff took the vet off: the visit is released, the vet excluded, dispatch again.
    pub(super) async fn reassign_now(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        Self::let_coordination_settle(ctx).await?;
        let request = ctx.state(|s| s.input.request);
        let Reassign { actor, reason } = ctx
            .state_mut(|s| s.reassign.take())
            .unwrap_or_else(|| unreachable!("called with a reassignment pending"));
        if ctx.state(|s| s.scheduled.is_some()) {
            Self::free_booked_time(ctx, request).await?;
        }
        Self::close_payment_links(ctx).await?;
        Self::refund_before_redispatch(ctx).await?;
        if Self::patched(ctx, REJECTERS_NOT_ASKED_AGAIN) {
            ctx.state_mut(|s| {
                let rejected = s
                    .offers
                    .iter()
                    .filter(|o| o.status == OfferStatus::Rejected);
                let vets: Vec<_> = rejected.map(|o| o.vet).collect();
                for vet in vets {
                    if !s.excluded.contains(&vet) {
                        s.excluded.push(vet);
                    }
                }
            });
        }
        ctx.state_mut(|s| {
            // A new dispatch: who was asked in this one may be asked again.
            s.asked.clear();
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

    /// Waits for a `coordinate` in flight to finish booking, so that what follows
    /// (release, cancel) sees its visit (behind [`COORDINATION_SETTLES_FIRST`]).
    pub(super) async fn let_coordination_settle(
        ctx: &mut WorkflowContext<Self>,
    ) -> WorkflowResult<()> {
        if ctx.state(|s| s.coordinating) && Self::patched(ctx, COORDINATION_SETTLES_FIRST) {
            ctx.wait_condition(|s| !s.coordinating).await?;
        }
        Ok(())
    }

    /// The body of the `coordinate` update: books the vet's time (a database constraint
    /// refuses an overlapping visit) and moves the request to `coordinated`.
    pub(super) async fn coordinate_now(
        ctx: &mut WorkflowContext<Self>,
        input: Coordinate,
    ) -> Result<CoordinateOutcome, Box<dyn std::error::Error + Send + Sync>> {
        // (The validator has no clock; a visit in the past is refused here.)
        if input.start <= to_utc(ctx.workflow_time()) {
            return Err("start: must be in the future".into());
        }
        // Validated together with a cancellation or reassignment that ran first.
        if ctx.state(|s| s.cancel.is_some() || s.reassign.is_some() || s.closing)
            && Self::patched(ctx, COORDINATION_SETTLES_FIRST)
        {
            let why = format!(
                "the request is {}, not waiting for a time",
                ctx.state(|s| s.state)
            );
            return Err(Refusal::State(why).to_string().into());
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
        let booked = Self::step(
            ctx,
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
                    Ok(())
                        if Self::patched(ctx, OWNER_TOLD_THE_TIME)
                            && !Self::patched(ctx, TIME_TOLD_AFTER_THE_UPDATE) =>
                    {
                        let text = texts::owner_coordinated(start);
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
}
