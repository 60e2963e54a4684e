//! The dispatch policy: the delays and counts a request's workflow follows (offers,
//! follow-ups, reminders, deadlines), their defaults and their bounds.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Delays and counts of dispatch, carried in the workflow input so that tests can use
/// seconds, the time-skipping server days, and production its configured defaults.
///
/// FROZEN wire type: every workflow's input holds it, so a field is only ever added with
/// a serde default that keeps saved histories' behaviour, and a default never changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchPolicy {
    /// How long to wait for a vet's answer before re-sending the offer.
    pub vet_followup_delay_secs: u64,
    /// How many times the offer is re-sent before giving up on that vet.
    pub vet_max_followups: u32,
    /// How many vets are asked at once; the first to accept wins. Histories from before
    /// batches existed read as 1.
    #[serde(default = "one")]
    pub offer_batch_size: u32,
    /// How long the owner has to pay once the visit is coordinated.
    #[serde(default = "payment_deadline")]
    pub payment_deadline_secs: u64,
    /// How often the owner is reminded to pay before the deadline (0: never).
    #[serde(default = "payment_reminder")]
    pub payment_reminder_secs: u64,
    /// How long the accepted vet has to set the visit's time before being reminded;
    /// after `coordinate_max_reminders` reminders the request goes back to dispatch.
    #[serde(default = "coordinate_reminder")]
    pub coordinate_reminder_secs: u64,
    #[serde(default = "two")]
    pub coordinate_max_reminders: u32,
    /// How long after the visit's end it counts as done (`completed`).
    #[serde(default = "completion_grace")]
    pub completion_grace_secs: u64,
    /// After the visit's end, how often the vet is reminded to file the report, at
    /// most `report_max_reminders` times.
    #[serde(default = "report_reminder")]
    pub report_reminder_secs: u64,
    #[serde(default = "two")]
    pub report_max_reminders: u32,
    /// After the visit's end, when staff are alerted that no report came.
    #[serde(default = "report_deadline")]
    pub report_deadline_secs: u64,
    /// After the visit's end, when the request is completed without a report (before
    /// the visit's records stop following it, a week after the end).
    #[serde(default = "report_give_up")]
    pub report_give_up_secs: u64,
    /// A no-show (the owner was not there) is refunded in full; otherwise the payment is
    /// kept as the visit's fee.
    #[serde(default)]
    pub no_show_refund: bool,
    /// A dispatch continues as new between two batches once its run's history holds
    /// this many events (0: when Temporal suggests it, by default at 4,096 events), so
    /// that however many vets are asked, no run nears Temporal's limit of 51,200.
    #[serde(default)]
    pub history_events: u32,
}

/// Upper bounds of the policy's counts: history grows with each follow-up or reminder.
pub const MAX_FOLLOWUPS: u32 = 10;
pub const MAX_BATCH_SIZE: u32 = 20;
pub const MAX_COORDINATE_REMINDERS: u32 = 10;
pub const MAX_PAYMENT_REMINDERS: u64 = 10;
/// The range of `history_events` (besides 0): the first batch must fit, and a run
/// stays far from Temporal's limit.
pub const HISTORY_EVENTS: std::ops::RangeInclusive<u32> = 10..=40_000;

/// A policy value out of its range, named by its environment variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{name}: {reason}")]
pub struct PolicyError {
    pub name: &'static str,
    pub reason: String,
}

const fn payment_deadline() -> u64 {
    24 * 60 * 60
}

const fn payment_reminder() -> u64 {
    6 * 60 * 60
}

const fn one() -> u32 {
    1
}

const fn two() -> u32 {
    2
}

const fn coordinate_reminder() -> u64 {
    4 * 60 * 60
}

const fn completion_grace() -> u64 {
    2 * 60 * 60
}

const fn report_reminder() -> u64 {
    6 * 60 * 60
}

const fn report_deadline() -> u64 {
    2 * 24 * 60 * 60
}

const fn report_give_up() -> u64 {
    5 * 24 * 60 * 60
}

/// The longest a request waits for its report after the visit's end.
pub const MAX_REPORT_WAIT_SECS: u64 = 6 * 24 * 60 * 60;
pub const MAX_REPORT_REMINDERS: u32 = 10;

impl DispatchPolicy {
    pub fn vet_followup_delay(&self) -> Duration {
        Duration::from_secs(self.vet_followup_delay_secs)
    }

    /// Checks every value is in its range (the worker and API refuse to start otherwise);
    /// errors name the environment variable.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let fail = |name, reason: String| Err(PolicyError { name, reason });
        if self.vet_followup_delay_secs == 0 {
            return fail("VET_FOLLOWUP_DELAY_SECS", "must be at least 1".into());
        }
        if self.vet_max_followups > MAX_FOLLOWUPS {
            return fail(
                "VET_MAX_FOLLOWUPS",
                format!("must be at most {MAX_FOLLOWUPS}"),
            );
        }
        if self.offer_batch_size == 0 || self.offer_batch_size > MAX_BATCH_SIZE {
            return fail("OFFER_BATCH_SIZE", format!("must be 1 to {MAX_BATCH_SIZE}"));
        }
        if self.payment_deadline_secs == 0 {
            return fail("PAYMENT_DEADLINE_SECS", "must be at least 1".into());
        }
        if self.payment_reminder_secs != 0
            && (self.payment_reminder_secs < 60
                || self.payment_deadline_secs / self.payment_reminder_secs > MAX_PAYMENT_REMINDERS)
        {
            let reason = format!(
                "must be 0 (never) or at least 60 and PAYMENT_DEADLINE_SECS / {MAX_PAYMENT_REMINDERS}"
            );
            return fail("PAYMENT_REMINDER_SECS", reason);
        }
        if self.coordinate_reminder_secs == 0 {
            return fail("COORDINATE_REMINDER_SECS", "must be at least 1".into());
        }
        if self.coordinate_max_reminders > MAX_COORDINATE_REMINDERS {
            let reason = format!("must be at most {MAX_COORDINATE_REMINDERS}");
            return fail("COORDINATE_MAX_REMINDERS", reason);
        }
        if self.report_reminder_secs == 0 || self.report_reminder_secs > MAX_REPORT_WAIT_SECS {
            let reason = format!("must be 1 to {MAX_REPORT_WAIT_SECS}");
            return fail("REPORT_REMINDER_SECS", reason);
        }
        if self.report_max_reminders > MAX_REPORT_REMINDERS {
            let reason = format!("must be at most {MAX_REPORT_REMINDERS}");
            return fail("REPORT_MAX_REMINDERS", reason);
        }
        if self.report_give_up_secs == 0 || self.report_give_up_secs > MAX_REPORT_WAIT_SECS {
            let reason = format!("must be 1 to {MAX_REPORT_WAIT_SECS}");
            return fail("REPORT_GIVE_UP_SECS", reason);
        }
        if self.report_deadline_secs == 0 || self.report_deadline_secs > self.report_give_up_secs {
            let reason = "must be at least 1 and at most REPORT_GIVE_UP_SECS".into();
            return fail("REPORT_DEADLINE_SECS", reason);
        }
        if self.history_events != 0 && !HISTORY_EVENTS.contains(&self.history_events) {
            let (low, high) = (HISTORY_EVENTS.start(), HISTORY_EVENTS.end());
            let reason = format!("must be 0 (when Temporal suggests it) or {low} to {high}");
            return fail("DISPATCH_HISTORY_EVENTS", reason);
        }
        Ok(())
    }

    /// How long an offer stays open: the first message and every follow-up each get one
    /// delay to be answered.
    pub fn offer_lifetime(&self) -> Duration {
        self.vet_followup_delay()
            .saturating_mul(self.vet_max_followups.saturating_add(1))
    }
}

impl Default for DispatchPolicy {
    fn default() -> Self {
        Self {
            vet_followup_delay_secs: 2 * 60 * 60,
            vet_max_followups: 2,
            offer_batch_size: 1,
            payment_deadline_secs: payment_deadline(),
            payment_reminder_secs: payment_reminder(),
            coordinate_reminder_secs: coordinate_reminder(),
            coordinate_max_reminders: two(),
            completion_grace_secs: completion_grace(),
            report_reminder_secs: report_reminder(),
            report_max_reminders: two(),
            report_deadline_secs: report_deadline(),
            report_give_up_secs: report_give_up(),
            no_show_refund: false,
            history_events: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_is_valid_and_each_value_out_of_range_is_named() {
        assert_eq!(DispatchPolicy::default().validate(), Ok(()));
        let named = |policy: DispatchPolicy| policy.validate().map_err(|e| e.name);
        let default = DispatchPolicy::default();
        let cases = [
            (
                DispatchPolicy {
                    vet_followup_delay_secs: 0,
                    ..default
                },
                "VET_FOLLOWUP_DELAY_SECS",
            ),
            (
                DispatchPolicy {
                    vet_max_followups: MAX_FOLLOWUPS + 1,
                    ..default
                },
                "VET_MAX_FOLLOWUPS",
            ),
            (
                DispatchPolicy {
                    offer_batch_size: 0,
                    ..default
                },
                "OFFER_BATCH_SIZE",
            ),
            (
                DispatchPolicy {
                    offer_batch_size: MAX_BATCH_SIZE + 1,
                    ..default
                },
                "OFFER_BATCH_SIZE",
            ),
            (
                DispatchPolicy {
                    payment_deadline_secs: 0,
                    ..default
                },
                "PAYMENT_DEADLINE_SECS",
            ),
            (
                DispatchPolicy {
                    payment_reminder_secs: 59,
                    ..default
                },
                "PAYMENT_REMINDER_SECS",
            ),
            // A reminder a minute for a day would be 1,440 reminders in one history.
            (
                DispatchPolicy {
                    payment_deadline_secs: 24 * 3600,
                    payment_reminder_secs: 60,
                    ..default
                },
                "PAYMENT_REMINDER_SECS",
            ),
            (
                DispatchPolicy {
                    coordinate_reminder_secs: 0,
                    ..default
                },
                "COORDINATE_REMINDER_SECS",
            ),
            (
                DispatchPolicy {
                    coordinate_max_reminders: MAX_COORDINATE_REMINDERS + 1,
                    ..default
                },
                "COORDINATE_MAX_REMINDERS",
            ),
            (
                DispatchPolicy {
                    report_reminder_secs: MAX_REPORT_WAIT_SECS + 1,
                    ..default
                },
                "REPORT_REMINDER_SECS",
            ),
            (
                DispatchPolicy {
                    report_max_reminders: MAX_REPORT_REMINDERS + 1,
                    ..default
                },
                "REPORT_MAX_REMINDERS",
            ),
            (
                DispatchPolicy {
                    report_give_up_secs: 0,
                    ..default
                },
                "REPORT_GIVE_UP_SECS",
            ),
            (
                DispatchPolicy {
                    report_deadline_secs: default.report_give_up_secs + 1,
                    ..default
                },
                "REPORT_DEADLINE_SECS",
            ),
            (
                DispatchPolicy {
                    history_events: 9,
                    ..default
                },
                "DISPATCH_HISTORY_EVENTS",
            ),
            (
                DispatchPolicy {
                    history_events: 40_001,
                    ..default
                },
                "DISPATCH_HISTORY_EVENTS",
            ),
        ];
        for (policy, name) in cases {
            assert_eq!(named(policy), Err(name), "{policy:?}");
        }
        // The edges of each range hold.
        let edges = DispatchPolicy {
            vet_max_followups: MAX_FOLLOWUPS,
            offer_batch_size: MAX_BATCH_SIZE,
            payment_deadline_secs: 10 * 60,
            payment_reminder_secs: 60,
            coordinate_max_reminders: MAX_COORDINATE_REMINDERS,
            report_max_reminders: MAX_REPORT_REMINDERS,
            report_deadline_secs: default.report_give_up_secs,
            history_events: 10,
            ..default
        };
        assert_eq!(edges.validate(), Ok(()));
    }
}
