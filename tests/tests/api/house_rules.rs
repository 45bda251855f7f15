//! The house rules of `api/src` that a reviewer would otherwise check by hand
//! (`../shared/design/ARCHITECTURE.md`): requests never reach the platform driver, so neither
//! the HTTP layer nor the store imports it; handlers stay thin (a request's use case lives in
//! `service/`).

use std::path::{Path, PathBuf};

/// The longest a handler may be, from `async fn` to its closing brace.
const HANDLER_LINES: usize = 40;

fn sources(dir: &str) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../api/src")
        .join(dir);
    let mut files = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((path, text));
            }
        }
    }
    assert!(!files.is_empty(), "no sources under {root:?}");
    files
}

#[test]
fn neither_http_nor_store_imports_the_platform() {
    let offenders: Vec<String> = ["http", "store"]
        .into_iter()
        .flat_map(sources)
        .flat_map(|(path, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, line)| !line.trim_start().starts_with("//"))
                .filter(|(_, line)| line.contains("platform::"))
                .map(|(n, line)| format!("{}:{}: {}", path.display(), n + 1, line.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(offenders.is_empty(), "{offenders:#?}");
}

/// Each handler (the function under a `#[utoipa::path]`) with its length in lines.
fn handlers(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        if !line.starts_with("#[utoipa::path(") {
            continue;
        }
        let start = (at..lines.len())
            .find(|&i| lines[i].starts_with("async fn ") || lines[i].starts_with("pub async fn "))
            .expect("a handler follows its #[utoipa::path]");
        let end = (start..lines.len())
            .find(|&i| lines[i] == "}")
            .expect("a handler ends with a closing brace in column 0");
        let name = lines[start]
            .trim_start_matches("pub ")
            .trim_start_matches("async fn ")
            .split('(')
            .next()
            .unwrap_or("?")
            .to_string();
        found.push((name, end - start + 1));
    }
    found
}

#[test]
fn no_handler_is_longer_than_forty_lines() {
    let all: Vec<(String, usize)> = sources("http")
        .into_iter()
        .flat_map(|(path, text)| {
            let file = path.file_name().unwrap().to_string_lossy().to_string();
            handlers(&text)
                .into_iter()
                .map(move |(name, lines)| (format!("{file}: {name}"), lines))
        })
        .collect();
    assert!(all.len() > 40, "found only {} handlers", all.len());
    let long: Vec<_> = all.iter().filter(|(_, n)| *n > HANDLER_LINES).collect();
    assert!(
        long.is_empty(),
        "handlers over {HANDLER_LINES} lines: {long:#?}"
    );
}
