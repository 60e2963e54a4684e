//! The client against the AFIP emulator (`sandbox`), in-process on a free port.

use std::time::Duration;

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use sandbox::afip::{Afip, TAXPAYER_CERT, TAXPAYER_KEY};

use super::{
    Credentials, Wsaa, WsaaClient, Wsfe, WsfeClient, WsfeError,
    wsaa::{WsaaError, WsaaFault},
    wsfe::{Associated, Authorization, ReceiptRequest, Rejection},
};

const CUIT: u64 = super::SANDBOX_CUIT;

async fn emulator() -> (Afip, String) {
    let afip = Afip::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(afip.clone().serve(listener));
    (afip, base)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

fn credentials() -> Credentials {
    Credentials::from_pem(TAXPAYER_CERT, TAXPAYER_KEY).unwrap()
}

fn today() -> NaiveDate {
    domain::time::local_date(Utc::now())
}

fn receipt_c(number: u64, total: &str) -> ReceiptRequest {
    let total: Decimal = total.parse().unwrap();
    ReceiptRequest {
        point_of_sale: 1,
        receipt_type: 11,
        number,
        date: today(),
        doc_type: 96,
        doc_number: 30_123_456,
        total,
        net: total,
        vat: Decimal::ZERO,
        service_from: today(),
        service_to: today(),
        payment_due: today(),
        vat_condition: 5,
        associated: None,
        vat_lines: Vec::new(),
    }
}

#[tokio::test]
async fn a_ticket_is_issued_once_and_asking_again_while_it_is_fresh_is_refused() {
    let (afip, base) = emulator().await;
    let wsaa = WsaaClient::new(http(), &format!("{base}/ws/services/LoginCms"));
    let ticket = wsaa.login(&credentials(), "wsfe").await.unwrap();
    assert_eq!(
        ticket.expires_at - ticket.generated_at,
        chrono::Duration::hours(12)
    );
    let again = wsaa.login(&credentials(), "wsfe").await.unwrap_err();
    assert!(
        matches!(again, WsaaError::Fault(WsaaFault::AlreadyAuthenticated)),
        "{again}"
    );
    assert_eq!(afip.logins(), 1);
}

#[tokio::test]
async fn an_expired_or_foreign_certificate_is_refused_with_its_fault() {
    let (afip, base) = emulator().await;
    let wsaa = WsaaClient::new(http(), &format!("{base}/ws/services/LoginCms"));
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 1024).unwrap();
    let request =
        super::credentials::signing_request_with(&key, "20123456786", "AMAR", "amar").unwrap();
    let now = Utc::now();
    let expired = afip
        .issue_certificate(
            &request.csr_pem,
            now - chrono::Duration::days(400),
            now - chrono::Duration::days(1),
        )
        .unwrap();
    let credentials = Credentials::from_pem(&expired, &request.key_pem).unwrap();
    assert!(credentials.expires_at() < now);
    let refused = wsaa.login(&credentials, "wsfe").await.unwrap_err();
    assert!(
        matches!(refused, WsaaError::Fault(WsaaFault::CertificateExpired)),
        "{refused}"
    );
    assert!(refused.to_string().contains("api afip-csr"), "{refused}");

    // Signed by someone else than the authority: a self-made authority.
    let other = Afip::with_authority(TAXPAYER_CERT, TAXPAYER_KEY).unwrap();
    let foreign = other
        .issue_certificate(&request.csr_pem, now, now + chrono::Duration::days(30))
        .unwrap();
    let credentials = Credentials::from_pem(&foreign, &request.key_pem).unwrap();
    let refused = wsaa.login(&credentials, "wsfe").await.unwrap_err();
    assert!(
        matches!(refused, WsaaError::Fault(WsaaFault::CertificateUntrusted)),
        "{refused}"
    );
    assert_eq!(afip.logins(), 0);
}

#[tokio::test]
async fn receipts_are_numbered_last_plus_one_looked_up_and_checked() {
    let (afip, base) = emulator().await;
    let ticket = WsaaClient::new(http(), &format!("{base}/ws/services/LoginCms"))
        .login(&credentials(), "wsfe")
        .await
        .unwrap();
    let wsfe = WsfeClient::new(http(), &format!("{base}/wsfev1/service.asmx"), CUIT, 2);
    assert!(wsfe.dummy().await.unwrap());
    assert_eq!(wsfe.last_authorized(&ticket, 1, 11).await.unwrap(), 0);
    let Authorization::Approved { cae, cae_due, .. } = wsfe
        .authorize(&ticket, &receipt_c(1, "25000"))
        .await
        .unwrap()
    else {
        panic!("not approved");
    };
    assert_eq!(cae.len(), 14);
    assert!(cae_due >= today());
    assert_eq!(wsfe.last_authorized(&ticket, 1, 11).await.unwrap(), 1);
    let issued = wsfe.lookup(&ticket, 1, 11, 1).await.unwrap();
    assert_eq!(
        (issued.number, issued.total, issued.cae.as_str()),
        (1, "25000".parse().unwrap(), cae.as_str())
    );
    assert_eq!((issued.doc_type, issued.doc_number), (96, 30_123_456));
    assert_eq!(
        wsfe.lookup(&ticket, 1, 11, 2).await.unwrap_err(),
        WsfeError::NotFound
    );

    // Out of sequence, and totals that do not add up.
    let Authorization::Rejected { messages } =
        wsfe.authorize(&ticket, &receipt_c(5, "100")).await.unwrap()
    else {
        panic!("approved out of sequence");
    };
    assert_eq!(
        Rejection::of(&messages),
        Rejection::OutOfSequence,
        "{messages:?}"
    );
    let mut wrong = receipt_c(2, "100");
    wrong.net = "90".parse().unwrap();
    let Authorization::Rejected { messages } = wsfe.authorize(&ticket, &wrong).await.unwrap()
    else {
        panic!("approved with wrong totals");
    };
    assert_eq!(Rejection::of(&messages), Rejection::Totals, "{messages:?}");

    // A credit note names its receipt.
    let mut note = receipt_c(1, "25000");
    note.receipt_type = 13;
    note.associated = Some(Associated {
        receipt_type: 11,
        point_of_sale: 1,
        number: 1,
        cuit: CUIT,
        date: today(),
    });
    assert!(matches!(
        wsfe.authorize(&ticket, &note).await.unwrap(),
        Authorization::Approved { .. }
    ));
    let sent = afip.last_request().unwrap();
    assert!(
        sent.contains(
            "<CondicionIVAReceptorId>5</CondicionIVAReceptorId><CbtesAsoc><CbteAsoc><Tipo>11</Tipo>"
        ),
        "{sent}"
    );
    assert_eq!(afip.receipts().len(), 2);
    assert_eq!(wsfe.points_of_sale(&ticket).await.unwrap().len(), 2);
    let b = wsfe.buyer_conditions(&ticket, Some('B')).await.unwrap();
    assert!(b.iter().any(|c| c.id == 5) && !b.iter().any(|c| c.id == 1));
}

#[tokio::test]
async fn a_lost_answer_is_unanswered_never_retried_and_the_receipt_is_found_by_lookup() {
    let (afip, base) = emulator().await;
    let ticket = WsaaClient::new(http(), &format!("{base}/ws/services/LoginCms"))
        .login(&credentials(), "wsfe")
        .await
        .unwrap();
    let wsfe = WsfeClient::new(http(), &format!("{base}/wsfev1/service.asmx"), CUIT, 3);
    afip.drop_next_answer();
    let lost = wsfe
        .authorize(&ticket, &receipt_c(1, "5000"))
        .await
        .unwrap_err();
    assert!(matches!(lost, WsfeError::Unanswered(_)), "{lost}");
    assert_eq!(afip.calls("FECAESolicitar"), 1);
    let found = wsfe.lookup(&ticket, 1, 11, 1).await.unwrap();
    assert_eq!(found.total, "5000".parse().unwrap());

    afip.slow_next_answer(Duration::from_secs(3));
    let slow = wsfe
        .authorize(&ticket, &receipt_c(2, "10"))
        .await
        .unwrap_err();
    assert!(matches!(slow, WsfeError::Unanswered(_)), "{slow}");
    assert_eq!(afip.receipts().len(), 2);

    // A ticket the service does not know is the ticket's fault, not the receipt's.
    let mut forged = ticket.clone();
    forged.token = "forged".into();
    assert!(matches!(
        wsfe.last_authorized(&forged, 1, 11).await.unwrap_err(),
        WsfeError::Ticket(_)
    ));
}
