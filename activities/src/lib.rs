//! Activity implementations. Each one is idempotent: running it twice has the effect of
//! running it once, because Temporal retries activities whose completion it did not see.

pub mod dispatch;
pub mod payments;
pub mod requests;
pub mod sends;

pub use requests::{RecordTransition, RequestActivities};

/// How often a provider activity tells Temporal it is still at work, and how long
/// Temporal waits without hearing before it gives the attempt to another worker (the
/// workflows' `heartbeat_timeout`): a worker killed in the middle of a provider call is
/// replaced in seconds, not at the end of the attempt's 90 s.
pub const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs `work`, heartbeating every [`HEARTBEAT_EVERY`] until it ends.
pub async fn alive<T>(
    ctx: &temporalio_sdk::activities::ActivityContext,
    work: impl std::future::Future<Output = T>,
) -> T {
    let mut work = std::pin::pin!(work);
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tokio::select! {
            done = &mut work => return done,
            _ = tick.tick() => {
                if let Err(e) = ctx.record_heartbeat(()).await {
                    tracing::debug!(error = %e, "heartbeat not recorded");
                }
            }
        }
    }
}
