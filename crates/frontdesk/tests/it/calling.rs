//! `frontdesk admin connect-calling`: the webhook secret is the last line printed, a bad or
//! duplicate number is refused, and an event signed with that secret reaches the running
//! server and opens a call ticket (issue 14, item 5).

use std::process::{Command, Stdio};

use crate::common::{Server, frontdesk};

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn post_event(url: &str, secret: &str, body: &str) -> (u16, serde_json::Value) {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let sig = fd_app::call_event_signature(secret, &ts, body.as_bytes());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let res = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header("x-frontdesk-timestamp", ts)
            .header("x-frontdesk-signature", sig)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.json().await.unwrap())
    })
}

#[test]
fn connect_calling_prints_the_secret_last_and_signed_events_open_tickets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out, err) = run(frontdesk(&data).args(["admin", "create-team", "--name", "Support"]));
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(frontdesk(&data).args([
        "admin",
        "connect-calling",
        "--number",
        "+1 (415) 555-0100",
        "--team",
        "Support",
        "--help-desk",
    ]));
    assert!(ok, "{out}{err}");
    assert!(out.contains("+14155550100"), "{out}");
    let secret = out.lines().last().unwrap().trim().to_string();
    assert_eq!(secret.len(), 64, "{out}");
    assert!(secret.chars().all(|c| c.is_ascii_hexdigit()));
    // The same number twice, a number without a country code, an unknown team: refused.
    let (ok, _, err) = run(frontdesk(&data).args([
        "admin",
        "connect-calling",
        "--number",
        "+14155550100",
        "--team",
        "Support",
    ]));
    assert!(!ok && err.contains("already connected"), "{err}");
    let (ok, _, err) = run(frontdesk(&data).args([
        "admin",
        "connect-calling",
        "--number",
        "4155550100",
        "--team",
        "Support",
    ]));
    assert!(!ok && err.contains("E.164"), "{err}");
    let (ok, _, _) = run(frontdesk(&data).args([
        "admin",
        "connect-calling",
        "--number",
        "+14155550199",
        "--team",
        "Nobody",
    ]));
    assert!(!ok);

    let mut server = Server::spawn(frontdesk(&data).stderr(Stdio::null()), &[]);
    let addr = server
        .base
        .strip_prefix("http://")
        .expect("an http address")
        .to_string();
    let url = format!("http://{addr}/calling/v1/events");
    let body = r#"{"eventId":"e1","callId":"c1","type":"ringing","from":"+442079460000","to":"+14155550100"}"#;
    let (status, answer) = post_event(&url, &secret, body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "applied");
    assert!(answer["ticketId"].is_string(), "{answer}");
    let (status, answer) = post_event(&url, "not-the-secret", body);
    assert_eq!(status, 401, "{answer}");
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(server.child.wait().unwrap().success());
}
