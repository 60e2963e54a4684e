//! On a time-skipping test server each test starts for itself: days pass in an instant.

mod continuation;
mod outcome;
mod reminders;
mod saga;
mod saga_endings;
mod timers;
