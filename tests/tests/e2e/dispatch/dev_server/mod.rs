//! On the Temporal dev server `make test` starts (`TEST_TEMPORAL_ADDRESS`).

mod agenda;
mod dashboards;
mod dispatch;
mod dispatch_e2e;
