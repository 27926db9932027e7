//! The layers of ARCHITECTURE.md, checked over the source: every `crate::` path in a
//! module is an import of the module it names (the longest prefix that is a module
//! file). Modules name each other only by `crate::` paths (no `super::` but the tests'
//! `use super::*`), so this sees every arrow that points up or sideways.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`tree::git`) → its file, for every module file under `src/` but the
/// crate roots.
fn modules() -> BTreeMap<String, PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["lib"] || parts == ["main"] {
                continue;
            }
            // A `tests.rs` beside a module holds that module's unit tests.
            if parts.last().is_some_and(|p| p == "tests") {
                parts.pop();
                out.entry(format!("{}#tests", parts.join("::")))
                    .or_insert(path);
                continue;
            }
            out.insert(parts.join("::"), path);
        }
    }
    out
}

/// The source without comments (a doc comment may name any module).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b` path in `code`, expanding `crate::{a, b::c}` groups.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                out.push(path_prefix(item.trim()));
            }
        } else {
            out.push(path_prefix(after));
        }
        rest = after;
    }
    out.retain(|p| !p.is_empty());
    out
}

/// The leading `a::b::c` of `s` (lower-case segments: modules, and perhaps an item).
fn path_prefix(s: &str) -> String {
    let mut segs = Vec::new();
    let mut rest = s;
    loop {
        let len = rest
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            break;
        }
        segs.push(&rest[..len]);
        match rest[len..].strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    segs.join("::")
}

/// Module → the modules it imports.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules();
    let mut edges = BTreeMap::new();
    for (name, path) in &mods {
        // A sibling `tests.rs` is its own node: unit tests may reach into the children of
        // the module they test, and nothing imports them, so they close no cycle.
        let from = name.clone();
        let code = code(path);
        for line in code.lines() {
            let line = line.trim();
            assert!(
                !line.contains("super::") || line == "use super::*;",
                "{}: `{line}`: modules name each other by `crate::` paths",
                path.display()
            );
        }
        let targets: &mut BTreeSet<String> = edges.entry(from.clone()).or_default();
        for p in crate_paths(&code) {
            let segs: Vec<&str> = p.split("::").collect();
            let target = (1..=segs.len())
                .rev()
                .map(|k| segs[..k].join("::"))
                .find(|m| mods.contains_key(m));
            if let Some(t) = target.filter(|t| *t != from.trim_end_matches("#tests")) {
                targets.insert(t);
            }
        }
    }
    edges
}

/// The first cycle found, as a path of modules, if any.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = stack.iter().position(|n| n == node).unwrap_or(0);
                let mut found = stack[start..].to_vec();
                found.push(node.to_owned());
                return Some(found);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, edges, marks, stack) {
                return Some(c);
            }
        }
        stack.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    edges
        .keys()
        .find_map(|n| visit(n, edges, &mut marks, &mut Vec::new()))
}

fn shown(edges: &BTreeMap<String, BTreeSet<String>>) -> String {
    edges
        .iter()
        .map(|(m, t)| format!("{m} -> {}", t.iter().cloned().collect::<Vec<_>>().join(" ")))
        .collect::<Vec<_>>()
        .join("\n")
}

fn in_layer(module: &str, layer: &str) -> bool {
    let module = module.trim_end_matches("#tests");
    module == layer || module.starts_with(&format!("{layer}::"))
}

#[test]
fn the_module_graph_has_no_cycles() {
    let edges = graph();
    assert!(
        edges.len() > 20,
        "too few modules found:\n{}",
        shown(&edges)
    );
    if let Some(c) = cycle(&edges) {
        panic!("import cycle: {}\n\n{}", c.join(" -> "), shown(&edges));
    }
}

#[test]
fn arrows_point_down() {
    let edges = graph();
    // (layer, who may import it besides itself)
    let rules: &[(&str, &[&str])] = &[
        ("commands", &[]),
        ("cli", &["commands"]),
        ("github", &["commands"]),
        ("report", &["commands", "github"]),
        ("cache", &["commands", "checks"]),
    ];
    let mut wrong = Vec::new();
    for (from, targets) in &edges {
        for to in targets {
            for (layer, allowed) in rules {
                if in_layer(to, layer)
                    && !in_layer(from, layer)
                    && !allowed.iter().any(|a| in_layer(from, a))
                {
                    wrong.push(format!("{from} -> {to}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

#[test]
fn the_runtime_core_imports_only_the_core() {
    // What builds without the `cli` feature (no gix, clap, octocrab, tokio): these
    // layers with everything below them, and the tree and checks roots on their own
    // (`tree::git` and the checks but `findings` need the cli).
    let layers = [
        "error",
        "escape",
        "atomic",
        "parallel",
        "runtime",
        "tree::blob",
        "tree::fs",
        "tree::text",
        "tree::discover",
        "digest",
        "lock",
        "config",
        "manifest",
        "yaml",
        "checks::findings",
        "checks::contract",
        "checks::platform",
        "mutate",
    ];
    let roots = ["tree", "checks"];
    let is_core = |m: &str| {
        let m = m.trim_end_matches("#tests");
        roots.contains(&m) || layers.iter().any(|l| in_layer(m, l))
    };
    let edges = graph();
    let mut wrong = Vec::new();
    for (from, targets) in edges.iter().filter(|(m, _)| is_core(m)) {
        for to in targets {
            if !is_core(to) {
                wrong.push(format!("{from} -> {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the core imports beyond itself:\n{}",
        wrong.join("\n")
    );
}
