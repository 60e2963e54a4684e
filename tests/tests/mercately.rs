//! The Mercately client against the sandbox emulator: the contract is enforced both ways
//! (key, required fields, template parameters), transient failures are retried, refusals
//! are not, and a keyed send happens once however often it is retried.

use std::{sync::Arc, time::Duration};

use activities::mercately::{
    MercatelyClient, MercatelyError, MercatelySettings, send_template_once,
};
use e2e::TestDb;

use e2e::{MERCATELY_KEY as KEY, mercately_emulator as emulator};

fn client(base: &str, key: &str, attempts: u32, timeout: Duration) -> MercatelyClient {
    MercatelyClient::new(MercatelySettings {
        base_url: base.to_owned(),
        api_key: key.to_owned(),
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
    // A reply slower than the timeout is a network error: retried.
    emulator.fail_next(1, 200, Duration::from_millis(800));
    mercately
        .send_template("+5491155550102", "vet_offer", &offer_params())
        .await
        .expect("sent after a timeout");
    assert_eq!(emulator.messages().len(), 2);

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

    // A failed send is not marked: the retry sends.
    emulator.fail_next(10, 500, Duration::ZERO);
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
