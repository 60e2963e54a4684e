//! Request extractors that answer like every other error: `422 application/problem+json`
//! naming what is wrong. Handlers take `ApiJson<T>` for a JSON body, `ApiQuery<T>` for
//! query parameters, and `PathId<T>` / `PathIds<A, B>` for the ids in the path, already
//! typed (`PathId<RequestId>`); none of them unwraps a rejection by hand.

use std::str::FromStr;

use axum::{
    Json,
    extract::{FromRequest, FromRequestParts, Query, RawPathParams, Request},
    http::request::Parts,
};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body; a malformed one is `400`/`415`, a field of the wrong shape `422` naming
/// it (see `From<JsonRejection> for ApiError`), and so is a string holding a NUL
/// character (`\u0000`), which no text column can store.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::BadRequest {
                status: axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                detail: "Expected request with `Content-Type: application/json`".into(),
            });
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest {
                status: e.status(),
                detail: e.body_text(),
            })?;
        let Json(value) = Json::<T>::from_bytes(&bytes)?;
        if let Some(field) = nul_in(&bytes) {
            return Err(ApiError::invalid(field, "must not contain a NUL character"));
        }
        Ok(Self(value))
    }
}

/// `application/json`, or any `+json` type, as axum's `Json` takes.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

/// The JSON path of a string (or key) of `body` that holds a NUL, if any.
fn nul_in(body: &[u8]) -> Option<String> {
    fn walk(value: &serde_json::Value, path: &str) -> Option<String> {
        match value {
            serde_json::Value::String(s) if s.contains('\0') => Some(path.to_owned()),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"))),
            serde_json::Value::Object(fields) => fields.iter().find_map(|(k, v)| {
                let at = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if k.contains('\0') {
                    Some(at)
                } else {
                    walk(v, &at)
                }
            }),
            _ => None,
        }
    }
    if !body.windows(5).any(|w| w == b"u0000") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    walk(&value, "").map(|p| if p.is_empty() { "body".to_owned() } else { p })
}

/// Query parameters; one that does not parse is `422` naming `query` and why.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid("query", e.body_text()))?;
        let query = parts.uri.query().unwrap_or_default();
        if let Some(pair) = query
            .split('&')
            .find(|pair| pair.to_ascii_lowercase().contains("%00"))
        {
            let name = pair.split('=').next().unwrap_or("query");
            return Err(ApiError::invalid(name, "must not contain a NUL character"));
        }
        Ok(Self(value))
    }
}

/// The path's parameters, in order, as the router named them.
async fn raw_params<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<Vec<(String, String)>, ApiError> {
    let params = RawPathParams::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::invalid("path", e.body_text()))?;
    Ok(params
        .iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

fn parse<T: FromStr>(param: Option<&(String, String)>) -> Result<T, ApiError> {
    let (name, value) = param.ok_or_else(|| ApiError::invalid("path", "an id is missing"))?;
    value
        .parse()
        .map_err(|_| ApiError::invalid(name, "must be a UUID"))
}

/// The one id in the path (`/service-requests/{id}`), typed; not a UUID → `422`
/// naming the parameter.
#[derive(Debug, Clone, Copy)]
pub struct PathId<T>(pub T);

impl<T, S> FromRequestParts<S> for PathId<T>
where
    T: FromStr,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = raw_params(parts, state).await?;
        Ok(Self(parse(params.first())?))
    }
}

/// The two ids in the path (`/vets/{id}/areas/{area_id}`), typed, in order.
#[derive(Debug, Clone, Copy)]
pub struct PathIds<A, B>(pub A, pub B);

impl<A, B, S> FromRequestParts<S> for PathIds<A, B>
where
    A: FromStr,
    B: FromStr,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = raw_params(parts, state).await?;
        Ok(Self(parse(params.first())?, parse(params.get(1))?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_is_found_where_it_is() {
        assert_eq!(
            nul_in(br#"{"a": "ok", "b": {"c": ["x", "y\u0000"]}}"#).as_deref(),
            Some("b.c[1]")
        );
        assert_eq!(
            nul_in(br#"{"reason": "no\u0000"}"#).as_deref(),
            Some("reason")
        );
        // An escaped backslash before `u0000` is text, not a NUL.
        assert_eq!(nul_in(br#"{"reason": "C:\\u0000"}"#), None);
        assert_eq!(nul_in(br#"{"reason": "fine"}"#), None);
    }
}
