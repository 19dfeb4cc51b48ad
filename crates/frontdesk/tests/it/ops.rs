//! Operations (issue 17, item 5): `backup`/`restore` of a SQLite installation while its
//! server runs, `/metrics` behind its token, and `admin export`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};

fn frontdesk(data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_frontdesk"));
    c.env_remove("FRONTDESK_DATABASE_URL")
        .env_remove("FRONTDESK_METRICS_TOKEN")
        .env_remove("FRONTDESK_LOG_FORMAT")
        .env("FRONTDESK_DATA_DIR", data_dir)
        .env("FRONTDESK_LOG", "warn");
    c
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A `frontdesk serve` child process on port 0; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &Path) -> Server {
        let mut child = frontdesk(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut base = None;
        for _ in 0..10 {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            if let Some(rest) = line.trim().strip_prefix("Frontdesk is running at ") {
                base = Some(rest.trim_end_matches('/').to_string());
                break;
            }
        }
        std::thread::spawn(move || for _ in reader.lines() {});
        Server {
            child,
            base: base.expect("serve printed its address"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn create_ticket(http: &reqwest::Client, base: &str, token: &str, subject: &str) -> String {
    let res = http
        .post(format!("{base}/crm/v3/objects/tickets"))
        .bearer_auth(token)
        .json(&json!({"properties": {"subject": subject, "content": "Body of the ticket",
            "hs_pipeline": "0", "hs_pipeline_stage": "1"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().to_string()
}

async fn upload(http: &reqwest::Client, base: &str, token: &str, bytes: &[u8]) -> Value {
    let b = "fdOpsBoundary93hd7";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(
        format!(
            "\r\n--{b}\r\nContent-Disposition: form-data; name=\"fileName\"\r\n\r\nscan.bin\r\n--{b}\r\nContent-Disposition: form-data; name=\"options\"\r\n\r\n{{\"access\": \"PRIVATE\"}}\r\n--{b}--\r\n"
        )
        .as_bytes(),
    );
    let res = http
        .post(format!("{base}/files/v3/files"))
        .bearer_auth(token)
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

/// Creates an agent and a token for it with the CLI; returns the token.
fn agent_token(data: &Path) -> String {
    let (ok, out) = run(frontdesk(data).args([
        "admin",
        "create-user",
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
    let (ok, out) = run(frontdesk(data).args([
        "admin",
        "create-token",
        "--email",
        "ann@example.com",
    ]));
    assert!(ok, "{out}");
    out.lines()
        .rfind(|l| l.starts_with("fdpat-"))
        .unwrap()
        .trim()
        .to_string()
}

/// Issue 17, item 5: a backup taken while the server serves (and keeps creating tickets)
/// restores into a new directory where a new server reads the tickets and the attachment.
#[test]
fn backup_of_a_live_server_restores_tickets_and_attachments() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = agent_token(&data);
    let server = Server::start(&data);
    let rt = runtime();
    let http = reqwest::Client::new();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let (ticket, file) = rt.block_on(async {
        let ticket = create_ticket(&http, &server.base, &token, "Backed-up printer").await;
        let file = upload(&http, &server.base, &token, &bytes).await;
        (ticket, file)
    });
    let file_id = file["id"].as_str().unwrap().to_string();

    // A writer keeps creating tickets for the whole backup: the copy must be consistent
    // (it opens, migrates and serves) while writes land beside it.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (stop, written, base, token) = (
            stop.clone(),
            written.clone(),
            server.base.clone(),
            token.clone(),
        );
        std::thread::spawn(move || {
            let rt = runtime();
            let http = reqwest::Client::new();
            rt.block_on(async {
                while !stop.load(Ordering::SeqCst) {
                    create_ticket(&http, &base, &token, "Written during the backup").await;
                    written.fetch_add(1, Ordering::SeqCst);
                }
            });
        })
    };
    while written.load(Ordering::SeqCst) < 3 {
        std::thread::yield_now();
    }
    let archive = dir.path().join("frontdesk.backup.tar");
    let (ok, out) = run(frontdesk(&data)
        .args(["backup", "--to"])
        .arg(&archive));
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    assert!(ok, "{out}");
    assert!(out.contains("backed up"), "{out}");
    // A second backup to the same file is refused rather than overwriting it.
    let (ok, out) = run(frontdesk(&data).args(["backup", "--to"]).arg(&archive));
    assert!(!ok && out.contains("already exists"), "{out}");
    drop(server);

    // Restore refuses an existing installation without --force.
    let (ok, out) = run(frontdesk(&data).args(["restore", "--from"]).arg(&archive));
    assert!(!ok && out.contains("already holds"), "{out}");
    let restored = dir.path().join("restored");
    let (ok, out) = run(frontdesk(&restored).args(["restore", "--from"]).arg(&archive));
    assert!(ok, "{out}");
    assert!(out.contains("restored"), "{out}");

    let server = Server::start(&restored);
    rt.block_on(async {
        let res = http
            .get(format!(
                "{}/crm/v3/objects/tickets/{ticket}?properties=subject",
                server.base
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["properties"]["subject"], "Backed-up printer");
        let res = http
            .get(format!("{}/files/v3/files/{file_id}", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let meta: Value = res.json().await.unwrap();
        let url = meta["url"].as_str().unwrap().replace(
            meta["url"].as_str().unwrap().split("/mail/").next().unwrap(),
            &server.base,
        );
        let res = http.get(url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.bytes().await.unwrap().as_ref(), bytes.as_slice());
        // The copy is one snapshot: it holds every ticket written before the backup began
        // and none written after it ended.
        let res = http
            .post(format!("{}/crm/v3/objects/tickets/search", server.base))
            .bearer_auth(&token)
            .json(&json!({"filterGroups": [], "limit": 1}))
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        let total = body["total"].as_u64().unwrap() as usize;
        assert!(
            (1 + 3..=1 + written.load(Ordering::SeqCst)).contains(&total),
            "{total} tickets restored"
        );
    });
    // A non-archive is refused with a clear error.
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"not an archive at all").unwrap();
    let (ok, out) = run(frontdesk(&dir.path().join("third"))
        .args(["restore", "--from"])
        .arg(&junk));
    assert!(!ok, "{out}");
}
