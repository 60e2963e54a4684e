//! `POST /token`: the JWT-bearer grant (RFC 7523) as Google's token endpoint checks it.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use base64::Engine;
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;

use super::{CALENDAR_SCOPE, Google, Issued, SHEETS_SCOPE};

/// The one service account the emulator knows: its email, and the public half of its key.
pub(super) struct Account {
    client_email: String,
    token_uri: String,
    public: jsonwebtoken::DecodingKey,
}

impl Account {
    pub(super) fn from_key(key_json: &str, token_uri: &str) -> Result<Self, String> {
        #[derive(Deserialize)]
        struct Key {
            client_email: String,
            private_key: String,
        }
        let key: Key = serde_json::from_str(key_json).map_err(|e| format!("key file: {e}"))?;
        let body: String = key
            .private_key
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|e| format!("private key: {e}"))?;
        use rsa::{pkcs8::DecodePrivateKey, traits::PublicKeyParts};
        let private =
            rsa::PrivateKey::from_pkcs8_der(&der).map_err(|e| format!("private key: {e}"))?;
        let public = jsonwebtoken::DecodingKey::from_rsa_raw_components(
            &private.n_bytes(),
            &private.e_bytes(),
        );
        Ok(Self {
            client_email: key.client_email,
            token_uri: token_uri.to_owned(),
            public,
        })
    }
}

#[derive(Deserialize)]
pub(super) struct Grant {
    grant_type: Option<String>,
    assertion: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    scope: Option<String>,
    iat: i64,
    exp: i64,
}

/// The token endpoint's error body: `{"error", "error_description"}`.
fn refuse(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

pub(super) async fn exchange(
    State(google): State<Google>,
    headers: HeaderMap,
    body: String,
) -> Response {
    google.lock().token_requests += 1;
    if let Some(failure) = google.failure().await {
        return failure;
    }
    let form_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !form_type.starts_with("application/x-www-form-urlencoded") {
        return refuse(
            "invalid_request",
            "Invalid Content-Type, expected application/x-www-form-urlencoded",
        );
    }
    let Ok(grant) = serde_urlencoded::from_str::<Grant>(&body) else {
        return refuse("invalid_request", "Bad Request");
    };
    if grant.grant_type.as_deref() != Some("urn:ietf:params:oauth:grant-type:jwt-bearer") {
        return refuse("unsupported_grant_type", "Invalid grant_type");
    }
    let Some(assertion) = grant.assertion else {
        return refuse("invalid_request", "Missing required parameter: assertion");
    };
    let account = &google.account;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[&account.token_uri]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    validation.leeway = 0;
    validation.validate_exp = false;
    let claims = match jsonwebtoken::decode::<Claims>(&assertion, &account.public, &validation) {
        Ok(data) => data.claims,
        Err(e) => {
            return match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    refuse("invalid_grant", "Invalid JWT Signature.")
                }
                jsonwebtoken::errors::ErrorKind::InvalidAudience => refuse(
                    "invalid_grant",
                    "Invalid JWT: Failed audience check. The expected audience is the token endpoint.",
                ),
                _ => refuse("invalid_grant", &format!("Invalid JWT: {e}")),
            };
        }
    };
    if claims.iss != account.client_email {
        return refuse("invalid_grant", "Invalid grant: account not found");
    }
    let now = Utc::now().timestamp();
    if claims.exp - claims.iat > 3600 || claims.exp <= now || claims.iat > now + 60 {
        return refuse(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        );
    }
    let scopes: Vec<String> = claims
        .scope
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if scopes.is_empty()
        || !scopes
            .iter()
            .all(|s| s == CALENDAR_SCOPE || s == SHEETS_SCOPE)
    {
        return refuse(
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.",
        );
    }
    let token = format!("ya29.sandbox-{}", uuid::Uuid::new_v4().simple());
    let expires_in = 3599;
    google.lock().tokens.insert(
        token.clone(),
        Issued {
            expires_at: Utc::now() + chrono::Duration::seconds(expires_in),
            scopes,
        },
    );
    Json(json!({ "access_token": token, "expires_in": expires_in, "token_type": "Bearer" }))
        .into_response()
}
