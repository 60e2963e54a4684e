//! The provider clients against their emulators, both ways (no Temporal).

mod mercadopago;
mod mercately;
mod smtp;
