//! The layer of every module, and the tests that keep imports pointing one way: a module
//! may name only modules of a lower layer, and no two files of `src/` may name each other.
//! The table is the one `lib.rs`'s docs show.
//!
//! A path is followed to the file that defines what it names: `crate::a::b`, `super::…`,
//! `self::…` and a module's own children (`mod x;` then `x::…`), through the re-exports of
//! a folder's `mod.rs` or of `lib.rs` (`pub use x::Y`). Such a re-export of a child is the
//! folder's face, not a use: `lib.rs` re-exports every module, and a `mod.rs` its children,
//! while those name it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and its layer, bottom first.
const LAYERS: &[(&str, u8)] = &[
    ("clock", 0),
    ("error", 0),
    ("sync", 0),
    ("view", 1),
    ("parse", 2),
    ("counters", 2),
    ("fixtures", 2),
    ("decode", 3),
    ("history", 4),
    ("event_counts", 4),
    ("verdict", 5),
    ("store", 6),
    ("rollout", 6),
    ("watch", 7),
    ("log_fetch", 7),
    ("exposition", 8),
    ("webconfig", 9),
    ("http", 10),
    ("config", 11),
    ("commands", 12),
    ("telemetry", 12),
    ("serve", 13),
    ("internals", 14),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// A token of code, as far as paths go: a name, `::`, or any other character.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    Name(String),
    PathSep,
    Punct(char),
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The tokens of `source`: comments, string and character literals, numbers and lifetimes
/// are left out, so nothing quoted or commented counts as a use.
fn tokens(source: &str) -> Vec<Token> {
    let c: Vec<char> = source.chars().collect();
    let at = |i: usize| c.get(i).copied();
    // From just after an opening `"`, the index after the closing one.
    let past_string = |mut i: usize| {
        while i < c.len() && c[i] != '"' {
            i += if c[i] == '\\' { 2 } else { 1 };
        }
        i + 1
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        match (c[i], at(i + 1)) {
            ('/', Some('/')) => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                let mut depth = 0;
                while i < c.len() {
                    if c[i..].starts_with(&['/', '*']) {
                        depth += 1;
                        i += 2;
                    } else if c[i..].starts_with(&['*', '/']) {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            ('"', _) => i = past_string(i + 1),
            ('\'', Some('\\')) => {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            }
            ('\'', _) if at(i + 2) == Some('\'') => i += 3,
            (':', Some(':')) => {
                out.push(Token::PathSep);
                i += 2;
            }
            (first, _) if is_name_char(first) => {
                let start = i;
                while i < c.len() && is_name_char(c[i]) {
                    i += 1;
                }
                let name: String = c[start..i].iter().collect();
                let hashes = c[i..].iter().take_while(|h| **h == '#').count();
                match name.as_str() {
                    // A raw string: up to a `"` and as many `#`.
                    "r" | "br" | "cr" if at(i + hashes) == Some('"') => {
                        i += hashes + 1;
                        while i < c.len() && !(c[i] == '"' && c[i + 1..].iter().take(hashes).all(|h| *h == '#')) {
                            i += 1;
                        }
                        i += hashes + 1;
                    }
                    "b" | "c" if at(i) == Some('"') => i = past_string(i + 1),
                    "r" if hashes == 1 && at(i + 1).is_some_and(is_name_char) => i += 1,
                    _ if first.is_ascii_digit() => {}
                    _ => out.push(Token::Name(name)),
                }
            }
            // A lifetime or a label: its name is not a path.
            ('\'', _) => {
                i += 1;
                while i < c.len() && is_name_char(c[i]) {
                    i += 1;
                }
            }
            (space, _) if space.is_whitespace() => i += 1,
            (other, _) => {
                out.push(Token::Punct(other));
                i += 1;
            }
        }
    }
    out
}

/// The leaves of the `use` tree at `t[*i]` (`a::{b, c::d as e, self, f::*}`), each as its
/// path and the name it binds (none for a glob); `*i` ends after the tree.
fn use_tree(t: &[Token], i: &mut usize, mut path: Vec<String>, leaves: &mut Vec<(Vec<String>, Option<String>)>) {
    loop {
        match t.get(*i) {
            // `a::{self}` names `a`; only a leading `self` is a segment.
            Some(Token::Name(n)) if n == "self" && !path.is_empty() => *i += 1,
            Some(Token::Name(n)) => {
                path.push(n.clone());
                *i += 1;
            }
            Some(Token::Punct('*')) => {
                *i += 1;
                leaves.push((path, None));
                return;
            }
            Some(Token::Punct('{')) => {
                *i += 1;
                while !matches!(t.get(*i), None | Some(Token::Punct('}' | ';'))) {
                    let before = *i;
                    use_tree(t, i, path.clone(), leaves);
                    if t.get(*i) == Some(&Token::Punct(',')) || *i == before {
                        *i += 1;
                    }
                }
                *i += 1;
                return;
            }
            _ => break,
        }
        if t.get(*i) != Some(&Token::PathSep) {
            break;
        }
        *i += 1;
    }
    let name = match (t.get(*i), t.get(*i + 1)) {
        (Some(Token::Name(r#as)), Some(Token::Name(alias))) if r#as == "as" => {
            *i += 2;
            Some(alias.clone())
        }
        _ => path.last().cloned(),
    };
    leaves.push((path, name));
}

/// Whether the tokens before a `use` make it public: `pub` or `pub(…)`.
fn is_pub(before: &[Token]) -> bool {
    let pub_at = |i: usize| before.get(i) == Some(&Token::Name("pub".into()));
    match before.last() {
        Some(Token::Name(p)) => p == "pub",
        Some(Token::Punct(')')) => {
            before.iter().rposition(|t| *t == Token::Punct('(')).is_some_and(|open| open > 0 && pub_at(open - 1))
        }
        _ => false,
    }
}

/// What one file says about modules.
#[derive(Debug, Default)]
struct Source {
    file: PathBuf,
    /// Its module path from the crate root: `["view", "pod"]` for `view/pod.rs`.
    module: Vec<String>,
    /// The modules it declares (`mod x;`).
    children: BTreeSet<String>,
    /// Each path it names, as written, with the inline modules (`mod tests { … }`) it sits in.
    named: Vec<(Vec<String>, Vec<String>)>,
    /// Its public `use` leaves: the name each binds, and the path as written.
    re_exports: BTreeMap<String, Vec<String>>,
}

impl Source {
    fn parse(file: PathBuf, module: Vec<String>, text: &str) -> Source {
        let t = tokens(text);
        let mut source = Source { file, module, ..Source::default() };
        let mut depth = 0;
        for (i, token) in t.iter().enumerate() {
            match token {
                Token::Punct('{') => depth += 1,
                Token::Punct('}') => depth -= 1,
                Token::Name(m) if m == "mod" && depth == 0 => {
                    if let (Some(Token::Name(name)), Some(Token::Punct(';'))) = (t.get(i + 1), t.get(i + 2)) {
                        source.children.insert(name.clone());
                    }
                }
                _ => {}
            }
        }
        // The inline modules around the current token, each with the depth of its body.
        let mut inline: Vec<(String, usize)> = Vec::new();
        let mut opening: Option<String> = None;
        let mut depth = 0;
        let mut i = 0;
        while i < t.len() {
            let names = || inline.iter().map(|(name, _)| name.clone()).collect::<Vec<_>>();
            match &t[i] {
                Token::Punct('{') => {
                    depth += 1;
                    if let Some(name) = opening.take() {
                        inline.push((name, depth));
                    }
                }
                Token::Punct('}') => {
                    if inline.last().is_some_and(|(_, d)| *d == depth) {
                        inline.pop();
                    }
                    depth = depth.saturating_sub(1);
                }
                Token::Name(m) if m == "mod" => {
                    if let (Some(Token::Name(name)), Some(Token::Punct('{'))) = (t.get(i + 1), t.get(i + 2)) {
                        opening = Some(name.clone());
                    }
                }
                Token::Name(u) if u == "use" => {
                    let public = is_pub(&t[..i]);
                    let mut leaves = Vec::new();
                    i += 1;
                    use_tree(&t, &mut i, Vec::new(), &mut leaves);
                    for (path, name) in leaves {
                        let own = if path.first().is_some_and(|s| s == "self") { path.get(1) } else { path.first() };
                        let of_child = own.is_some_and(|s| source.children.contains(s));
                        if public && let Some(name) = name {
                            source.re_exports.insert(name, path.clone());
                        }
                        if !(public && of_child && inline.is_empty()) {
                            source.named.push((path, names()));
                        }
                    }
                    continue;
                }
                Token::Name(first) if t.get(i + 1) == Some(&Token::PathSep) => {
                    let after_sep = i > 0 && t[i - 1] == Token::PathSep;
                    // A macro's `$name::…` is no path; its `$crate::…` is.
                    let metavariable = i > 0 && t[i - 1] == Token::Punct('$') && first != "crate";
                    let mut path = vec![first.clone()];
                    while let (Some(Token::PathSep), Some(Token::Name(next))) = (t.get(i + 1), t.get(i + 2)) {
                        path.push(next.clone());
                        i += 2;
                    }
                    if !after_sep && !metavariable {
                        source.named.push((path, names()));
                    }
                }
                _ => {}
            }
            i += 1;
        }
        source
    }

    /// The absolute module path `path` names from here (inside the inline modules `inline`),
    /// or None when it starts outside the crate (`std::…`, a dependency, `Self::…`).
    fn absolute(&self, path: &[String], inline: &[String]) -> Option<Vec<String>> {
        let mut here: Vec<String> = self.module.iter().chain(inline).cloned().collect();
        let mut rest = path;
        match rest.first()?.as_str() {
            "crate" => {
                here.clear();
                rest = &rest[1..];
            }
            "super" => {
                while rest.first().is_some_and(|s| s == "super") {
                    here.pop();
                    rest = &rest[1..];
                }
            }
            "self" => rest = &rest[1..],
            child if inline.is_empty() && self.children.contains(child) => {}
            _ => return None,
        }
        here.extend(rest.iter().cloned());
        Some(here)
    }
}

/// Every file of the crate, by module path.
type Files = BTreeMap<Vec<String>, Source>;

/// The file that defines what the absolute `path` names: the deepest module on it that has
/// a file, after following that file's re-exports.
fn resolve(files: &Files, mut path: Vec<String>) -> Option<&Source> {
    for _ in 0..16 {
        let depth = (0..=path.len()).rev().find(|n| files.contains_key(&path[..*n]))?;
        let source = &files[&path[..depth]];
        let re_exported = path.get(depth).and_then(|name| source.re_exports.get(name));
        match re_exported.and_then(|target| source.absolute(target, &[])) {
            Some(mut target) => {
                target.extend(path[depth + 1..].iter().cloned());
                path = target;
            }
            None => return Some(source),
        }
    }
    None
}

/// The files `source` names, itself left out.
fn names_of<'f>(files: &'f Files, source: &'f Source) -> impl Iterator<Item = &'f Source> + 'f {
    source
        .named
        .iter()
        .filter_map(|(path, inline)| resolve(files, source.absolute(path, inline)?))
        .filter(|named| named.file != source.file)
}

/// Every file of the library under `dir` (`main.rs` is the binary's).
fn read_files(dir: &Path, module: &[String], files: &mut Files) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("src/ is readable").flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        let mut own = module.to_vec();
        if path.is_dir() {
            own.push(stem);
            read_files(&path, &own, files);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") || (module.is_empty() && stem == "main") {
            continue;
        }
        if !matches!(stem.as_str(), "mod" | "lib") {
            own.push(stem);
        }
        let text = std::fs::read_to_string(&path).expect("source is readable");
        let relative = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(&path).to_path_buf();
        files.insert(own.clone(), Source::parse(relative, own, &text));
    }
}

fn crate_files() -> Files {
    let mut files = Files::new();
    read_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &[], &mut files);
    assert!(files.len() > 20, "found {} source files", files.len());
    files
}

/// The upward or sideways imports of `source`, a file of the top-level module `module`.
fn violations(files: &Files, module: &str, source: &Source) -> Vec<String> {
    let Some(own) = layer(module) else { return vec![format!("{module} has no layer in src/layers.rs")] };
    let mut found: Vec<String> = names_of(files, source)
        .filter_map(|named| {
            let other = named.module.first().map_or("crate root", String::as_str);
            match layer(other) {
                _ if other == module => None,
                Some(l) if l < own => None,
                Some(l) => Some(format!("{module} (layer {own}) imports {other} (layer {l})")),
                None => Some(format!("{module} names {}, which has no layer", named.file.display())),
            }
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

/// The pairs of files that name each other.
fn circles(files: &Files) -> Vec<String> {
    let edges: BTreeSet<(&Path, &Path)> =
        files.values().flat_map(|s| names_of(files, s).map(|named| (s.file.as_path(), named.file.as_path()))).collect();
    edges
        .iter()
        .filter(|(a, b)| a < b && edges.contains(&(*b, *a)))
        .map(|(a, b)| format!("{} <-> {}", a.display(), b.display()))
        .collect()
}

#[test]
fn every_module_imports_only_lower_layers() {
    let files = crate_files();
    let mut problems = Vec::new();
    for source in files.values() {
        let Some(module) = source.module.first().filter(|m| *m != "layers") else { continue };
        problems
            .extend(violations(&files, module, source).into_iter().map(|v| format!("{}: {v}", source.file.display())));
    }
    assert!(problems.is_empty(), "imports that do not point down:\n{}", problems.join("\n"));
}

#[test]
fn an_upward_import_is_caught() {
    let files = crate_files();
    let check = |module: &str, text: &str| {
        violations(&files, module, &Source::parse(PathBuf::new(), vec![module.into()], text))
    };
    assert_eq!(check("view", "use crate::serve::serve;"), ["view (layer 1) imports serve (layer 13)"]);
    assert_eq!(
        check("store", "use crate::{Clock, history::track, exposition::{Format, prerender}};"),
        ["store (layer 6) imports exposition (layer 8)"]
    );
    assert_eq!(check("watch", "let x = crate::log_fetch::run;"), ["watch (layer 7) imports log_fetch (layer 7)"]);
    assert_eq!(
        check("verdict", "fn f() -> crate::Error { todo!() }"),
        Vec::<String>::new(),
        "a root re-export is its module's"
    );
    assert_eq!(check("view", "let s = crate::scan;"), ["view (layer 1) imports commands (layer 12)"]);
    assert!(
        check("exposition", "// crate::serve in a comment\nlet s = \"crate::serve\";\nuse crate::view::Name;")
            .is_empty()
    );
    assert_eq!(check("nowhere", ""), ["nowhere has no layer in src/layers.rs"]);
}

#[test]
fn no_two_files_name_each_other() {
    let circles = circles(&crate_files());
    assert!(circles.is_empty(), "files that name each other:\n{}", circles.join("\n"));
}

#[test]
fn a_circle_of_two_files_is_caught() {
    let files = |sources: &[(&str, &str)]| -> Files {
        let module_of = |path: &str| -> Vec<String> {
            let parts = path.trim_end_matches(".rs").split('/');
            parts.filter(|p| !matches!(*p, "mod" | "lib")).map(String::from).collect()
        };
        let parse = |(path, text): &(&str, &str)| (module_of(path), Source::parse(path.into(), module_of(path), text));
        sources.iter().map(parse).collect()
    };
    let siblings = files(&[
        ("lib.rs", "pub mod v;"),
        ("v/mod.rs", "mod a;\nmod b;\npub use a::*;\npub use b::*;"),
        ("v/a.rs", "use super::b::B;\npub struct A;"),
        ("v/b.rs", "pub struct B(super::a::A);"),
    ]);
    assert_eq!(circles(&siblings), ["v/a.rs <-> v/b.rs"]);
    // A folder's re-export of a child that names it back is its face; its own use is a use.
    let face = files(&[
        ("lib.rs", "mod m;"),
        ("m/mod.rs", "mod c;\npub use c::C;\npub fn helper() {}"),
        ("m/c.rs", "use super::helper;\npub struct C;"),
    ]);
    assert!(circles(&face).is_empty());
    let used = files(&[
        ("lib.rs", "mod m;"),
        ("m/mod.rs", "mod c;\nuse c::C;\npub enum F {}"),
        ("m/c.rs", "use super::F;\npub struct C;"),
    ]);
    assert_eq!(circles(&used), ["m/c.rs <-> m/mod.rs"]);
    // Through a re-export of lib.rs, and from a test module inside a file.
    let root = files(&[
        ("lib.rs", "mod a;\nmod b;\npub use a::A;"),
        ("a.rs", "pub struct A;\n#[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::b::B;\n}"),
        ("b.rs", "pub struct B(Box<crate::A>);"),
    ]);
    assert_eq!(circles(&root), ["a.rs <-> b.rs"]);
}

/// The `.rs` files under `src/`, as `src/…` paths.
fn source_paths(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            source_paths(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"));
            out.insert(path.strip_prefix(root).unwrap_or(&path).display().to_string());
        }
    }
}

/// The top-level module of a `src/…` path: `src/view/pod.rs` → `view`.
fn top_module(path: &str) -> &str {
    let rest = path.trim_start_matches("src/");
    rest.split(['/', '.']).next().unwrap_or(rest)
}

/// `docs/architecture.md` shows every file of `src/` once, with its module's layer.
#[test]
fn the_architecture_docs_tree_is_the_source_tree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).expect("docs/architecture.md");
    let section = doc.split("## The layers").nth(1).and_then(|s| s.split("```text").nth(1)).unwrap_or_default();
    let tree = section.split("```").next().unwrap_or_default();
    let mut shown = BTreeSet::new();
    let mut wrong = Vec::new();
    for line in tree.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("layer ")) {
        let mut cells = line.split_whitespace();
        let (Some(level), Some(path)) = (cells.next(), cells.next()) else { continue };
        let want = layer(top_module(path)).map_or("-".to_string(), |l| l.to_string());
        if level != want {
            wrong.push(format!("{path}: layer {level} in the docs, {want} in LAYERS"));
        }
        if !shown.insert(path.to_string()) {
            wrong.push(format!("{path}: shown twice"));
        }
    }
    let mut files = BTreeSet::new();
    source_paths(&root.join("src"), &mut files);
    let missing: Vec<&String> = files.difference(&shown).collect();
    let gone: Vec<&String> = shown.difference(&files).collect();
    assert_eq!((missing, gone, wrong), (vec![], vec![], vec![]), "(not in the docs' tree, no such file, wrong)");
}

/// The table of `lib.rs`'s docs is `LAYERS`: the same modules in each layer.
#[test]
fn the_crate_docs_layer_table_is_layers() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).expect("lib.rs");
    let mut documented: BTreeMap<u8, BTreeSet<String>> = BTreeMap::new();
    for row in lib.lines().filter_map(|l| l.strip_prefix("//! | ")) {
        let mut cells = row.split(" | ");
        let (Some(level), Some(modules)) = (cells.next(), cells.next()) else { continue };
        let Ok(level) = level.trim().parse::<u8>() else { continue };
        let names = modules.split(',').map(|m| m.trim().trim_matches(['`', '[', ']']).trim_matches('`').to_string());
        documented.entry(level).or_default().extend(names);
    }
    let mut layers: BTreeMap<u8, BTreeSet<String>> = BTreeMap::new();
    for (module, level) in LAYERS {
        layers.entry(*level).or_default().insert(module.to_string());
    }
    assert_eq!(documented, layers);
}
