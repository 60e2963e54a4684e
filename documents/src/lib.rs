//! The documents AMAR Mascotas hands people, as PDFs: the visit report an owner
//! receives after the visit and the AFIP receipt (invoice or credit note) of a payment. Rendered with krilla (the PDF writer behind typst), with
//! the fonts and logo in `assets/` embedded, so a report looks the same wherever it is
//! made.

pub mod invoice;
mod layout;
pub mod report;

/// A document could not be made (a font or the logo is unreadable, or the PDF writer
/// failed): a bug of ours, never of the caller's text.
#[derive(Debug, thiserror::Error)]
#[error("the document could not be rendered: {0}")]
pub struct DocumentError(String);
