//! Drives the compiled `frontdesk` binary as an operator would.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

fn frontdesk(data_dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
    c.env_remove("FRONTDESK_DATABASE_URL")
        .env("FRONTDESK_DATA_DIR", data_dir)
        .env("FRONTDESK_LOG", "warn");
    c
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "command failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

struct Server {
    child: Child,
    addr: String,
    lines: Vec<String>,
}

fn start_server(data_dir: &std::path::Path) -> Server {
    let mut child = frontdesk(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut lines = Vec::new();
    let mut addr = None;
    // Read the start banner up to the sign-in line.
    for _ in 0..10 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(rest) = line.trim().strip_prefix("Frontdesk is running at http://") {
            addr = Some(rest.trim_end_matches('/').to_string());
        }
        let done = line.contains("Sign in at");
        lines.push(line);
        if done {
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in reader.lines() {});
    Server {
        child,
        addr: addr.expect("serve printed its address"),
        lines,
    }
}

fn stop(mut s: Server) {
    // SIGTERM must stop the server cleanly (exit status 0).
    let status = Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = s.child.wait().unwrap();
    assert!(exit.success(), "server exited with {exit}");
}

#[test]
fn serve_on_a_fresh_data_dir_prints_sign_in_and_admin_commands_work_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start_server(&data);
    let banner = server.lines.join("");
    assert!(banner.contains("admin@localhost"), "{banner}");
    assert!(banner.contains("password:"), "{banner}");
    assert!(data.join("frontdesk.db").exists());

    let health = reqwest::blocking_get(&format!("http://{}/healthz", server.addr));
    assert_eq!(health, 200);

    // Admin commands on the same database while the server runs.
    let out = run_ok(frontdesk(&data).args(["admin", "create-team", "--name", "Billing"]));
    assert!(out.contains("created team \"Billing\""), "{out}");
    let out = run_ok(frontdesk(&data).args([
        "admin",
        "create-user",
        "--email",
        "Bea@Example.com",
        "--name",
        "Bea",
        "--role",
        "agent",
        "--team",
        "Billing",
        "--ticket-access",
        "team",
    ]));
    assert!(out.contains("created user Bea <bea@example.com>"), "{out}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("a generated password is printed");
    assert!(password.len() >= 16);
    let out = run_ok(frontdesk(&data).args(["admin", "list-users"]));
    assert!(out.contains("admin@localhost"));
    let bea = out.lines().find(|l| l.contains("bea@example.com")).unwrap();
    assert!(
        bea.contains("agent") && bea.contains("team") && bea.contains("Billing"),
        "{bea}"
    );

    // A duplicate is refused with a clear message and a failing exit code.
    let dup = frontdesk(&data)
        .args([
            "admin",
            "create-user",
            "--email",
            "bea@example.com",
            "--name",
            "B",
            "--role",
            "agent",
        ])
        .output()
        .unwrap();
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    // So is an unknown team, and nothing is created.
    let bad = frontdesk(&data)
        .args([
            "admin",
            "create-user",
            "--email",
            "c@example.com",
            "--name",
            "C",
            "--role",
            "agent",
            "--team",
            "Nope",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Nope"));
    let out = run_ok(frontdesk(&data).args(["admin", "list-users"]));
    assert!(!out.contains("c@example.com"));

    stop(server);

    // A second start on the same data does not create another admin.
    let server = start_server(&data);
    assert!(!server.lines.join("").contains("password:"));
    stop(server);
}

/// A server holding thousands of chats and event streams needs as many open files: `serve`
/// raises its soft limit to the hard one, which a shell's default (often 1,024) is below.
#[cfg(target_os = "linux")]
#[test]
fn serve_raises_its_open_file_limit_to_the_hard_limit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let hard = std::process::Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .unwrap();
    let hard = String::from_utf8_lossy(&hard.stdout).trim().to_string();
    let mut child = std::process::Command::new("sh")
        .args([
            "-c",
            "ulimit -Sn 256 && exec \"$0\" serve --listen 127.0.0.1:0",
            env!("CARGO_BIN_EXE_frontdesk"),
        ])
        .env_remove("FRONTDESK_DATABASE_URL")
        .env("FRONTDESK_DATA_DIR", &data)
        .env("FRONTDESK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("Frontdesk is running at") {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "serve ended early"
        );
    }
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let row = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    // "Max open files  <soft>  <hard>  files"
    let (soft, hard_now) = (cols[3], cols[4]);
    assert_eq!(soft, hard_now, "{row}");
    if hard != "unlimited" {
        assert_eq!(soft, hard, "{row}");
    }
    assert_ne!(soft, "256", "{row}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn migrate_creates_the_database_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d");
    let out = run_ok(frontdesk(&data).arg("migrate"));
    assert!(out.contains("up to date"), "{out}");
    run_ok(frontdesk(&data).arg("migrate"));
    assert!(data.join("frontdesk.db").exists());
}

#[test]
fn a_bad_database_url_fails_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = frontdesk(dir.path())
        .args([
            "migrate",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open database"), "{err}");
}

mod reqwest {
    /// A tiny blocking GET for the CLI tests (they run outside any async runtime).
    pub fn blocking_get(url: &str) -> u16 {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { ::reqwest::get(url).await.unwrap().status().as_u16() })
    }
}

/// HD-06: `admin create-form` builds a form through the forms use case and prints its id as
/// the last line; without `--field` it has the default fields, and bad input fails clearly.
#[test]
fn hd_06_admin_create_form_prints_the_form_id_last() {
    use fd_app::Actor;
    use fd_app::domain::Workspace;
    use fd_app::domain::forms::FieldObject;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    run_ok(frontdesk(&data).args(["admin", "create-team", "--name", "Support"]));
    let out = run_ok(frontdesk(&data).args([
        "admin",
        "create-form",
        "--name",
        "Contact us",
        "--team",
        "Support",
        "--inbox",
        "--field",
        "email:required",
        "--field",
        "phone",
        "--field",
        "content:required",
    ]));
    let custom = out.lines().last().unwrap().trim().to_string();
    assert_eq!(custom.len(), 36, "{out}");
    let out = run_ok(frontdesk(&data).args([
        "admin",
        "create-form",
        "--name",
        "Support form",
        "--team",
        "Support",
    ]));
    let default = out.lines().last().unwrap().trim().to_string();
    assert!(out.contains("help_desk"), "{out}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = frontdesk::open(&frontdesk::DatabaseConfig {
            data_dir: data.clone(),
            database_url: None,
        })
        .await
        .unwrap();
        let f = app.form(&Actor::system(), &custom, false).await.unwrap();
        assert_eq!(f.workspace, Workspace::Inbox);
        let fields: Vec<(FieldObject, &str, bool)> = f
            .fields
            .iter()
            .map(|x| (x.object, x.name.as_str(), x.required))
            .collect();
        assert_eq!(
            fields,
            [
                (FieldObject::Contact, "email", true),
                (FieldObject::Contact, "phone", false),
                (FieldObject::Ticket, "content", true),
            ]
        );
        let d = app.form(&Actor::system(), &default, false).await.unwrap();
        assert_eq!(d.workspace, Workspace::HelpDesk);
        let names: Vec<&str> = d.fields.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(
            names,
            ["email", "firstname", "lastname", "subject", "content"]
        );
        assert!(d.fields[0].required);
        app.close().await;
    });
    // Refusals: an unknown team, a bad field flag, a form without a required email.
    for (args, needle) in [
        (vec!["--team", "Nope"], "Nope"),
        (
            vec!["--team", "Support", "--field", "email:optional"],
            "required",
        ),
        (vec!["--team", "Support", "--field", "email"], "email"),
    ] {
        let out = frontdesk(&data)
            .args(["admin", "create-form", "--name", "Bad"])
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
