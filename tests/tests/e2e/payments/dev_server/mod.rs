//! On the Temporal dev server `make test` starts (`TEST_TEMPORAL_ADDRESS`).

mod payment_e2e;
mod records;
