//! A vet's side of dispatch: the signed offer links of the WhatsApp messages (no login:
//! opening one shows what the vet is about to confirm, confirming is a POST), the same
//! answer through the vet's own API, setting the visit's time, and staff reassignment.
//! Every answer is a workflow update, so the caller learns the outcome at once.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use domain::{Actor, RequestId, RequestState, VetAnswer, VetId, dispatch::OfferToken, paths};
use serde::{Deserialize, Serialize};
use temporalio_client::{WorkflowExecuteUpdateOptions, errors::WorkflowUpdateError};
use utoipa::ToSchema;
use workflows::{
    Coordinate, CoordinateOutcome, Reassign, Refusal, ServiceRequestWorkflow, VetResponse,
    VetResponseOutcome,
};

use crate::extract::{ApiJson, PathId};
use crate::{
    AppState,
    auth::{AuthUser, StaffUser},
    error::{ApiError, Problem},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(show_offer, answer_offer, answer, coordinate, reassign))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{}/{{token}}/{{answer}}", paths::under_api(paths::OFFERS)),
            get(show_offer).post(answer_offer),
        )
        .route("/service-requests/{id}/answer", post(answer))
        .route("/service-requests/{id}/coordinate", post(coordinate))
        .route("/service-requests/{id}/reassign", post(reassign))
}

/// What an answer did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AnswerResult {
    /// `accepted` or `rejected`.
    #[schema(value_type = String, example = "accepted")]
    pub outcome: VetResponseOutcome,
}

/// Delivers an answer to the request's workflow and turns the outcome into a response:
/// `200` accepted/rejected; `409` taken by another vet, expired, already answered;
/// `403` not this vet's offer.
pub(crate) async fn deliver_answer(
    state: &AppState,
    id: RequestId,
    response: VetResponse,
) -> Result<AnswerResult, ApiError> {
    let update_id =
        workflows::update_ids::answer(id, response.vet, response.offer_no, response.answer);
    let outcome = run_update(
        state,
        id,
        ServiceRequestWorkflow::vet_response,
        response,
        "offer-closed",
        "the request is closed to answers",
        Some(update_id),
    )
    .await?;
    match outcome {
        VetResponseOutcome::Accepted | VetResponseOutcome::Rejected => Ok(AnswerResult { outcome }),
        closed => Err(answer_refused(closed)),
    }
}

/// What an answer that did not count is told: `409 offer-taken`, `offer-expired`,
/// `offer-answered`, or `403` for another vet's offer. The same whether the validator
/// refused it or (in histories from before) the update answered so.
fn answer_refused(outcome: VetResponseOutcome) -> ApiError {
    match outcome {
        VetResponseOutcome::Taken => ApiError::Conflict {
            kind: "offer-taken",
            detail: "another vet accepted this request first".into(),
        },
        VetResponseOutcome::Expired => ApiError::Conflict {
            kind: "offer-expired",
            detail: "this offer has expired".into(),
        },
        VetResponseOutcome::NotYours => ApiError::Forbidden("this offer is not yours".into()),
        VetResponseOutcome::AlreadyAnswered
        | VetResponseOutcome::Accepted
        | VetResponseOutcome::Rejected => ApiError::Conflict {
            kind: "offer-answered",
            detail: "this offer was already answered".into(),
        },
    }
}

/// Runs a workflow update with the API's deadline (`TEMPORAL_UPDATE_TIMEOUT_MS`). A
/// validator's refusal naming a field is a 422 (`NotAllowed` a 403); any other is a 409
/// of `kind`. A finished workflow is a 409 of `kind` saying `closed` when the request
/// exists (`offer-expired` for an expired one's offers), else 404. No outcome in time is
/// a `202` pointing at the request: `update_id` makes the same call again safe.
pub(crate) async fn run_update<U>(
    state: &AppState,
    id: RequestId,
    update: U,
    input: U::Input,
    kind: &'static str,
    closed: &str,
    update_id: Option<String>,
) -> Result<U::Output, ApiError>
where
    U: temporalio_common::UpdateDefinition<
            Workflow = <ServiceRequestWorkflow as temporalio_common::HasWorkflowDefinition>::Run,
        >,
    U::Input: Send + 'static,
    U::Output: 'static,
{
    let handle = state
        .temporal
        .get_workflow_handle::<ServiceRequestWorkflow>(id.workflow_id());
    let mut options = WorkflowExecuteUpdateOptions::default();
    options.update_id = update_id;
    let call = handle.execute_update(update, input, options);
    match tokio::time::timeout(state.settings.update_timeout, call).await {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(WorkflowUpdateError::NotFound(_))) => {
            let mut conn = db::conn(&state.pool).await?;
            match db::requests::find_request(&mut conn, id).await? {
                Some(found) => Err(ApiError::Conflict {
                    kind: if kind == "offer-closed" && found.request.state == RequestState::Expired
                    {
                        "offer-expired"
                    } else {
                        kind
                    },
                    detail: format!("{closed}: it is {}", found.request.state),
                }),
                None => Err(ApiError::NotFound("service request")),
            }
        }
        Ok(Err(WorkflowUpdateError::Failed(failure))) => Err(refusal(&failure.message, kind)),
        Ok(Err(e)) => Err(ApiError::Unavailable {
            status: StatusCode::SERVICE_UNAVAILABLE,
            detail: format!("update failed: {e}"),
        }),
        Err(_) => Err(ApiError::Pending {
            location: format!("/api/v1/service-requests/{id}"),
        }),
    }
}

fn refusal(message: &str, kind: &'static str) -> ApiError {
    match Refusal::parse(message) {
        Refusal::NotAllowed(detail) => ApiError::Forbidden(detail),
        Refusal::Invalid { field, message } => ApiError::invalid(field, message),
        Refusal::State(detail) => ApiError::Conflict { kind, detail },
        Refusal::OfferClosed(outcome) => answer_refused(outcome),
    }
}

/// A vet acts only on requests offered to them: anything else is refused here, without
/// troubling the workflow (which checks the details).
async fn require_offered(state: &AppState, id: RequestId, vet: VetId) -> Result<(), ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    if db::dispatch::was_offered(&mut conn, id, vet).await? {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "this request was not offered to you".into(),
        ))
    }
}

/// The vet the request is with now, as PostgreSQL knows it.
async fn current_vet(state: &AppState, id: RequestId) -> Result<Option<VetId>, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let found = db::requests::find_request(&mut conn, id).await?;
    Ok(found.and_then(|f| f.request.vet_id).map(VetId::from_uuid))
}

/// What an offer link shows before the vet confirms.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OfferView {
    pub request_id: RequestId,
    pub offer_no: i32,
    /// What confirming does: `accept` or `reject`.
    #[schema(value_type = String, example = "accept")]
    pub answer: VetAnswer,
    pub vet_name: String,
    pub service: String,
    pub pet: String,
    pub neighborhood: String,
    /// Local time, e.g. `30/11 10:00-12:00`.
    pub window: String,
    pub expires_at: DateTime<Utc>,
    /// The request's state now.
    pub state: RequestState,
}

fn verify(state: &AppState, raw: &str, answer: &str) -> Result<(OfferToken, VetAnswer), ApiError> {
    let answer: VetAnswer = answer
        .parse()
        .map_err(|_| ApiError::NotFound("offer link"))?;
    let token = OfferToken::verify(
        raw,
        &state.settings.offer_link_secret,
        Utc::now().timestamp(),
    )
    .map_err(|e| match e {
        domain::dispatch::TokenError::Expired => ApiError::Conflict {
            kind: "offer-expired",
            detail: "this offer has expired".into(),
        },
        _ => ApiError::NotFound("offer link"),
    })?;
    Ok((token, answer))
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

#[utoipa::path(
    get,
    path = "/api/v1/offers/{token}/{answer}",
    tag = "dispatch",
    params(
        ("token" = String, Path, description = "The signed token of the WhatsApp link"),
        ("answer" = String, Path, description = "`accept` or `reject`"),
    ),
    responses(
        (status = 200, description = "What confirming will do (HTML for a browser)", body = OfferView),
        (status = 404, description = "Not a link of ours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The offer has expired", body = Problem, content_type = "application/problem+json"),
    )
)]
/// Opens an offer link: shows the request (service, pet, neighbourhood, window) and what
/// confirming will do. Changes nothing; a browser gets a page with the confirm button.
async fn show_offer(
    State(state): State<AppState>,
    Path((raw, answer)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (token, answer) = verify(&state, &raw, &answer)?;
    let mut conn = db::conn(&state.pool).await?;
    let context = db::dispatch::offer_context(&mut conn, token.request, token.vet)
        .await?
        .ok_or(ApiError::NotFound("offer link"))?;
    let request = db::requests::find_request(&mut conn, token.request)
        .await?
        .ok_or(ApiError::NotFound("offer link"))?;
    let view = OfferView {
        request_id: token.request,
        offer_no: token.offer_no,
        answer,
        vet_name: context.vet_name,
        service: context.service,
        pet: context.pet,
        neighborhood: context.neighborhood,
        window: context.window,
        expires_at: DateTime::from_timestamp(token.expires_at, 0).unwrap_or_default(),
        state: request.request.state,
    };
    if !wants_html(&headers) {
        return Ok(Json(view).into_response());
    }
    let verb = match answer {
        VetAnswer::Accept => "Aceptar",
        VetAnswer::Reject => "Rechazar",
    };
    Ok(page(
        &format!("{verb} la visita"),
        &format!(
            "<p>Hola {}: {} para {} en {}, {}.</p>\
             <form method=\"post\"><button type=\"submit\">{verb}</button></form>",
            escape(&view.vet_name),
            escape(&view.service),
            escape(&view.pet),
            escape(&view.neighborhood),
            escape(&view.window),
        ),
    ))
}

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html><html lang=\"es\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body}</body></html>"
    ))
    .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[utoipa::path(
    post,
    path = "/api/v1/offers/{token}/{answer}",
    tag = "dispatch",
    params(
        ("token" = String, Path, description = "The signed token of the WhatsApp link"),
        ("answer" = String, Path, description = "`accept` or `reject`"),
    ),
    responses(
        (status = 200, body = AnswerResult),
        (status = 202, description = "Handed over, outcome not known in time: look at `Location`; the same call again is safe", body = crate::error::PendingCommand),
        (status = 403, description = "Not this vet's offer", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not a link of ours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Taken by another vet, expired, or already answered", body = Problem, content_type = "application/problem+json"),
    )
)]
/// Confirms an offer link's answer. Safe to press again: the same answer gets its first
/// outcome; the other answer is `409 offer-answered`.
/// A browser's form post gets a page saying what happened.
async fn answer_offer(
    State(state): State<AppState>,
    Path((raw, answer)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (token, answer) = verify(&state, &raw, &answer)?;
    let result = deliver_answer(
        &state,
        token.request,
        VetResponse {
            answer,
            vet: Some(token.vet),
            offer_no: Some(token.offer_no),
            by_vet: true,
        },
    )
    .await;
    tracing::info!(request = %token.request, vet = %token.vet, offer_no = token.offer_no, ok = result.is_ok(), "offer link answered");
    if !wants_html(&headers) {
        return Ok(Json(result?).into_response());
    }
    let (status, text) = match result {
        Ok(AnswerResult {
            outcome: VetResponseOutcome::Accepted,
        }) => (
            StatusCode::OK,
            "¡Listo! La visita es tuya. Te escribimos para fijar el horario.".to_owned(),
        ),
        Ok(_) => (
            StatusCode::OK,
            "Registramos que no podés tomarla. ¡Gracias!".to_owned(),
        ),
        Err(e) => {
            let status = e.clone_status();
            (status, format!("No se pudo registrar tu respuesta: {e}."))
        }
    };
    let mut response = page("AMAR Mascotas", &format!("<p>{}</p>", escape(&text)));
    *response.status_mut() = status;
    Ok(response)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    #[schema(value_type = String, example = "accept")]
    pub answer: VetAnswer,
    /// The offer answered; default: the vet's latest offer of this request.
    #[serde(default)]
    pub offer_no: Option<i32>,
}

#[utoipa::path(
    post,
    path = "/api/v1/service-requests/{id}/answer",
    tag = "dispatch",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The service request id")),
    request_body = AnswerBody,
    responses(
        (status = 200, body = AnswerResult),
        (status = 202, description = "Handed over, outcome not known in time: look at `Location`; the same call again is safe", body = crate::error::PendingCommand),
        (status = 403, description = "Not a vet, or not this vet's offer", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Taken by another vet, expired, or already answered", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
/// A vet answers an offer made to them, signed in.
async fn answer(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<RequestId>,
    ApiJson(body): ApiJson<AnswerBody>,
) -> Result<Json<AnswerResult>, ApiError> {
    let vet = user
        .vet
        .ok_or_else(|| ApiError::Forbidden("vets only".into()))?;
    require_offered(&state, id, vet).await?;
    deliver_answer(
        &state,
        id,
        VetResponse {
            answer: body.answer,
            vet: Some(vet),
            offer_no: body.offer_no,
            by_vet: true,
        },
    )
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoordinateBody {
    /// The visit's exact start; the visit must fit inside the wanted window.
    pub start: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Coordinated {
    pub state: RequestState,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[utoipa::path(
    post,
    path = "/api/v1/service-requests/{id}/coordinate",
    tag = "dispatch",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The service request id")),
    request_body = CoordinateBody,
    responses(
        (status = 200, body = Coordinated),
        (status = 202, description = "Handed over, outcome not known in time: look at `Location`; the same call again is safe", body = crate::error::PendingCommand),
        (status = 403, description = "Not the accepted vet nor staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not waiting for a time, or the vet is booked then", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Outside the wanted window", body = Problem, content_type = "application/problem+json"),
    )
)]
/// The accepted vet (or staff) sets the visit's start: the vet's time is booked (never
/// twice for overlapping times) and the request is `coordinated`.
async fn coordinate(
    user: AuthUser,
    State(state): State<AppState>,
    PathId(id): PathId<RequestId>,
    ApiJson(body): ApiJson<CoordinateBody>,
) -> Result<Json<Coordinated>, ApiError> {
    let actor = match (user.is_staff, user.vet) {
        (true, _) => Actor::Staff(user.id.into_uuid()),
        (false, Some(vet)) => Actor::Vet(vet),
        _ => return Err(ApiError::Forbidden("only the accepted vet or staff".into())),
    };
    let vet = match actor {
        Actor::Vet(vet) => {
            require_offered(&state, id, vet).await?;
            Some(vet)
        }
        _ => current_vet(&state, id).await?,
    };
    let update_id = workflows::update_ids::coordinate(id, vet, body.start);
    let outcome = run_update(
        &state,
        id,
        ServiceRequestWorkflow::coordinate,
        Coordinate {
            start: body.start,
            actor,
        },
        "request-state",
        "the request is not waiting for a time",
        Some(update_id),
    )
    .await?;
    match outcome {
        CoordinateOutcome::Coordinated { start, end } => Ok(Json(Coordinated {
            state: RequestState::Coordinated,
            start,
            end,
        })),
        CoordinateOutcome::Overlap => Err(ApiError::Conflict {
            kind: "vet-double-booked",
            detail: "the vet already has a visit at that time".into(),
        }),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignBody {
    /// Why, kept in the state history.
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/service-requests/{id}/reassign",
    tag = "dispatch",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The service request id")),
    request_body = ReassignBody,
    responses(
        (status = 202, description = "Dispatch starts again without the current vet; or, with a `PendingCommand` body and `Location`, handed over with the outcome not known in time (the same call again is safe)", body = crate::error::PendingCommand),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The request has no vet to replace", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
/// Staff send an accepted or coordinated request back to dispatch, with a reason: the
/// vet's time is released and the vet is not asked again.
async fn reassign(
    StaffUser(user): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<RequestId>,
    ApiJson(body): ApiJson<ReassignBody>,
) -> Result<StatusCode, ApiError> {
    if body.reason.trim().is_empty() {
        return Err(ApiError::invalid("reason", "must not be blank"));
    }
    let vet = current_vet(&state, id).await?;
    run_update(
        &state,
        id,
        ServiceRequestWorkflow::reassign,
        Reassign {
            actor: Actor::Staff(user.id.into_uuid()),
            reason: body.reason,
        },
        "request-state",
        "the request has no vet to replace",
        Some(workflows::update_ids::reassign(id, vet)),
    )
    .await?;
    Ok(StatusCode::ACCEPTED)
}
