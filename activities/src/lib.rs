//! Activity implementations. Each one is idempotent: running it twice has the effect of
//! running it once, because Temporal retries activities whose completion it did not see.

pub mod dispatch;
pub mod invoices;
pub mod issuers;
pub mod notices;
pub mod payments;
pub mod reminders;
pub mod requests;
pub mod visit_records;

pub use requests::{RecordTransition, RequestActivities};

/// How often a provider activity tells Temporal it is still at work, and how long
/// Temporal waits without hearing before it gives the attempt to another worker (the
/// workflows' `heartbeat_timeout`): a worker killed in the middle of a provider call is
/// replaced in seconds, not at the end of the attempt's 90 s.
pub const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs `work`, heartbeating every [`HEARTBEAT_EVERY`] until it ends, and counts how
/// it ended in `amar_provider_activities_total` ([`install_metrics`]).
pub async fn alive<T>(
    ctx: &temporalio_sdk::activities::ActivityContext,
    work: impl std::future::Future<Output = Result<T, temporalio_sdk::activities::ActivityError>>,
) -> Result<T, temporalio_sdk::activities::ActivityError> {
    let mut work = std::pin::pin!(work);
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    let done = loop {
        tokio::select! {
            done = &mut work => break done,
            _ = tick.tick() => {
                if let Err(e) = ctx.record_heartbeat(()).await {
                    tracing::debug!(error = %e, "heartbeat not recorded");
                }
            }
        }
    };
    let outcome = match &done {
        Ok(_) => "ok",
        Err(temporalio_sdk::activities::ActivityError::Application(failure))
            if failure.is_non_retryable() =>
        {
            "refused"
        }
        Err(_) => "failed",
    };
    metrics::record(&ctx.info().activity_type, outcome);
    done
}

/// Runs `work` no longer than its attempt: it stops (dropped where it is) when Temporal
/// cancels the attempt or a few seconds before the attempt's deadline, so a timed-out
/// attempt can never still be running when the next one starts. For activities whose
/// steps must not overlap (the visit's records); each step is safe to stop at any
/// point, as the next attempt finds what was done.
pub async fn within_attempt<T>(
    ctx: &temporalio_sdk::activities::ActivityContext,
    work: impl std::future::Future<Output = Result<T, temporalio_sdk::activities::ActivityError>>,
) -> Result<T, temporalio_sdk::activities::ActivityError> {
    let left = ctx
        .info()
        .deadline
        .and_then(|deadline| deadline.duration_since(std::time::SystemTime::now()).ok())
        .map(|left| left.saturating_sub(ATTEMPT_MARGIN));
    let out_of_time = async {
        match left {
            Some(left) => tokio::time::sleep(left).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        done = work => done,
        () = ctx.cancelled() => Err(anyhow::anyhow!("the attempt was cancelled").into()),
        () = out_of_time => Err(anyhow::anyhow!("the attempt ran out of time").into()),
    }
}

/// How long before an attempt's deadline [`within_attempt`] stops the work.
const ATTEMPT_MARGIN: std::time::Duration = std::time::Duration::from_secs(5);

pub use metrics::install as install_metrics;

/// Outcomes of provider activities, by provider, for the worker's Prometheus endpoint.
mod metrics {
    use std::sync::{Arc, OnceLock};

    use temporalio_common::telemetry::metrics::{
        CoreMeter, Counter, MetricKeyValue, MetricParameters, NewAttributes,
    };

    struct Installed {
        meter: Arc<dyn CoreMeter>,
        outcomes: Counter,
    }

    static INSTALLED: OnceLock<Installed> = OnceLock::new();

    /// Counts provider activity attempts on `meter` from now on (once per process).
    pub fn install(meter: Arc<dyn CoreMeter>) {
        let outcomes = meter.counter(
            MetricParameters::builder()
                .name("amar_provider_activities")
                .description(
                    "Provider activity attempts by activity, provider (mercately, mercadopago) \
                     and outcome (ok, failed: retried; refused: not retryable)",
                )
                .build(),
        );
        let _ = INSTALLED.set(Installed { meter, outcomes });
    }

    fn provider(activity: &str) -> &'static str {
        match activity {
            "send_offer" | "notify" => "mercately",
            _ => "mercadopago",
        }
    }

    pub(super) fn record(activity: &str, outcome: &'static str) {
        let Some(installed) = INSTALLED.get() else {
            return;
        };
        let attributes = installed.meter.new_attributes(NewAttributes {
            attributes: vec![
                MetricKeyValue::new("activity", activity.to_owned()),
                MetricKeyValue::new("provider", provider(activity)),
                MetricKeyValue::new("outcome", outcome),
            ],
        });
        installed.outcomes.add(1, &attributes);
    }
}
