//! A vet's answer to an offer: the signed links of the WhatsApp messages (no login:
//! opening one shows what the vet is about to confirm, confirming is a POST), the same
//! answer through the vet's own API, and staff recording an answer given by phone. Every
//! answer is a workflow update, so the caller learns the outcome at once.

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use domain::{RequestId, RequestState, VetAnswer, VetId, dispatch::OfferToken, paths};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use workflows::{ServiceRequestWorkflow, VetResponse, VetResponseOutcome};

use crate::extract::{ApiJson, PathId};
use crate::{
    AppState,
    auth::{AuthUser, StaffUser},
    error::{ApiError, Problem},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(show_offer, answer_offer, answer, vet_response))]
pub struct Docs;

pub fn router(limits: &crate::limits::RateLimits) -> Router<AppState> {
    let links = Router::new().route(
        &format!("{}/{{token}}/{{answer}}", paths::under_api(paths::OFFERS)),
        get(show_offer).post(answer_offer),
    );
    crate::limits::limit(links, "offer links", limits.offers)
        .route("/service-requests/{id}/answer", post(answer))
        .route("/service-requests/{id}/vet-response", post(vet_response))
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
    let outcome = crate::workflow_client::run_update(
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
        closed => Err(crate::workflow_client::answer_refused(closed)),
    }
}

/// A vet acts only on requests offered to them: anything else is refused here, without
/// troubling the workflow (which checks the details).
/// The latest offer of request `id` made to `vet`, or 403 when it never was.
pub(super) async fn require_offered(
    state: &AppState,
    id: RequestId,
    vet: VetId,
) -> Result<i32, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    db::dispatch::latest_offer(&mut conn, id, vet)
        .await?
        .ok_or_else(|| ApiError::Forbidden("this request was not offered to you".into()))
}

/// What an offer link shows before the vet confirms.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OfferLinkView {
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
        state.settings.offer_link_secret.as_bytes(),
        Utc::now().timestamp(),
    )
    .map_err(|e| match e {
        domain::dispatch::TokenError::Expired => {
            ApiError::conflict("offer-expired", "this offer has expired")
        }
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
        (status = 200, description = "What confirming will do (HTML for a browser)", body = OfferLinkView),
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
    let view = OfferLinkView {
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
        (status = 202, description = "Handed over, outcome not known in time: look at `Location`; the same call again is safe", body = crate::error::CommandAccepted),
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
        Err(ApiError::Pending { .. }) => (
            StatusCode::ACCEPTED,
            "Estamos registrando tu respuesta. Tocá el botón de nuevo en un momento para ver \
             cómo quedó: no se registra dos veces."
                .to_owned(),
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
        (status = 202, description = "Handed over, outcome not known in time: look at `Location`; the same call again is safe", body = crate::error::CommandAccepted),
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
    let latest = require_offered(&state, id, vet).await?;
    deliver_answer(
        &state,
        id,
        VetResponse {
            answer: body.answer,
            vet: Some(vet),
            // Always the offer's number, so that the update id names the offer answered.
            offer_no: Some(body.offer_no.unwrap_or(latest)),
            by_vet: true,
        },
    )
    .await
    .map(Json)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VetResponseBody {
    pub answer: VetAnswer,
    #[serde(default)]
    pub vet_id: Option<VetId>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VetResponseResult {
    /// `accepted` or `rejected`.
    #[schema(value_type = String, example = "accepted")]
    pub outcome: VetResponseOutcome,
}

#[utoipa::path(
    post,
    path = "/api/v1/service-requests/{id}/vet-response",
    tag = "service-requests",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The service request id")),
    request_body = VetResponseBody,
    responses(
        (status = 200, body = VetResponseResult),
        (status = 202, description = "Handed over, outcome not known in time: look at `Location`; the same call again is safe", body = crate::error::CommandAccepted),
        (status = 403, description = "Staff only", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No offer is open (answered, expired or finished)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
/// Staff record a vet's answer (given by phone, say), delivered as a workflow update so
/// the caller learns at once whether it counted (409 when the offer is no longer open).
async fn vet_response(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<RequestId>,
    ApiJson(body): ApiJson<VetResponseBody>,
) -> Result<Json<VetResponseResult>, ApiError> {
    // The offer answered, so that the update id names it (none for a staff request's one
    // offer, which is answered once).
    let offer_no = match body.vet_id {
        Some(vet) => {
            let mut conn = db::conn(&state.pool).await?;
            db::dispatch::latest_offer(&mut conn, id, vet).await?
        }
        None => None,
    };
    let result = deliver_answer(
        &state,
        id,
        VetResponse {
            answer: body.answer,
            vet: body.vet_id,
            offer_no,
            by_vet: false,
        },
    )
    .await?;
    Ok(Json(VetResponseResult {
        outcome: result.outcome,
    }))
}
