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
        (name = "visits", description = "Visits, their reports (and PDFs) and no-shows"),
        (name = "dashboards", description = "One read per role: staff, a vet, an owner"),
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
    doc.merge(routes::owner_logins::Docs::openapi());
    doc.merge(routes::vet_agenda::Docs::openapi());
    doc.merge(routes::visits::openapi());
    doc.merge(routes::invoices::Docs::openapi());
    doc.merge(routes::dashboards::Docs::openapi());
    doc.merge(routes::book::Docs::openapi());
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
    doc.merge(routes::phone_codes::Docs::openapi());
    answered_by_every_route(&mut doc);
    doc
}

/// What any `/api/v1` route may answer whatever it does: over a rate limit (`429`), a
/// dependency unavailable (`503`) or too slow (`504`); and what the extractors answer
/// for what they read: a JSON body that is not JSON (`400`), not declared as JSON
/// (`415`) or not of the schema (`422`), a path id or a query parameter that does not
/// parse (`422`), a bearer token missing or invalid (`401`). Each a problem; an
/// operation's own description of a status, where it has one, stays.
fn answered_by_every_route(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, path::ParameterIn};
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    let common = [
        (
            "429",
            "Over the rate limit of this kind of request for the caller's address; see `Retry-After`",
        ),
        (
            "503",
            "PostgreSQL or Temporal is unavailable or saturated; retry later",
        ),
        (
            "504",
            "Not answered within 30 s; a command may still take effect, and the same call again is safe",
        ),
    ];
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
            continue;
        }
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let mut statuses: Vec<(&str, &str)> = common.to_vec();
            let json_body = operation
                .request_body
                .as_ref()
                .is_some_and(|b| b.content.contains_key("application/json"));
            if json_body {
                statuses.push(("400", "The body is not valid JSON"));
                statuses.push(("415", "The body is not declared `application/json`"));
                statuses.push(("413", "The body is too large"));
            }
            let reads_input = json_body
                || operation.request_body.is_some()
                || operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query));
            if reads_input {
                statuses.push((
                    "422",
                    "A field of the body, a path id or a query parameter is invalid; `errors` names it",
                ));
            }
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                statuses.push(("401", "No valid bearer access token"));
            }
            for (status, description) in statuses {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem(description).into());
            }
        }
    }
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
