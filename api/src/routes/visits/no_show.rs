//! A no-show: the vet came and the owner was not there. The visit's vet or staff say
//! so once the visit has started; the request's workflow ends it `no_show`, keeping the
//! payment as the visit's fee or refunding it (`NO_SHOW_PAYMENT`), and tells the owner.

use axum::{
    Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::post,
};
use domain::{Actor, RequestId};
use serde::Deserialize;
use utoipa::ToSchema;
use workflows::{NoShow, ServiceRequestWorkflow};

use super::{Viewer, visible_visit};
use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, CommandAccepted, Problem},
    extract::{ApiJson, PathId},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(no_show))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new().route("/visits/{id}/no-show", post(no_show))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoShowBody {
    /// What happened, kept in the request's history (1 to 500 characters).
    #[schema(example = "Toqué timbre y llamé dos veces; nadie respondió.")]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/visits/{id}/no-show", tag = "visits", params(("id" = Uuid, Path)),
    request_body = NoShowBody, security(("bearer" = [])),
    responses((status = 202, description = "`accepted`: the request ends `no_show`; `pending`: handed over with the outcome not known in time (the same call again is safe)", body = CommandAccepted),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`request-state`: the visit has not started, a report was filed, or the request is over", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
/// The owner was not there: the visit's vet or staff mark it.
async fn no_show(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<uuid::Uuid>,
    ApiJson(body): ApiJson<NoShowBody>,
) -> Result<impl IntoResponse, ApiError> {
    let reason = crate::error::text(&body.reason, "reason", 500).map_err(ApiError::from)?;
    let (visit, viewer) = {
        let mut conn = db::conn(&state.pool).await?;
        let found = visible_visit(&user, &mut conn, id).await?;
        if db::reports::report(&mut conn, id).await?.is_some() {
            let why = "a report was filed for this visit: it took place";
            return Err(ApiError::conflict("request-state", why));
        }
        found
    };
    let actor = match (viewer, user.vet) {
        (Viewer::Staff, _) => Actor::Staff(user.id.into_uuid()),
        (Viewer::Vet, Some(vet)) => Actor::Vet(vet),
        _ => {
            let why = "the visit's vet or staff mark the owner absent";
            return Err(ApiError::Forbidden(why.into()));
        }
    };
    // Whether the visit has started is the workflow's to say (its validator).
    let request = RequestId::from_uuid(visit.request_id);
    crate::workflow_client::run_update(
        &state,
        request,
        ServiceRequestWorkflow::no_show,
        NoShow { actor, reason },
        "request-state",
        "the request is over",
        Some(workflows::update_ids::no_show(request)),
    )
    .await?;
    let location = format!("/api/v1/service-requests/{request}");
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location.clone())],
        Json(CommandAccepted {
            status: "accepted".into(),
            detail: "the request ends as a no-show".into(),
            location,
        }),
    ))
}
