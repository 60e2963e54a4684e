//! The booking page (`GET /book?pet=…&service=…&address=…`): where a vaccine reminder's
//! link leads. A small page of the API's own (its script served beside it, as the
//! content security policy wants): the owner signs in, chooses the day and the window
//! for the prefilled pet, service and address, sees the price and books, through the
//! same endpoints any frontend uses.

use axum::{Router, response::IntoResponse, routing::get};
use domain::paths;

use crate::AppState;

#[derive(utoipa::OpenApi)]
#[openapi(paths(page, script))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(paths::under_api(paths::BOOKING), get(page))
        .route(
            &format!("{}/page.js", paths::under_api(paths::BOOKING)),
            get(script),
        )
}

#[utoipa::path(
    get,
    path = "/api/v1/book",
    tag = "pricing",
    params(
        ("pet" = Option<Uuid>, Query, description = "The pet to book for"),
        ("service" = Option<Uuid>, Query, description = "The service to book"),
        ("address" = Option<Uuid>, Query, description = "The address chosen first"),
    ),
    responses((status = 200, description = "The booking page", content_type = "text/html"))
)]
/// The booking page a vaccine reminder links to (its query prefills it).
async fn page() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("../../assets/book.html"))
}

#[utoipa::path(
    get,
    path = "/api/v1/book/page.js",
    tag = "pricing",
    responses((status = 200, description = "The booking page's script", content_type = "text/javascript"))
)]
async fn script() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/javascript")],
        include_str!("../../assets/book.js"),
    )
}
