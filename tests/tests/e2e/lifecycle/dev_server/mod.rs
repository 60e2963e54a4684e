//! On the Temporal dev server `make test` starts (`TEST_TEMPORAL_ADDRESS`).

mod chaos;
mod deployment;
mod durability;
mod lifecycle;
mod reminders_schedule;
