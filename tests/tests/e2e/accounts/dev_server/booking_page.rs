//! The booking page a vaccine reminder links to, in a real browser (headless Chromium):
//! Ana opens the link, signs in, sees what is prefilled and its price, and books; the
//! request is hers, for that pet, service and address, in the window she chose.

use e2e::{TestApp, fixtures::dispatch};

#[tokio::test]
async fn an_owner_books_from_the_reminders_link_in_a_browser() {
    let app = TestApp::start().await;
    let w = dispatch(&app, 1).await;
    let b = &w.booking;
    let link = activities::reminders::booking_link(
        &app.base,
        Some(b.service.parse().expect("service id")),
        b.pet.parse().expect("pet id"),
        Some(b.home.parse().expect("address id")),
    );
    let day = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    let script = e2e::root().join("tests/browser/book_page.py");
    let out = tokio::process::Command::new(e2e::venv_tool("python"))
        .arg(&script)
        .args([
            &link,
            "ana@example.com",
            "correct horse battery",
            &day.to_string(),
        ])
        .output()
        .await
        .expect("the browser script runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: serde_json::Value =
        serde_json::from_str(stdout.trim()).expect("what the page showed");
    assert_eq!(page["summary"], "Consulta para Luna");
    assert_eq!(page["address"], "Gurruchaga 1234");
    assert_eq!(
        page["price"], "Precio: $ 12000.00 ARS",
        "10000 × 1.2 Palermo"
    );
    assert!(
        page["booked"]
            .as_str()
            .is_some_and(|t| t.contains("Estamos buscando un veterinario"))
    );
    // 10:00 to 13:00 in Buenos Aires that day, for Luna, at home.
    let start = domain::time::to_utc(day.and_hms_opt(10, 0, 0).expect("time"));
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM service_requests WHERE owner_id = '{}' AND pet_id = '{}' \
                 AND service_id = '{}' AND address_id = '{}' AND lower(wanted) = '{}' \
                 AND upper(wanted) = '{}'",
                b.ana.id,
                b.pet,
                b.service,
                b.home,
                start.to_rfc3339(),
                (start + chrono::Duration::hours(3)).to_rfc3339()
            ))
            .await,
        1
    );
}
