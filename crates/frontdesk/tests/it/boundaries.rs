//! The boundaries between crates that the compiler alone does not keep (ARCHITECTURE.md,
//! "Invariants"): SQL text only in `fd-store` (whose raw-SQL methods are private to it),
//! `fd-web` sees `fd-app` and `fd-domain` only,
//! mail header syntax only in `fd-mail`, wall-clock reads only through the injected clock,
//! the crate graph pointing one way, and inside `fd-app` and the web UI modules that do not
//! import each other in a circle (the UI's widgets importing no screen). Each check reads the workspace's own sources, so a
//! change that crosses a boundary fails here with the file and line that crossed it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The product's crates (test support and test files are not product code).
const PRODUCT_CRATES: &[&str] = &[
    "fd-domain",
    "fd-store",
    "fd-mail",
    "fd-app",
    "fd-web",
    "frontdesk",
];

/// Every `.rs` file under `crates/<name>/src`, as (path relative to the workspace, text).
fn sources(name: &str) -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = workspace();
    let mut files = Vec::new();
    walk(&root.join("crates").join(name).join("src"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&root).unwrap().display().to_string();
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// Code without `#[cfg(test)]` modules: unit tests may build whatever input they need.
fn without_test_modules(text: &str) -> String {
    match text.find("#[cfg(test)]") {
        Some(i) => text[..i].to_string(),
        None => text.to_string(),
    }
}

/// A string literal of the source, with the line it starts on.
struct Literal {
    line: usize,
    text: String,
}

/// The string literals of Rust source (plain, byte and raw strings), skipping comments and
/// character literals. Escapes are kept as written: the checks look for words, not bytes.
fn literals(src: &str) -> Vec<Literal> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < b.len() {
        match b[i] {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    line += usize::from(b[i] == b'\n');
                    i += 1;
                }
                i += 2;
            }
            b'\'' => {
                // A char literal ('x', '\n', '"') or a lifetime ('a): skip the literal only.
                if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else if b.get(i + 2) == Some(&b'\'') {
                    i += 3;
                } else {
                    // Multi-byte char literal or a lifetime.
                    let rest = &src[i + 1..];
                    match rest.char_indices().nth(1) {
                        Some((n, '\'')) => i += 1 + n + 1,
                        _ => i += 1,
                    }
                }
            }
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let start = j + 1;
                let end = src[start..].find(&close).map_or(b.len(), |n| start + n);
                let text = &src[start..end];
                out.push(Literal {
                    line,
                    text: text.to_string(),
                });
                line += text.matches('\n').count();
                i = end + close.len();
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'"' {
                    if b[j] == b'\\' {
                        j += 1;
                    }
                    j += 1;
                }
                let end = j.min(b.len());
                let text = &src[start..end];
                out.push(Literal {
                    line,
                    text: text.to_string(),
                });
                line += text.matches('\n').count();
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    out
}

fn starts_like_sql(text: &str) -> bool {
    let t = text.trim_start();
    [
        "SELECT ",
        "INSERT INTO",
        "DELETE FROM",
        "CREATE TABLE",
        "CREATE INDEX",
        "CREATE UNIQUE",
        "ALTER TABLE",
        "DROP TABLE",
        "PRAGMA ",
        "WITH ",
    ]
    .iter()
    .any(|k| t.starts_with(k))
        || (t.starts_with("UPDATE ") && t.contains(" SET "))
}

fn report(what: &str, found: &[String]) {
    assert!(
        found.is_empty(),
        "{what}:\n  {}\n(see ARCHITECTURE.md, Invariants)",
        found.join("\n  ")
    );
}

#[test]
fn sql_text_runs_only_inside_fd_store() {
    let mut found = Vec::new();
    for name in PRODUCT_CRATES.iter().filter(|n| **n != "fd-store") {
        for (path, text) in sources(name) {
            for lit in literals(&without_test_modules(&text)) {
                if starts_like_sql(&lit.text) {
                    found.push(format!("{path}:{}: {}", lit.line, lit.text.trim()));
                }
            }
        }
    }
    report("SQL text outside fd-store", &found);
}

#[test]
fn fd_web_sees_only_fd_app_and_fd_domain() {
    // fd-web must not reach the store around the use cases: not by name, and not through a
    // re-export of the whole store by fd-app.
    let mut found = Vec::new();
    for (path, text) in sources("fd-web") {
        for (n, line) in text.lines().enumerate() {
            if line.contains("fd_store") || line.contains("fd_app::store") {
                found.push(format!("{path}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    for (path, text) in sources("fd-app") {
        for (n, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.starts_with("pub use fd_store as") || l.starts_with("pub use fd_store::*") {
                found.push(format!("{path}:{}: {l}", n + 1));
            }
        }
    }
    assert!(
        !dependencies("fd-web").contains(&"fd-store".to_string()),
        "fd-web depends on fd-store"
    );
    report("fd-web reaching the store", &found);
}

/// `[dependencies]` of a crate's manifest (not dev-dependencies), by name.
fn dependencies(name: &str) -> Vec<String> {
    let manifest =
        std::fs::read_to_string(workspace().join("crates").join(name).join("Cargo.toml")).unwrap();
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
        } else if in_deps
            && !line.starts_with('#')
            && let Some((dep, _)) = line.split_once(['=', '.'])
        {
            deps.push(dep.trim().to_string());
        }
    }
    deps
}

#[test]
fn crate_dependencies_point_one_way() {
    // Who may depend on whom among the workspace crates (DESIGN.md's layering).
    let allowed: &[(&str, &[&str])] = &[
        ("fd-domain", &[]),
        ("fd-mail", &[]),
        ("fd-store", &["fd-domain"]),
        ("fd-app", &["fd-domain", "fd-store", "fd-mail"]),
        ("fd-web", &["fd-domain", "fd-app", "fd-mail"]),
        (
            "frontdesk",
            &["fd-domain", "fd-store", "fd-app", "fd-web", "fd-mail"],
        ),
    ];
    let mut found = Vec::new();
    for (name, may) in allowed {
        for dep in dependencies(name) {
            if dep.starts_with("fd-") && !may.contains(&dep.as_str()) {
                found.push(format!("{name} depends on {dep}"));
            }
            // Database drivers belong to the store alone.
            if (dep == "sqlx" || dep == "rusqlite") && *name != "fd-store" {
                found.push(format!("{name} depends on the database driver {dep}"));
            }
        }
    }
    assert!(
        dependencies("fd-store").contains(&"sqlx".to_string()),
        "the manifest reader no longer finds fd-store's driver: fix the check"
    );
    report("crate dependencies crossing the layering", &found);
}

/// Header names whose syntax (RFC 5322, RFC 2045, RFC 3834) only `fd-mail` writes or reads.
const MAIL_HEADERS: &[&str] = &[
    "message-id:",
    "in-reply-to:",
    "references:",
    "return-path:",
    "received:",
    "mime-version:",
    "content-transfer-encoding:",
    "auto-submitted:",
    "list-id:",
];

/// Files that generate inbound mail the way an outside sender would (load and abuse
/// benchmarks): what they write is input to Frontdesk, not Frontdesk's own mail syntax.
const OUTSIDE_SENDERS: &[&str] = &[
    "crates/frontdesk/src/bench_mail.rs",
    "crates/frontdesk/src/bench_hostile.rs",
];

#[test]
fn mail_header_syntax_lives_only_in_fd_mail() {
    let mut found = Vec::new();
    for name in PRODUCT_CRATES.iter().filter(|n| **n != "fd-mail") {
        for (path, text) in sources(name) {
            if OUTSIDE_SENDERS.contains(&path.as_str()) {
                continue;
            }
            for lit in literals(&without_test_modules(&text)) {
                let lower = lit.text.to_ascii_lowercase();
                let header = MAIL_HEADERS.iter().find(|h| {
                    lower.starts_with(*h)
                        || lower.contains(&format!("\\n{h}"))
                        || lower.contains(&format!("\n{h}"))
                });
                // A reply subject's "Re: " prefix (RFC 5322 §3.6.5) is header syntax too.
                let reply_prefix = lower.starts_with("re: ") || lower == "re:";
                if header.is_some() || reply_prefix {
                    found.push(format!("{path}:{}: {:?}", lit.line, lit.text));
                }
            }
        }
    }
    report("mail header syntax outside fd-mail", &found);
}

#[test]
fn wall_clock_reads_only_through_the_clock() {
    // `Instant::now()` is allowed: it measures durations (deadlines, rate limits, benchmarks)
    // and never becomes a stored or displayed time.
    const READS: &[&str] = &[
        "SystemTime::now",
        "Timestamp::now",
        "Zoned::now",
        "Utc::now",
        "Local::now",
        "now_utc(",
        "UNIX_EPOCH",
    ];
    const CLOCK: &str = "crates/fd-app/src/clock.rs";
    let mut found = Vec::new();
    for name in PRODUCT_CRATES {
        for (path, text) in sources(name) {
            if path == CLOCK {
                continue;
            }
            for (n, line) in without_test_modules(&text).lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if let Some(read) = READS.iter().find(|r| code.contains(*r)) {
                    found.push(format!("{path}:{}: {read}", n + 1));
                }
            }
        }
    }
    let clock = std::fs::read_to_string(workspace().join(CLOCK)).unwrap();
    assert!(
        clock.contains("SystemTime::now"),
        "the clock no longer reads the system time: fix the check"
    );
    report("wall-clock reads outside the clock", &found);
}

#[test]
fn the_checks_see_what_they_look_for() {
    // The lexer must find SQL and headers inside literals and ignore them in comments, so
    // the checks above cannot pass by reading nothing.
    let src = r##"
        // SELECT 1 in a comment
        let c = '"'; let l: &'static str = "INSERT INTO t VALUES (1)";
        let r = r#"Message-ID: <a@b>"#; /* UPDATE t SET x = 1 */
        let m = "Subject: x\r\nReferences: <a@b>";
    "##;
    let lits: Vec<String> = literals(src).into_iter().map(|l| l.text).collect();
    assert_eq!(lits.len(), 3, "{lits:?}");
    assert!(starts_like_sql(&lits[0]));
    assert!(lits[1].to_ascii_lowercase().starts_with("message-id:"));
    assert!(lits[2].to_ascii_lowercase().contains("\\nreferences:"));
    assert!(!starts_like_sql("Selected tickets"));
    assert_eq!(literals(src)[0].line, 3);
}

/// Source without comments (line and block) and without `#[cfg(test)]` modules: a module
/// named in a doc link or a unit test is not an import.
fn code_only(text: &str) -> String {
    let src = without_test_modules(text);
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let mut from = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                // Skip string literals so a `//` inside one is not taken for a comment.
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                out.push_str(&src[from..i]);
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                from = i;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                out.push_str(&src[from..i]);
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
                from = i.min(b.len());
            }
            _ => i += 1,
        }
    }
    out.push_str(&src[from.min(src.len())..]);
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first path segments named after `prefix` (`crate::`, `super::`): `crate::tickets::x`
/// gives `tickets`, `super::{Agent, helpdesk::render}` gives `Agent` and `helpdesk`.
fn names_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices(prefix) {
        // `super::super::` or `a::crate::` are not this prefix's own paths.
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| is_ident(c) || c == ':') {
            continue;
        }
        let rest = &code[at + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group, up to its closing brace.
            let mut depth = 0;
            let mut item_start = true;
            for (n, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && is_ident(c) => {
                        let name: String =
                            group[n..].chars().take_while(|c| is_ident(*c)).collect();
                        out.insert(name);
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let name: String = rest.chars().take_while(|c| is_ident(*c)).collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out.remove("self");
    out.remove("super");
    out
}

/// The module graph of one source directory: for each module (a file, or a subdirectory,
/// beside the root file `root`), the other modules its code names through `prefixes`,
/// directly or through a name the root file imports from them (`pub use tickets::NewTicket`
/// makes `crate::NewTicket` an import of `tickets`).
fn module_graph(
    krate: &str,
    dir: &str,
    root: &str,
    prefixes: &[&str],
) -> BTreeMap<String, BTreeSet<String>> {
    let base = format!("crates/{krate}/src/{dir}");
    let base = base.trim_end_matches('/').to_string() + "/";
    let files: Vec<(String, String)> = sources(krate)
        .into_iter()
        .filter(|(p, _)| p.starts_with(&base))
        .collect();
    let module_of = |path: &str| -> String {
        let rel = &path[base.len()..];
        let first = rel.split('/').next().unwrap_or(rel);
        first.trim_end_matches(".rs").to_string()
    };
    let modules: BTreeSet<String> = files
        .iter()
        .map(|(p, _)| module_of(p))
        .filter(|m| m != root)
        .collect();
    // Names the root file imports from its modules (visible to every child as `super::x`).
    let mut through_root: BTreeMap<String, String> = BTreeMap::new();
    let root_path = format!("{base}{root}.rs");
    let root_code = files
        .iter()
        .find(|(p, _)| *p == root_path)
        .map(|(_, t)| code_only(t))
        .unwrap();
    for stmt in root_code.split(';') {
        let stmt = stmt.trim();
        let Some(path) = ["pub use ", "pub(crate) use ", "use "]
            .iter()
            .find_map(|k| stmt.strip_prefix(k))
        else {
            continue;
        };
        let Some((module, rest)) = path.split_once("::") else {
            continue;
        };
        if !modules.contains(module) {
            continue;
        }
        let items = rest.trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let name = item.split(" as ").last().unwrap_or("").trim();
            let name = name.rsplit("::").next().unwrap_or(name);
            if !name.is_empty() {
                through_root.insert(name.to_string(), module.to_string());
            }
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in &files {
        let from = module_of(path);
        if from == root {
            continue;
        }
        let code = code_only(text);
        let entry = graph.entry(from.clone()).or_default();
        for prefix in prefixes {
            for name in names_after(&code, prefix) {
                let to = if modules.contains(&name) {
                    Some(name)
                } else {
                    through_root.get(&name).cloned()
                };
                if let Some(to) = to
                    && to != from
                {
                    entry.insert(to);
                }
            }
        }
    }
    graph
}

/// Every cycle of the graph, each once, as "a → b → a" (starting at its smallest module).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    fn walk(
        graph: &BTreeMap<String, BTreeSet<String>>,
        start: &str,
        path: &mut Vec<String>,
        found: &mut BTreeSet<Vec<String>>,
    ) {
        let Some(next) = graph.get(path.last().unwrap()) else {
            return;
        };
        for n in next {
            if n == start {
                found.insert(path.clone());
            } else if n.as_str() > start && !path.contains(n) {
                path.push(n.clone());
                walk(graph, start, path, found);
                path.pop();
            }
        }
    }
    let mut found = BTreeSet::new();
    for start in graph.keys() {
        walk(graph, start, &mut vec![start.clone()], &mut found);
    }
    found
        .into_iter()
        .map(|mut c| {
            c.push(c[0].clone());
            c.join(" → ")
        })
        .collect()
}

/// fd-app's modules as the root `lib.rs` sees them.
fn fd_app_graph() -> BTreeMap<String, BTreeSet<String>> {
    module_graph("fd-app", "", "lib", &["crate::"])
}

/// The web UI's modules (`crates/fd-web/src/ui/`) as its `mod.rs` sees them.
fn ui_graph() -> BTreeMap<String, BTreeSet<String>> {
    module_graph("fd-web", "ui", "mod", &["super::", "crate::ui::"])
}

/// Module cycles allowed for now, each with why it could not be broken yet. Empty: every
/// cycle found since the modules were split by aggregate was broken by moving the helper to
/// the module that owns it.
const ALLOWED_CYCLES: &[(&str, &str)] = &[];

#[test]
fn modules_of_fd_app_and_the_web_ui_do_not_import_each_other_in_a_circle() {
    let app = fd_app_graph();
    let ui = ui_graph();
    // The reader must see imports, or the check passes by reading nothing.
    assert!(
        app["conversations"].contains("tickets") && app["comments"].contains("conversations"),
        "the import reader no longer sees fd-app's imports: fix the check ({app:?})"
    );
    assert!(
        ui["helpdesk"].contains("editor") && ui["host"].contains("helpdesk"),
        "the import reader no longer sees the UI's imports: fix the check ({ui:?})"
    );
    let mut found = Vec::new();
    for (what, graph) in [("fd-app", &app), ("fd-web ui", &ui)] {
        for cycle in cycles(graph) {
            if !ALLOWED_CYCLES.iter().any(|(c, _)| *c == cycle) {
                found.push(format!("{what}: {cycle}"));
            }
        }
    }
    report("modules importing each other", &found);
}

/// The UI's widgets: pieces screens are built of. The screens: pages, and `host.rs`, which
/// renders them for the editor's refused posts. (`auth.rs`, the session extractor and the
/// sign-in page, and `live.rs`, the event stream, are neither.)
const UI_WIDGETS: &[&str] = &["editor", "widgets", "view", "html"];
const UI_SCREENS: &[&str] = &[
    "helpdesk",
    "inbox",
    "records",
    "admin",
    "notifications",
    "profile",
    "time_zone",
    "host",
];

#[test]
fn ui_widgets_import_no_screen() {
    // The reply editor used to render its host pages itself (helpdesk ⇄ editor); a refused
    // post now comes back as the editor's state and the host screen renders itself.
    let ui = ui_graph();
    let mut found = Vec::new();
    for widget in UI_WIDGETS {
        let imports = ui
            .get(*widget)
            .unwrap_or_else(|| panic!("no ui module {widget}"));
        for screen in UI_SCREENS {
            assert!(ui.contains_key(*screen), "no ui module {screen}");
            if imports.contains(*screen) {
                found.push(format!("crates/fd-web/src/ui/{widget}.rs imports {screen}"));
            }
        }
    }
    report("a UI widget importing a screen", &found);
}

#[test]
fn the_import_reader_sees_what_it_looks_for() {
    let src = r#"
        //! A link to [`crate::doc_only`] is no import.
        use super::Id;
        use super::{Agent, helpdesk::render_ticket, view::{self, fmt_time}};
        use crate::ui::records::Row; /* crate::ui::commented */
        let s = "// not a comment"; let x = super::inbox::render(&s);
        let y = super::super::outer;
        #[cfg(test)]
        mod tests { use super::admin; }
    "#;
    let code = code_only(src);
    let mut names = names_after(&code, "super::");
    names.extend(names_after(&code, "crate::ui::"));
    let want: BTreeSet<String> = ["Id", "Agent", "helpdesk", "view", "records", "inbox"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, want);
    // Not the doc link's `crate::doc_only` nor the block comment's `crate::ui::commented`.
    assert_eq!(
        names_after(&code, "crate::"),
        BTreeSet::from(["ui".to_string()]),
        "{code}"
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a", "d"]),
        ("d", vec!["d2"]),
        ("d2", vec!["d"]),
        ("e", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(str::to_string).collect()))
    .collect();
    assert_eq!(cycles(&graph), vec!["a → b → c → a", "d → d2 → d"]);
}
