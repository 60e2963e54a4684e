//! The OpenAPI 3.1 document (`/api/v1/openapi.json`) and a docs page rendering it
//! (`/api/docs`), with Swagger UI compiled into the binary so it works offline.

use axum::{
    Json, Router,
    http::header,
    response::{Html, IntoResponse},
    routing::get,
};
use utoipa::OpenApi;

use crate::{AppState, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "AMAR Mascotas API",
        description = "Home-visit veterinary service. Every error is `application/problem+json` (RFC 9457).",
    ),
    tags(
        (name = "service-requests", description = "Service requests and their workflows"),
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Accounts and tokens"),
        (name = "owners", description = "Pet owners and their addresses"),
        (name = "pets", description = "Pets"),
        (name = "vets", description = "Veterinarians and their coverage areas"),
        (name = "catalog", description = "Services and neighborhoods: everyone reads, staff write"),
        (name = "reference", description = "Reference data: everyone reads, staff write"),
    )
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/docs", get(page))
        .route("/api/docs/swagger-ui.css", get(css))
        .route("/api/docs/swagger-ui-bundle.js", get(bundle))
        .route("/api/docs/init.js", get(init))
}

/// The whole document: the header above plus every route module's paths and schemas.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(routes::requests::openapi());
    doc.merge(routes::health::Docs::openapi());
    doc.merge(routes::auth::Docs::openapi());
    doc.merge(routes::owners::Docs::openapi());
    doc.merge(routes::pets::Docs::openapi());
    doc.merge(routes::breeds::Docs::openapi());
    doc.merge(routes::vaccines::Docs::openapi());
    doc.merge(routes::vets::Docs::openapi());
    doc.merge(routes::vet_schedule::Docs::openapi());
    doc.merge(routes::reference::Docs::openapi());
    doc.merge(routes::catalog::Docs::openapi());
    doc.merge(routes::studies::Docs::openapi());
    doc.merge(routes::pricing::Docs::openapi());
    doc.merge(routes::cart::Docs::openapi());
    doc.merge(routes::payments::Docs::openapi());
    doc
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

async fn page() -> Html<&'static str> {
    Html(include_str!("../../assets/docs.html"))
}

async fn css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css")],
        include_str!("../../assets/swagger-ui/swagger-ui.css"),
    )
}

async fn bundle() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript")],
        include_str!("../../assets/swagger-ui/swagger-ui-bundle.js"),
    )
}

async fn init() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript")],
        include_str!("../../assets/docs-init.js"),
    )
}
