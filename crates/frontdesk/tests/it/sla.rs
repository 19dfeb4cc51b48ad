//! `frontdesk admin create-sla | list-slas | delete-sla` (issue 16 item 1): a policy with every
//! flag from the command line, through the same use case as Settings → SLAs; listed, then
//! deleted; bad input is refused with a clear message and a non-zero exit.

use std::process::Command;

use fd_app::Actor;

fn frontdesk(data_dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
    c.env_remove("FRONTDESK_DATABASE_URL")
        .env("FRONTDESK_DATA_DIR", data_dir)
        .env("FRONTDESK_LOG", "warn");
    c
}

fn run(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = frontdesk(data).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Every flag of `create-sla`, with one value replaced.
fn create_args<'a>(replace: &[(&'a str, &'a str)]) -> Vec<&'a str> {
    let mut flags: Vec<(&str, &str)> = vec![
        ("--name", "Gold"),
        ("--pipeline", "Support Pipeline"),
        ("--priority", "HIGH"),
        ("--priority", "MEDIUM"),
        ("--team", "Support"),
        ("--first-response", "2h"),
        ("--next-response", "30m"),
        ("--time-to-close", "3d"),
        ("--hours", "Mon-Fri 09:00-17:00"),
        ("--time-zone", "Europe/Rome"),
        ("--holiday", "2026-12-25"),
        ("--holiday", "2026-12-26"),
        ("--pause-stage", "Waiting on contact"),
    ];
    for (flag, value) in replace {
        if let Some(f) = flags.iter_mut().find(|(f, _)| f == flag) {
            f.1 = value;
        }
    }
    let mut args = vec!["admin", "create-sla"];
    for (f, v) in flags {
        args.push(f);
        args.push(v);
    }
    args
}

#[test]
fn create_sla_with_every_flag_then_list_and_delete_and_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = run(&data, &["admin", "create-team", "--name", "Support"]);
    assert!(ok, "{err}");

    let (ok, out, err) = run(&data, &create_args(&[]));
    assert!(ok, "{err}");
    assert!(out.contains("Created SLA policy \"Gold\""), "{out}");
    let id = out.lines().last().unwrap().trim().to_string();
    assert!(id.parse::<i64>().is_ok(), "{out}");

    let (ok, out, err) = run(&data, &["admin", "list-slas"]);
    assert!(ok, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{id}\t")))
        .unwrap_or_else(|| panic!("policy {id} is listed: {out}"));
    for part in [
        "\tGold\t",
        "pipeline=Support Pipeline",
        "priorities=HIGH,MEDIUM",
        "team=Support",
        "first response 2h",
        "next response 30m",
        "close 3d",
        "Europe/Rome",
        "pause=Waiting on contact",
    ] {
        assert!(line.contains(part), "{part:?} in {line:?}");
    }

    // What was stored, holidays and the weekly hours included.
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
        let all = app.sla_policies(&Actor::system()).await.unwrap();
        assert_eq!(all.len(), 1);
        let p = &all[0].policy;
        assert_eq!(p.id.to_string(), id);
        assert_eq!(p.first_response_ms, 2 * 3_600_000);
        assert_eq!(p.next_response_ms, Some(30 * 60_000));
        assert_eq!(p.time_to_close_ms, Some(3 * 24 * 3_600_000));
        assert_eq!(p.calendar.holidays.len(), 2);
        assert!(p.calendar.hours.is_some());
        assert_eq!(all[0].team_name.as_deref(), Some("Support"));
        assert_eq!(all[0].pause_stage_labels, ["Waiting on contact"]);
        app.close().await;
    });

    // Refusals: each names what is wrong, and nothing is created.
    for (flag, value, says) in [
        ("--first-response", "2x", "2x"),
        ("--next-response", "soon", "soon"),
        ("--time-zone", "Mars/Olympus_Mons", "Mars/Olympus_Mons"),
        ("--hours", "Mon-Fri", "Mon-Fri"),
        ("--holiday", "2026-13-40", "2026-13-40"),
        ("--pipeline", "No Such Pipeline", "No Such Pipeline"),
        ("--priority", "URGENTEST", "URGENTEST"),
        ("--team", "Nobody", "Nobody"),
        ("--pause-stage", "Closed", "Closed"),
    ] {
        let (ok, out, err) = run(&data, &create_args(&[("--name", "Bad"), (flag, value)]));
        assert!(!ok, "{flag} {value} was accepted: {out}");
        assert!(err.contains(says), "{flag} {value}: {err}");
    }
    let (ok, _, err) = run(&data, &["admin", "create-sla", "--name", "No goal"]);
    assert!(!ok && err.contains("--first-response"), "{err}");
    let (_, out, _) = run(&data, &["admin", "list-slas"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(!out.contains("Bad"), "{out}");

    let (ok, out, err) = run(&data, &["admin", "delete-sla", "--id", &id]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("Deleted SLA policy {id}")), "{out}");
    let (ok, out, err) = run(&data, &["admin", "list-slas"]);
    assert!(ok, "{err}");
    assert!(out.trim().is_empty(), "{out}");
    // Deleting it again names the missing policy.
    let (ok, _, err) = run(&data, &["admin", "delete-sla", "--id", &id]);
    assert!(!ok && err.contains(&id), "{err}");
}
