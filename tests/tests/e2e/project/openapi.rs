//! The HTTP contract as others read it: the OpenAPI document is valid OpenAPI 3.1 (as a
//! frontend's client generator reads it), checked with `openapi-spec-validator` (PyPI,
//! installed in `.venv` with the test tools) against the document the running API
//! serves; and every answer carries the security headers.

use e2e::TestApp;

#[tokio::test]
async fn the_openapi_document_is_valid_openapi() {
    let app = TestApp::start().await;
    let document = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("text");
    let dir = std::env::temp_dir().join(format!("openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("openapi.json");
    std::fs::write(&path, &document).expect("write");
    let output = tokio::process::Command::new(e2e::venv_tool("openapi-spec-validator"))
        .arg(&path)
        .output()
        .await
        .expect("run openapi-spec-validator");
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    assert!(said.contains("OK"), "{said}");
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::start().await;
    for path in [
        "/healthz",
        "/api/v1/openapi.json",
        "/api/v1/pets",
        "/api/docs",
    ] {
        let response = app.http.get(app.url(path)).send().await.expect("GET");
        let headers = response.headers();
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("content-security-policy", api::CONTENT_SECURITY_POLICY),
            ("referrer-policy", "no-referrer"),
        ] {
            assert_eq!(
                headers.get(name).and_then(|v| v.to_str().ok()),
                Some(value),
                "{path}: {name}"
            );
        }
        let csp = headers["content-security-policy"].to_str().expect("ascii");
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        // What the API answers (not its published document) is never kept by a
        // browser or a proxy.
        let cache = headers.get("cache-control").and_then(|v| v.to_str().ok());
        if path == "/api/v1/pets" {
            assert_eq!(cache, Some("no-store"), "{path}");
        }
    }
}
