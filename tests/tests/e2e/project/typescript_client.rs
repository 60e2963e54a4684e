//! A frontend can rely on the OpenAPI document: TypeScript types are generated from the
//! served document with openapi-typescript (npm), and `clients/typescript/book.ts` — a
//! booking from sign-up to checkout, written with openapi-fetch against those types —
//! must type-check with `tsc --strict`, then books a visit for real against the test
//! instance. A renamed field, a lost operation or a wrong parameter location fails here,
//! as it would fail the frontend's build or its first request.

use e2e::TestApp;

#[tokio::test]
async fn a_typescript_client_generated_from_the_document_books_a_visit_and_type_checks() {
    let app = TestApp::start().await;
    // What a booking needs: a species, a priced service, a neighbourhood holding the
    // address the script gives.
    let _world = e2e::fixtures::booking(&app).await;
    let dir = e2e::root().join("clients/typescript");
    let npm_bin = dir.join("node_modules/.bin");
    assert!(
        npm_bin.join("tsc").exists(),
        "{} is missing: scripts/ensure-test-tools.sh installs it (npm ci)",
        npm_bin.display()
    );
    let (status, document) = app.get_json("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    let generated = dir.join("generated");
    std::fs::create_dir_all(&generated).expect("generated/");
    std::fs::write(
        generated.join("openapi.json"),
        serde_json::to_vec_pretty(&document).expect("json"),
    )
    .expect("write the document");
    for (tool, args) in [
        (
            "openapi-typescript",
            vec!["generated/openapi.json", "-o", "generated/api.d.ts"],
        ),
        ("tsc", vec!["-p", "."]),
    ] {
        let output = tokio::process::Command::new(npm_bin.join(tool))
            .args(&args)
            .current_dir(&dir)
            .output()
            .await
            .unwrap_or_else(|e| panic!("run {tool}: {e}"));
        let said = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{tool} {args:?}:\n{said}");
    }
    let when = (chrono::Utc::now() + chrono::Duration::days(3))
        .date_naive()
        .and_hms_opt(13, 0, 0)
        .expect("a time")
        .and_utc();
    let output = tokio::process::Command::new("node")
        .args([
            "generated/js/run.js",
            app.url("").trim_end_matches('/'),
            "frontend@example.com",
            &when.to_rfc3339(),
        ])
        .current_dir(&dir)
        .output()
        .await
        .expect("run node");
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "node run.js:\n{said}");
    let last = said.lines().last().expect("a line");
    let booked: serde_json::Value = serde_json::from_str(last).expect("json");
    assert_eq!(booked["state"], "pending", "{said}");
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM service_requests r JOIN pet_owners o ON o.id = r.owner_id WHERE o.email = 'frontend@example.com'")
            .await,
        1
    );
}
