//! The one race every workflow here runs: a timer against a condition.

use std::{pin::pin, time::Duration};

use temporalio_sdk::{CancellableFuture, WorkflowContext, WorkflowResult, workflows::select};

/// How a wait for something ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// The condition became true first.
    Condition,
    /// The time ran out first.
    Timer,
}

/// Waits until `condition` holds or `wait` has passed, whichever comes first. A timer
/// that lost the race is cancelled (a timer dropped unfired would stay in the history
/// until then).
pub async fn timer_or<W>(
    ctx: &mut WorkflowContext<W>,
    wait: Duration,
    condition: impl FnMut(&W) -> bool,
) -> WorkflowResult<Woken> {
    let mut timer = pin!(ctx.timer(wait));
    let mut condition = pin!(ctx.wait_condition(condition));
    let woken = select! {
        result = condition => { result?; Woken::Condition }
        _ = timer => Woken::Timer
    };
    if woken == Woken::Condition {
        timer.cancel();
    }
    Ok(woken)
}
