//! Dispatch: offers to vets, their answers, coordination and reassignment.

mod dev_server;
mod time_skipping;
