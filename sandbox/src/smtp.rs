//! An SMTP server that keeps what it receives (a sink): the protocol as RFC 5321 gives
//! it — greeting, `EHLO`/`HELO`, `AUTH PLAIN`/`LOGIN` when it has credentials (`530`
//! before it, `535` for wrong ones), `MAIL FROM`, `RCPT TO` (`501` for an address that
//! is not one), `DATA` with dot-unstuffing, `RSET`, `NOOP`, `QUIT`; `STARTTLS` is not
//! offered (the sink is for loopback). It can be told to fail the next N messages:
//! a `4xx`/`5xx` at the greeting (a server that is down or refusing) or after the data
//! (the message not taken), a `2xx` after the data (taken, answered after the delay:
//! a slow server), or status `0`: the connection dropped after the data, before the
//! answer (the client cannot know whether it was taken; the sink keeps it).
//!
//! Its inbox is served over HTTP for tests and people: `GET /` (a page to read the
//! mail in a browser), `GET /_emulator/emails[?to=]` (JSON), `GET
//! /_emulator/emails/{n}/raw`, `GET /_emulator/emails/{n}/attachments/{i}`, `POST
//! /_emulator/fail {status, count, at: "greeting"|"data", delay_ms?}`, `POST
//! /_emulator/reset`.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use base64::Engine;
use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// The longest message the sink takes (what it says in `SIZE`).
const MAX_MESSAGE: usize = 10 * 1024 * 1024;

/// An attachment of a received message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReceivedAttachment {
    pub filename: String,
    pub content_type: String,
    #[serde(skip)]
    pub body: Vec<u8>,
    pub size: usize,
}

/// A message the sink took, parsed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Email {
    /// Its number in the inbox, from 0.
    pub n: usize,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
    pub attachments: Vec<ReceivedAttachment>,
    pub received_at: DateTime<Utc>,
    #[serde(skip)]
    pub raw: Vec<u8>,
}

/// Where a failure on demand happens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailAt {
    /// The server answers the connection with the status and closes it.
    Greeting,
    /// The server answers the end of the data with the status (or drops the connection
    /// when the status is 0).
    #[default]
    Data,
}

#[derive(Debug, Default)]
struct Failing {
    status: u16,
    remaining: u32,
    at: FailAt,
    delay: Duration,
}

#[derive(Debug, Default)]
struct Inner {
    credentials: Option<(String, String)>,
    emails: Vec<Email>,
    failing: Failing,
}

/// The sink's state; clone it to look inside from a test.
#[derive(Debug, Clone, Default)]
pub struct Smtp {
    inner: Arc<Mutex<Inner>>,
}

impl Smtp {
    /// A sink that takes mail from anyone.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sink that asks for `AUTH` with these credentials first.
    pub fn with_credentials(user: &str, password: &str) -> Self {
        let sink = Self::new();
        sink.lock().credentials = Some((user.to_owned(), password.to_owned()));
        sink
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every message taken so far, oldest first.
    pub fn emails(&self) -> Vec<Email> {
        self.lock().emails.clone()
    }

    /// The messages to `address`.
    pub fn emails_to(&self, address: &str) -> Vec<Email> {
        self.emails()
            .into_iter()
            .filter(|e| e.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// The next `count` connections (at the greeting) or messages (after the data) fail
    /// with `status` after `delay`.
    pub fn fail(&self, status: u16, count: u32, at: FailAt, delay: Duration) {
        self.lock().failing = Failing {
            status,
            remaining: count,
            at,
            delay,
        };
    }

    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.emails.clear();
        inner.failing = Failing::default();
    }

    fn take_failure(&self, at: FailAt) -> Option<(u16, Duration)> {
        let mut inner = self.lock();
        let failing = &mut inner.failing;
        (failing.remaining > 0 && failing.at == at).then(|| {
            failing.remaining -= 1;
            (failing.status, failing.delay)
        })
    }

    fn keep(&self, mail_from: String, rcpt_to: Vec<String>, raw: Vec<u8>) -> usize {
        let mut inner = self.lock();
        let n = inner.emails.len();
        inner.emails.push(parse(n, mail_from, rcpt_to, raw));
        n
    }

    /// Serves SMTP on `listener`, one task per connection.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, _) = listener.accept().await?;
            let sink = self.clone();
            tokio::spawn(async move {
                if let Err(e) = sink.session(stream).await {
                    eprintln!("smtp sink: session ended: {e}");
                }
            });
        }
    }

    async fn session(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        stream.set_nodelay(true)?;
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        if let Some((status, delay)) = self.take_failure(FailAt::Greeting) {
            tokio::time::sleep(delay).await;
            let reply = format!("{status} sandbox service not available, closing channel\r\n");
            write.write_all(reply.as_bytes()).await?;
            return Ok(());
        }
        write
            .write_all(b"220 sandbox ESMTP AMAR Mascotas SMTP sink\r\n")
            .await?;
        let needs_auth = self.lock().credentials.is_some();
        let mut authenticated = !needs_auth;
        let mut mail_from: Option<String> = None;
        let mut rcpt_to: Vec<String> = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end_matches(['\r', '\n']);
            let upper = command.to_ascii_uppercase();
            let reply: String = if upper.starts_with("EHLO") {
                let auth = if needs_auth {
                    "250-AUTH PLAIN LOGIN\r\n"
                } else {
                    ""
                };
                format!(
                    "250-sandbox\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n{auth}250 SIZE {MAX_MESSAGE}"
                )
            } else if upper.starts_with("HELO") {
                "250 sandbox".into()
            } else if upper.starts_with("AUTH PLAIN") {
                let given = command.get(10..).unwrap_or("").trim().to_owned();
                let given = if given.is_empty() {
                    write.write_all(b"334 \r\n").await?;
                    read_line(&mut lines).await?
                } else {
                    given
                };
                authenticated = self.check_plain(&given);
                auth_reply(authenticated)
            } else if upper.starts_with("AUTH LOGIN") {
                write.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
                let user = decode(&read_line(&mut lines).await?);
                write.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
                let password = decode(&read_line(&mut lines).await?);
                authenticated = self.check(&user, &password);
                auth_reply(authenticated)
            } else if upper.starts_with("MAIL FROM:") {
                if !authenticated {
                    "530 5.7.0 Authentication required".into()
                } else {
                    match address(&command[10..]) {
                        Some(from) => {
                            mail_from = Some(from);
                            rcpt_to.clear();
                            "250 2.1.0 Ok".into()
                        }
                        None => "501 5.1.7 Bad sender address syntax".into(),
                    }
                }
            } else if upper.starts_with("RCPT TO:") {
                match (&mail_from, address(&command[8..])) {
                    (None, _) => "503 5.5.1 Error: need MAIL command".into(),
                    (Some(_), Some(to)) if !to.is_empty() => {
                        rcpt_to.push(to);
                        "250 2.1.5 Ok".into()
                    }
                    _ => "501 5.1.3 Bad recipient address syntax".into(),
                }
            } else if upper == "DATA" {
                if mail_from.is_none() || rcpt_to.is_empty() {
                    "503 5.5.1 Error: need RCPT command".into()
                } else {
                    write
                        .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    let raw = read_data(&mut lines).await?;
                    let from = mail_from.take().unwrap_or_default();
                    let to = std::mem::take(&mut rcpt_to);
                    match self.take_failure(FailAt::Data) {
                        Some((0, delay)) => {
                            // Taken, and the answer lost: the client cannot know.
                            self.keep(from, to, raw);
                            tokio::time::sleep(delay).await;
                            return Ok(());
                        }
                        Some((status, delay)) if (200..300).contains(&status) => {
                            // A slow server: taken, answered late.
                            let n = self.keep(from, to, raw);
                            tokio::time::sleep(delay).await;
                            format!("250 2.0.0 Ok: queued as {n}")
                        }
                        Some((status, delay)) => {
                            tokio::time::sleep(delay).await;
                            format!("{status} sandbox: message not accepted (failure on demand)")
                        }
                        None if raw.len() > MAX_MESSAGE => {
                            "552 5.3.4 Message size exceeds fixed limit".into()
                        }
                        None => {
                            let n = self.keep(from, to, raw);
                            format!("250 2.0.0 Ok: queued as {n}")
                        }
                    }
                }
            } else if upper == "RSET" {
                mail_from = None;
                rcpt_to.clear();
                "250 2.0.0 Ok".into()
            } else if upper == "NOOP" {
                "250 2.0.0 Ok".into()
            } else if upper == "QUIT" {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            } else if upper.starts_with("STARTTLS") {
                "502 5.5.1 STARTTLS not offered by the sandbox".into()
            } else {
                "502 5.5.2 Error: command not recognized".into()
            };
            // One write per reply: split in two, Nagle's algorithm and the peer's
            // delayed ACK would hold the second part for 40 ms.
            write.write_all(format!("{reply}\r\n").as_bytes()).await?;
        }
    }

    fn check_plain(&self, given: &str) -> bool {
        let decoded = decode(given);
        let mut parts = decoded.split('\0');
        let (_authzid, user, password) = (parts.next(), parts.next(), parts.next());
        self.check(user.unwrap_or(""), password.unwrap_or(""))
    }

    fn check(&self, user: &str, password: &str) -> bool {
        match &self.lock().credentials {
            Some((u, p)) => u == user && p == password,
            None => true,
        }
    }

    /// The inbox over HTTP: a page for people and JSON for tests.
    pub fn router(self) -> Router {
        Router::new()
            .route("/", get(inbox_page))
            .route("/emails/{n}", get(email_page))
            .route("/_emulator/emails", get(list))
            .route("/_emulator/emails/{n}/raw", get(raw))
            .route("/_emulator/emails/{n}/attachments/{i}", get(attachment))
            .route("/_emulator/fail", post(fail))
            .route("/_emulator/reset", post(reset))
            .with_state(self)
    }

    pub async fn serve_inbox(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }
}

fn auth_reply(ok: bool) -> String {
    if ok {
        "235 2.7.0 Authentication successful".into()
    } else {
        "535 5.7.8 Authentication credentials invalid".into()
    }
}

fn decode(b64: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}

async fn read_line<R: AsyncBufReadExt + Unpin>(lines: &mut R) -> std::io::Result<String> {
    let mut line = String::new();
    lines.read_line(&mut line).await?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// `<user@host>` (with optional parameters after it); `Some("")` for the null sender.
fn address(rest: &str) -> Option<String> {
    let rest = rest.trim();
    let inner = rest.strip_prefix('<')?;
    let end = inner.find('>')?;
    let address = &inner[..end];
    if address.is_empty() {
        return Some(String::new());
    }
    let (local, domain) = address.rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty() && !address.contains(char::is_whitespace))
        .then(|| address.to_owned())
}

/// The message's lines up to the lone `.`, dot-unstuffed, with CRLF line ends.
async fn read_data<R: AsyncBufReadExt + Unpin>(lines: &mut R) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed inside DATA",
            ));
        }
        let content = line
            .strip_suffix(b"\r\n")
            .or_else(|| line.strip_suffix(b"\n"));
        let content = content.unwrap_or(&line);
        if content == b"." {
            return Ok(raw);
        }
        let content = content.strip_prefix(b".").unwrap_or(content);
        if raw.len() <= MAX_MESSAGE {
            raw.extend_from_slice(content);
            raw.extend_from_slice(b"\r\n");
        }
    }
}

fn parse(n: usize, mail_from: String, rcpt_to: Vec<String>, raw: Vec<u8>) -> Email {
    let parsed = MessageParser::default().parse(&raw);
    let (mut from, mut to, mut subject, mut message_id, mut text, mut html) = Default::default();
    let mut attachments = Vec::new();
    if let Some(message) = &parsed {
        let first = |a: Option<&mail_parser::Address>| {
            a.and_then(|a| a.first())
                .map(|a| match (&a.name, &a.address) {
                    (Some(name), Some(address)) => format!("{name} <{address}>"),
                    (_, Some(address)) => address.to_string(),
                    _ => String::new(),
                })
                .unwrap_or_default()
        };
        from = first(message.from());
        to = first(message.to());
        subject = message.subject().unwrap_or_default().to_owned();
        message_id = message.message_id().unwrap_or_default().to_owned();
        text = message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default();
        html = message
            .body_html(0)
            .map(|t| t.into_owned())
            .unwrap_or_default();
        for part in message.attachments() {
            let content_type = part
                .content_type()
                .map(|c| match &c.c_subtype {
                    Some(sub) => format!("{}/{sub}", c.c_type),
                    None => c.c_type.to_string(),
                })
                .unwrap_or_default();
            let body = part.contents().to_vec();
            attachments.push(ReceivedAttachment {
                filename: part.attachment_name().unwrap_or_default().to_owned(),
                content_type,
                size: body.len(),
                body,
            });
        }
    }
    Email {
        n,
        mail_from,
        rcpt_to,
        from,
        to,
        subject,
        message_id,
        text,
        html,
        attachments,
        received_at: Utc::now(),
        raw,
    }
}

#[derive(Deserialize)]
struct ToQuery {
    to: Option<String>,
}

async fn list(State(sink): State<Smtp>, Query(q): Query<ToQuery>) -> Json<Vec<Email>> {
    Json(match q.to {
        Some(to) => sink.emails_to(&to),
        None => sink.emails(),
    })
}

fn find(sink: &Smtp, n: usize) -> Option<Email> {
    sink.emails().into_iter().nth(n)
}

fn no_such(what: &'static str) -> Response {
    (StatusCode::NOT_FOUND, what).into_response()
}

async fn raw(State(sink): State<Smtp>, Path(n): Path<usize>) -> Response {
    match find(&sink, n) {
        Some(email) => ([(header::CONTENT_TYPE, "message/rfc822")], email.raw).into_response(),
        None => no_such("no such email"),
    }
}

async fn attachment(State(sink): State<Smtp>, Path((n, i)): Path<(usize, usize)>) -> Response {
    let Some(email) = find(&sink, n) else {
        return no_such("no such email");
    };
    match email.attachments.into_iter().nth(i) {
        Some(a) => {
            let disposition = format!("attachment; filename=\"{}\"", a.filename.replace('"', ""));
            (
                [
                    (header::CONTENT_TYPE, a.content_type),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                a.body,
            )
                .into_response()
        }
        None => no_such("no such attachment"),
    }
}

#[derive(Deserialize)]
struct Fail {
    status: u16,
    count: u32,
    #[serde(default)]
    at: FailAt,
    #[serde(default)]
    delay_ms: u64,
}

async fn fail(State(sink): State<Smtp>, Json(f): Json<Fail>) -> StatusCode {
    sink.fail(f.status, f.count, f.at, Duration::from_millis(f.delay_ms));
    StatusCode::NO_CONTENT
}

async fn reset(State(sink): State<Smtp>) -> StatusCode {
    sink.reset();
    StatusCode::NO_CONTENT
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}\
    table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}\
    iframe{width:100%;height:32rem;border:1px solid #ccc}pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}";

async fn inbox_page(State(sink): State<Smtp>) -> Html<String> {
    let mut rows = String::new();
    for email in sink.emails().iter().rev() {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><a href=\"/emails/{}\">{}</a></td><td>{}</td></tr>",
            email.received_at.format("%Y-%m-%d %H:%M:%S UTC"),
            escape(&email.to),
            email.n,
            escape(&email.subject),
            email.attachments.len(),
        ));
    }
    Html(format!(
        "<!doctype html><html lang=\"es\"><meta charset=\"utf-8\"><title>Bandeja de entrada (sandbox)</title>\
         <style>{STYLE}</style><h1>Bandeja de entrada</h1><p>Lo que recibió el servidor SMTP de prueba ({} mensajes).</p>\
         <table><tr><th>Recibido</th><th>Para</th><th>Asunto</th><th>Adjuntos</th></tr>{rows}</table></html>",
        sink.emails().len()
    ))
}

async fn email_page(State(sink): State<Smtp>, Path(n): Path<usize>) -> Response {
    let Some(email) = find(&sink, n) else {
        return no_such("no such email");
    };
    let attachments: String = email
        .attachments
        .iter()
        .enumerate()
        .map(|(i, a)| {
            format!(
                "<li><a href=\"/_emulator/emails/{n}/attachments/{i}\">{}</a> ({}, {} bytes)</li>",
                escape(&a.filename),
                escape(&a.content_type),
                a.size
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"es\"><meta charset=\"utf-8\"><title>{subject}</title><style>{STYLE}</style>\
         <p><a href=\"/\">← Bandeja de entrada</a></p><h1>{subject}</h1>\
         <p>De: {from}<br>Para: {to}<br>Message-ID: {id}</p><ul>{attachments}</ul>\
         <iframe sandbox srcdoc=\"{html}\"></iframe><h2>Texto</h2><pre>{text}</pre>\
         <p><a href=\"/_emulator/emails/{n}/raw\">Mensaje original</a></p></html>",
        subject = escape(&email.subject),
        from = escape(&email.from),
        to = escape(&email.to),
        id = escape(&email.message_id),
        html = escape(&email.html),
        text = escape(&email.text),
    ))
    .into_response()
}
