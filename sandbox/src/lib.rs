//! Local emulators of the external services, speaking their real contracts and enforcing
//! them (keys, required fields), recording what they receive and failing on demand.
//! Each starts in-process on port 0 for tests.

pub mod afip;
pub mod failures;
pub mod google;
pub mod mercadopago;
pub mod mercately;
pub mod smtp;
