//! `frontdesk admin create-app` and the server's webhook deliveries, end to end: the command
//! prints exactly `app-id`, `developer-api-key` and `client-secret`; with that key a client
//! configures the app over HTTP; a ticket created through the API reaches a receiver on
//! loopback from the running server's own background loop, signed with the app's secret.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use fd_app::{webhook_signature_v1, webhook_signature_v3};

use crate::common::{Server, frontdesk};
use serde_json::{Value, json};

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

fn send(method: reqwest::Method, url: &str, bearer: Option<&str>, body: Value) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut req = reqwest::Client::new().request(method, url).json(&body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    })
}

/// Reads one HTTP request from the receiver's socket: (request line, headers, body).
fn receive(listener: &TcpListener) -> (String, Vec<(String, String)>, Vec<u8>) {
    let (mut sock, _) = listener.accept().unwrap();
    // A bound on a broken test, not a wait for anything: the delivery comes within seconds.
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut reader = BufReader::new(sock.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).unwrap();
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap();
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap();
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    sock.write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .unwrap();
    (line.trim_end().to_string(), headers, body)
}

#[test]
fn create_app_prints_three_lines_and_the_server_delivers_signed_events() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, out) = run(frontdesk(&data).args(["admin", "create-app", "--name", "Sync"]));
    assert!(ok, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    let field = |i: usize, name: &str| {
        lines[i]
            .strip_prefix(&format!("{name}: "))
            .unwrap_or_else(|| panic!("line {i} is {name}: {out}"))
            .to_string()
    };
    let (app_id, key, secret) = (
        field(0, "app-id"),
        field(1, "developer-api-key"),
        field(2, "client-secret"),
    );
    let (ok, _) = run(frontdesk(&data).args(["admin", "create-app", "--name", " "]));
    assert!(!ok, "a name is required");
    let (ok, _) = run(frontdesk(&data).args([
        "admin",
        "create-user",
        "--email",
        "ann@example.com",
        "--name",
        "Ann",
        "--role",
        "agent",
        "--password",
        "correct horse",
    ]));
    assert!(ok);
    let (ok, out) =
        run(frontdesk(&data).args(["admin", "create-token", "--email", "ann@example.com"]));
    assert!(ok, "{out}");
    let token = out.lines().last().unwrap().trim().to_string();

    let receiver = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("http://{}/in", receiver.local_addr().unwrap());

    let server = Server::spawn(frontdesk(&data).stderr(Stdio::null()), &[]);
    let base = server.base.clone();
    let hooks = format!("{base}/webhooks/v3/{app_id}");
    let (status, body) = send(
        reqwest::Method::PUT,
        &format!("{hooks}/settings?hapikey={key}"),
        None,
        json!({"targetUrl": target, "throttling": {"maxConcurrentRequests": 5}}),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        reqwest::Method::POST,
        &format!("{hooks}/subscriptions?hapikey={key}"),
        None,
        json!({"eventType": "ticket.creation", "active": true}),
    );
    assert_eq!(status, 201, "{body}");
    let (status, created) = send(
        reqwest::Method::POST,
        &format!("{base}/crm/v3/objects/tickets"),
        Some(&token),
        json!({"properties": {"subject": "Hello hooks", "hs_pipeline_stage": "1"}}),
    );
    assert_eq!(status, 201, "{created}");

    let (line, headers, body) = receive(&receiver);
    drop(server);
    assert_eq!(line, "POST /in HTTP/1.1");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name}"))
    };
    let ts = header("x-hubspot-request-timestamp");
    assert_eq!(
        header("x-hubspot-signature-v3"),
        webhook_signature_v3(&secret, "POST", &target, &body, &ts)
    );
    assert_eq!(
        header("x-hubspot-signature"),
        webhook_signature_v1(&secret, &body)
    );
    let events: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(events[0]["subscriptionType"], "ticket.creation");
    assert_eq!(
        events[0]["objectId"].to_string(),
        created["id"].as_str().unwrap()
    );
    assert_eq!(events[0]["appId"].to_string(), app_id);
}
