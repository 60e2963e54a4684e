//! What several route modules share: whose records a caller may see
//! ([`owner_scope`]) and list pages ([`ListParams`], [`page`], [`Listing`]).

use db::Page;
use domain::OwnerId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::{
    auth::AuthUser,
    error::{ApiError, FieldError},
};

/// A signed-in owner or staff, with what they may see: `scope` is `None` for staff
/// (everything) and `Some(owner)` for an owner (theirs only); anyone else is 403 before
/// the path or the body is read.
pub struct Scoped {
    pub user: AuthUser,
    pub scope: Option<OwnerId>,
}

impl axum::extract::FromRequestParts<crate::AppState> for Scoped {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &crate::AppState,
    ) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        let scope = owner_scope(&user)?;
        Ok(Self { user, scope })
    }
}

/// `None` for staff (everything), `Some(owner)` for an owner (theirs only), else 403.
pub(crate) fn owner_scope(user: &AuthUser) -> Result<Option<OwnerId>, ApiError> {
    if user.is_staff {
        Ok(None)
    } else if let Some(owner) = user.owner {
        Ok(Some(owner))
    } else {
        Err(ApiError::Forbidden(
            "only pet owners and staff may do this".into(),
        ))
    }
}

/// The owner record `id`, if the caller may see it (404 otherwise).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// 0 to 100 000, default 0.
    #[param(minimum = 0, maximum = 100000)]
    pub offset: Option<i64>,
    /// Owners whose name contains this (staff).
    pub q: Option<String>,
    /// Pets of this owner (staff).
    pub owner_id: Option<Uuid>,
    /// Pets of this species.
    pub species_id: Option<Uuid>,
}

impl ListParams {
    pub(crate) fn page(&self) -> Result<Page, ApiError> {
        page(self.limit, self.offset)
    }
}

/// Just a page: `limit` and `offset`, for lists with no filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// 0 to 100 000, default 0.
    #[param(minimum = 0, maximum = 100000)]
    pub offset: Option<i64>,
}

impl PageParams {
    pub(crate) fn page(&self) -> Result<Page, ApiError> {
        page(self.limit, self.offset)
    }
}

/// The deepest page: PostgreSQL reads and drops every row before the offset, so an
/// offset is bounded like any other work a caller asks for.
pub(crate) const MAX_OFFSET: i64 = 100_000;

/// A page from `limit` (1 to 200, default 50) and `offset` (0 to [`MAX_OFFSET`],
/// default 0).
pub(crate) fn page(limit: Option<i64>, offset: Option<i64>) -> Result<Page, ApiError> {
    let limit = limit.unwrap_or(50);
    let offset = offset.unwrap_or(0);
    let mut errors = Vec::new();
    if !(1..=200).contains(&limit) {
        errors.push(FieldError::new("limit", "must be between 1 and 200"));
    }
    if !(0..=MAX_OFFSET).contains(&offset) {
        errors.push(FieldError::new(
            "offset",
            format!("must be between 0 and {MAX_OFFSET}"),
        ));
    }
    if errors.is_empty() {
        Ok(Page { limit, offset })
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// A list page.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub limit: i64,
    pub offset: i64,
}

/// An optional text field, trimmed; blank is none.
pub(crate) fn trimmed(raw: Option<String>) -> Option<String> {
    raw.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// 204 when something was deleted, else 404 naming `what`.
pub(crate) fn deleted(done: bool, what: &'static str) -> Result<axum::http::StatusCode, ApiError> {
    if done {
        Ok(axum::http::StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(what))
    }
}
