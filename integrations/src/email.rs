//! The SMTP client (lettre): one message per call, over plain SMTP, STARTTLS or TLS, with
//! credentials when set. SMTP has no idempotency key, so the client follows the
//! protocol's own line: until the server has answered the end of the message's data,
//! nothing was delivered, and a failure is [`EmailError::Unavailable`] (try again) or
//! [`EmailError::Refused`] (a `5xx`: do not); a connection lost or a timeout while
//! waiting for that last answer is [`EmailError::Uncertain`] (the message may have been
//! taken) and is never resent. (The activities' send ledger makes each purpose key one
//! send, as for WhatsApp.)

use std::time::Duration;

use config::{Deployment, SettingsError, env_or};
use lettre::{
    Address, Message,
    message::{Attachment as MimeAttachment, Mailbox, MultiPart, SinglePart, header::ContentType},
    transport::smtp::{
        authentication::{Credentials, Mechanism},
        client::{AsyncSmtpConnection, TlsParameters},
        commands::{Data, Mail, Rcpt},
        extension::ClientId,
    },
};
use serde::{Deserialize, Serialize};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Plain SMTP: only for a server on the same host (the local sink).
    None,
    /// Plain connect, then `STARTTLS` (port 587), refused if the server does not offer it.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

impl std::str::FromStr for Security {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::None),
            "starttls" => Ok(Self::StartTls),
            "tls" => Ok(Self::Tls),
            other => Err(format!("`{other}` is not one of none, starttls, tls")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EmailSettings {
    /// `SMTP_HOST`, default `127.0.0.1` (the sink of `make run`).
    pub host: String,
    /// `SMTP_PORT`, default 587 with STARTTLS, 465 with TLS, 2525 (the sink) without.
    pub port: u16,
    /// `SMTP_SECURITY`: `starttls` (the default in production), `tls`, or `none` (the
    /// default in development).
    pub security: Security,
    /// `SMTP_USERNAME` and `SMTP_PASSWORD`, both or neither.
    pub credentials: Option<(String, config::Secret)>,
    /// `EMAIL_FROM`, default `AMAR Mascotas <turnos@amarmascotas.ar>`.
    pub from: Mailbox,
    /// `SMTP_TIMEOUT_MS`, default 10 000: each step's answer, the message's included.
    pub timeout: Duration,
    /// `SMTP_SEND_TIMEOUT_MS`, default 30 000: one whole send, connection to goodbye.
    pub send_timeout: Duration,
}

impl EmailSettings {
    pub fn from_env() -> Result<Self, SettingsError> {
        let default_security = match Deployment::from_env()? {
            Deployment::Production => "starttls",
            Deployment::Development => "none",
        };
        let security: Security = env_or(
            "SMTP_SECURITY",
            default_security.parse().unwrap_or(Security::None),
        )?;
        let default_port = match security {
            Security::None => 2525,
            Security::StartTls => 587,
            Security::Tls => 465,
        };
        let username: String = env_or("SMTP_USERNAME", String::new())?;
        let password: String = env_or("SMTP_PASSWORD", String::new())?;
        let credentials = match (username.trim(), password.as_str()) {
            ("", "") => None,
            ("", _) => {
                return Err(SettingsError::Missing {
                    name: "SMTP_USERNAME",
                });
            }
            (_, "") => {
                return Err(SettingsError::Missing {
                    name: "SMTP_PASSWORD",
                });
            }
            (user, password) => Some((user.to_owned(), config::Secret::new(password))),
        };
        let from: String = env_or(
            "EMAIL_FROM",
            "AMAR Mascotas <turnos@amarmascotas.ar>".to_owned(),
        )?;
        let from =
            from.parse()
                .map_err(|e: lettre::address::AddressError| SettingsError::Invalid {
                    name: "EMAIL_FROM",
                    reason: e.to_string(),
                    value: from.clone(),
                })?;
        Ok(Self {
            host: env_or("SMTP_HOST", "127.0.0.1".to_owned())?,
            port: env_or("SMTP_PORT", default_port)?,
            security,
            credentials,
            from,
            timeout: Duration::from_millis(env_or("SMTP_TIMEOUT_MS", 10_000)?),
            send_timeout: Duration::from_millis(env_or("SMTP_SEND_TIMEOUT_MS", 30_000)?),
        })
    }

    /// Plain SMTP to `host:port` (the local sink), no credentials, the default sender
    /// and timeouts.
    pub fn plain(host: &str, port: u16) -> Self {
        Self {
            host: host.to_owned(),
            port,
            security: Security::None,
            credentials: None,
            from: Mailbox::new(
                Some("AMAR Mascotas".to_owned()),
                Address::new("turnos", "amarmascotas.ar").expect("a valid address"),
            ),
            timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
        }
    }

    /// The longest one send can take.
    pub fn worst_case(&self) -> Duration {
        self.send_timeout
    }
}

/// A file sent with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    /// `text/calendar; method=REQUEST; charset=utf-8`, `application/pdf` …
    pub content_type: String,
    pub body: Vec<u8>,
}

/// One message to one person: a plain-text and an HTML part, and attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<Attachment>,
    /// The `Message-ID` (without the angle brackets): derived from the purpose of the
    /// message, so that even a copy delivered twice reads as one in the owner's mail.
    pub message_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// The server refused the message for good (a `5xx`: no such mailbox, a bad
    /// address, a message it will not take); retrying cannot help.
    #[error("the mail server refused the message: {reply}")]
    Refused { reply: String },
    /// Not delivered (no connection, a `4xx`, a step that timed out before the message
    /// left): worth retrying later.
    #[error("the mail server is unavailable: {last}")]
    Unavailable { last: String },
    /// The connection was lost or timed out after the message was sent and before the
    /// server said it took it: it may have; sending again could duplicate it.
    #[error("the mail server may or may not have taken the message ({last}); not sent again")]
    Uncertain { last: String },
    /// Another attempt holds this message's send right now.
    #[error("message {key} is being sent by another attempt")]
    InFlight { key: String },
}

impl EmailError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::InFlight { .. })
    }
}

/// What AMAR needs of a mail provider: one message, and the longest a send can take.
pub trait Mailer: Send + Sync {
    fn send(
        &self,
        email: &Email,
    ) -> impl std::future::Future<Output = Result<(), EmailError>> + Send;
    fn worst_case(&self) -> Duration;
}

#[derive(Debug, Clone)]
pub struct SmtpMailer {
    settings: EmailSettings,
}

impl Mailer for SmtpMailer {
    fn send(
        &self,
        email: &Email,
    ) -> impl std::future::Future<Output = Result<(), EmailError>> + Send {
        SmtpMailer::send(self, email)
    }

    fn worst_case(&self) -> Duration {
        self.settings.worst_case()
    }
}

/// A failure before the message's data left: nothing was delivered.
fn before_data(error: &lettre::transport::smtp::Error) -> EmailError {
    if error.is_permanent() {
        EmailError::Refused {
            reply: error.to_string(),
        }
    } else {
        EmailError::Unavailable {
            last: error.to_string(),
        }
    }
}

impl SmtpMailer {
    pub fn new(settings: EmailSettings) -> Self {
        Self { settings }
    }

    pub fn from_address(&self) -> &Mailbox {
        &self.settings.from
    }

    /// Builds the MIME message: `multipart/mixed` of a `multipart/alternative` (text,
    /// then HTML) and the attachments.
    pub fn message(&self, email: &Email) -> Result<Message, EmailError> {
        let address: Address = email.to.parse().map_err(|e| EmailError::Refused {
            reply: format!("`{}` is not an email address: {e}", email.to),
        })?;
        let to = Mailbox::new(email.to_name.clone(), address);
        let alternative = MultiPart::alternative_plain_html(email.text.clone(), email.html.clone());
        let mut body = MultiPart::mixed().multipart(alternative);
        for attachment in &email.attachments {
            let content_type =
                ContentType::parse(&attachment.content_type).map_err(|e| EmailError::Refused {
                    reply: format!("attachment type `{}`: {e}", attachment.content_type),
                })?;
            let part: SinglePart = MimeAttachment::new(attachment.filename.clone())
                .body(attachment.body.clone(), content_type);
            body = body.singlepart(part);
        }
        Message::builder()
            .from(self.settings.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .message_id(Some(format!("<{}>", email.message_id)))
            .multipart(body)
            .map_err(|e| EmailError::Refused {
                reply: format!("the message could not be built: {e}"),
            })
    }

    /// Sends `email` over one connection, within `SMTP_SEND_TIMEOUT_MS`: running out
    /// before the message's data left is [`EmailError::Unavailable`], after it
    /// [`EmailError::Uncertain`].
    pub async fn send(&self, email: &Email) -> Result<(), EmailError> {
        let data_sent = std::sync::atomic::AtomicBool::new(false);
        let taken = std::sync::atomic::AtomicBool::new(false);
        let deliver = self.deliver(email, &data_sent, &taken);
        match tokio::time::timeout(self.settings.send_timeout, deliver).await {
            Ok(result) => result,
            // The server took it; only the goodbye was slow.
            Err(_) if taken.load(std::sync::atomic::Ordering::SeqCst) => Ok(()),
            Err(_) if data_sent.load(std::sync::atomic::Ordering::SeqCst) => {
                Err(EmailError::Uncertain {
                    last: "no answer to the message in time".into(),
                })
            }
            Err(_) => Err(EmailError::Unavailable {
                last: "the mail server did not answer in time".into(),
            }),
        }
    }

    async fn deliver(
        &self,
        email: &Email,
        data_sent: &std::sync::atomic::AtomicBool,
        taken: &std::sync::atomic::AtomicBool,
    ) -> Result<(), EmailError> {
        let message = self.message(email)?;
        let bytes = message.formatted();
        let settings = &self.settings;
        let hello = ClientId::default();
        let tls = || {
            TlsParameters::new(settings.host.clone()).map_err(|e| EmailError::Unavailable {
                last: format!("TLS set-up: {e}"),
            })
        };
        let mut conn = match settings.security {
            Security::Tls => AsyncSmtpConnection::connect_tokio1(
                (settings.host.as_str(), settings.port),
                Some(settings.timeout),
                &hello,
                Some(tls()?),
                None,
            )
            .await
            .map_err(|e| before_data(&e))?,
            Security::None | Security::StartTls => {
                // Our own socket, without Nagle's algorithm: lettre writes the message and
                // its final dot apart, and the second write would wait for the server's
                // delayed ACK (40 ms a message).
                let address = (settings.host.as_str(), settings.port);
                let connect = tokio::net::TcpStream::connect(address);
                let stream = tokio::time::timeout(settings.timeout, connect)
                    .await
                    .map_err(|_| EmailError::Unavailable {
                        last: format!(
                            "no connection to {}:{} in time",
                            settings.host, settings.port
                        ),
                    })?
                    .map_err(|e| EmailError::Unavailable {
                        last: format!("connecting to {}:{}: {e}", settings.host, settings.port),
                    })?;
                stream
                    .set_nodelay(true)
                    .map_err(|e| EmailError::Unavailable {
                        last: e.to_string(),
                    })?;
                AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello)
                    .await
                    .map_err(|e| before_data(&e))?
            }
        };
        if settings.security == Security::StartTls {
            if !conn.can_starttls() {
                // A setting to fix, not an outage to wait out.
                return Err(EmailError::Refused {
                    reply: format!(
                        "{}:{} does not offer STARTTLS (SMTP_SECURITY=starttls)",
                        settings.host, settings.port
                    ),
                });
            }
            conn.starttls(tls()?, &hello)
                .await
                .map_err(|e| before_data(&e))?;
        }
        if let Some((user, password)) = &settings.credentials {
            let credentials = Credentials::new(user.clone(), password.expose().to_owned());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
                .map_err(|e| before_data(&e))?;
        }
        let envelope = message.envelope();
        conn.command(Mail::new(envelope.from().cloned(), vec![]))
            .await
            .map_err(|e| before_data(&e))?;
        for to in envelope.to() {
            conn.command(Rcpt::new(to.clone(), vec![]))
                .await
                .map_err(|e| before_data(&e))?;
        }
        conn.command(Data).await.map_err(|e| before_data(&e))?;
        data_sent.store(true, std::sync::atomic::Ordering::SeqCst);
        match conn.message(&bytes).await {
            Ok(_) => taken.store(true, std::sync::atomic::Ordering::SeqCst),
            // The server answered the end of the data with a refusal: not taken.
            Err(e) if e.status().is_some() => {
                conn.abort().await;
                return Err(before_data(&e));
            }
            // No answer (a lost connection, a timeout): it may have been taken.
            Err(e) => {
                return Err(EmailError::Uncertain {
                    last: e.to_string(),
                });
            }
        }
        // Taken; a failed goodbye changes nothing.
        let _ = conn.quit().await;
        Ok(())
    }
}

/// What the ledger keeps of an email: who, what about, and the attachments' names (the
/// body may carry a one-time link, so it is not kept).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Recorded {
    pub subject: String,
    pub attachments: Vec<String>,
}

impl From<&Email> for Recorded {
    fn from(email: &Email) -> Self {
        Self {
            subject: email.subject.clone(),
            attachments: email
                .attachments
                .iter()
                .map(|a| a.filename.clone())
                .collect(),
        }
    }
}
