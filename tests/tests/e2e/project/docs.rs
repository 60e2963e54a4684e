//! The project's own docs stay true where a test can tell: the lifecycle diagram in
//! `docs/DOMAIN.md` has exactly the states and moves `domain` allows, the crate diagram
//! in `docs/ARCHITECTURE.md` exactly the dependencies the `Cargo.toml`s declare, and no
//! file points at documents outside the repository.

use std::collections::BTreeSet;

use domain::{RequestState, check_transition};

fn read(path: &str) -> String {
    std::fs::read_to_string(e2e::root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `a --> b` arrows of the first mermaid block that starts with `kind`.
fn arrows(doc: &str, kind: &str) -> BTreeSet<(String, String)> {
    let text = read(doc);
    let block = text
        .split("```mermaid")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or_default())
        .find(|b| b.trim_start().starts_with(kind))
        .unwrap_or_else(|| panic!("{doc} has a {kind} block"));
    block
        .lines()
        .filter_map(|line| {
            let (from, rest) = line.split_once("-->")?;
            let to = rest.split(':').next()?.trim();
            Some((from.trim().to_owned(), to.to_owned()))
        })
        .collect()
}

#[test]
fn the_lifecycle_diagram_has_exactly_the_moves_the_domain_allows() {
    let drawn: BTreeSet<(String, String)> = arrows("docs/DOMAIN.md", "stateDiagram")
        .into_iter()
        .filter(|(from, to)| from != "[*]" && to != "[*]")
        .collect();
    let mut legal = BTreeSet::new();
    for from in RequestState::ALL {
        for to in RequestState::ALL {
            if check_transition(from, to).is_ok() {
                legal.insert((from.as_str().to_owned(), to.as_str().to_owned()));
            }
        }
    }
    assert_eq!(
        drawn, legal,
        "docs/DOMAIN.md's diagram and domain::check_transition"
    );
    let ends: BTreeSet<String> = arrows("docs/DOMAIN.md", "stateDiagram")
        .into_iter()
        .filter(|(_, to)| to == "[*]")
        .map(|(from, _)| from)
        .collect();
    let terminal: BTreeSet<String> = RequestState::ALL
        .into_iter()
        .filter(|s| s.is_terminal())
        .map(|s| s.as_str().to_owned())
        .collect();
    assert_eq!(
        ends, terminal,
        "the diagram's end states are the terminal ones"
    );
}

#[test]
fn the_crates_depend_only_as_the_architecture_draws() {
    const CRATES: [&str; 11] = [
        "domain",
        "db",
        "documents",
        "config",
        "integrations",
        "messages",
        "activities",
        "workflows",
        "worker",
        "api",
        "sandbox",
    ];
    let drawn: BTreeSet<(String, String)> = arrows("docs/ARCHITECTURE.md", "flowchart")
        .into_iter()
        .filter(|(from, to)| CRATES.contains(&from.as_str()) && CRATES.contains(&to.as_str()))
        .collect();
    let mut declared = BTreeSet::new();
    for krate in CRATES {
        for dependency in dependencies(&read(&format!("{krate}/Cargo.toml"))) {
            if CRATES.contains(&dependency.as_str()) {
                declared.insert((krate.to_owned(), dependency));
            }
        }
    }
    assert_eq!(
        drawn, declared,
        "docs/ARCHITECTURE.md's crate diagram and the manifests"
    );
}

/// The names under `[dependencies]` of a `Cargo.toml` (`name = …` or `name.workspace`).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_dependencies = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
        } else if in_dependencies
            && !line.starts_with('#')
            && let Some((name, _)) = line.split_once(['=', '.'])
            && !name.trim().is_empty()
        {
            names.push(name.trim().to_owned());
        }
    }
    names
}

#[test]
fn no_file_points_at_documents_outside_the_repository() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("dir").flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(
                    name.as_str(),
                    "target" | ".git" | ".venv" | "histories" | "node_modules"
                ) && !name.starts_with('.')
                {
                    walk(&path, out);
                }
            } else if [".rs", ".md", ".toml", ".sh", ".yml", ".sql", "Makefile"]
                .iter()
                .any(|ext| name.ends_with(ext))
            {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&e2e::root(), &mut files);
    assert!(files.len() > 50, "the walk found the sources");
    let outside = ["../shared", "shared/docs", "shared/seed", "STYLE.md"];
    let this_file = file!().rsplit('/').next().unwrap_or_default().to_owned();
    let offending: Vec<String> = files
        .iter()
        .filter(|p| !p.ends_with(&this_file))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            outside.iter().any(|o| text.contains(o))
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(offending.is_empty(), "{offending:?}");
}
