//! The lifecycle's no-op twin: a workflow with the service request's command sequence on
//! its happy path (the same local steps, activities, timers, updates, signal, search
//! attribute upserts, patch marker and child workflow, in the same workflow tasks) whose
//! steps return at once, and what a lifecycle sets going on the server besides: the
//! visit records' child (one activity, then waiting for a change until the visit) and
//! the invoice issuer, woken by a signal-with-start from the request's invoicing step,
//! which issues and delivers each receipt in two activities. Run against the same
//! Temporal server in the same benchmark, its throughput is the ceiling the real
//! lifecycle is measured against: what is left is the cost of our own work (PostgreSQL,
//! the emulators, the API).
//!
//! The benchmark prints the events and workflow tasks of both, so that the twin can be
//! seen to keep pace with the real shape.

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use temporalio_client::{
    Client, UntypedSignal, UntypedWorkflow, WorkflowIdConflictPolicy, WorkflowStartOptions,
};
use temporalio_common::data_converters::{PayloadConverter, RawValue};
use temporalio_macros::{activities, workflow, workflow_methods};
use temporalio_sdk::{
    ChildWorkflowOptions, LocalActivityOptions, ParentClosePolicy, SyncWorkflowContext,
    WorkflowContext, WorkflowContextView, WorkflowResult,
    activities::{ActivityContext, ActivityError},
};
use workflows::waits::{Woken, timer_or};

pub const TWIN_WORKFLOW: &str = "BenchTwin";
pub const TWIN_CHILD: &str = "BenchTwinChild";
pub const TWIN_ISSUER: &str = "BenchTwinIssuer";
pub const QUEUED: &str = "queued";
pub const CHANGED: &str = "changed";
pub const ANSWER: &str = "answer";
pub const COORDINATE: &str = "coordinate";
pub const PAYMENT: &str = "payment";
pub const STATE: &str = "state";

/// The twin's steps; `wake` needs the client and the task queue, as the real
/// invoicing step does.
pub struct TwinActivities {
    client: Client,
    queue: String,
}

#[activities]
impl TwinActivities {
    /// A step that does nothing.
    #[activity(name = "twin_step")]
    pub async fn step(
        self: Arc<Self>,
        _ctx: ActivityContext,
        _input: u32,
    ) -> Result<u32, ActivityError> {
        Ok(0)
    }

    /// The invoicing step: signal-with-start of the run's issuer (one for every twin of
    /// a run, as the real issuer is one per point of sale), as
    /// `activities::issuers::wake` does.
    #[activity(name = "twin_wake_issuer")]
    pub async fn wake(
        self: Arc<Self>,
        _ctx: ActivityContext,
        issuer: String,
    ) -> Result<(), ActivityError> {
        let converter = PayloadConverter::default();
        let options = WorkflowStartOptions::new(self.queue.clone(), issuer)
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .build();
        self.client
            .signal_with_start_workflow(
                UntypedWorkflow::new(TWIN_ISSUER),
                RawValue::from_value(&(), &converter),
                UntypedSignal::<UntypedWorkflow>::new(QUEUED),
                RawValue::from_value(&(), &converter),
                options,
            )
            .await
            .map_err(|e| ActivityError::from(anyhow::anyhow!("wake the twin issuer: {e}")))?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TwinState {
    #[default]
    Asked,
    Accepted,
    Coordinated,
    Confirmed,
}

#[workflow]
pub struct TwinWorkflow {
    state: TwinState,
    answered: bool,
    coordinated: bool,
    paid: bool,
}

#[workflow_methods]
impl TwinWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, _input: ()) -> Self {
        Self {
            state: TwinState::Asked,
            answered: false,
            coordinated: false,
            paid: false,
        }
    }

    #[run(name = TWIN_WORKFLOW)]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<TwinState> {
        // Dispatch: the shape's patch, plan, transition (with its upsert), the offer's
        // record and message; then the follow-up timer against the vet's answer.
        ctx.patched("twin-shape");
        Self::steps(ctx, 1).await?;
        Self::upsert(ctx, "vet_asked");
        Self::steps(ctx, 2).await?;
        // The offer's message is an ordinary activity in the real shape too.
        Self::activity(ctx).await?;
        workflows::waits::timer_or(ctx, Duration::from_secs(3600), |s: &Self| s.answered).await?;
        // Accepted: the answer's record, the transition, the owner told; then the
        // deadline to coordinate against the `coordinate` update.
        Self::steps(ctx, 1).await?;
        Self::upsert(ctx, "vet_accepted");
        Self::steps(ctx, 2).await?;
        workflows::waits::timer_or(ctx, Duration::from_secs(3600), |s: &Self| s.coordinated)
            .await?;
        // Coordinated: the owner told the time, the payment link made (an ordinary
        // activity, as in the real shape) and sent; then the payment reminder against
        // MercadoPago's news.
        Self::steps(ctx, 1).await?;
        Self::activity(ctx).await?;
        Self::steps(ctx, 1).await?;
        workflows::waits::timer_or(ctx, Duration::from_secs(3600), |s: &Self| s.paid).await?;
        // Paid: checked, recorded, the visit confirmed and recorded, owner and vet told,
        // the visit's records started, the invoice asked for.
        Self::steps(ctx, 1).await?;
        Self::upsert(ctx, "paid");
        Self::steps(ctx, 2).await?;
        Self::upsert(ctx, "confirmed");
        Self::steps(ctx, 3).await?;
        ctx.state_mut(|s| s.state = TwinState::Confirmed);
        let options = ChildWorkflowOptions::builder()
            .workflow_id(format!("{}-child", ctx.workflow_id()))
            .task_queue(ctx.task_queue().to_owned())
            .parent_close_policy(ParentClosePolicy::Abandon)
            .build();
        let _ = ctx
            .start_child_workflow(TwinChildWorkflow::run, (), options)
            .await;
        // Ask for the invoice: the issuer's wake-up, a local step.
        let issuer = format!("{}-issuer", ctx.task_queue());
        let options = LocalActivityOptions::builder()
            .start_to_close_timeout(Duration::from_secs(10))
            .build();
        ctx.execute_local_activity(TwinActivities::wake, issuer, options)
            .await?;
        Ok(TwinState::Confirmed)
    }

    #[query(name = STATE)]
    pub fn state(&self, _ctx: &WorkflowContextView) -> TwinState {
        self.state
    }

    #[update(name = ANSWER)]
    pub fn answer(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _accept: bool) -> bool {
        self.answered = true;
        self.state = TwinState::Accepted;
        true
    }

    /// Like the real `coordinate`: a local step (the booking), an upsert and the
    /// transition's step inside the update.
    #[update(name = COORDINATE)]
    pub async fn coordinate(
        ctx: &mut WorkflowContext<Self>,
        _start: i64,
    ) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
        Self::steps(ctx, 1).await.map_err(|e| e.to_string())?;
        Self::upsert(ctx, "coordinated");
        Self::steps(ctx, 1).await.map_err(|e| e.to_string())?;
        ctx.state_mut(|s| {
            s.coordinated = true;
            s.state = TwinState::Coordinated;
        });
        Ok(true)
    }

    #[signal(name = PAYMENT)]
    pub fn payment(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _payment: serde_json::Value) {
        self.paid = true;
    }
}

impl TwinWorkflow {
    /// `n` local steps in a row, as the real workflow runs its steps.
    async fn steps(ctx: &WorkflowContext<Self>, n: u32) -> WorkflowResult<()> {
        for i in 0..n {
            let options = LocalActivityOptions::builder()
                .start_to_close_timeout(Duration::from_secs(10))
                .build();
            ctx.execute_local_activity(TwinActivities::step, i, options)
                .await?;
        }
        Ok(())
    }

    /// One ordinary activity that does nothing.
    async fn activity(ctx: &WorkflowContext<Self>) -> WorkflowResult<()> {
        Self::activity_in(ctx).await
    }

    /// One ordinary activity that does nothing, in any of the twin's workflows.
    async fn activity_in<W>(ctx: &WorkflowContext<W>) -> WorkflowResult<()> {
        let options =
            temporalio_sdk::ActivityOptions::with_start_to_close_timeout(Duration::from_secs(10))
                .build();
        ctx.execute_activity(TwinActivities::step, 0u32, options)
            .await?;
        Ok(())
    }

    fn upsert(ctx: &WorkflowContext<Self>, state: &str) {
        ctx.upsert_search_attributes(
            [workflows::search::REQUEST_STATE.value_set(state.to_owned())],
        );
    }
}

/// The twin's visit records: one sync (an ordinary activity), then waiting for a change
/// until the visit, as `VisitRecordsWorkflow` does after a confirmation.
#[workflow]
pub struct TwinChildWorkflow {
    changes: u32,
}

#[workflow_methods]
impl TwinChildWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, _input: ()) -> Self {
        Self { changes: 0 }
    }

    #[run(name = TWIN_CHILD)]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        TwinWorkflow::activity_in(ctx).await?;
        timer_or(ctx, Duration::from_secs(6 * 3600), |s: &Self| s.changes > 0).await?;
        Ok(())
    }

    #[signal(name = CHANGED)]
    pub fn changed(&mut self, _ctx: &mut SyncWorkflowContext<Self>) {
        self.changes += 1;
    }
}

/// The twin's invoice issuer: a scan when it starts, then for every receipt queued two
/// ordinary activities (issue, deliver), and an idle timer against the next signal
/// whenever the queue is empty, as `InvoiceIssuerWorkflow` does.
#[workflow]
pub struct TwinIssuerWorkflow {
    queued: u32,
}

#[workflow_methods]
impl TwinIssuerWorkflow {
    #[init]
    pub fn new(_ctx: &WorkflowContextView, _input: ()) -> Self {
        Self { queued: 0 }
    }

    #[run(name = TWIN_ISSUER)]
    pub async fn run(ctx: &mut WorkflowContext<Self>) -> WorkflowResult<()> {
        TwinWorkflow::activity_in(ctx).await?;
        loop {
            if ctx.state(|s| s.queued == 0) {
                let idle = Duration::from_secs(10 * 60);
                if timer_or(ctx, idle, |s: &Self| s.queued > 0).await? == Woken::Timer {
                    return Ok(());
                }
            }
            TwinWorkflow::activity_in(ctx).await?;
            ctx.state_mut(|s| s.queued -= 1);
            TwinWorkflow::activity_in(ctx).await?;
        }
    }

    #[signal(name = QUEUED)]
    pub fn queued(&mut self, _ctx: &mut SyncWorkflowContext<Self>, _receipt: ()) {
        self.queued += 1;
    }
}

/// The twin's worker, on a thread of its own (the SDK's worker is not `Send`); stops
/// when dropped.
pub struct TwinWorker {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TwinWorker {
    pub fn start(client: temporalio_client::Client, queue: &str) -> Self {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let queue = queue.to_owned();
        let worker_queue = queue.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("twin worker runtime");
            let local = tokio::task::LocalSet::new();
            let run = async move {
                let sdk = temporalio_sdk::Runtime::from_current_tokio(
                    temporalio_sdk::runtime::RuntimeOptions::builder()
                        .build()
                        .map_err(anyhow::Error::msg)?,
                )?;
                let options = temporalio_sdk::WorkerOptions::new(queue)
                    .register_workflow::<TwinWorkflow>()?
                    .register_workflow::<TwinChildWorkflow>()?
                    .register_workflow::<TwinIssuerWorkflow>()?
                    .register_activities(TwinActivities {
                        client: client.clone(),
                        queue: worker_queue,
                    })
                    .build();
                let mut worker = temporalio_sdk::Worker::new(&sdk, client, options)?;
                let shutdown = worker.shutdown_handle();
                tokio::task::spawn_local(async move {
                    let _ = stopped.await;
                    shutdown();
                });
                worker.run().await?;
                Ok::<_, anyhow::Error>(())
            };
            if let Err(e) = local.block_on(&runtime, run) {
                eprintln!("the twin's worker stopped: {e:?}");
            }
        });
        Self { stop: Some(stop) }
    }
}

impl Drop for TwinWorker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
