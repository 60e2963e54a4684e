//! Clients of the providers AMAR Mascotas talks to, each with its settings (read from
//! the environment), typed errors and the retry rules its contract allows:
//! [`mercately`] (WhatsApp), [`mercadopago`] (payments) and [`email`] (SMTP). They know nothing of
//! Temporal or PostgreSQL; the activities use them, and so does the API (to fetch a
//! notified payment). Each has an emulator in `sandbox/`.

pub mod afip;
pub mod email;
pub mod google;
pub mod http;
pub mod mercadopago;
pub mod mercately;
