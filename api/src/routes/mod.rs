//! Routes, by business area.

pub mod auth;
pub mod book;
pub mod breeds;
pub mod cart;
pub mod catalog;
pub mod dashboards;
pub mod docs;
pub mod health;
pub mod helpers;
pub mod invoices;
pub mod owner_logins;
pub mod owners;
pub mod payments;
pub mod pets;
pub mod phone_codes;
pub mod pricing;
pub mod reference;
pub mod requests;
pub mod studies;
pub mod vaccines;
pub mod vet_agenda;
pub mod vet_schedule;
pub mod vets;
pub mod visits;

use axum::http::StatusCode;

use crate::{AppState, error::ApiError};

/// Staff retire (soft-delete) a catalog or reference row: `204`, or `404` naming `what`.
/// Callers take a [`crate::auth::StaffUser`], so anyone else is 403 first.
pub(crate) async fn retire(
    state: &AppState,
    id: uuid::Uuid,
    table: db::Retirable,
    what: &'static str,
) -> Result<StatusCode, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    if db::retire(&mut conn, table, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(what))
    }
}
