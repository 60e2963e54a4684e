//! The OpenAPI document and the router agree: every route declared in `api/src/routes`
//! is documented, every documented operation is served, and the authorization table
//! classifies every one.

use e2e::TestApp;
use std::collections::BTreeSet;

use super::authorization::as_documented;
use super::authorization_table::{Class::Public, table};

/// The `pub const NAME: &str = "value";` of `domain/src/paths.rs`.
fn path_constants() -> Vec<(String, String)> {
    let source = std::fs::read_to_string(e2e::root().join("domain/src/paths.rs")).expect("paths");
    source
        .lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("pub const ")?;
            let (name, rest) = rest.split_once(':')?;
            let value = rest.split('"').nth(1)?;
            Some((name.trim().to_owned(), value.to_owned()))
        })
        .collect()
}

/// The path a `.route(` starts with, and what follows it: a literal `"…"`,
/// `paths::under_api(paths::NAME)`, or `&format!("{}…", paths::under_api(paths::NAME))`.
fn route_path<'a>(piece: &'a str, constants: &[(String, String)]) -> Option<(String, &'a str)> {
    let constant = |expr: &str| {
        let name = expr.trim().strip_prefix("paths::under_api(paths::")?;
        let name = name.split(')').next()?;
        let value = &constants.iter().find(|(n, _)| n == name)?.1;
        Some(value.strip_prefix("/api/v1").unwrap_or(value).to_owned())
    };
    if let Some(rest) = piece.strip_prefix('"') {
        let (path, rest) = rest.split_once('"')?;
        return Some((path.to_owned(), rest));
    }
    if let Some(rest) = piece
        .strip_prefix("&format!(")
        .and_then(|rest| rest.trim_start().strip_prefix('"'))
    {
        // `&format!("…{}…{}…", paths::under_api(paths::A), paths::B)`: each `{}` is the
        // next argument, a constant (under the API prefix or not).
        let (template, rest) = rest.split_once('"')?;
        let mut depth = 1;
        let end = rest.char_indices().find_map(|(i, c)| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            (depth == 0).then_some(i)
        })?;
        let (arguments, rest) = (&rest[..end], rest[end + 1..].trim_start_matches(','));
        let mut path = template.to_owned();
        for argument in arguments
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            let value = match argument.strip_prefix("paths::under_api(") {
                Some(_) => constant(&format!("{argument})"))?,
                None => {
                    let name = argument.strip_prefix("paths::")?;
                    constants.iter().find(|(n, _)| n == name)?.1.clone()
                }
            };
            path = path.replacen("{}", &value, 1);
        }
        let path = path.replace("{{", "{").replace("}}", "}");
        return Some((path, rest));
    }
    let (expr, rest) = piece.split_once("),")?;
    Some((constant(&format!("{expr})"))?, rest))
}

/// `.route("path", get(..).post(..))` in the API's sources → {(method, full path)}.
fn routes_in_source() -> BTreeSet<(String, String)> {
    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("routes dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    rust_files(&e2e::root().join("api/src/routes"), &mut files);
    let constants = path_constants();
    let mut out = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(&file).expect("source");
        let module = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        // health and docs are mounted at the root, the rest under /api/v1 (see api::router).
        let prefix = if module == "health" || module == "docs" {
            ""
        } else {
            "/api/v1"
        };
        for piece in source.split(".route(").skip(1) {
            let Some((path, rest)) = route_path(piece.trim_start(), &constants) else {
                continue;
            };
            // The handler expression: up to the parenthesis closing `.route(`.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find_map(|(i, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    (depth == 0).then_some(i)
                })
                .unwrap_or(rest.len());
            let handlers = &rest[..end];
            for verb in ["get", "post", "put", "patch", "delete"] {
                let call = format!("{verb}(");
                let found = handlers.match_indices(&call).any(|(i, _)| {
                    i == 0 || !handlers[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
                });
                if found {
                    out.insert((verb.to_owned(), format!("{prefix}{path}")));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_operation_is_in_the_table() {
    let app = TestApp::start().await;
    let (status, doc) = app.get_json("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (verb, operation) in item.as_object().expect("path item") {
            documented.insert((verb.clone(), path.clone()));
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{verb} {path} documents no responses"
            );
        }
    }
    // The docs themselves are not API operations.
    let serving_docs = |path: &str| path == "/api/v1/openapi.json" || path.starts_with("/api/docs");
    let declared: BTreeSet<_> = routes_in_source()
        .into_iter()
        .filter(|(_, p)| !serving_docs(p))
        .collect();
    assert!(declared.len() > 60, "{declared:?}");
    let undocumented: Vec<_> = declared.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from the OpenAPI document: {undocumented:?}"
    );
    let phantom: Vec<_> = documented.difference(&declared).collect();
    assert!(
        phantom.is_empty(),
        "documented operations no route serves: {phantom:?}"
    );

    let tabled: BTreeSet<_> = table()
        .into_iter()
        .map(|(v, p, ..)| (v.to_owned(), as_documented(p)))
        .collect();
    let untabled: Vec<_> = documented.difference(&tabled).collect();
    assert!(
        untabled.is_empty(),
        "operations the authorization table does not classify: {untabled:?}"
    );
    let stale: Vec<_> = tabled.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "table rows for operations that do not exist: {stale:?}"
    );

    // What the table calls signed-in is documented as needing the bearer token.
    for (verb, path, class, _) in table() {
        let security = &doc["paths"][as_documented(path)][verb]["security"];
        assert_eq!(
            class != Public,
            security.as_array().is_some_and(|s| !s.is_empty()),
            "{verb} {path}: security {security}"
        );
    }
}
