//! The SMTP client against the sandbox sink: a message arrives whole (Spanish text,
//! both parts, attachments, its Message-ID); each way a send can fail is told apart as
//! SMTP defines it (not delivered, refused, or unknown after the data left); and a keyed
//! send happens once however often it is retried.

use std::{sync::Arc, time::Duration};

use e2e::{TestDb, smtp_sink};
use integrations::email::{Attachment, Email, EmailError, EmailSettings, SmtpMailer};
use messages::ledger::send_email_once;
use sandbox::smtp::{FailAt, Smtp};

fn email(to: &str, key: &str) -> Email {
    Email {
        to: to.to_owned(),
        to_name: Some("Ana Pérez".into()),
        subject: "Tu visita está confirmada: ¡gracias, Ñandú!".into(),
        text: "¡Hola, Ana!\n\nTu visita del miércoles está confirmada.\n.\nUna línea con un punto solo.".into(),
        html: "<p>¡Hola, Ana!</p><p>Tu visita del <b>miércoles</b> está confirmada.</p>".into(),
        attachments: vec![Attachment {
            filename: "visita.ics".into(),
            content_type: "text/calendar; charset=utf-8; method=PUBLISH".into(),
            body: b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".to_vec(),
        }],
        message_id: messages::email::message_id(key),
    }
}

#[tokio::test]
async fn a_message_arrives_whole_with_both_parts_and_its_attachment() {
    let (sink, settings) = smtp_sink().await;
    let mailer = SmtpMailer::new(settings);
    mailer
        .send(&email("ana@example.com", "notice:r1:confirmed"))
        .await
        .expect("sent");
    let got = sink.emails_to("ana@example.com");
    assert_eq!(got.len(), 1);
    let got = &got[0];
    assert_eq!(got.subject, "Tu visita está confirmada: ¡gracias, Ñandú!");
    assert_eq!(got.from, "AMAR Mascotas <turnos@amarmascotas.ar>");
    assert_eq!(got.to, "Ana Pérez <ana@example.com>");
    assert_eq!(got.mail_from, "turnos@amarmascotas.ar");
    assert_eq!(got.message_id, "notice.r1.confirmed@amarmascotas.ar");
    assert!(
        got.text
            .contains("Tu visita del miércoles está confirmada."),
        "{}",
        got.text
    );
    let text = got.text.replace("\r\n", "\n");
    assert!(
        text.contains("\n.\nUna línea"),
        "a lone dot survives: {text}"
    );
    assert!(got.html.contains("<b>miércoles</b>"), "{}", got.html);
    assert_eq!(got.attachments.len(), 1);
    assert_eq!(got.attachments[0].filename, "visita.ics");
    assert_eq!(got.attachments[0].content_type, "text/calendar");
    assert_eq!(
        got.attachments[0].body,
        b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    );
}

#[tokio::test]
async fn each_way_a_send_fails_is_told_apart() {
    let (sink, settings) = smtp_sink().await;
    let mailer = SmtpMailer::new(settings.clone());
    let to = "ana@example.com";

    // A server that is down or busy at the greeting: nothing left, try again.
    sink.fail(421, 1, FailAt::Greeting, Duration::ZERO);
    let error = mailer.send(&email(to, "a")).await.expect_err("busy");
    assert!(matches!(error, EmailError::Unavailable { .. }), "{error}");
    assert!(error.is_retryable());

    // A temporary refusal of the message itself: not taken, try again.
    sink.fail(451, 1, FailAt::Data, Duration::ZERO);
    let error = mailer.send(&email(to, "b")).await.expect_err("451");
    assert!(matches!(error, EmailError::Unavailable { .. }), "{error}");

    // A permanent one: not taken, and retrying cannot help.
    sink.fail(554, 1, FailAt::Data, Duration::ZERO);
    let error = mailer.send(&email(to, "c")).await.expect_err("554");
    assert!(matches!(error, EmailError::Refused { .. }), "{error}");
    assert!(!error.is_retryable());
    assert!(sink.emails().is_empty(), "none of them was taken");

    // The connection dropped after the data, before the answer: the sink took it, and
    // the client cannot know; that is uncertain, never resent.
    sink.fail(0, 1, FailAt::Data, Duration::ZERO);
    let error = mailer.send(&email(to, "d")).await.expect_err("dropped");
    assert!(matches!(error, EmailError::Uncertain { .. }), "{error}");
    assert!(!error.is_retryable());
    assert_eq!(sink.emails().len(), 1);

    // No answer to the data within the send's time: uncertain too.
    let slow = SmtpMailer::new(EmailSettings {
        send_timeout: Duration::from_millis(700),
        ..settings.clone()
    });
    sink.fail(250, 1, FailAt::Data, Duration::from_secs(3));
    let error = slow.send(&email(to, "e")).await.expect_err("slow");
    assert!(matches!(error, EmailError::Uncertain { .. }), "{error}");

    // Nobody listening: not delivered.
    let nowhere = SmtpMailer::new(EmailSettings::plain("127.0.0.1", 9));
    let error = nowhere.send(&email(to, "f")).await.expect_err("closed");
    assert!(matches!(error, EmailError::Unavailable { .. }), "{error}");

    // Not an address: refused before anything is sent.
    let error = mailer.send(&email("ana", "g")).await.expect_err("bad");
    assert!(matches!(error, EmailError::Refused { .. }), "{error}");
}

#[tokio::test]
async fn a_server_that_asks_for_credentials_gets_them_and_refuses_wrong_ones() {
    let sink = Smtp::with_credentials("amar", "s3cret-smtp");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(sink.clone().serve(listener));
    let mut settings = EmailSettings::plain("127.0.0.1", port);

    let error = SmtpMailer::new(settings.clone())
        .send(&email("ana@example.com", "a"))
        .await
        .expect_err("no credentials");
    assert!(matches!(error, EmailError::Refused { .. }), "{error}");

    settings.credentials = Some(("amar".into(), config::Secret::new("wrong")));
    let error = SmtpMailer::new(settings.clone())
        .send(&email("ana@example.com", "b"))
        .await
        .expect_err("wrong password");
    assert!(matches!(error, EmailError::Refused { .. }), "{error}");
    assert!(!format!("{settings:?}").contains("wrong"), "never printed");

    settings.credentials = Some(("amar".into(), config::Secret::new("s3cret-smtp")));
    SmtpMailer::new(settings)
        .send(&email("ana@example.com", "c"))
        .await
        .expect("signed in");
    assert_eq!(sink.emails().len(), 1);
}

#[tokio::test]
async fn a_keyed_email_is_sent_once_however_often_it_is_retried() {
    let db = Arc::new(TestDb::new().await);
    let (sink, settings) = smtp_sink().await;
    let mailer = SmtpMailer::new(settings);
    let to = "ana@example.com";

    for _ in 0..3 {
        send_email_once(&db.pool, &mailer, "k1", "notice", &email(to, "k1"))
            .await
            .expect("sent once, answered thrice");
    }
    assert_eq!(sink.emails().len(), 1);

    // The server down for a while: every try fails and frees the claim, then it is sent.
    sink.fail(421, 2, FailAt::Greeting, Duration::ZERO);
    for _ in 0..2 {
        let error = send_email_once(&db.pool, &mailer, "k2", "notice", &email(to, "k2"))
            .await
            .expect_err("down");
        let error = error.downcast::<EmailError>().expect("an email error");
        assert!(error.is_retryable(), "{error}");
    }
    send_email_once(&db.pool, &mailer, "k2", "notice", &email(to, "k2"))
        .await
        .expect("back");
    assert_eq!(
        sink.emails().len(),
        2,
        "sent once, when the server was back"
    );

    // Unknown whether it left: never sent again.
    sink.fail(0, 1, FailAt::Data, Duration::ZERO);
    send_email_once(&db.pool, &mailer, "k3", "notice", &email(to, "k3"))
        .await
        .expect_err("dropped");
    send_email_once(&db.pool, &mailer, "k3", "notice", &email(to, "k3"))
        .await
        .expect_err("still unknown");
    assert_eq!(
        sink.emails().len(),
        3,
        "the dropped one arrived, and only once"
    );

    // The ledger keeps who, what about and the attachments, never the body.
    let kept = db
        .count(
            "SELECT count(*) AS n FROM outbound_messages WHERE channel = 'email' \
             AND recipient = 'ana@example.com' AND template = 'notice' \
             AND params = '[\"Tu visita está confirmada: ¡gracias, Ñandú!\", \"visita.ics\"]'::jsonb",
        )
        .await;
    assert_eq!(kept, 3);
}
