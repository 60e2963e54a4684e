//! Authentication: argon2id password hashes, short-lived JWT access tokens (HS256, with
//! `exp`, `iss` and `aud` checked), and opaque refresh tokens stored as SHA-256 hashes
//! that rotate on every use. [`AuthUser`] is the extractor every protected handler takes.

use std::time::Duration;

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};
use axum::{extract::FromRequestParts, http::request::Parts};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use domain::{OwnerId, Role, UserId, VetId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{AppState, error::ApiError};

/// `JWT_SECRET`, `JWT_ISSUER`, `JWT_AUDIENCE`, token lifetimes and login limits.
#[derive(Clone)]
pub struct AuthSettings {
    pub secret: Vec<u8>,
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// Failed logins allowed per account, and per address, within `login_window`.
    pub max_failures_per_account: i64,
    pub max_failures_per_address: i64,
    pub login_window: Duration,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("secret", &"***")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: uuid::Uuid,
    iss: String,
    aud: String,
    iat: i64,
    exp: i64,
}

/// How many password hashes may run at once: one per core. Each takes ~19 MiB and a core
/// for a while, and login, sign-up and set-password are open to anyone, so more callers
/// wait their turn, at most [`HASH_WAIT`], then get `429` with `Retry-After`. The permit
/// goes with the work itself, so a caller who hangs up does not free it while its hash
/// still runs.
fn hashing() -> std::sync::Arc<tokio::sync::Semaphore> {
    static PERMITS: std::sync::OnceLock<std::sync::Arc<tokio::sync::Semaphore>> =
        std::sync::OnceLock::new();
    PERMITS
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
            std::sync::Arc::new(tokio::sync::Semaphore::new(cores))
        })
        .clone()
}

/// The longest a caller waits for a turn to hash.
pub const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `work` (a hash or a verification) off the runtime, within the bound.
async fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, crate::error::ApiError> {
    let busy = || crate::error::ApiError::TooManyRequests {
        detail: "the service is busy signing people in; try again in a moment".into(),
        retry_after_secs: 1,
    };
    let permit = tokio::time::timeout(HASH_WAIT, hashing().acquire_owned())
        .await
        .map_err(|_| busy())?
        .map_err(|_| busy())?;
    Ok(tokio::task::spawn_blocking(move || {
        let _held = permit;
        work()
    })
    .await
    .map_err(anyhow::Error::from)?)
}

/// [`hash_password`] off the runtime, at most one per core at a time.
pub async fn hash_password_bounded(password: String) -> Result<String, crate::error::ApiError> {
    Ok(bounded(move || hash_password(&password)).await??)
}

/// [`verify_password`] off the runtime, at most one per core at a time.
pub async fn verify_password_bounded(
    password: String,
    hash: Option<String>,
) -> Result<bool, crate::error::ApiError> {
    bounded(move || verify_password(&password, hash.as_deref())).await
}

/// Hashes a password with argon2id and a random salt. CPU-heavy: call off the runtime.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?
        .to_string())
}

/// Whether `password` matches `hash`. With no hash (unknown user, or no password set
/// yet) it still spends the time of a verification, so timing does not tell.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default());
    let stored = hash.unwrap_or(dummy);
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && hash.is_some()
}

/// A new access token for `user`.
pub fn access_token(settings: &AuthSettings, user: UserId) -> anyhow::Result<String> {
    let now = Utc::now().timestamp();
    let claims = Claims {
        sub: user.into_uuid(),
        iss: settings.issuer.clone(),
        aud: settings.audience.clone(),
        iat: now,
        exp: now + i64::try_from(settings.access_ttl.as_secs()).unwrap_or(i64::MAX / 2),
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&settings.secret)?,
    )?)
}

fn decode_access_token(settings: &AuthSettings, token: &str) -> Option<UserId> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[&settings.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 5;
    let key = DecodingKey::from_secret(&settings.secret).ok()?;
    jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .ok()
        .map(|data| UserId::from_uuid(data.claims.sub))
}

/// A new opaque refresh token and the hash to store for it.
pub fn refresh_token() -> (String, Vec<u8>) {
    use argon2::password_hash::rand_core::RngCore;
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// How a refresh or one-time token is stored: SHA-256, so a database leak gives no
/// usable tokens.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The caller, authenticated by a bearer access token, with the roles they hold now.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: UserId,
    pub email: String,
    pub full_name: String,
    pub is_staff: bool,
    pub owner: Option<OwnerId>,
    pub vet: Option<VetId>,
}

impl AuthUser {
    pub fn roles(&self) -> Vec<Role> {
        let mut roles = Vec::new();
        if self.owner.is_some() {
            roles.push(Role::Owner);
        }
        if self.vet.is_some() {
            roles.push(Role::Vet);
        }
        if self.is_staff {
            roles.push(Role::Staff);
        }
        roles
    }

    /// Staff only, else 403.
    pub fn require_staff(&self) -> Result<(), ApiError> {
        if self.is_staff {
            Ok(())
        } else {
            Err(ApiError::Forbidden("staff only".into()))
        }
    }
}

/// A signed-in staff user: anyone else is `403` before the path or the body is read, so
/// a caller who may not act learns nothing about their input.
pub struct StaffUser(pub AuthUser);

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        user.require_staff()?;
        Ok(Self(user))
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::Unauthorized("a bearer access token is required".into()))?;
        let token = header.strip_prefix("Bearer ").ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })?;
        let user = decode_access_token(&state.settings.auth, token.trim()).ok_or_else(|| {
            ApiError::Unauthorized("the access token is invalid or expired".into())
        })?;
        let mut conn = db::conn(&state.pool).await?;
        let account = db::users::find_by_id(&mut conn, user)
            .await?
            .filter(|a| a.user.is_active)
            .ok_or_else(|| {
                ApiError::Unauthorized("the account no longer exists or is disabled".into())
            })?;
        Ok(Self {
            id: user,
            email: account.user.email,
            full_name: account.user.full_name,
            is_staff: account.user.is_staff,
            owner: account.owner,
            vet: account.vet,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_more_hashes_run_at_once_than_there_are_cores() {
        use std::sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        };
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks = (0..cores * 3).map(|_| {
            let (running, most) = (running.clone(), most.clone());
            tokio::spawn(bounded(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(50));
                running.fetch_sub(1, Ordering::SeqCst);
            }))
        });
        for task in tasks.collect::<Vec<_>>() {
            assert!(
                task.await.expect("task").is_ok(),
                "every caller had its turn"
            );
        }
        let most = most.load(Ordering::SeqCst);
        assert!(
            most <= cores && most >= 1,
            "{most} at once on {cores} cores"
        );
    }

    fn settings() -> AuthSettings {
        AuthSettings {
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
            issuer: "amar".into(),
            audience: "amar-api".into(),
            access_ttl: Duration::from_secs(60),
            refresh_ttl: Duration::from_secs(600),
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            login_window: Duration::from_secs(900),
        }
    }

    #[test]
    fn an_access_token_round_trips_only_with_the_same_secret_issuer_and_audience() {
        let s = settings();
        let user = UserId::new();
        let token = access_token(&s, user).unwrap();
        assert_eq!(decode_access_token(&s, &token), Some(user));

        let other_secret = AuthSettings {
            secret: b"another-secret-another-secret-xx".to_vec(),
            ..settings()
        };
        assert_eq!(decode_access_token(&other_secret, &token), None);
        let other_issuer = AuthSettings {
            issuer: "evil".into(),
            ..settings()
        };
        assert_eq!(decode_access_token(&other_issuer, &token), None);
        let other_audience = AuthSettings {
            audience: "other".into(),
            ..settings()
        };
        assert_eq!(decode_access_token(&other_audience, &token), None);
    }

    #[test]
    fn an_expired_or_unsigned_token_is_refused() {
        let s = settings();
        let past = Claims {
            sub: uuid::Uuid::new_v4(),
            iss: s.issuer.clone(),
            aud: s.audience.clone(),
            iat: 0,
            exp: Utc::now().timestamp() - 3600,
        };
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &past,
            &EncodingKey::from_secret(&s.secret).expect("an HMAC key"),
        )
        .unwrap();
        assert_eq!(decode_access_token(&s, &expired), None);
        // alg "none" with the same claims
        let payload = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims {
                exp: Utc::now().timestamp() + 60,
                ..past
            })
            .unwrap(),
        );
        let unsigned = format!(
            "{}.{payload}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#)
        );
        assert_eq!(decode_access_token(&s, &unsigned), None);
    }

    #[test]
    fn passwords_verify_against_their_hash_only() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("wrong horse battery", Some(&hash)));
        assert!(!verify_password("correct horse battery", None));
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, hash_a) = refresh_token();
        let (b, _) = refresh_token();
        assert_ne!(a, b);
        assert_eq!(hash_a, token_hash(&a));
        assert_eq!(hash_a.len(), 32);
    }
}
