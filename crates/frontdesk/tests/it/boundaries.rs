//! The boundaries between crates that the compiler alone does not keep (ARCHITECTURE.md,
//! "Invariants"): SQL text only in `fd-store` (whose raw-SQL methods are private to it),
//! `fd-web` sees `fd-app` and `fd-domain` only,
//! mail header syntax only in `fd-mail`, wall-clock reads only through the injected clock,
//! and the crate graph pointing one way. Each check reads the workspace's own sources, so a
//! change that crosses a boundary fails here with the file and line that crossed it.

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
