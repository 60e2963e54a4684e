//! Register (pet owners), login, refresh (rotating), logout, and `me`.

use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::IntoResponse,
    routing::{get, post},
};
use chrono::Utc;
use domain::{Email, OwnerId, Password, Role, UserId, VetId, paths};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::client_ip::ClientIp;
use crate::extract::ApiJson;
use crate::limits::RateLimits;
use crate::sign_in_throttle::{Failures, Throttle};
use crate::{
    AppState,
    auth::{self, AuthUser},
    error::{ApiError, FieldError, Problem},
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    register,
    login,
    refresh,
    logout,
    me,
    set_password,
    set_password_page,
    set_password_script
))]
pub struct Docs;

/// `pool_size`: the API's database connections, of which sign-ins use at most half.
pub fn router(limits: &RateLimits, pool_size: usize) -> Router<AppState> {
    let anonymous = Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route(
            paths::under_api(paths::SET_PASSWORD),
            get(set_password_page).post(set_password),
        )
        .route(
            &format!("{}/page.js", paths::under_api(paths::SET_PASSWORD)),
            get(set_password_script),
        );
    let anonymous = crate::limits::at_most(anonymous, "sign-in", pool_size / 2);
    crate::limits::limit(anonymous, "sign-in", limits.auth)
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    #[schema(example = "ana.perez@example.com")]
    pub email: String,
    /// 10 to 128 characters.
    pub password: String,
    #[schema(example = "Ana Pérez")]
    pub full_name: String,
    #[serde(default)]
    #[schema(example = "+5491155550000")]
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    pub refresh_token: String,
}

/// A fresh pair: a short-lived access token and the refresh token that replaces it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Tokens {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds the access token is valid for.
    pub expires_in: u64,
    /// Single use: each refresh returns a new one; reusing an old one revokes them all.
    pub refresh_token: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub id: UserId,
    pub email: String,
    pub full_name: String,
    pub roles: Vec<Role>,
    pub owner_id: Option<OwnerId>,
    pub vet_id: Option<VetId>,
}

fn full_name(raw: &str) -> Result<String, FieldError> {
    crate::error::name(raw, "full_name", 200)
}

/// Signs a user in: a new session, ending `REFRESH_TOKEN_TTL_SECS` from now.
async fn sign_in(state: &AppState, user: UserId) -> Result<Tokens, ApiError> {
    let expires_at = Utc::now()
        + chrono::Duration::from_std(state.settings.auth.refresh_ttl)
            .map_err(anyhow::Error::from)?;
    issue_tokens(state, user, uuid::Uuid::now_v7(), expires_at).await
}

async fn issue_tokens(
    state: &AppState,
    user: UserId,
    family: uuid::Uuid,
    expires_at: chrono::DateTime<Utc>,
) -> Result<Tokens, ApiError> {
    let settings = &state.settings.auth;
    let access_token = auth::access_token(settings, user)?;
    let (refresh_token, hash) = auth::refresh_token();
    let mut conn = db::conn(&state.pool).await?;
    db::users::insert_refresh_token(&mut conn, user, family, &hash, expires_at).await?;
    Ok(Tokens {
        access_token,
        token_type: "Bearer".into(),
        expires_in: settings.access_ttl.as_secs(),
        refresh_token,
    })
}

async fn hash_off_runtime(password: Password) -> Result<String, ApiError> {
    auth::hash_password_bounded(password.expose().to_owned()).await
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    tag = "auth",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "The owner account exists and is signed in", body = Tokens),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
/// Creates a pet owner's account and signs them in.
async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<impl IntoResponse, ApiError> {
    let mut errors = Vec::new();
    let email = Email::parse(&body.email)
        .map_err(|e| errors.push(FieldError::new("email", e.to_string())))
        .ok();
    let password = Password::parse(&body.password)
        .map_err(|e| errors.push(FieldError::new("password", e.to_string())))
        .ok();
    let name = full_name(&body.full_name).map_err(|e| errors.push(e)).ok();
    let phone = body
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .and_then(|raw| {
            domain::names::whatsapp_number(raw)
                .map_err(|e| errors.push(FieldError::new("phone", e)))
                .ok()
        });
    let phone = phone.as_deref();
    let (Some(email), Some(password), Some(name)) = (email, password, name) else {
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let taken = || ApiError::conflict("email-taken", "an account with this email already exists");
    // A taken email costs a lookup, never a password hash.
    {
        let mut conn = db::conn(&state.pool).await?;
        if db::users::email_taken(&mut conn, &email).await? {
            return Err(taken());
        }
    }
    let hash = hash_off_runtime(password).await?;
    let mut conn = db::conn(&state.pool).await?;
    let account = db::users::register_owner(&mut conn, &email, &hash, &name, phone)
        .await
        .map_err(|e| match e.unique_violation() {
            Some(_) => taken(),
            None => e.into(),
        })?;
    drop(conn);
    let tokens = sign_in(&state, UserId::from_uuid(account.user.id)).await?;
    tracing::info!(user = %account.user.id, "owner registered");
    Ok((StatusCode::CREATED, Json(tokens)))
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, body = Tokens),
        (status = 401, description = "Wrong email or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Failed attempts for the account or from the address: wait `Retry-After` seconds (a wait that doubles with each further failure)", body = Problem, content_type = "application/problem+json"),
    )
)]
/// Signs in with email and password. After a few failures each next try must wait, a
/// wait that doubles with every failure (per account and address, per account, per
/// address); a success starts again.
async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Json<Tokens>, ApiError> {
    let settings = &state.settings.auth;
    let wrong = || ApiError::Unauthorized("wrong email or password".into());
    let email_key = body.email.trim().to_lowercase();
    // No address is longer (RFC 5321): a longer one is no account, and is not worth a
    // hash or a row.
    if email_key.len() > 254 {
        return Err(wrong());
    }
    let address = client.to_string();

    let mut conn = db::conn(&state.pool).await?;
    let now = Utc::now();
    let since =
        now - chrono::Duration::from_std(settings.login_window).map_err(anyhow::Error::from)?;
    let failures = db::users::sign_in_failures(&mut conn, &email_key, &address, since).await?;
    let throttle = Throttle::new(
        settings.max_failures_per_account,
        settings.max_failures_per_address,
        settings.login_window,
    );
    let counted = |f: db::users::KeyFailures| Failures {
        count: f.count,
        last: f.last,
    };
    if let Some(secs) = throttle.wait(
        counted(failures.pair),
        counted(failures.account),
        counted(failures.address),
        now,
    ) {
        return Err(ApiError::TooManyRequests {
            detail: format!(
                "too many failed sign-in attempts; the next try is possible in {secs} s"
            ),
            retry_after_secs: secs,
        });
    }
    let account = match Email::parse(&body.email) {
        Ok(email) => db::users::find_by_email(&mut conn, &email).await?,
        Err(_) => None,
    };
    let stored = account.as_ref().and_then(|a| a.user.password_hash.clone());
    // Counted as a failure before the hash runs, so that tries at once count each other;
    // marked a success afterwards if it was one.
    let attempt =
        db::users::record_login_attempt(&mut conn, &email_key, Some(&address), false).await?;
    // No pool connection is held while the hash runs.
    drop(conn);
    let matches = auth::verify_password_bounded(body.password.clone(), stored).await?;
    let active = account.as_ref().is_some_and(|a| a.user.is_active);
    if matches && active {
        let mut conn = db::conn(&state.pool).await?;
        db::users::mark_login_succeeded(&mut conn, attempt).await?;
    }
    match account {
        Some(account) if matches && active => sign_in(&state, UserId::from_uuid(account.user.id))
            .await
            .map(Json),
        _ => Err(wrong()),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, body = Tokens),
        (status = 401, description = "Unknown, expired, revoked or already used (which revokes the whole family), or the account is disabled", body = Problem, content_type = "application/problem+json"),
    )
)]
/// Trades a refresh token for a new pair. Each refresh token works once; the new one
/// expires when the session does (`REFRESH_TOKEN_TTL_SECS` after sign-in), so refreshing
/// never extends a session.
async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Json<Tokens>, ApiError> {
    let (replacement, replacement_hash) = auth::refresh_token();
    let mut conn = db::conn(&state.pool).await?;
    let rotation = db::users::use_refresh_token(
        &mut conn,
        &auth::token_hash(body.refresh_token.trim()),
        &replacement_hash,
        Utc::now(),
    )
    .await?;
    drop(conn);
    match rotation {
        db::users::Rotation::Rotated { user, .. } => Ok(Json(Tokens {
            access_token: auth::access_token(&state.settings.auth, user)?,
            token_type: "Bearer".into(),
            expires_in: state.settings.auth.access_ttl.as_secs(),
            refresh_token: replacement,
        })),
        db::users::Rotation::Disabled => Err(ApiError::Unauthorized(
            "the account no longer exists or is disabled".into(),
        )),
        db::users::Rotation::Reused => {
            tracing::warn!("a used refresh token was presented again; its family is revoked");
            Err(ApiError::Unauthorized(
                "this refresh token was already used; sign in again".into(),
            ))
        }
        db::users::Rotation::Expired => Err(ApiError::Unauthorized(
            "the refresh token expired; sign in again".into(),
        )),
        db::users::Rotation::Unknown => Err(ApiError::Unauthorized("unknown refresh token".into())),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    request_body = RefreshBody,
    responses((status = 204, description = "The refresh token and every token rotated from it are revoked"))
)]
/// Signs out: revokes the refresh token's family. Idempotent.
async fn logout(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    let mut conn = db::conn(&state.pool).await?;
    db::users::revoke_family_of(
        &mut conn,
        &auth::token_hash(body.refresh_token.trim()),
        Utc::now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Me),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
/// Who the caller is and what they may act as.
async fn me(user: AuthUser) -> Json<Me> {
    Json(Me {
        roles: user.roles(),
        id: user.id,
        email: user.email,
        full_name: user.full_name,
        owner_id: user.owner,
        vet_id: user.vet,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPasswordBody {
    /// The one-time token staff handed out (in the welcome email).
    pub token: String,
    /// 10 to 128 characters.
    pub password: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/set-password",
    tag = "auth",
    responses((status = 200, description = "The page where an owner chooses their first password", content_type = "text/html"))
)]
/// The page the welcome email links to (the token in the link's `#token=` fragment).
async fn set_password_page() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("../../assets/set-password.html"))
}

#[utoipa::path(
    get,
    path = "/api/v1/auth/set-password/page.js",
    tag = "auth",
    responses((status = 200, description = "The set-password page's script", content_type = "text/javascript"))
)]
async fn set_password_script() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "text/javascript")],
        include_str!("../../assets/set-password.js"),
    )
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/set-password",
    tag = "auth",
    request_body = SetPasswordBody,
    responses(
        (status = 200, description = "The password is set and the user signed in", body = Tokens),
        (status = 401, description = "Unknown, used or expired token", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
/// Sets a first password with a one-time token, and signs the user in.
async fn set_password(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SetPasswordBody>,
) -> Result<Json<Tokens>, ApiError> {
    let password = Password::parse(&body.password)
        .map_err(|e| ApiError::invalid("password", e.to_string()))?;
    let unusable =
        || ApiError::Unauthorized("this link is unknown, already used or expired".into());
    let token = auth::token_hash(body.token.trim());
    // A made-up token costs a lookup, never a password hash.
    {
        let mut conn = db::conn(&state.pool).await?;
        if !db::users::password_token_usable(&mut conn, &token, Utc::now()).await? {
            return Err(unusable());
        }
    }
    let hash = hash_off_runtime(password).await?;
    let mut conn = db::conn(&state.pool).await?;
    let user = db::users::set_password_with_token(&mut conn, &token, &hash, Utc::now())
        .await?
        .ok_or_else(unusable)?;
    drop(conn);
    sign_in(&state, user).await.map(Json)
}
