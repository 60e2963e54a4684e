//! Failing on demand, shared by the emulators: the next `count` API calls answer
//! `status` after `delay`.

use std::time::Duration;

#[derive(Debug, Default)]
pub struct Failures {
    status: u16,
    remaining: u32,
    delay: Duration,
}

impl Failures {
    pub fn new(count: u32, status: u16, delay: Duration) -> Self {
        Self {
            status,
            remaining: count,
            delay,
        }
    }

    /// The failure this call gets, if one is still due.
    pub fn take(&mut self) -> Option<(u16, Duration)> {
        (self.remaining > 0).then(|| {
            self.remaining -= 1;
            (self.status, self.delay)
        })
    }
}
