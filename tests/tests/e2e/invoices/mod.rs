//! AFIP invoicing: a paid visit's invoice and a refund's credit note through the real
//! worker and API against the AFIP emulator; the issuer's numbering under lost answers,
//! concurrent issues elsewhere, a burst of receipts and a killed worker; the ticket and
//! the certificate.

mod dev_server;
