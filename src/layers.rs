//! The layer of every module, and the test that keeps imports pointing down: a module may
//! name (`crate::…`) only modules of a lower layer, and the names `lib.rs` defines. The
//! table is the one `lib.rs`'s docs and `docs/architecture.md` show.

/// Each top-level module and its layer, bottom first.
const LAYERS: &[(&str, u8)] = &[
    ("view", 0),
    ("counters", 0),
    ("parse", 1),
    ("fixtures", 1),
    ("decode", 2),
    ("history", 3),
    ("event_counts", 3),
    ("verdict", 4),
    ("store", 5),
    ("watch", 6),
    ("log_fetch", 6),
    ("exposition", 7),
    ("webconfig", 8),
    ("http", 9),
    ("config", 10),
    ("commands", 11),
    ("telemetry", 11),
    ("serve", 12),
];

/// What `lib.rs` itself defines, which any layer may use.
const ROOT_NAMES: &[&str] = &["Clock", "Error", "now"];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// The top-level modules a source text names through `crate::`, comments left out:
/// `crate::a::b`, `crate::{a, b::c}` and `crate::{self as x}` forms.
fn named_modules(source: &str) -> Vec<String> {
    let code: String = source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| l.split(" // ").next().unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let mut out = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let preceded_by_ident = rest[..at].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !preceded_by_ident {
            if let Some(group) = after.strip_prefix('{') {
                // Top-level names of a group: split at commas outside nested braces.
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            out.push(ident(group[start..i].trim()));
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            out.push(ident(group[start..i].trim()));
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
            } else {
                out.push(ident(after));
            }
        }
        rest = after;
    }
    out.retain(|m| !m.is_empty() && m != "self");
    out
}

/// The upward or sideways imports of `module`'s source: `(module, named, why)`.
fn violations(module: &str, source: &str) -> Vec<String> {
    let Some(own) = layer(module) else { return vec![format!("{module} has no layer in src/layers.rs")] };
    named_modules(source)
        .into_iter()
        .filter(|named| named != module && !ROOT_NAMES.contains(&named.as_str()))
        .filter_map(|named| match layer(&named) {
            Some(l) if l < own => None,
            Some(l) => Some(format!("{module} (layer {own}) imports {named} (layer {l})")),
            None => Some(format!("{module} names crate::{named}, which has no layer")),
        })
        .collect()
}

/// Every `.rs` file under `dir`, with the top-level module it belongs to.
fn sources(dir: &std::path::Path, module: Option<&str>, out: &mut Vec<(String, std::path::PathBuf)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("src/ is readable").flatten().collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        if path.is_dir() {
            sources(&path, Some(module.unwrap_or(&stem)), out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((module.map_or(stem, str::to_string), path));
        }
    }
}

#[test]
fn every_module_imports_only_lower_layers() {
    let mut files = Vec::new();
    sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), None, &mut files);
    assert!(files.len() > 20, "found {} source files", files.len());
    let mut problems = Vec::new();
    for (module, path) in &files {
        if matches!(module.as_str(), "lib" | "main" | "layers") {
            continue;
        }
        let source = std::fs::read_to_string(path).expect("source is readable");
        problems.extend(violations(module, &source).into_iter().map(|v| format!("{}: {v}", path.display())));
    }
    assert!(problems.is_empty(), "imports that do not point down:\n{}", problems.join("\n"));
}

#[test]
fn an_upward_import_is_caught() {
    assert_eq!(violations("view", "use crate::serve::serve;"), ["view (layer 0) imports serve (layer 12)"]);
    assert_eq!(
        violations("store", "use crate::{Clock, history::track, exposition::{Format, prerender}};"),
        ["store (layer 5) imports exposition (layer 7)"]
    );
    assert_eq!(violations("watch", "let x = crate::log_fetch::run;"), ["watch (layer 6) imports log_fetch (layer 6)"]);
    assert!(violations("exposition", "// crate::serve in a comment\nuse crate::store::lock;").is_empty());
    assert_eq!(violations("nowhere", ""), ["nowhere has no layer in src/layers.rs"]);
}
