//! The provider clients against their emulators, both ways (no Temporal).

mod google;
mod mercadopago;
mod mercately;
mod smtp;
