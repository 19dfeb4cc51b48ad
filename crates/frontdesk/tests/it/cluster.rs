//! Issue 17, item 3, at the process level: two `frontdesk serve` processes on one PostgreSQL
//! database. A change written through one reaches a live stream on the other (the relay is
//! wired into `serve`), both serve the same desk, and a token revoked on one is refused by the
//! other. (The finer cases — presence, configuration, leases — are in fd-web's `cluster.rs`.)

use std::process::Stdio;

use serde_json::json;

use crate::common::{Server, frontdesk, run, runtime};

/// Signs in through the form and returns the session cookie.
async fn session(http: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let res = http
        .post(format!("{base}/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("next", "/helpdesk"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "sign-in on {base}");
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|v| v.starts_with("fd_session="))
        .expect("a session cookie")
        .to_string()
}

/// The next `event: name` of a server-sent-event stream, with its data; one deadline for the
/// whole wait, so keep-alive comments cannot extend it.
async fn next_event(resp: &mut reqwest::Response, buf: &mut String, name: &str) -> String {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut event = "";
            let mut data = "";
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = v.trim();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = v.trim();
                }
            }
            if event == name {
                return data.to_string();
            }
        }
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {name} event within the bound"))
            .unwrap()
            .expect("the stream is still open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[test]
fn two_serve_processes_on_one_postgres_database_relay_live_events() {
    let Some(admin) = fd_testkit::postgres_url() else {
        eprintln!("{} is not set: skipped", fd_testkit::POSTGRES_ENV);
        return;
    };
    let rt = runtime();
    let name = format!("fd_two_nodes_{}", std::process::id());
    let url = rt
        .block_on(fd_store::create_postgres_database(&admin, &name))
        .unwrap();
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    let (ok, out) = run(frontdesk(dir_a.path()).args([
        "admin",
        "create-user",
        "--database-url",
        &url,
        "--email",
        "ann@example.com",
        "--name",
        "Ann Agent",
        "--role",
        "super-admin",
        "--password",
        "correct horse battery",
    ]));
    assert!(ok, "{out}");
    let (ok, out) = run(frontdesk(dir_a.path()).args([
        "admin",
        "create-token",
        "--database-url",
        &url,
        "--email",
        "ann@example.com",
    ]));
    assert!(ok, "{out}");
    let token = out
        .lines()
        .rfind(|l| l.starts_with("fdpat-"))
        .unwrap()
        .trim()
        .to_string();
    let token_id = out
        .split_whitespace()
        .skip_while(|w| *w != "token")
        .nth(1)
        .expect("created API token <id>")
        .to_string();
    let node_a = Server::spawn(
        frontdesk(dir_a.path()).stderr(Stdio::null()),
        &["--database-url", &url],
    );
    let node_b = Server::spawn(
        frontdesk(dir_b.path()).stderr(Stdio::null()),
        &["--database-url", &url],
    );
    rt.block_on(async {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let created = http
            .post(format!("{}/crm/v3/objects/tickets", node_a.base))
            .bearer_auth(&token)
            .json(
                &json!({"properties": {"subject": "Two nodes", "hs_pipeline": "0",
                "hs_pipeline_stage": "1"}}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let id = created.json::<serde_json::Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();

        // Ann's page on node B listens; a change through node A reaches it.
        let cookie = session(
            &http,
            &node_b.base,
            "ann@example.com",
            "correct horse battery",
        )
        .await;
        let mut stream = http
            .get(format!("{}/ui/events?watch=ticket:{id}", node_b.base))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(stream.status(), 200);
        let mut buf = String::new();
        assert_eq!(next_event(&mut stream, &mut buf, "presence").await, "[]");
        let patched = http
            .patch(format!("{}/crm/v3/objects/tickets/{id}", node_a.base))
            .bearer_auth(&token)
            .json(&json!({"properties": {"hs_ticket_priority": "HIGH"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(patched.status(), 200);
        assert_eq!(next_event(&mut stream, &mut buf, "ticket").await, id);

        // Node B serves what node A wrote.
        let read = http
            .get(format!(
                "{}/crm/v3/objects/tickets/{id}?properties=hs_ticket_priority",
                node_b.base
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
        let body: serde_json::Value = read.json().await.unwrap();
        assert_eq!(body["properties"]["hs_ticket_priority"], "HIGH");

        // A token revoked through the CLI is refused by both nodes at once.
        let (ok, out) = run(frontdesk(dir_b.path()).args([
            "admin",
            "revoke-token",
            "--database-url",
            &url,
            "--id",
            &token_id,
        ]));
        assert!(ok, "{out}");
        for base in [&node_a.base, &node_b.base] {
            let res = http
                .get(format!("{base}/crm/v3/objects/tickets/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 401, "{base}");
        }
    });
}
