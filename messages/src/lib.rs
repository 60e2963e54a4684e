//! What AMAR tells people, and how each message leaves exactly once. Both the API (a
//! phone code, a staff-created owner's welcome) and the activities (notices, offers,
//! receipts, reminders) send through here:
//!
//! - [`email`]: the emails, in Spanish (Argentina), rendered from `templates/email/`;
//! - [`ledger`]: send a WhatsApp template or an email once per purpose key, claimed in
//!   the `outbound_messages` table (`db::messages`) before it leaves.

pub mod email;
pub mod ledger;
