//! An owner booked by phone gets a login: staff create it (a user without a password)
//! and the owner is emailed a one-time link to choose the password (the link never
//! shows in an answer: only the owner's mailbox has it). Staff can send a new link
//! while no password is set; the earlier ones stop working.

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::post};
use chrono::{DateTime, Utc};
use domain::{OwnerId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{
    AppState,
    auth::StaffUser,
    error::{ApiError, Problem},
    extract::PathId,
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(create_owner_user, send_welcome_again))]
pub struct Docs;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/owners/{id}/user", post(create_owner_user))
        .route("/owners/{id}/user/welcome", post(send_welcome_again))
}

/// How long a set-password link works.
const LINK_VALID: chrono::Duration = chrono::Duration::days(7);

/// Whether the welcome email left.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WelcomeEmail {
    /// The address it was sent to.
    pub to: String,
    /// `true` once the mail server took it.
    pub sent: bool,
    /// Why it was not sent (the login exists; send it again with
    /// `POST /api/v1/owners/{id}/user/welcome`).
    pub problem: Option<String>,
}

/// The owner's new login and its welcome.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OwnerLogin {
    pub user_id: Uuid,
    /// Until when the emailed link works.
    pub expires_at: DateTime<Utc>,
    pub welcome_email: WelcomeEmail,
}

#[utoipa::path(post, path = "/api/v1/owners/{id}/user", tag = "owners", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 201, body = OwnerLogin, description = "The login exists; `welcome_email` says whether its email left"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The owner already has a login, or the email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The owner has no email", body = Problem, content_type = "application/problem+json")))]
/// Staff give a phone-booked owner a login: a user without a password, and an email to
/// the owner with a one-time link, valid 7 days, to choose it.
async fn create_owner_user(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<OwnerId>,
) -> Result<impl IntoResponse, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    let owner = db::owners::owner(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("owner"))?;
    if owner.user_id.is_some() {
        return Err(ApiError::conflict(
            "owner-has-user",
            "this owner already has a login",
        ));
    }
    let Some(email) = owner.email.clone() else {
        return Err(ApiError::invalid("email", "the owner needs an email first"));
    };
    let (token, hash) = crate::auth::refresh_token();
    let expires_at = Utc::now() + LINK_VALID;
    let created = db::users::create_user_for_owner(&mut conn, id, &hash, expires_at).await?;
    drop(conn);
    let user_id = created
        .ok_or_else(|| ApiError::conflict("owner-has-user", "this owner got a login meanwhile"))?;
    let welcome_email = welcome(
        &state,
        user_id,
        &email,
        &owner.full_name,
        &token,
        &hash,
        expires_at,
    )
    .await;
    Ok((
        StatusCode::CREATED,
        Json(OwnerLogin {
            user_id: user_id.into_uuid(),
            expires_at,
            welcome_email,
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/owners/{id}/user/welcome", tag = "owners", params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = OwnerLogin, description = "A new link; `welcome_email` says whether its email left"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The owner has no login yet, or has chosen a password already", body = Problem, content_type = "application/problem+json")))]
/// Staff send the owner a new set-password link (the email was lost, or the link ran
/// out): the earlier links stop working.
async fn send_welcome_again(
    StaffUser(_user): StaffUser,
    State(state): State<AppState>,
    PathId(id): PathId<OwnerId>,
) -> Result<impl IntoResponse, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    db::owners::owner(&mut conn, id)
        .await?
        .ok_or(ApiError::NotFound("owner"))?;
    let (token, hash) = crate::auth::refresh_token();
    let expires_at = Utc::now() + LINK_VALID;
    let reissued = db::users::reissue_password_token(&mut conn, id, &hash, expires_at).await?;
    drop(conn);
    let (user_id, email, full_name) = reissued.ok_or_else(|| {
        ApiError::conflict(
            "no-pending-login",
            "the owner has no login waiting for its first password",
        )
    })?;
    let welcome_email = welcome(
        &state, user_id, &email, &full_name, &token, &hash, expires_at,
    )
    .await;
    Ok(Json(OwnerLogin {
        user_id: user_id.into_uuid(),
        expires_at,
        welcome_email,
    }))
}

/// Emails the set-password link, once per token (the ledger key carries a prefix of the
/// token's hash, never the token). The link's token sits after `#`, so it never
/// reaches a server's access log.
async fn welcome(
    state: &AppState,
    user: UserId,
    email: &str,
    full_name: &str,
    token: &str,
    hash: &[u8],
    expires_at: DateTime<Utc>,
) -> WelcomeEmail {
    let link = format!(
        "{}{}#token={token}",
        state.settings.public_base_url.trim_end_matches('/'),
        domain::paths::SET_PASSWORD,
    );
    let tag: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let key = format!("welcome:{user}:{tag}");
    let to = messages::email::Recipient { email, full_name };
    let message = messages::email::welcome(&to, &key, &link, expires_at);
    let sent =
        messages::ledger::send_email_once(&state.pool, &state.mailer, &key, "welcome", &message)
            .await;
    if let Err(e) = &sent {
        tracing::warn!(%user, error = %e, "welcome email not sent");
    }
    WelcomeEmail {
        to: email.to_owned(),
        sent: sent.is_ok(),
        problem: sent.err().map(|e| e.to_string()),
    }
}
