//! One error envelope for every error response: `application/problem+json` (RFC 9457)
//! with a stable `type`, and per-field `errors` for validation. A 5xx body never carries
//! internal detail; that goes to the log.
//!
//! Which error where: every handler and extractor returns [`ApiError`]. Input is
//! rejected by the extractors (`crate::extract`: a body, the query, typed ids) or by the
//! handler with [`ApiError::invalid`] (`422` naming the field); a state that forbids the
//! call is [`ApiError::conflict`] (`409` of a stable kind); who may not is
//! `Unauthorized`/`Forbidden`, checked first (`AuthUser`, `StaffUser`). Database errors
//! convert with `?` (`crate::db_errors`): a named constraint a caller can hit is a
//! `409`/`422`, a starved pool `503`. Temporal's errors are mapped in
//! `crate::workflow_client`, where every call to Temporal is made, each with a deadline;
//! a command without an outcome in time is `Pending` (`202`). Only what no caller can
//! cause is `Internal` (`500`, logged).

use axum::{
    Json,
    extract::rejection::{JsonRejection, PathRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};

/// One invalid input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON path of the field, e.g. `description`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body or a parameter is malformed or fails validation (422).
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    /// The body is not JSON at all, or not `application/json` (400/415).
    #[error("{detail}")]
    BadRequest { status: StatusCode, detail: String },
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Missing, invalid or expired credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed to do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts; try again after `retry_after_secs` (429).
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    /// The request conflicts with the current state (409), e.g. a duplicate id.
    #[error("{detail}")]
    Conflict { kind: &'static str, detail: String },
    /// A dependency (PostgreSQL, Temporal) is unreachable or too slow (503/504).
    #[error("{detail}")]
    Unavailable { status: StatusCode, detail: String },
    /// Not a failure: a command (a workflow update) was handed over but its outcome was
    /// not known in time. `202` with `Location` where the outcome will show.
    #[error("handed over; the outcome will show at {location}")]
    Pending { location: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The body of a `202`: a command taken in whose effects follow (`accepted`, e.g. a
/// cancellation with its refund), or one handed over whose outcome is not known yet
/// (`pending`).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommandAccepted {
    /// `accepted` or `pending`.
    #[schema(example = "pending")]
    pub status: String,
    pub detail: String,
    /// Where the outcome will show (also in the `Location` header); sending the same
    /// command again is safe and answers its outcome once known.
    #[schema(example = "/api/v1/service-requests/0192e4c0-0000-7000-8000-000000000000")]
    pub location: String,
}

/// One field wrong: a `422` naming it.
impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        Self::Validation(vec![error])
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(e) => {
                // serde names the field in its message ("missing field `description`").
                let message = std::error::Error::source(&e)
                    .map(ToString::to_string)
                    .unwrap_or_else(|| e.body_text());
                Self::invalid(field_of(&message), message)
            }
            JsonRejection::MissingJsonContentType(e) => Self::BadRequest {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                detail: e.body_text(),
            },
            other => Self::BadRequest {
                status: StatusCode::BAD_REQUEST,
                detail: other.body_text(),
            },
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::invalid("path", rejection.body_text())
    }
}

/// A required text field, trimmed, of 1 to `max` characters; else the error naming it.
pub fn text(raw: &str, field: &str, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() || value.chars().count() > max {
        Err(FieldError::new(
            field,
            format!("must be 1 to {max} characters"),
        ))
    } else {
        Ok(value.to_owned())
    }
}

/// A name that goes into messages (a pet's, an owner's, a vet's): see
/// [`domain::names`].
pub fn name(raw: &str, field: &str, max: usize) -> Result<String, FieldError> {
    domain::names::name(raw, max).map_err(|e| FieldError::new(field, e.to_string()))
}

/// The field a serde error is about: `description: invalid type...` or
/// "missing field `description`" or "unknown field `foo`".
fn field_of(message: &str) -> String {
    // axum reports the path first ("pet.name: invalid type ...") when there is one.
    if let Some((path, _)) = message.split_once(": ")
        && !path.contains(' ')
        && path != "."
    {
        return path.to_owned();
    }
    if let Some(start) = message.find('`')
        && let Some(len) = message[start + 1..].find('`')
    {
        return message[start + 1..start + 1 + len].to_owned();
    }
    "body".to_owned()
}

/// The body of every error response (`application/problem+json`, RFC 9457).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g.
    /// `https://amarmascotas.ar/problems/validation`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For validation problems: each offending field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl ApiError {
    /// `422`: `field` is wrong, and why.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// `409` of `kind` (`https://amarmascotas.ar/problems/<kind>`): the request conflicts
    /// with the current state.
    pub fn conflict(kind: &'static str, detail: impl Into<String>) -> Self {
        Self::Conflict {
            kind,
            detail: detail.into(),
        }
    }

    /// The HTTP status this error answers with.
    pub fn clone_status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest { status, .. } | Self::Unavailable { status, .. } => *status,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Pending { .. } => StatusCode::ACCEPTED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Pending { location } = &self {
            let body = CommandAccepted {
                status: "pending".into(),
                detail: "the request's workflow did not answer in time; the outcome will show \
                         at `location`, and sending the same command again is safe"
                    .into(),
                location: location.clone(),
            };
            let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
            if let Ok(value) = HeaderValue::from_str(location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            return response;
        }
        let (status, kind, title, detail, errors) = match &self {
            Self::Validation(errors) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid input",
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                Some(errors.clone()),
            ),
            Self::BadRequest { status, detail } => {
                (*status, "bad-request", "Bad request", detail.clone(), None)
            }
            Self::NotFound(what) => (
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                format!("{what} not found"),
                None,
            ),
            Self::Unauthorized(detail) => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                detail.clone(),
                None,
            ),
            Self::Forbidden(detail) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                detail.clone(),
                None,
            ),
            Self::TooManyRequests { detail, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
                detail.clone(),
                None,
            ),
            Self::Conflict { kind, detail } => (
                StatusCode::CONFLICT,
                *kind,
                "Conflict",
                detail.clone(),
                None,
            ),
            Self::Unavailable { status, detail } => {
                tracing::warn!(%detail, "dependency unavailable");
                (
                    *status,
                    "unavailable",
                    "Service unavailable",
                    "a service this request needs is unavailable; try again shortly".to_owned(),
                    None,
                )
            }
            Self::Pending { .. } => unreachable!("answered above"),
            Self::Internal(err) => {
                tracing::error!(error = ?err, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "something went wrong on our side; it has been logged".to_owned(),
                    None,
                )
            }
        };
        let body = Problem {
            kind: format!("https://amarmascotas.ar/problems/{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            errors,
        };
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self {
            Self::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::TooManyRequests {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn serde_messages_name_their_field() {
        assert_eq!(
            field_of("missing field `description` at line 1 column 2"),
            "description"
        );
        assert_eq!(field_of("unknown field `colour`, expected `id`"), "colour");
        assert_eq!(field_of("id: invalid length 3"), "id");
        assert_eq!(
            field_of("description: invalid type: integer `5`, expected a string"),
            "description"
        );
        assert_eq!(field_of("expected value at line 1 column 1"), "body");
    }
}
