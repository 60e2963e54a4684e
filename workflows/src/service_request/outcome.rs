//! A started visit's outcome: the vet's report or a no-show. The API files the report
//! in PostgreSQL and signals `report_filed`; the workflow trusts only what it reads back
//! (`filed_report`), and reads it again whenever it wakes, so a lost signal only delays
//! the completion. After the visit's end the vet is reminded every
//! `report_reminder_secs` (at most `report_max_reminders` times), staff are alerted at
//! `report_deadline_secs`, and at `report_give_up_secs` the request is completed
//! without a report.

use activities::{RequestActivities, dispatch::Audience};
use chrono::{DateTime, Utc};
use db::reports::FiledReport;
use domain::{Actor, RequestState, VetId};
use temporalio_sdk::{WorkflowContext, WorkflowResult};

use super::{
    NoShow, ServiceRequestWorkflow,
    effects::{Woken, db_activity, seconds, summarized, to_utc},
    texts,
};

/// What comes next while no outcome is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Milestone {
    /// Remind the vet (the n-th time).
    Remind(u32),
    /// Tell staff the report is late.
    Alert,
    /// Complete the request without a report.
    GiveUp,
}

impl ServiceRequestWorkflow {
    /// Waits for the report or a no-show, reminding and alerting as the time passes;
    /// payment news is read all along.
    pub(super) async fn await_outcome(
        ctx: &mut WorkflowContext<Self>,
        end: DateTime<Utc>,
    ) -> WorkflowResult<()> {
        let policy = ctx.state(|s| s.input.policy);
        ctx.state_mut(|s| s.awaiting_outcome = true);
        let mut reminded = 0;
        let mut alerted = false;
        loop {
            if ctx.state(|s| s.no_show.is_some()) {
                return Self::no_show_now(ctx).await;
            }
            if ctx.state_mut(|s| std::mem::take(&mut s.report_news))
                && let Some(report) = Self::filed_report(ctx).await?
            {
                return Self::complete_with(ctx, report).await;
            }
            let reminder =
                |n: u32| end + seconds(policy.report_reminder_secs.saturating_mul(n.into()));
            let mut next = vec![(end + seconds(policy.report_give_up_secs), Milestone::GiveUp)];
            if !alerted {
                next.push((end + seconds(policy.report_deadline_secs), Milestone::Alert));
            }
            if reminded < policy.report_max_reminders {
                next.push((reminder(reminded + 1), Milestone::Remind(reminded + 1)));
            }
            // The earliest; on a tie the give-up wins, then the alert.
            let Some((at, milestone)) = next
                .into_iter()
                .min_by_key(|(at, m)| (*at, *m != Milestone::GiveUp, *m != Milestone::Alert))
            else {
                unreachable!("the give-up is always ahead");
            };
            let wait = (at - to_utc(ctx.workflow_time()))
                .to_std()
                .unwrap_or_default()
                .max(std::time::Duration::from_millis(1));
            let news =
                |s: &Self| s.no_show.is_some() || s.report_news || !s.payment_events.is_empty();
            if Self::timer_or(ctx, wait, news).await? == Woken::Condition {
                if ctx.state(|s| !s.payment_events.is_empty()) {
                    Self::read_payment_news(ctx).await?;
                }
                continue;
            }
            if let Some(report) = Self::filed_report(ctx).await? {
                return Self::complete_with(ctx, report).await;
            }
            match milestone {
                Milestone::Remind(n) => {
                    reminded = n;
                    let key = format!("report-reminder-{n}");
                    Self::notify(ctx, Audience::Vet, &key, texts::vet_report_reminder()).await?;
                }
                Milestone::Alert => {
                    alerted = true;
                    let what = "the vet has not filed the visit's report yet".to_owned();
                    Self::trouble(ctx, what).await?;
                }
                Milestone::GiveUp => return Self::complete_without_report(ctx).await,
            }
        }
    }

    /// The filed report, if any. While it is read a no-show is refused (busy): a report
    /// found completes the request at once, so a no-show taken meanwhile would be lost.
    async fn filed_report(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<Option<FiledReport>> {
        let request = ctx.state_mut(|s| {
            s.deciding = true;
            s.input.request
        });
        let options = summarized(db_activity(), "is the report filed?".into());
        let filed = Self::step(ctx, RequestActivities::filed_report, request, options).await?;
        if filed.is_none() {
            ctx.state_mut(|s| s.deciding = false);
        }
        Ok(filed)
    }

    /// The report is in: `completed`, and the owner gets it.
    async fn complete_with(
        ctx: &mut WorkflowContext<Self>,
        report: FiledReport,
    ) -> WorkflowResult<()> {
        ctx.state_mut(|s| s.closing = true);
        let actor = match report.author_vet_id {
            Some(vet) => Actor::Vet(VetId::from_uuid(vet)),
            None => Actor::Staff(report.author_user_id),
        };
        let reason = Some("the visit's report was filed".to_owned());
        Self::transition(ctx, RequestState::Completed, actor, reason).await?;
        Self::visit_records_changed(ctx).await?;
        Self::notify(ctx, Audience::Owner, "report", texts::owner_report()).await
    }

    /// No report came in time: `completed` all the same (staff were alerted; a report
    /// filed later is read in the API).
    async fn complete_without_report(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.state_mut(|s| s.closing = true);
        let what = "no report was filed: the request is completed without one".to_owned();
        Self::trouble(ctx, what).await?;
        let reason = Some("completed without a report".to_owned());
        Self::transition(ctx, RequestState::Completed, Actor::System, reason).await?;
        Self::visit_records_changed(ctx).await?;
        Self::notify(ctx, Audience::Owner, "completed", texts::owner_completed()).await
    }

    /// The owner was not there: the payment kept as the fee or refunded, `no_show`.
    async fn no_show_now(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.state_mut(|s| s.closing = true);
        let Some(NoShow { actor, reason }) = ctx.state_mut(|s| s.no_show.take()) else {
            unreachable!("called with a no-show pending");
        };
        let (refund, payment) = ctx.state(|s| (s.input.policy.no_show_refund, s.payment));
        let mut refunded = None;
        if refund && let Some(payment) = payment {
            refunded = Self::refund(ctx, payment).await?;
        }
        let refund_owed = refund && payment.is_some() && refunded.is_none();
        let reason = match &refunded {
            Some(amount) => format!("{reason} (refunded {amount})"),
            None if refund_owed => format!("{reason} (the refund is left to staff)"),
            None => format!("{reason} (the payment is kept as the visit's fee)"),
        };
        Self::transition(ctx, RequestState::NoShow, actor, Some(reason)).await?;
        Self::visit_records_changed(ctx).await?;
        let text = texts::owner_no_show(refunded.as_deref(), refund_owed);
        Self::notify(ctx, Audience::Owner, "no-show", text).await
    }
}
