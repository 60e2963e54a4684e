//! Every call the API makes to Temporal, each with a deadline: starting a workflow,
//! commands as updates (and what their outcomes and refusals mean to an HTTP caller),
//! signals, and the `status` query.

use axum::http::StatusCode;
use domain::{
    RequestId, RequestState,
    invoices::{IssuerKey, Queued},
};
use temporalio_client::{
    Client, WorkflowExecuteUpdateOptions, WorkflowQueryOptions, WorkflowSignalOptions,
    WorkflowStartOptions,
    errors::{
        WorkflowInteractionError, WorkflowQueryError, WorkflowStartError, WorkflowUpdateError,
    },
};
use temporalio_common::HasWorkflowDefinition;
use workflows::{Refusal, Refused, RequestStatus, ServiceRequestWorkflow, VetResponseOutcome};

use crate::{AppState, error::ApiError};

/// How a start went. A workflow id is started once: a second start of the same id (a
/// retried checkout, the outbox after a crash, a repeated webhook) finds it started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    Started,
    AlreadyStarted,
}

/// Starts workflow `run` with `input`, within `deadline`; a Temporal that refuses or
/// does not answer in time is a 503 or 504.
pub(crate) async fn start<W>(
    temporal: &Client,
    deadline: std::time::Duration,
    run: W,
    input: W::Input,
    options: WorkflowStartOptions,
) -> Result<Start, ApiError>
where
    W: HasWorkflowDefinition,
    W::Input: Send,
{
    match tokio::time::timeout(deadline, temporal.start_workflow(run, input, options)).await {
        Ok(Ok(_)) => Ok(Start::Started),
        Ok(Err(WorkflowStartError::AlreadyStarted { .. })) => Ok(Start::AlreadyStarted),
        Ok(Err(e)) => Err(ApiError::Unavailable {
            status: StatusCode::SERVICE_UNAVAILABLE,
            detail: format!("could not start the workflow: {e}"),
        }),
        Err(_) => Err(ApiError::Unavailable {
            status: StatusCode::GATEWAY_TIMEOUT,
            detail: "Temporal did not start the workflow in time".to_owned(),
        }),
    }
}

/// The request's workflow's own view (the `status` query), within
/// `TEMPORAL_QUERY_TIMEOUT_MS`: 404 when there is no such workflow, 503 when the query
/// fails, 504 when no worker answers in time.
pub(crate) async fn status(state: &AppState, id: RequestId) -> Result<RequestStatus, ApiError> {
    let handle = state
        .temporal
        .get_workflow_handle::<ServiceRequestWorkflow>(id.workflow_id());
    let query = handle.query(
        ServiceRequestWorkflow::query_status,
        (),
        WorkflowQueryOptions::default(),
    );
    match tokio::time::timeout(state.settings.query_timeout, query).await {
        Ok(Ok(status)) => Ok(status),
        Ok(Err(WorkflowQueryError::NotFound(_))) => Err(ApiError::NotFound("service request")),
        Ok(Err(e)) => Err(ApiError::Unavailable {
            status: StatusCode::SERVICE_UNAVAILABLE,
            detail: format!("status query failed: {e}"),
        }),
        Err(_) => Err(ApiError::Unavailable {
            status: StatusCode::GATEWAY_TIMEOUT,
            detail: "the workflow did not answer the status query in time".to_owned(),
        }),
    }
}

/// Tells the request's workflow of MercadoPago payment `payment`, within
/// `TEMPORAL_UPDATE_TIMEOUT_MS`. `Ok(false)` when the workflow is over.
pub(crate) async fn signal_payment(
    state: &AppState,
    id: RequestId,
    payment: i64,
) -> anyhow::Result<bool> {
    let handle = state
        .temporal
        .get_workflow_handle::<ServiceRequestWorkflow>(id.workflow_id());
    let signal = handle.signal(
        ServiceRequestWorkflow::payment_notified,
        serde_json::Value::from(payment),
        WorkflowSignalOptions::default(),
    );
    match tokio::time::timeout(state.settings.update_timeout, signal).await {
        Ok(Ok(())) => Ok(true),
        Ok(Err(WorkflowInteractionError::NotFound(_))) => Ok(false),
        Ok(Err(e)) => Err(e.into()),
        Err(_) => anyhow::bail!("the payment_notified signal timed out"),
    }
}

/// Runs a workflow update with the API's deadline (`TEMPORAL_UPDATE_TIMEOUT_MS`). A
/// validator's refusal naming a field is a 422 (`NotAllowed` a 403); any other is a 409
/// of `kind`. A finished workflow is a 409 of `kind` saying `closed` when the request
/// exists (`offer-expired` for an expired one's offers), else 404. No outcome in time is
/// a `202` pointing at the request: `update_id` makes the same call again safe.
pub(crate) async fn run_update<U>(
    state: &AppState,
    id: RequestId,
    update: U,
    input: U::Input,
    kind: &'static str,
    closed: &str,
    update_id: Option<String>,
) -> Result<U::Output, ApiError>
where
    U: temporalio_common::UpdateDefinition<
            Workflow = <ServiceRequestWorkflow as temporalio_common::HasWorkflowDefinition>::Run,
        >,
    U::Input: Send + 'static,
    U::Output: 'static,
{
    let handle = state
        .temporal
        .get_workflow_handle::<ServiceRequestWorkflow>(id.workflow_id());
    let mut options = WorkflowExecuteUpdateOptions::default();
    options.update_id = update_id;
    let seen = recorded_seq(state, id).await;
    let call = handle.execute_update(update, input, options);
    match tokio::time::timeout(state.settings.update_timeout, call).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(WorkflowUpdateError::NotFound(_))) => {
            let mut conn = db::conn(&state.pool).await?;
            match db::requests::find_request(&mut conn, id).await? {
                Some(found) => {
                    let expired = found.request.state == RequestState::Expired;
                    let kind = if kind == "offer-closed" && expired {
                        "offer-expired"
                    } else {
                        kind
                    };
                    let detail = format!("{closed}: it is {}", found.request.state);
                    Err(ApiError::conflict(kind, detail))
                }
                None => Err(ApiError::NotFound("service request")),
            }
        }
        Ok(Err(WorkflowUpdateError::Failed(failure))) => {
            let (refusal, seq) = Refused::parse(&failure.message);
            match seq {
                Some(seq) if seen.is_some_and(|seen| seq < seen) => {
                    tracing::info!(request = %id, seq, ?seen, "refused by a workflow catching up: 503");
                    Err(ApiError::Unavailable {
                        status: StatusCode::SERVICE_UNAVAILABLE,
                        detail:
                            "the request's workflow is catching up with its last steps; try again"
                                .into(),
                    })
                }
                _ => Err(refused(refusal, kind)),
            }
        }
        Ok(Err(e)) => Err(ApiError::Unavailable {
            status: StatusCode::SERVICE_UNAVAILABLE,
            detail: format!("update failed: {e}"),
        }),
        Err(_) => Err(ApiError::Pending {
            location: format!("/api/v1/service-requests/{id}"),
        }),
    }
}

/// The request's last recorded state-history sequence number, read before an update is
/// sent. A workflow runs its steps as local activities, which write the request's rows
/// before the workflow task that ran them is in the history; after a worker dies in
/// between, the next worker is a few seconds behind those rows, and a caller may act on
/// what it saw there. A validator's refusal at a sequence number below what the caller
/// could see comes from a workflow still catching up: a 503 to try again, not an
/// answer ([`Refused`]). A refusal at or above it stands (later steps of the same
/// workflow task may have moved the rows on meanwhile: a second vet's accept of a
/// taken offer is refused at the number before the first vet's).
async fn recorded_seq(state: &AppState, id: RequestId) -> Option<i32> {
    let mut conn = db::conn(&state.pool).await.ok()?;
    db::requests::state_seq(&mut conn, id).await.ok().flatten()
}

fn refused(refusal: Refusal, kind: &'static str) -> ApiError {
    match refusal {
        Refusal::NotAllowed(detail) => ApiError::Forbidden(detail),
        Refusal::Invalid { field, message } => ApiError::invalid(field, message),
        Refusal::State(detail) => ApiError::conflict(kind, detail),
        Refusal::OfferClosed(outcome) => answer_refused(outcome),
    }
}

/// What an answer that did not count is told: `409 offer-taken`, `offer-expired`,
/// `offer-answered`, or `403` for another vet's offer. The same whether the validator
/// refused it or (in histories from before) the update answered so.
pub(crate) fn answer_refused(outcome: VetResponseOutcome) -> ApiError {
    match outcome {
        VetResponseOutcome::Taken => {
            ApiError::conflict("offer-taken", "another vet accepted this request first")
        }
        VetResponseOutcome::Expired => {
            ApiError::conflict("offer-expired", "this offer has expired")
        }
        VetResponseOutcome::NotYours => ApiError::Forbidden("this offer is not yours".into()),
        VetResponseOutcome::AlreadyAnswered
        | VetResponseOutcome::Accepted
        | VetResponseOutcome::Rejected => {
            ApiError::conflict("offer-answered", "this offer was already answered")
        }
    }
}

/// Tells the request's workflow its visit's report was filed. Best effort, bounded by
/// the update deadline: the workflow also finds the report itself when it next wakes.
pub(crate) async fn report_filed(state: &AppState, id: RequestId) {
    let handle = state
        .temporal
        .get_workflow_handle::<ServiceRequestWorkflow>(id.workflow_id());
    let signal = handle.signal(
        ServiceRequestWorkflow::report_filed,
        (),
        temporalio_client::WorkflowSignalOptions::default(),
    );
    match tokio::time::timeout(state.settings.update_timeout, signal).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(request = %id, error = %e, "report_filed not signalled; the workflow will find the report when it next wakes");
        }
        Err(_) => {
            tracing::warn!(request = %id, "report_filed signal timed out; the workflow will find the report when it next wakes");
        }
    }
}

/// Wakes `issuer` with a receipt queued in PostgreSQL (starting its workflow if none
/// runs). Best effort, bounded by the update deadline: the issuer's next scan finds the
/// receipt anyway.
pub(crate) async fn wake_issuer(state: &AppState, issuer: IssuerKey, queued: Queued) {
    let task_queue = &state.settings.temporal.task_queue;
    let wake = workflows::invoice_issuer::wake(&state.temporal, task_queue, issuer, queued);
    match tokio::time::timeout(state.settings.update_timeout, wake).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(invoice = %queued.invoice, error = %e, "the issuer could not be woken; its next scan finds the receipt");
        }
        Err(_) => {
            tracing::warn!(invoice = %queued.invoice, "waking the issuer timed out; its next scan finds the receipt");
        }
    }
}

/// Whether the request's visit has started by its workflow's clock (the one timers
/// follow); `false` when the workflow cannot say in time.
pub(crate) async fn visit_started(state: &AppState, id: RequestId) -> bool {
    match status(state, id).await {
        Ok(status) => status.visit_started,
        Err(e) => {
            tracing::warn!(request = %id, error = %e, "status query failed");
            false
        }
    }
}
