//! Everything under `/service-requests/…` and `/offers/…`, one file per command:
//! [`read`] (detail, list, live view), [`create`] (staff, by phone), [`answers`] (offer
//! links, a vet's answer, staff recording one), [`coordination`] (the visit's time,
//! reassignment), [`cancel`] and [`invoices`] (the request's AFIP receipts). Commands are workflow updates, run through
//! [`crate::workflow_client`].

pub mod answers;
pub mod cancel;
pub mod coordination;
pub mod create;
pub mod invoices;
pub mod read;

use axum::Router;
use utoipa::OpenApi;

use crate::AppState;

pub fn router(limits: &crate::limits::RateLimits) -> Router<AppState> {
    read::router()
        .merge(answers::router(limits))
        .merge(coordination::router())
        .merge(cancel::router())
        .merge(invoices::router())
}

/// The OpenAPI paths of every request route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = read::Docs::openapi();
    doc.merge(create::Docs::openapi());
    doc.merge(answers::Docs::openapi());
    doc.merge(coordination::Docs::openapi());
    doc.merge(cancel::Docs::openapi());
    doc.merge(invoices::Docs::openapi());
    doc
}
