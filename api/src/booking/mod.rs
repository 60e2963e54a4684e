//! The booking service, apart from HTTP: pricing a visit ([`quote`]) and turning an
//! owner's cart into service requests with frozen prices and their workflows
//! ([`checkout`]). The routes (`routes::pricing`, `routes::cart`) parse and answer.

pub mod checkout;
pub mod quote;
