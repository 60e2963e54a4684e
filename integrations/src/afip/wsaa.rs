//! WSAA, AFIP's authentication: the ticket request (TRA) for a service, signed as CMS,
//! sent to `loginCms`; the answer is a ticket (token, sign, expiry) every WSFE call
//! carries. Asking again while a ticket is fresh is refused
//! (`coe.alreadyAuthenticated`): the caller keeps the ticket and shares it.

use chrono::{DateTime, Duration as Span, Utc};
use quick_xml::{
    Writer,
    events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event},
};
use serde::{Deserialize, Serialize};

use super::{Credentials, CredentialsError, soap};

const WSAA_NS: &str = "http://wsaa.view.sua.dvadac.desein.afip.gov";

/// A ticket of access to one service.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub token: String,
    pub sign: String,
    pub generated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// WSAA's refusals, each with what staff should do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WsaaFault {
    #[error(
        "AFIP says a ticket for this service was issued minutes ago and is still valid, but we do not have it (another system with the same certificate?); wait about 10 minutes"
    )]
    AlreadyAuthenticated,
    #[error("AFIP refused the signed request (cms.bad): {0}")]
    CmsBad(String),
    #[error(
        "AFIP says the certificate has expired (cms.cert.expired): make a new one with `api afip-csr`"
    )]
    CertificateExpired,
    #[error(
        "AFIP does not trust the certificate (cms.cert.untrusted): it was not issued by AFIP for this environment"
    )]
    CertificateUntrusted,
    #[error(
        "AFIP refused the request's time (xml.generationTime.invalid): check this machine's clock: {0}"
    )]
    GenerationTime(String),
    #[error(
        "the certificate is not authorized for the service (coe.notAuthorized): link it to wsfe in AFIP's web"
    )]
    NotAuthorized,
    #[error("WSAA fault {code}: {message}")]
    Other { code: String, message: String },
}

impl WsaaFault {
    fn from_soap(fault: soap::Fault) -> Self {
        match fault.code.as_str() {
            "coe.alreadyAuthenticated" => Self::AlreadyAuthenticated,
            "cms.bad" | "cms.sign.invalid" | "cms.bad.base64" => Self::CmsBad(fault.message),
            "cms.cert.expired" => Self::CertificateExpired,
            "cms.cert.untrusted" | "cms.cert.invalid" => Self::CertificateUntrusted,
            "xml.generationTime.invalid" | "xml.expirationTime.invalid" => {
                Self::GenerationTime(fault.message)
            }
            "coe.notAuthorized" => Self::NotAuthorized,
            _ => Self::Other {
                code: fault.code,
                message: fault.message,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WsaaError {
    #[error(transparent)]
    Fault(#[from] WsaaFault),
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    #[error("WSAA could not be reached: {0}")]
    Network(String),
    #[error("WSAA answered HTTP {status} without a SOAP fault")]
    Status { status: u16 },
    #[error("WSAA's answer could not be read: {0}")]
    Decode(String),
}

impl WsaaError {
    /// Whether trying again later may pass (a network error or a busy server; not a
    /// refusal of the certificate).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Network(_) | Self::Status { .. } | Self::Fault(WsaaFault::AlreadyAuthenticated)
        )
    }
}

/// The ticket request for `service`, generated `now` minus a few minutes (so a clock a
/// little ahead of AFIP's is still accepted) and expiring ten minutes after `now`.
pub fn ticket_request(service: &str, now: DateTime<Utc>, unique_id: u32) -> String {
    let argentina = domain::time::offset();
    let generated = (now - Span::minutes(5)).with_timezone(&argentina);
    let expires = (now + Span::minutes(10)).with_timezone(&argentina);
    let mut writer = Writer::new(Vec::new());
    let events = [
        Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)),
        Event::Start(BytesStart::new("loginTicketRequest").with_attributes([("version", "1.0")])),
        Event::Start(BytesStart::new("header")),
    ];
    for event in events {
        let _ = writer.write_event(event);
    }
    let leaf = |writer: &mut Writer<Vec<u8>>, name: &str, text: &str| {
        let _ = writer.write_event(Event::Start(BytesStart::new(name)));
        let _ = writer.write_event(Event::Text(BytesText::new(text)));
        let _ = writer.write_event(Event::End(BytesEnd::new(name)));
    };
    leaf(&mut writer, "uniqueId", &unique_id.to_string());
    leaf(
        &mut writer,
        "generationTime",
        &generated.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
    );
    leaf(
        &mut writer,
        "expirationTime",
        &expires.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
    );
    let _ = writer.write_event(Event::End(BytesEnd::new("header")));
    leaf(&mut writer, "service", service);
    let _ = writer.write_event(Event::End(BytesEnd::new("loginTicketRequest")));
    String::from_utf8(writer.into_inner()).unwrap_or_default()
}

/// What AMAR needs of AFIP's authentication service (WSAA): a ticket for a service,
/// signed in with the taxpayer's certificate.
pub trait Wsaa: Send + Sync {
    /// Signs in to `service` (`wsfe`) with `credentials`. One try: a lost answer may
    /// have issued a ticket, and asking again at once would be refused.
    fn login(
        &self,
        credentials: &Credentials,
        service: &str,
    ) -> impl std::future::Future<Output = Result<Ticket, WsaaError>> + Send;
}

impl Wsaa for WsaaClient {
    async fn login(&self, credentials: &Credentials, service: &str) -> Result<Ticket, WsaaError> {
        let now = Utc::now();
        let tra = ticket_request(service, now, now.timestamp() as u32);
        let cms = credentials.sign_cms(tra.as_bytes())?;
        use base64::Engine;
        let encoded = base64::engine::general_purpose::STANDARD.encode(cms);
        let mut body = soap::Body::new("loginCms", WSAA_NS);
        body.leaf("in0", encoded);
        let envelope = body.finish("loginCms");
        let response = self
            .http
            .post(&self.url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", "\"\"")
            .body(envelope)
            .send()
            .await
            .map_err(|e| WsaaError::Network(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| WsaaError::Network(e.to_string()))?;
        let tree = match soap::parse(&text) {
            Ok(tree) => tree,
            Err(_) if !status.is_success() => {
                return Err(WsaaError::Status {
                    status: status.as_u16(),
                });
            }
            Err(e) => return Err(WsaaError::Decode(e.to_string())),
        };
        let answer = match soap::body(&tree) {
            Ok(answer) => answer,
            Err(Some(fault)) => return Err(WsaaFault::from_soap(fault).into()),
            Err(None) => {
                return Err(WsaaError::Status {
                    status: status.as_u16(),
                });
            }
        };
        let inner = answer
            .text_of("loginCmsReturn")
            .ok_or_else(|| WsaaError::Decode("no loginCmsReturn".into()))?;
        parse_ticket(inner)
    }
}

/// The WSAA client.
#[derive(Debug, Clone)]
pub struct WsaaClient {
    http: reqwest::Client,
    url: String,
}

impl WsaaClient {
    pub fn new(http: reqwest::Client, url: &str) -> Self {
        Self {
            http,
            url: url.to_owned(),
        }
    }
}

/// Reads a `loginTicketResponse`.
pub fn parse_ticket(xml: &str) -> Result<Ticket, WsaaError> {
    let tree = soap::parse(xml).map_err(|e| WsaaError::Decode(e.to_string()))?;
    let field = |path: &[&str]| {
        tree.at(path)
            .map(|e| e.text.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| WsaaError::Decode(format!("no {}", path.join("/"))))
    };
    let time = |path: &[&str]| -> Result<DateTime<Utc>, WsaaError> {
        let raw = field(path)?;
        DateTime::parse_from_rfc3339(&raw)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| WsaaError::Decode(format!("{}: {e}", path.join("/"))))
    };
    Ok(Ticket {
        token: field(&["credentials", "token"])?,
        sign: field(&["credentials", "sign"])?,
        generated_at: time(&["header", "generationTime"])?,
        expires_at: time(&["header", "expirationTime"])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticket_request_is_backdated_and_expires_in_minutes() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T15:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let tra = ticket_request("wsfe", now, 7);
        assert!(tra.contains("<uniqueId>7</uniqueId>"), "{tra}");
        assert!(
            tra.contains("<generationTime>2026-12-01T11:55:00-03:00</generationTime>"),
            "{tra}"
        );
        assert!(
            tra.contains("<expirationTime>2026-12-01T12:10:00-03:00</expirationTime>"),
            "{tra}"
        );
        assert!(tra.contains("</header><service>wsfe</service></loginTicketRequest>"));
    }

    #[test]
    fn a_ticket_answer_is_read() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<loginTicketResponse version="1.0"><header><source>CN=wsaahomo, O=AFIP, C=AR, SERIALNUMBER=CUIT 33693450239</source><destination>SERIALNUMBER=CUIT 20123456786, CN=amar</destination><uniqueId>383953094</uniqueId><generationTime>2026-12-01T11:55:01.120-03:00</generationTime><expirationTime>2026-12-01T23:55:01.120-03:00</expirationTime></header><credentials><token>PD94bWw=</token><sign>c2lnbg==</sign></credentials></loginTicketResponse>"#;
        let ticket = parse_ticket(xml).unwrap();
        assert_eq!(ticket.token, "PD94bWw=");
        assert_eq!(ticket.sign, "c2lnbg==");
        assert_eq!(ticket.expires_at - ticket.generated_at, Span::hours(12));
    }
}
