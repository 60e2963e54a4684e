//! On the Temporal dev server `make test` starts (`TEST_TEMPORAL_ADDRESS`).

mod cart;
mod catalog;
mod pricing;
mod reference;
