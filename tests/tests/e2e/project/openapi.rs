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

/// utoipa names a schema after its type, and when two types of the same name reach the
/// document the first merged wins: an operation would be documented with the other's
/// shape, silently. Every type that derives `ToSchema` (in `api` and `domain`) has a
/// name of its own, or says another with `#[schema(as = …)]`.
#[test]
fn no_two_schemas_of_the_openapi_document_share_a_name() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for krate in ["api/src", "domain/src"] {
        walk(&root.join(krate), &mut files);
    }
    let mut seen: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        for (at, line) in lines.iter().enumerate() {
            if !(line.contains("derive(") && line.contains("ToSchema")) {
                continue;
            }
            // The attributes up to the item, then the item's name.
            let mut name = None;
            for next in &lines[at..] {
                let next = next.trim();
                if let Some(rest) = next.strip_prefix("#[schema(as = ") {
                    name = rest.split([')', ',']).next().map(str::to_owned);
                }
                let item = next
                    .strip_prefix("pub ")
                    .or(Some(next))
                    .and_then(|n| n.strip_prefix("pub(crate) ").or(Some(n)));
                if let Some(item) = item
                    && let Some(rest) = item
                        .strip_prefix("struct ")
                        .or_else(|| item.strip_prefix("enum "))
                {
                    let ident: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    let name = name
                        .take()
                        .map(|n| n.rsplit("::").next().unwrap_or(&n).to_owned())
                        .unwrap_or(ident);
                    let place = format!("{}:{}", file.display(), at + 1);
                    seen.entry(name).or_default().push(place);
                    break;
                }
            }
        }
    }
    assert!(seen.len() > 50, "the scan found the schemas: {seen:?}");
    let shared: Vec<_> = seen.iter().filter(|(_, at)| at.len() > 1).collect();
    assert!(shared.is_empty(), "schemas sharing a name: {shared:#?}");
}
