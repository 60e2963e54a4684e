//! The confirmed visit's records outside AMAR (its Google Calendar event and sheet
//! row): a [`crate::VisitRecordsWorkflow`] of their own, started on confirmation and
//! told of each later change, so a Google outage never holds the request up. Both steps
//! are best effort: a failure to start or to tell is noted for staff.

use chrono::Duration as Span;
use temporalio_sdk::{
    ChildWorkflowOptions, ParentClosePolicy, SignalWorkflowOptions, WorkflowContext, WorkflowResult,
};

use super::ServiceRequestWorkflow;
use crate::visit_records::{VisitRecordsInput, VisitRecordsWorkflow, workflow_id};

/// Confirmed visits get a calendar event and a sheet row (added after the completion
/// histories).
const VISIT_RECORDS: &str = "visit-records";

/// How long after the visit's end its records may still change (a late completion).
const RECORDS_KEPT_FOR_DAYS: i64 = 7;

impl ServiceRequestWorkflow {
    /// Starts the visit's records workflow, which outlives the request (it is abandoned,
    /// not cancelled, when the request closes).
    pub(super) async fn start_visit_records(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        if !Self::patched(ctx, VISIT_RECORDS) {
            return Ok(());
        }
        let (request, scheduled) = ctx.state(|s| (s.input.request, s.scheduled));
        let Some((_, end)) = scheduled else {
            return Ok(());
        };
        let input = VisitRecordsInput {
            request,
            until: end + Span::days(RECORDS_KEPT_FOR_DAYS),
        };
        // The parent's task queue, said outright: the time-skipping test server does not
        // fill it in.
        let options = ChildWorkflowOptions::builder()
            .workflow_id(workflow_id(request))
            .task_queue(ctx.task_queue().to_owned())
            .parent_close_policy(ParentClosePolicy::Abandon)
            .static_summary("calendar event and sheet row".to_owned())
            .build();
        let started = ctx
            .start_child_workflow(VisitRecordsWorkflow::run, input, options)
            .await;
        match started {
            Ok(_) => ctx.state_mut(|s| s.records_started = true),
            Err(e) => {
                let what = format!("the visit's calendar and sheet could not be started: {e:?}");
                return Self::trouble(ctx, what).await;
            }
        }
        Ok(())
    }

    /// Tells the records workflow the visit changed (cancelled, completed).
    pub(super) async fn visit_records_changed(
        ctx: &mut WorkflowContext<Self>,
    ) -> WorkflowResult<()> {
        if !ctx.state(|s| s.records_started) {
            return Ok(());
        }
        let request = ctx.state(|s| s.input.request);
        let told = ctx
            .external_workflow(workflow_id(request), None)
            .signal(
                VisitRecordsWorkflow::visit_changed,
                (),
                SignalWorkflowOptions::default(),
            )
            .await;
        if let Err(e) = told {
            let what = format!("the visit's calendar and sheet were not told of the change: {e:?}");
            return Self::trouble(ctx, what).await;
        }
        Ok(())
    }
}
