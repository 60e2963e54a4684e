//! On the Temporal dev server `make test` starts (`TEST_TEMPORAL_ADDRESS`).

mod auth;
mod authorization;
mod authorization_routes;
mod authorization_table;
mod booking_page;
mod connections;
mod limits;
mod owners_pets;
mod phone_codes;
mod studies;
mod vet_search;
mod vets;
mod welcome;
