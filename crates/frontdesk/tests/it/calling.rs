//! `frontdesk admin connect-calling`: the webhook secret is the last line printed, a bad or
//! duplicate number is refused, and an event signed with that secret reaches the running
//! server and opens a call ticket (issue 14, item 5).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

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

    let mut child = frontdesk(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut addr = None;
    for _ in 0..10 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(rest) = line.trim().strip_prefix("Frontdesk is running at http://") {
            addr = Some(rest.trim_end_matches('/').to_string());
            break;
        }
    }
    std::thread::spawn(move || for _ in reader.lines() {});
    let addr = addr.expect("serve printed its address");
    let url = format!("http://{addr}/calling/v1/events");
    let body = r#"{"eventId":"e1","callId":"c1","type":"ringing","from":"+442079460000","to":"+14155550100"}"#;
    let (status, answer) = post_event(&url, &secret, body);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], "applied");
    assert!(answer["ticketId"].is_string(), "{answer}");
    let (status, answer) = post_event(&url, "not-the-secret", body);
    assert_eq!(status, 401, "{answer}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
}
