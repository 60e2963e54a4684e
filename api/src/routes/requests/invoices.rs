//! A request's AFIP receipts: `GET /service-requests/{id}/invoices` (its owner or
//! staff; anyone else "not found"). The receipts themselves are
//! [`crate::routes::invoices`].

use axum::{Json, Router, extract::State, routing::get};
use domain::RequestId;

use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, Problem},
    extract::PathId,
    routes::invoices::InvoiceView,
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(request_invoices))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new().route("/service-requests/{id}/invoices", get(request_invoices))
}

#[utoipa::path(get, path = "/api/v1/service-requests/{id}/invoices", tag = "invoices",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = [InvoiceView], description = "The request's receipts, oldest first"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// A request's receipts: its invoice and, if refunded, the credit note.
async fn request_invoices(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<RequestId>,
) -> Result<Json<Vec<InvoiceView>>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let owner = db::invoices::request_owner(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("service request"))?;
    let owns = user.owner.is_some_and(|o| Some(o.into_uuid()) == owner);
    if !user.is_staff && !owns {
        return Err(ApiError::NotFound("service request"));
    }
    let rows = db::invoices::of_request(&mut conn, id).await?;
    Ok(Json(rows.into_iter().map(InvoiceView::from).collect()))
}
