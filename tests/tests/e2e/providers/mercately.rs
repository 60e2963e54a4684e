//! The Mercately client against the sandbox emulator: the contract is enforced both ways
//! (key, required fields, template parameters), transient failures are retried, refusals
//! are not, and a keyed send happens once however often it is retried.

use std::{sync::Arc, time::Duration};

use e2e::TestDb;
use integrations::mercately::{MercatelyClient, MercatelyError, MercatelySettings};
use messages::ledger::send_template_once;

use e2e::{MERCATELY_KEY as KEY, mercately_emulator as emulator};

fn client(base: &str, key: &str, attempts: u32, timeout: Duration) -> MercatelyClient {
    MercatelyClient::new(MercatelySettings {
        base_url: base.to_owned(),
        api_key: config::Secret::new(key),
        timeout,
        max_attempts: attempts,
    })
    .expect("client")
}

fn offer_params() -> Vec<String> {
    [
        "Consulta",
        "Luna",
        "Palermo",
        "lun 30/11 10–12 h",
        "https://x/accept",
        "https://x/reject",
    ]
    .map(str::to_owned)
    .to_vec()
}

#[tokio::test]
async fn messages_that_keep_the_contract_are_delivered_and_the_rest_refused() {
    let (emulator, base) = emulator().await;
    let mercately = client(&base, KEY, 3, Duration::from_secs(5));

    let sent = mercately
        .send_template("+5491155550101", "vet_offer", &offer_params())
        .await
        .expect("sent");
    assert!(sent.provider_id.is_some());
    mercately
        .send_text("+5491155550101", "¡Gracias!")
        .await
        .expect("text sent");
    let received = emulator.messages();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].internal_id.as_deref(), Some("vet_offer"));
    assert_eq!(received[0].template_params, offer_params());
    assert_eq!(Some(received[0].id.to_string()), sent.provider_id);

    let wrong_key = client(&base, "not-the-key", 3, Duration::from_secs(5));
    let refusals = [
        (
            wrong_key
                .send_template("+5491155550101", "vet_offer", &offer_params())
                .await,
            401,
        ),
        (
            mercately
                .send_template("+5491155550101", "no_such_template", &offer_params())
                .await,
            422,
        ),
        (
            mercately
                .send_template("+5491155550101", "vet_offer", &offer_params()[..5])
                .await,
            422,
        ),
        (
            mercately
                .send_template("1155550101", "vet_offer", &offer_params())
                .await,
            422,
        ),
        (mercately.send_text("+5491155550101", "  ").await, 422),
    ];
    for (result, want) in refusals {
        match result {
            Err(MercatelyError::Refused { status, .. }) => assert_eq!(status, want),
            other => panic!("expected a {want} refusal, got {other:?}"),
        }
    }
    assert_eq!(emulator.messages().len(), 2, "nothing refused was recorded");
}

#[tokio::test]
async fn transient_failures_are_retried_and_give_up_cleanly() {
    let (emulator, base) = emulator().await;
    let mercately = client(&base, KEY, 4, Duration::from_millis(300));

    // Two 503s, then it goes through: one message.
    emulator.fail_next(2, 503, Duration::ZERO);
    mercately
        .send_template("+5491155550101", "vet_offer", &offer_params())
        .await
        .expect("sent on the third try");
    // A reply slower than the timeout: the message went out, the client cannot know,
    // and it does not send it again.
    emulator.fail_next(1, 200, Duration::from_millis(800));
    let error = mercately
        .send_template("+5491155550102", "vet_offer", &offer_params())
        .await
        .expect_err("timed out");
    assert!(matches!(error, MercatelyError::Uncertain { .. }), "{error}");
    assert!(!error.is_retryable(), "{error}");
    assert_eq!(emulator.messages().len(), 2, "delivered once, not resent");

    // A 500 may have been processed: not resent either.
    emulator.fail_next(3, 500, Duration::ZERO);
    let error = mercately
        .send_template("+5491155550104", "vet_offer", &offer_params())
        .await
        .expect_err("500");
    assert!(matches!(error, MercatelyError::Uncertain { .. }), "{error}");
    emulator.fail_next(0, 200, Duration::ZERO);

    // Rate-limited throughout: the client gives up, retryable, and nothing was sent.
    emulator.fail_next(10, 429, Duration::ZERO);
    let error = mercately
        .send_template("+5491155550103", "vet_offer", &offer_params())
        .await
        .expect_err("still limited");
    assert!(error.is_retryable(), "{error}");
    assert!(
        matches!(error, MercatelyError::Unavailable { attempts: 4, .. }),
        "{error}"
    );
    assert_eq!(emulator.messages().len(), 2);
}

#[tokio::test]
async fn a_keyed_send_happens_once_however_often_it_is_retried() {
    let db = Arc::new(TestDb::new().await);
    let (emulator, base) = emulator().await;
    let mercately = client(&base, KEY, 3, Duration::from_secs(5));

    let first = send_template_once(
        &db.pool,
        &mercately,
        "offer:r1:1:0",
        "+5491155550101",
        "vet_offer",
        &offer_params(),
    )
    .await
    .expect("first");
    let again = send_template_once(
        &db.pool,
        &mercately,
        "offer:r1:1:0",
        "+5491155550101",
        "vet_offer",
        &offer_params(),
    )
    .await
    .expect("retry");
    assert_eq!(first, again, "the retry answers what the send got");
    assert_eq!(emulator.messages().len(), 1, "and sends nothing");

    // A send that never left (503 throughout) frees its claim: the retry sends.
    emulator.fail_next(10, 503, Duration::ZERO);
    send_template_once(
        &db.pool,
        &mercately,
        "offer:r1:1:1",
        "+5491155550101",
        "vet_offer_followup",
        &offer_params(),
    )
    .await
    .expect_err("Mercately down");
    send_template_once(
        &db.pool,
        &mercately,
        "offer:r1:1:1",
        "+5491155550101",
        "vet_offer_followup",
        &offer_params(),
    )
    .await
    .expect_err("still down");
    emulator.fail_next(0, 200, Duration::ZERO);
    send_template_once(
        &db.pool,
        &mercately,
        "offer:r1:1:1",
        "+5491155550101",
        "vet_offer_followup",
        &offer_params(),
    )
    .await
    .expect("back");
    assert_eq!(emulator.messages().len(), 2);
    assert_eq!(
        db.count("SELECT count(*) AS n FROM outbound_messages WHERE sent_at IS NOT NULL")
            .await,
        2
    );
}

async fn send_once(
    db: &TestDb,
    mercately: &MercatelyClient,
    key: &str,
) -> Result<integrations::mercately::Sent, MercatelyError> {
    send_template_once(
        &db.pool,
        mercately,
        key,
        "+5491155550101",
        "vet_offer",
        &offer_params(),
    )
    .await
    .map_err(|e| e.downcast::<MercatelyError>().expect("a Mercately error"))
}

#[tokio::test]
async fn a_send_that_may_have_left_is_never_repeated() {
    let db = Arc::new(TestDb::new().await);
    let (emulator, base) = emulator().await;
    let mercately = client(&base, KEY, 3, Duration::from_millis(300));

    // Mercately delivers, but answers after the client gave up.
    emulator.fail_next(1, 200, Duration::from_millis(800));
    let first = send_once(&db, &mercately, "notice:r2:Owner:accepted").await;
    assert!(
        matches!(first, Err(MercatelyError::Uncertain { .. })),
        "{first:?}"
    );
    let again = send_once(&db, &mercately, "notice:r2:Owner:accepted").await;
    assert!(
        matches!(&again, Err(e @ MercatelyError::Uncertain { .. }) if !e.is_retryable()),
        "{again:?}"
    );
    assert_eq!(
        emulator.messages().len(),
        1,
        "one message reached the phone"
    );
    assert_eq!(
        db.count("SELECT count(*) AS n FROM outbound_messages WHERE uncertain_at IS NOT NULL")
            .await,
        1,
        "the ledger says so"
    );
}

#[tokio::test]
async fn a_claim_is_a_lease_that_a_second_attempt_cannot_take() {
    use diesel_async::RunQueryDsl;
    let db = Arc::new(TestDb::new().await);
    let (emulator, base) = emulator().await;
    let mercately = client(&base, KEY, 3, Duration::from_secs(5));

    // An attempt holds the send right now (claimed a moment ago, not marked).
    let mut conn = db.conn().await;
    diesel::sql_query(
        "INSERT INTO outbound_messages (key, recipient, template, params, claimed_until, attempts) \
         VALUES ('offer:r3:1:0', '+5491155550101', 'vet_offer', '[]', now() + interval '1 minute', 1), \
                ('offer:r3:2:0', '+5491155550101', 'vet_offer', '[]', now() - interval '1 second', 1)",
    )
    .execute(&mut conn)
    .await
    .expect("claims");
    let held = send_once(&db, &mercately, "offer:r3:1:0").await;
    assert!(
        matches!(&held, Err(e @ MercatelyError::InFlight { .. }) if e.is_retryable()),
        "{held:?}"
    );
    // A lease that ran out unmarked: its worker died mid-send, so the message may
    // have left; it is not sent again.
    let lapsed = send_once(&db, &mercately, "offer:r3:2:0").await;
    assert!(
        matches!(lapsed, Err(MercatelyError::Uncertain { .. })),
        "{lapsed:?}"
    );
    assert!(emulator.messages().is_empty(), "nothing sent");

    // Ten attempts at once for one new key: one message.
    let sends = (0..10).map(|_| {
        let (db, mercately) = (db.clone(), mercately.clone());
        tokio::spawn(async move { send_once(&db, &mercately, "offer:r3:3:0").await.is_ok() })
    });
    let mut ok = 0;
    for send in sends {
        ok += usize::from(send.await.expect("task"));
    }
    assert!(ok >= 1, "the winner sent");
    assert_eq!(emulator.messages().len(), 1, "exactly one message");
}
