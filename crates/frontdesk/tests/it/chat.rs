//! `frontdesk admin create-chat`: a chat channel per team from the command line, its id the
//! last line printed (for the widget's `data-frontdesk-chat`).

use std::process::Command;

fn frontdesk(data_dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
    c.env_remove("FRONTDESK_DATABASE_URL")
        .env("FRONTDESK_DATA_DIR", data_dir)
        .env("FRONTDESK_LOG", "warn");
    c
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn create_chat_prints_the_channel_id_last_and_refuses_unknown_teams() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = run(frontdesk(&data).args(["admin", "create-team", "--name", "Support"]));
    assert!(ok, "{err}");
    let (ok, out, err) = run(frontdesk(&data).args([
        "admin",
        "create-chat",
        "--name",
        "Website",
        "--team",
        "Support",
    ]));
    assert!(ok, "{err}");
    assert!(out.contains("help_desk"), "{out}");
    let first: i64 = out.lines().last().unwrap().trim().parse().unwrap();
    let (ok, out, err) = run(frontdesk(&data).args([
        "admin",
        "create-chat",
        "--name",
        "Shop",
        "--team",
        "Support",
        "--inbox",
    ]));
    assert!(ok, "{err}");
    assert!(out.contains("inbox"), "{out}");
    let second: i64 = out.lines().last().unwrap().trim().parse().unwrap();
    assert_ne!(first, second);
    // An unknown team, or both workspaces at once: a clear refusal.
    let (ok, _, err) =
        run(frontdesk(&data).args(["admin", "create-chat", "--name", "X", "--team", "Nope"]));
    assert!(!ok && err.contains("Nope"), "{err}");
    let (ok, _, _) = run(frontdesk(&data).args([
        "admin",
        "create-chat",
        "--name",
        "X",
        "--team",
        "Support",
        "--inbox",
        "--help-desk",
    ]));
    assert!(!ok);
}

/// `frontdesk admin set-availability`: the CLI's road to the same availability the top bar's
/// toggle and the users API set; unknown users and statuses are refused clearly.
#[test]
fn set_availability_sets_a_user_available_or_away() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = run(frontdesk(&data).args([
        "admin",
        "create-user",
        "--email",
        "ann@example.com",
        "--name",
        "Ann Agent",
        "--role",
        "agent",
        "--password",
        "correct horse battery",
    ]));
    assert!(ok, "{err}");
    for status in ["available", "away"] {
        let (ok, out, err) = run(frontdesk(&data).args([
            "admin",
            "set-availability",
            "--email",
            "ann@example.com",
            "--status",
            status,
        ]));
        assert!(ok, "{err}");
        assert!(out.contains(&format!("is now {status}")), "{out}");
    }
    let (ok, _, err) = run(frontdesk(&data).args([
        "admin",
        "set-availability",
        "--email",
        "nobody@example.com",
        "--status",
        "away",
    ]));
    assert!(!ok && err.contains("nobody@example.com"), "{err}");
    let (ok, _, _) = run(frontdesk(&data).args([
        "admin",
        "set-availability",
        "--email",
        "ann@example.com",
        "--status",
        "busy",
    ]));
    assert!(!ok);
}
