//! The top-level modules of `src/` stay in layers: a module imports from its own layer and the
//! ones below it, never from above, and no two modules import each other, directly or round a
//! longer loop. Read from the source: every `crate::x…` path in code (comments and strings do
//! not count) is an import of module `x`.
//!
//! A new module needs a place in [`LAYERS`] (or among the [`TOOLS`]); an import that breaks the
//! order fails here, naming the file and the path, unless it is in [`TOLERATED`] with its
//! reason.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod scan;

use scan::{code_only, crate_paths};

/// The layers, bottom first, each with what it is for.
const LAYERS: &[(&str, &[&str])] = &[
    // Rules, facts and small helpers with no I/O of their own, importing nothing above.
    ("pure core", &["ledger", "forecast", "shop", "shopify", "retry", "secret", "derive", "failpoint"]),
    // The store's bytes, and what a process has whatever it does: counters, supervised tasks,
    // a way to hand over mail, the one template environment.
    ("plumbing", &["store", "metrics", "supervise", "mail", "view", "limit"]),
    ("configuration", &["config", "telemetry"]),
    // Typed records over the store: the ledger engine, reworks, the queue read models.
    ("books", &["books"]),
    ("platform client", &["platform"]),
    // What handlers and workers share (`AppState`).
    ("shared state", &["state"]),
    // Who may act for a shop; what customers and owners are told; what the platform expects to
    // arrive.
    ("services", &["auth", "backfill", "notify", "supply"]),
    ("effects", &["effects"]),
    // The books brought to the platform's truth: enrolment's reads, drift repair, long jobs.
    ("syncing with the platform", &["sync"]),
    // What an operator's commands do, shared by the CLI and the running service.
    ("operator commands", &["operator"]),
    // Where work comes in: deliveries, the queue, requests.
    ("entry points", &["webhook", "worker", "http"]),
    ("the service assembled", &["app"]),
    ("commands", &["cli", "demo"]),
];

/// The simulated platform and the load generators: they may import anything, and only the
/// commands and the tools themselves import them, so nothing of the service depends on them.
const TOOLS: &[&str] = &["devshop", "bench", "chaos"];
const TOOL_USERS: &[&str] = &["cli", "demo", "devshop", "bench", "chaos"];

/// Imports that break the order today, each as (file, path imported, why). Empty now: the
/// `books` layer took in the ledger engine (`worker/ledger.rs`), the rework and its `Progress`
/// (`worker/rekey.rs`) and the queue read models (`notify/queue.rs`, `notify/standing.rs`) that
/// `state` and `notify` imported from above. A new entry needs its reason and the change that will
/// remove it; an entry that no longer matches an import fails the test until it is removed.
const TOLERATED: &[(&str, &str, &str)] = &[];

/// One `crate::…` path in a file.
#[derive(Debug, Clone)]
struct Import {
    file: String,
    /// The path after `crate::`, e.g. `store::{Mark, Record}`.
    path: String,
    /// The top-level module it names.
    module: String,
}

#[test]
fn every_module_imports_only_from_its_own_layer_and_below_and_no_modules_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = top_modules(&src);
    let mut problems = Vec::new();
    for module in &modules {
        if layer_of(module).is_none() && !TOOLS.contains(&module.as_str()) {
            problems.push(format!("src/{module} has no layer: give it a place in LAYERS (tests/it/layers.rs)"));
        }
    }
    let imports = imports(&src, &modules);
    let mut tolerated_used = vec![false; TOLERATED.len()];
    let mut kept = Vec::new();
    for import in imports {
        let importer = module_of(&import.file);
        match TOLERATED.iter().position(|(file, path, _)| import.file == *file && import.path.starts_with(path)) {
            Some(i) => tolerated_used[i] = true,
            None => {
                problems.extend(breaks_the_order(&importer, &import));
                kept.push((importer, import));
            }
        }
    }
    problems.extend(cycles(&kept));
    for ((file, path, _), used) in TOLERATED.iter().zip(tolerated_used) {
        if !used {
            problems.push(format!("TOLERATED names `{file}` importing `crate::{path}`, which is gone: remove it"));
        }
    }
    assert!(problems.is_empty(), "the module layers are broken:\n  {}", problems.join("\n  "));
}

/// Why an import breaks the order, if it does.
fn breaks_the_order(importer: &str, import: &Import) -> Option<String> {
    let target = import.module.as_str();
    if TOOLS.contains(&target) && !TOOL_USERS.contains(&importer) {
        return Some(format!(
            "{} imports `crate::{}`: only {} may import the tools ({})",
            import.file,
            import.path,
            TOOL_USERS.join(", "),
            TOOLS.join(", ")
        ));
    }
    let (Some(from), Some(to)) = (layer_of(importer), layer_of(target)) else { return None };
    (to > from).then(|| {
        format!(
            "{} imports `crate::{}`: {importer} ({}) is below {target} ({})",
            import.file, import.path, LAYERS[from].0, LAYERS[to].0
        )
    })
}

/// Every group of modules that import each other, each shown by its shortest loop with the
/// import behind every step of it.
fn cycles(imports: &[(String, Import)]) -> Vec<String> {
    let mut edges: BTreeMap<&str, BTreeMap<&str, &Import>> = BTreeMap::new();
    for (from, import) in imports {
        edges.entry(from.as_str()).or_default().entry(import.module.as_str()).or_insert(import);
    }
    let mut problems = Vec::new();
    for group in strongly_connected(&edges) {
        let shortest = group.iter().filter_map(|start| loop_from(&edges, &group, start)).min_by_key(Vec::len);
        let steps: Vec<String> = shortest
            .unwrap_or_default()
            .windows(2)
            .map(|w| {
                let import = edges[w[0]][w[1]];
                format!("{} → {} ({} imports `crate::{}`)", w[0], w[1], import.file, import.path)
            })
            .collect();
        problems.push(format!("{} import each other: {}", group.join(", "), steps.join("; ")));
    }
    problems
}

/// The shortest walk from `start` back to it inside `group` (breadth first), `start` at both ends.
fn loop_from<'a>(
    edges: &BTreeMap<&'a str, BTreeMap<&'a str, &Import>>,
    group: &[&'a str],
    start: &'a str,
) -> Option<Vec<&'a str>> {
    let mut came_from: BTreeMap<&'a str, &'a str> = BTreeMap::new();
    let mut frontier = std::collections::VecDeque::from([start]);
    while let Some(v) = frontier.pop_front() {
        for &w in edges.get(v).map(|m| m.keys()).into_iter().flatten() {
            if !group.contains(&w) || came_from.contains_key(w) {
                continue;
            }
            came_from.insert(w, v);
            if w == start {
                let mut walk = vec![start];
                let mut at = v;
                while at != start {
                    walk.push(at);
                    at = came_from[at];
                }
                walk.push(start);
                walk.reverse();
                return Some(walk);
            }
            frontier.push_back(w);
        }
    }
    None
}

/// Groups of two or more modules that reach one another (Tarjan's algorithm).
fn strongly_connected<'a>(edges: &BTreeMap<&'a str, BTreeMap<&'a str, &Import>>) -> Vec<Vec<&'a str>> {
    struct Walk<'a, 'e> {
        edges: &'e BTreeMap<&'a str, BTreeMap<&'a str, &'e Import>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        groups: Vec<Vec<&'a str>>,
    }
    impl<'a> Walk<'a, '_> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            let next: Vec<&'a str> = self.edges.get(v).map(|m| m.keys().copied().collect()).unwrap_or_default();
            for w in next {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    self.low.insert(v, self.low[v].min(self.low[w]));
                } else if self.stack.contains(&w) {
                    self.low.insert(v, self.low[v].min(self.index[w]));
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().position(|x| *x == v).expect("on the stack");
                let mut group: Vec<&'a str> = self.stack.split_off(at);
                if group.len() > 1 {
                    group.sort_unstable();
                    self.groups.push(group);
                }
            }
        }
    }
    let mut walk = Walk { edges, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), groups: Vec::new() };
    for v in edges.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.groups
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, modules)| modules.contains(&module))
}

/// `src/x.rs` and `src/x/` for every module `x` (the crate roots aside).
fn top_modules(src: &Path) -> BTreeSet<String> {
    std::fs::read_dir(src)
        .expect("src/ reads")
        .map(|entry| entry.expect("src/ entry").path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_string();
            if path.is_dir() {
                Some(name)
            } else {
                name.strip_suffix(".rs").filter(|stem| !matches!(*stem, "lib" | "main")).map(str::to_string)
            }
        })
        .collect()
}

/// The module a file under `src/` belongs to.
fn module_of(file: &str) -> String {
    let rest = file.strip_prefix("src/").unwrap_or(file);
    let first = rest.split('/').next().unwrap_or(rest);
    first.strip_suffix(".rs").unwrap_or(first).to_string()
}

/// Every import of another top-level module, in every file of every module.
fn imports(src: &Path, modules: &BTreeSet<String>) -> Vec<Import> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let root = src.parent().expect("src/ has a parent");
    let mut out = Vec::new();
    for path in files {
        let file = path.strip_prefix(root).expect("under the crate").to_string_lossy().replace('\\', "/");
        let module = module_of(&file);
        if !modules.contains(&module) {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("source reads");
        for path in crate_paths(&code_only(&source)) {
            let first = path.split([':', ' ', '{']).next().unwrap_or_default().to_string();
            // `crate::some_macro!`, `crate::init_crypto()`: items of the crate root, no module.
            if first != module && modules.contains(&first) {
                out.push(Import { file: file.clone(), path, module: first });
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("dir reads").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}
