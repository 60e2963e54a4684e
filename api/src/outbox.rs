//! Starting service-request workflows, and the outbox that makes checkout independent of
//! Temporal's availability: checkout commits its requests with `workflow_started = false`,
//! then tries to start each workflow; whatever could not be started (Temporal down, the
//! API killed in between) is started by [`run`], which every API instance runs. Starts
//! use the request's fixed workflow id with `RejectDuplicate`, so two instances (or a
//! retry) can never start one request twice: "already started" counts as done.

use std::time::Duration;

use domain::{OwnerId, RequestId, RequestState};
use temporalio_client::{WorkflowIdReusePolicy, WorkflowStartOptions};
use temporalio_common::search_attributes::SearchAttributes;
use workflows::{DispatchMode, ServiceRequestInput, ServiceRequestWorkflow, search};

use crate::AppState;

/// The start options of a request's workflow: its fixed id, never reused, the search
/// attributes staff filter by, and the one-line `summary` the Temporal UI shows.
pub fn start_options(
    state: &AppState,
    id: RequestId,
    owner: Option<OwnerId>,
    summary: Option<String>,
) -> WorkflowStartOptions {
    let mut attributes = vec![
        search::REQUEST_ID.value_set(id.to_string()),
        search::REQUEST_STATE.value_set(RequestState::Pending.as_str().to_owned()),
    ];
    if let Some(owner) = owner {
        attributes.push(search::OWNER_ID.value_set(owner.to_string()));
    }
    WorkflowStartOptions::new(state.settings.temporal.task_queue.clone(), id.workflow_id())
        .id_reuse_policy(WorkflowIdReusePolicy::RejectDuplicate)
        .search_attributes(SearchAttributes::new(attributes))
        .maybe_static_summary(summary)
        .build()
}

/// Starts the workflow of a recorded request and marks it started. `Ok(false)` when
/// Temporal could not be reached (the outbox will try again).
pub async fn start(
    state: &AppState,
    id: RequestId,
    description: &str,
    owner: Option<OwnerId>,
) -> anyhow::Result<bool> {
    let input = ServiceRequestInput::new(
        id,
        description.to_owned(),
        state.settings.dispatch,
        DispatchMode::Candidates,
    );
    let summary = {
        let mut conn = db::conn(&state.pool).await?;
        db::dispatch::request_summary(&mut conn, id).await?
    };
    let started = crate::workflow_client::start(
        &state.temporal,
        state.settings.update_timeout,
        ServiceRequestWorkflow::run,
        input,
        start_options(state, id, owner, summary),
    )
    .await;
    match started {
        Ok(_) => {
            let mut conn = db::conn(&state.pool).await?;
            db::requests::mark_started(&mut conn, id).await?;
            Ok(true)
        }
        Err(e) => {
            tracing::warn!(request = %id, error = %e, "workflow not started yet; the outbox will retry");
            Ok(false)
        }
    }
}

/// One pass over the outbox; returns how many workflows it started.
pub async fn drain(state: &AppState) -> anyhow::Result<usize> {
    let pending = {
        let mut conn = db::conn(&state.pool).await?;
        db::requests::unstarted(&mut conn, 100).await?
    };
    crate::metrics::outbox_depth(pending.len());
    let mut started = 0;
    for request in pending {
        let id = RequestId::from_uuid(request.id);
        if start(
            state,
            id,
            &request.description,
            request.owner_id.map(OwnerId::from_uuid),
        )
        .await?
        {
            started += 1;
        } else {
            break; // Temporal is still away; the next pass tries again.
        }
    }
    // Webhooks stored but not handed to their workflow (a crash, Temporal away).
    let events = {
        let mut conn = db::conn(&state.pool).await?;
        db::payments::unprocessed_events(&mut conn, 100).await?
    };
    for event in events {
        if let Err(e) =
            crate::payment_news::hand_over(state, event.id, &event.event_type, &event.data_id).await
        {
            tracing::warn!(error = %e, event = event.id, "webhook still not handed over");
        }
    }
    Ok(started)
}

/// Drains the outbox every `interval`, forever.
pub async fn run(state: AppState, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match drain(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(started = n, "outbox: started workflows"),
            Err(e) => tracing::warn!(error = %e, "outbox pass failed"),
        }
    }
}
