//! An owner proves their WhatsApp number before their first checkout: a six-digit code
//! goes to it on WhatsApp (`POST /me/phone/code`, at most 3 an hour, valid 10 minutes)
//! and comes back (`POST /me/phone/verify`, at most 5 tries). Every message of a
//! booking goes to that number, so an account cannot book for a number it does not
//! hold; a changed number is unverified again.

use axum::{Json, Router, extract::State, http::StatusCode, response::IntoResponse, routing::post};
use chrono::Utc;
use domain::OwnerId;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use utoipa::ToSchema;

use crate::{
    AppState,
    auth::AuthUser,
    error::{ApiError, Problem},
    extract::ApiJson,
    limits::RateLimits,
};

#[derive(utoipa::OpenApi)]
#[openapi(paths(send_code, verify))]
pub struct Docs;

pub fn router(limits: &RateLimits) -> Router<AppState> {
    let routes = Router::new()
        .route("/me/phone/code", post(send_code))
        .route("/me/phone/verify", post(verify));
    // Each send is a WhatsApp message at our cost; each try a guess at a code.
    crate::limits::limit(routes, "phone verification", limits.auth)
}

/// Codes an owner may be sent in an hour.
pub const CODES_PER_HOUR: i64 = 3;
/// Codes one number may be sent in an hour, whichever accounts ask.
pub const CODES_PER_NUMBER_PER_HOUR: i64 = 3;
/// How long a code is good for.
pub const CODE_LIFETIME_SECS: i64 = 600;
/// Tries of one code.
pub const TRIES: i32 = 5;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CodeSent {
    /// Always `sent`.
    #[schema(example = "sent")]
    pub status: String,
    /// The number it went to.
    #[schema(example = "+5491155550000")]
    pub phone: String,
    /// Seconds the code is good for.
    #[schema(example = 600)]
    pub expires_in: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The six digits received on WhatsApp.
    #[schema(example = "482913")]
    pub code: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PhoneVerified {
    #[schema(example = "+5491155550000")]
    pub phone: String,
    /// Always `true`.
    pub verified: bool,
}

fn caller_owner(user: &AuthUser) -> Result<OwnerId, ApiError> {
    user.owner
        .ok_or_else(|| ApiError::Forbidden("only pet owners verify their number".into()))
}

fn code_hash(owner: OwnerId, code: &str) -> Vec<u8> {
    sha2::Sha256::digest(format!("{owner}:{code}")).to_vec()
}

#[utoipa::path(post, path = "/api/v1/me/phone/code", tag = "owners", security(("bearer" = [])),
    responses(
        (status = 202, description = "A code is on its way to the owner's WhatsApp", body = CodeSent),
        (status = 403, description = "Not a pet owner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`phone-verified`: the number is verified already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`phone`: the profile has no number", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Three codes this hour already", body = Problem, content_type = "application/problem+json"),
    ))]
/// Sends a verification code to the owner's WhatsApp number (the profile's `phone`).
async fn send_code(
    user: AuthUser,
    State(state): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    let owner = caller_owner(&user)?;
    let now = Utc::now();
    let phone = {
        let mut conn = db::conn(&state.pool).await?;
        let (phone, verified) = db::phone_codes::phone_of(&mut conn, owner)
            .await?
            .ok_or(ApiError::NotFound("owner"))?;
        let phone = phone.ok_or_else(|| {
            ApiError::invalid("phone", "add your WhatsApp number to your profile first")
        })?;
        if verified {
            return Err(ApiError::conflict(
                "phone-verified",
                format!("{phone} is verified already"),
            ));
        }
        let code = format!("{:06}", uuid::Uuid::new_v4().as_u128() % 1_000_000);
        let expires_at = now + chrono::Duration::seconds(CODE_LIFETIME_SECS);
        let begun = db::phone_codes::begin(
            &mut conn,
            owner,
            &phone,
            &code_hash(owner, &code),
            expires_at,
            now,
            CODES_PER_HOUR,
            CODES_PER_NUMBER_PER_HOUR,
        )
        .await?;
        if let Err(why) = begun {
            let detail = match why {
                db::phone_codes::Refused::OwnerCap => {
                    format!("at most {CODES_PER_HOUR} codes an hour; try again later")
                }
                db::phone_codes::Refused::PhoneCap => format!(
                    "this number was sent {CODES_PER_NUMBER_PER_HOUR} codes this hour; try again later"
                ),
            };
            return Err(ApiError::TooManyRequests {
                detail,
                retry_after_secs: 3600,
            });
        }
        drop(conn);
        // Once per key, through the same ledger as every WhatsApp message (which keeps
        // `***` for the code).
        let key = format!("phone-code:{owner}:{}", uuid::Uuid::now_v7());
        messages::ledger::send_template_once(
            &state.pool,
            &state.whatsapp,
            &key,
            &phone,
            messages::ledger::PHONE_CODE_TEMPLATE,
            &[code],
        )
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, %owner, "verification code not sent");
            let refused = e
                .downcast_ref::<integrations::mercately::MercatelyError>()
                .is_some_and(|m| !m.is_retryable());
            if refused {
                // Not a number WhatsApp takes: the caller's to fix.
                ApiError::invalid("phone", "WhatsApp does not take this number")
            } else {
                ApiError::Unavailable {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    detail: "WhatsApp did not take the message; try again in a moment".into(),
                }
            }
        })?;
        phone
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeSent {
            status: "sent".into(),
            phone,
            expires_in: CODE_LIFETIME_SECS,
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/me/phone/verify", tag = "owners", request_body = VerifyBody, security(("bearer" = [])),
    responses(
        (status = 200, description = "The number is verified", body = PhoneVerified),
        (status = 403, description = "Not a pet owner", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`no-code`, `code-expired`, `phone-changed` (ask for a new code) or `too-many-tries`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`code`: not six digits, or not the code sent", body = Problem, content_type = "application/problem+json"),
    ))]
/// Checks the code sent to the owner's WhatsApp; the right one verifies the number.
async fn verify(
    user: AuthUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<Json<PhoneVerified>, ApiError> {
    let owner = caller_owner(&user)?;
    let code = body.code.trim();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid("code", "six digits"));
    }
    let mut conn = db::conn(&state.pool).await?;
    let again = |kind: &'static str, detail: &str| ApiError::conflict(kind, detail);
    use db::phone_codes::Check;
    match db::phone_codes::check(&mut conn, owner, &code_hash(owner, code), TRIES, Utc::now())
        .await?
    {
        Check::Verified => {
            let (phone, _) = db::phone_codes::phone_of(&mut conn, owner)
                .await?
                .ok_or(ApiError::NotFound("owner"))?;
            Ok(Json(PhoneVerified {
                phone: phone.unwrap_or_default(),
                verified: true,
            }))
        }
        Check::Wrong { tries_left } => Err(ApiError::invalid(
            "code",
            format!("not the code we sent; {tries_left} tries left"),
        )),
        Check::NoCode => Err(again("no-code", "no code is pending; ask for one")),
        Check::Expired => Err(again("code-expired", "the code expired; ask for a new one")),
        Check::PhoneChanged => Err(again(
            "phone-changed",
            "the number changed since the code was sent; ask for a new one",
        )),
        Check::TooManyTries => Err(again(
            "too-many-tries",
            "too many wrong tries; ask for a new code",
        )),
    }
}
