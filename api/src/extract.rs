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
/// it (see `From<JsonRejection> for ApiError`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(Self(value))
    }
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
