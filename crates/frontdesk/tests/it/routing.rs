//! `frontdesk admin set-routing` (issue 16 item 2): a team's routing from the command line,
//! through the same use case as Settings → Routing; bad input is refused clearly with a
//! non-zero exit.

use std::process::Command;

use fd_app::Actor;
use fd_app::domain::routing::{RoutingChannel, RoutingMode, RoutingSetting};

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

fn set_routing(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["admin", "set-routing"];
    all.extend_from_slice(args);
    run(frontdesk(data).args(all))
}

#[test]
fn set_routing_sets_a_team_and_a_channel_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = run(frontdesk(&data).args(["admin", "create-team", "--name", "Support"]));
    assert!(ok, "{err}");
    let (ok, out, err) = set_routing(
        &data,
        &[
            "--team",
            "Support",
            "--mode",
            "round-robin",
            "--capacity",
            "5",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("round-robin with a capacity of 5"), "{out}");
    let (ok, out, err) = set_routing(
        &data,
        &[
            "--team",
            "Support",
            "--mode",
            "load-balanced",
            "--channel",
            "chat",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("routes chat tickets: load-balanced"), "{out}");
    let (ok, _, err) = set_routing(
        &data,
        &[
            "--team",
            "Support",
            "--mode",
            "manual",
            "--channel",
            "email",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = set_routing(
        &data,
        &[
            "--team",
            "Support",
            "--mode",
            "team-default",
            "--channel",
            "email",
        ],
    );
    assert!(ok, "{err}");

    // Refusals: unknown team, mode, channel; a capacity below one; team-default without a channel.
    let (ok, _, err) = set_routing(&data, &["--team", "Nope", "--mode", "manual"]);
    assert!(!ok && err.contains("Nope"), "{err}");
    let (ok, _, err) = set_routing(&data, &["--team", "Support", "--mode", "random"]);
    assert!(!ok && err.contains("random"), "{err}");
    let (ok, _, err) = set_routing(
        &data,
        &["--team", "Support", "--mode", "manual", "--channel", "fax"],
    );
    assert!(!ok && err.contains("fax"), "{err}");
    let (ok, _, err) = set_routing(
        &data,
        &[
            "--team",
            "Support",
            "--mode",
            "round-robin",
            "--capacity",
            "0",
        ],
    );
    assert!(!ok && err.contains("capacity"), "{err}");
    let (ok, _, err) = set_routing(&data, &["--team", "Support", "--mode", "team-default"]);
    assert!(!ok && err.contains("--channel"), "{err}");

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
        let view = app.routing_overview(&Actor::system()).await.unwrap();
        assert_eq!(view.len(), 1);
        assert_eq!(
            view[0].setting,
            RoutingSetting {
                mode: RoutingMode::RoundRobin,
                capacity: Some(5)
            }
        );
        assert_eq!(
            view[0].channels,
            [(
                RoutingChannel::Chat,
                RoutingSetting {
                    mode: RoutingMode::LoadBalanced,
                    capacity: None
                }
            )]
        );
        app.close().await;
    });
}
