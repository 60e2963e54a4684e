//! The sign-in throttle: failed passwords slow the next try down, exponentially, instead
//! of locking the account. Three counters, each of failures since that key's last
//! success within `LOGIN_WINDOW_SECS`:
//!
//! - **this account from this address**: after `LOGIN_MAX_FAILURES_PER_ACCOUNT` free
//!   failures, each next try waits 1 s, 2 s, 4 s… after the last failure, up to the
//!   window: a guesser at one address gets a handful of tries an hour;
//! - **this account from anywhere**: after three times as many, the same doubling but
//!   never more than a minute: guessers spread over many addresses are slowed, and the
//!   owner, from their own address, waits a minute at worst, never a lockout;
//! - **this address, any account**: after `LOGIN_MAX_FAILURES_PER_ADDRESS`, doubling up
//!   to the window: one address trying many accounts.
//!
//! A throttled try is answered `429` with `Retry-After` before any password is hashed,
//! and is not counted, so waiting is all it takes.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Failures of one key since its last success, and when the latest was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub count: i64,
    pub last: Option<DateTime<Utc>>,
}

/// How one counter slows down.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Failures before any wait.
    pub free: i64,
    /// The longest wait.
    pub cap: Duration,
}

impl Rule {
    /// How long from `now` this key must still wait, if at all.
    pub fn wait(&self, failures: Failures, now: DateTime<Utc>) -> Option<Duration> {
        let last = failures.last?;
        let over = failures.count - self.free;
        if over < 0 {
            return None;
        }
        let delay = Duration::from_secs(1u64 << over.min(30)).min(self.cap);
        let until = last + chrono::Duration::from_std(delay).ok()?;
        (until - now).to_std().ok().filter(|d| !d.is_zero())
    }
}

/// The three counters' rules, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub pair: Rule,
    pub account: Rule,
    pub address: Rule,
}

impl Throttle {
    pub fn new(per_account: i64, per_address: i64, window: Duration) -> Self {
        Self {
            pair: Rule {
                free: per_account,
                cap: window,
            },
            account: Rule {
                free: per_account * 3,
                cap: Duration::from_secs(60).min(window),
            },
            address: Rule {
                free: per_address,
                cap: window,
            },
        }
    }

    /// The longest wait any counter imposes, in whole seconds (at least 1), if any.
    pub fn wait(
        &self,
        pair: Failures,
        account: Failures,
        address: Failures,
        now: DateTime<Utc>,
    ) -> Option<u64> {
        [
            self.pair.wait(pair, now),
            self.account.wait(account, now),
            self.address.wait(address, now),
        ]
        .into_iter()
        .flatten()
        .max()
        .map(|d| d.as_secs_f64().ceil().max(1.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("a time")
    }

    fn failures(count: i64, last: i64) -> Failures {
        Failures {
            count,
            last: Some(at(last)),
        }
    }

    const NONE: Failures = Failures {
        count: 0,
        last: None,
    };

    #[test]
    fn free_failures_cost_nothing_then_each_doubles_the_wait() {
        let throttle = Throttle::new(5, 20, Duration::from_secs(900));
        assert_eq!(throttle.wait(failures(4, 0), NONE, NONE, at(0)), None);
        assert_eq!(throttle.wait(failures(5, 0), NONE, NONE, at(0)), Some(1));
        assert_eq!(throttle.wait(failures(6, 0), NONE, NONE, at(0)), Some(2));
        assert_eq!(throttle.wait(failures(9, 0), NONE, NONE, at(0)), Some(16));
        // Counted from the last failure: after waiting, the next try goes through.
        assert_eq!(throttle.wait(failures(9, 0), NONE, NONE, at(16)), None);
        // Never more than the window.
        assert_eq!(throttle.wait(failures(40, 0), NONE, NONE, at(0)), Some(900));
    }

    #[test]
    fn the_account_from_anywhere_is_slowed_a_minute_at_most() {
        let throttle = Throttle::new(5, 20, Duration::from_secs(900));
        assert_eq!(throttle.wait(NONE, failures(14, 0), NONE, at(0)), None);
        assert_eq!(throttle.wait(NONE, failures(15, 0), NONE, at(0)), Some(1));
        assert_eq!(throttle.wait(NONE, failures(500, 0), NONE, at(0)), Some(60));
        assert_eq!(throttle.wait(NONE, failures(500, 0), NONE, at(60)), None);
    }

    #[test]
    fn one_address_trying_many_accounts_is_slowed_and_the_longest_wait_wins() {
        let throttle = Throttle::new(5, 20, Duration::from_secs(900));
        assert_eq!(throttle.wait(NONE, NONE, failures(19, 0), at(0)), None);
        assert_eq!(throttle.wait(NONE, NONE, failures(23, 0), at(0)), Some(8));
        assert_eq!(
            throttle.wait(failures(6, 0), failures(15, 0), failures(23, 0), at(0)),
            Some(8)
        );
        // Part of a second left still says one second.
        let last = Failures {
            count: 5,
            last: Some(at(0)),
        };
        let almost = at(0) + chrono::Duration::milliseconds(300);
        assert_eq!(throttle.wait(last, NONE, NONE, almost), Some(1));
    }
}
