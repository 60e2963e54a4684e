//! AFIP (ARCA since 2025) electronic invoicing: [`wsaa`] signs in with the taxpayer's
//! certificate and gets a ticket (token and sign, about 12 h), [`wsfe`] asks for the
//! last number, authorizes receipts (CAE), looks receipts up and reads the parameters.
//! SOAP 1.1 over HTTPS, written and read with quick-xml ([`soap`]); the CMS signature
//! and the CSR in [`credentials`]. The ticket's cache and the numbering rules live in
//! the activities; this module only speaks the contract.

pub mod credentials;
mod receipt;
pub mod soap;
pub mod wsaa;
pub mod wsfe;

use std::{path::PathBuf, time::Duration};

use config::{Deployment, Secret, SettingsError, env_or, env_required};
use domain::invoices::IssuerCondition;
use rust_decimal::Decimal;

pub use credentials::{Credentials, CredentialsError};
pub use wsaa::{Ticket, Wsaa, WsaaClient, WsaaFault};
pub use wsfe::{Wsfe, WsfeClient, WsfeError};

/// Homologation (AFIP's test servers, receipts without fiscal value) or production.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Homologation,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Homologation => "homologation",
            Self::Production => "production",
        }
    }

    pub fn wsaa_url(self) -> &'static str {
        match self {
            Self::Homologation => "https://wsaahomo.afip.gov.ar/ws/services/LoginCms",
            Self::Production => "https://wsaa.afip.gov.ar/ws/services/LoginCms",
        }
    }

    pub fn wsfe_url(self) -> &'static str {
        match self {
            Self::Homologation => "https://wswhomo.afip.gov.ar/wsfev1/service.asmx",
            Self::Production => "https://servicios1.afip.gov.ar/wsfev1/service.asmx",
        }
    }
}

impl std::str::FromStr for Environment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "homologation" | "homologacion" => Ok(Self::Homologation),
            "production" | "produccion" => Ok(Self::Production),
            other => Err(format!(
                "`{other}` is neither `homologation` nor `production`"
            )),
        }
    }
}

/// The issuing taxpayer and how to reach AFIP.
#[derive(Debug, Clone)]
pub struct AfipSettings {
    /// `AFIP_CUIT`: the issuer's CUIT, 11 digits.
    pub cuit: u64,
    /// `AFIP_VAT_CONDITION`: `monotributo` or `responsable_inscripto`.
    pub condition: IssuerCondition,
    /// `AFIP_ENV`: `homologation` (the default in development; required in production)
    /// or `production`.
    pub environment: Environment,
    /// `AFIP_POINT_OF_SALE` (default 1): the web-service point of sale receipts are
    /// issued from.
    pub point_of_sale: u32,
    /// `AFIP_CERT` (the PEM itself) or `AFIP_CERT_FILE` (its path).
    pub certificate: Secret,
    /// `AFIP_KEY` (the PEM itself) or `AFIP_KEY_FILE` (its path).
    pub key: Secret,
    /// `AFIP_WSAA_URL`, `AFIP_WSFE_URL`: default the environment's.
    pub wsaa_url: String,
    pub wsfe_url: String,
    /// `AFIP_TIMEOUT_MS` (default 20000): one call's limit.
    pub timeout: Duration,
    /// `AFIP_MAX_ATTEMPTS` (default 3): tries of a call that is safe to repeat (never of
    /// `FECAESolicitar`, whose lost answer is looked up instead).
    pub max_attempts: u32,
    /// `AFIP_TLS_MIN` (`1.2`, the default, or `1.3`): the oldest TLS the client speaks.
    pub tls_min: TlsMin,
    /// `AFIP_BUSINESS_NAME`, `AFIP_ADDRESS`, `AFIP_ACTIVITY_START` (YYYY-MM-DD),
    /// `AFIP_GROSS_INCOME` (IIBB): what the printed receipt says of the issuer.
    pub business_name: String,
    pub address: String,
    pub activity_start: chrono::NaiveDate,
    pub gross_income: String,
    /// `AFIP_ANONYMOUS_LIMIT` (default 10000000): the total from which a final consumer
    /// must be identified (RG 5700/2025).
    pub anonymous_limit: Decimal,
    /// `AFIP_QR_URL` (default `https://www.afip.gob.ar/fe/qr/`).
    pub qr_base: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMin {
    V1_2,
    V1_3,
}

impl std::str::FromStr for TlsMin {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "1.2" => Ok(Self::V1_2),
            "1.3" => Ok(Self::V1_3),
            other => Err(format!("`{other}` is neither `1.2` nor `1.3`")),
        }
    }
}

/// The sandbox taxpayer `make run` and the tests use (its certificate is signed by the
/// AFIP emulator's own authority, `sandbox/keys/`).
pub const SANDBOX_CUIT: u64 = 20_123_456_786;

/// A PEM given inline (`inline`, with `\n` for line breaks allowed) or as the file at
/// `path` (read from `file`).
fn pem(inline: String, file: &'static str, path: PathBuf) -> Result<Secret, SettingsError> {
    if !inline.trim().is_empty() {
        return Ok(Secret::new(inline.replace("\\n", "\n")));
    }
    if path.as_os_str().is_empty() {
        return Err(SettingsError::Missing { name: file });
    }
    std::fs::read_to_string(&path)
        .map(Secret::new)
        .map_err(|e| SettingsError::Invalid {
            name: file,
            value: path.display().to_string(),
            reason: e.to_string(),
        })
}

/// Where the sandbox's PEMs are in development (none in production).
fn sandbox_pem(deployment: Deployment, file: &str) -> PathBuf {
    match deployment {
        Deployment::Development => PathBuf::from("sandbox/keys").join(file),
        Deployment::Production => PathBuf::new(),
    }
}

impl AfipSettings {
    /// `None` when `AFIP_CUIT` is unset in production, or `AFIP=off`: no invoices.
    pub fn from_env() -> Result<Option<Self>, SettingsError> {
        let switch: String = env_or("AFIP", "on".to_owned())?;
        if switch.trim() == "off" {
            return Ok(None);
        }
        let deployment = Deployment::from_env()?;
        let cuit: String = env_or("AFIP_CUIT", String::new())?;
        let cuit = match (cuit.trim(), deployment) {
            ("", Deployment::Production) => return Ok(None),
            ("", Deployment::Development) => SANDBOX_CUIT.to_string(),
            (cuit, _) => cuit.to_owned(),
        };
        let cuit = domain::Cuit::parse(&cuit)
            .map_err(|e| SettingsError::Invalid {
                name: "AFIP_CUIT",
                value: cuit.clone(),
                reason: e.to_string(),
            })?
            .as_str()
            .parse()
            .unwrap_or_default();
        // Production must say which AFIP it issues at: test CAEs must never reach buyers.
        let environment: Environment = match deployment {
            Deployment::Production => env_required("AFIP_ENV")?,
            Deployment::Development => env_or("AFIP_ENV", Environment::Homologation)?,
        };
        let (wsaa, wsfe) = match deployment {
            Deployment::Development => (
                "http://127.0.0.1:8095/ws/services/LoginCms".to_owned(),
                "http://127.0.0.1:8095/wsfev1/service.asmx".to_owned(),
            ),
            Deployment::Production => (
                environment.wsaa_url().to_owned(),
                environment.wsfe_url().to_owned(),
            ),
        };
        let point_of_sale: u32 = env_or("AFIP_POINT_OF_SALE", 1)?;
        if !(1..=99_998).contains(&point_of_sale) {
            return Err(SettingsError::Invalid {
                name: "AFIP_POINT_OF_SALE",
                value: point_of_sale.to_string(),
                reason: "must be 1 to 99998".into(),
            });
        }
        Ok(Some(Self {
            cuit,
            condition: env_or("AFIP_VAT_CONDITION", IssuerCondition::Monotributo)?,
            environment,
            point_of_sale,
            certificate: pem(
                env_or("AFIP_CERT", String::new())?,
                "AFIP_CERT_FILE",
                env_or(
                    "AFIP_CERT_FILE",
                    sandbox_pem(deployment, "afip-taxpayer.crt"),
                )?,
            )?,
            key: pem(
                env_or("AFIP_KEY", String::new())?,
                "AFIP_KEY_FILE",
                env_or(
                    "AFIP_KEY_FILE",
                    sandbox_pem(deployment, "afip-taxpayer.key"),
                )?,
            )?,
            wsaa_url: env_or("AFIP_WSAA_URL", wsaa)?,
            wsfe_url: env_or("AFIP_WSFE_URL", wsfe)?,
            timeout: Duration::from_millis(env_or("AFIP_TIMEOUT_MS", 20_000)?),
            max_attempts: env_or("AFIP_MAX_ATTEMPTS", 3)?,
            tls_min: env_or("AFIP_TLS_MIN", TlsMin::V1_2)?,
            business_name: env_or("AFIP_BUSINESS_NAME", "AMAR Mascotas".to_owned())?,
            // What every printed receipt must say of the issuer: required in production.
            address: match deployment {
                Deployment::Production => env_required("AFIP_ADDRESS")?,
                Deployment::Development => env_or(
                    "AFIP_ADDRESS",
                    "Av. Corrientes 1234, Ciudad Autónoma de Buenos Aires".to_owned(),
                )?,
            },
            activity_start: match deployment {
                Deployment::Production => env_required("AFIP_ACTIVITY_START")?,
                Deployment::Development => env_or(
                    "AFIP_ACTIVITY_START",
                    chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default(),
                )?,
            },
            gross_income: match deployment {
                Deployment::Production => env_required("AFIP_GROSS_INCOME")?,
                Deployment::Development => env_or("AFIP_GROSS_INCOME", "Exento".to_owned())?,
            },
            anonymous_limit: env_or("AFIP_ANONYMOUS_LIMIT", Decimal::from(10_000_000))?,
            qr_base: env_or("AFIP_QR_URL", "https://www.afip.gob.ar/fe/qr/".to_owned())?,
        }))
    }

    /// What the printed receipt says of the issuer.
    pub fn letterhead(&self) -> domain::invoices::Letterhead {
        domain::invoices::Letterhead {
            business_name: self.business_name.clone(),
            address: self.address.clone(),
            condition: self.condition,
            gross_income: self.gross_income.clone(),
            activity_start: self.activity_start,
            qr_base: self.qr_base.clone(),
        }
    }

    /// The key and certificate, checked to belong together.
    pub fn credentials(&self) -> Result<Credentials, CredentialsError> {
        Credentials::from_pem(self.certificate.expose(), self.key.expose())
    }

    /// The HTTP client both services use: the timeout and the TLS floor.
    pub fn http(&self) -> reqwest::Result<reqwest::Client> {
        let tls = match self.tls_min {
            TlsMin::V1_2 => reqwest::tls::Version::TLS_1_2,
            TlsMin::V1_3 => reqwest::tls::Version::TLS_1_3,
        };
        reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(Duration::from_secs(5))
            .tls_version_min(tls)
            .build()
    }

    /// The longest one call can take with its tries.
    pub fn worst_case(&self) -> Duration {
        crate::http::worst_case(self.max_attempts, self.timeout + Duration::from_secs(5))
    }
}

#[cfg(test)]
mod tests;
