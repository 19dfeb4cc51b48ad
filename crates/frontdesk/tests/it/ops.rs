//! Operations (issue 17, item 5): `backup`/`restore` of a SQLite installation while its
//! server runs, `/metrics` behind its token, and `admin export`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::common::{Server, frontdesk, run, runtime};

async fn create_ticket(http: &reqwest::Client, base: &str, token: &str, subject: &str) -> String {
    let res = http
        .post(format!("{base}/crm/v3/objects/tickets"))
        .bearer_auth(token)
        .json(
            &json!({"properties": {"subject": subject, "content": "Body of the ticket",
            "hs_pipeline": "0", "hs_pipeline_stage": "1"}}),
        )
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
    let (ok, out) =
        run(frontdesk(data).args(["admin", "create-token", "--email", "ann@example.com"]));
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
    let (ok, out) = run(frontdesk(&data).args(["backup", "--to"]).arg(&archive));
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
    let (ok, out) = run(frontdesk(&restored)
        .args(["restore", "--from"])
        .arg(&archive));
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
            meta["url"]
                .as_str()
                .unwrap()
                .split("/mail/")
                .next()
                .unwrap(),
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

/// Issue 17, item 5: `serve --log-format json` writes one JSON object per line, with the
/// request's id (the `X-Request-Id` header) in the span fields beside the event's fields.
#[test]
fn json_logs_are_one_object_per_line_with_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::spawn(
        frontdesk(&data)
            .env("FRONTDESK_LOG", "info")
            .stderr(Stdio::piped()),
        &["--log-format", "json"],
    );
    let mut server = server;
    let stderr = server.child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let rt = runtime();
    let request_id = rt.block_on(async {
        let res = reqwest::Client::new()
            .get(format!("{}/crm/v3/objects/tickets/1", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        res.headers()["x-request-id"].to_str().unwrap().to_string()
    });
    // Stopping the server closes its stderr: every line it wrote is then read.
    drop(server);
    let lines = reader.join().unwrap();
    let mut refused = None;
    for line in &lines {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
        // Each key once: a field named like the event's own text would shadow it.
        assert_eq!(line.matches("\"message\":").count(), 1, "{line}");
        if v["fields"]["message"] == "request refused" {
            refused = Some(v);
        }
    }
    let refused = refused.unwrap_or_else(|| panic!("no refusal logged: {lines:?}"));
    assert_eq!(refused["level"], "INFO");
    assert_eq!(refused["fields"]["status"], 401);
    assert_eq!(refused["fields"]["correlation_id"], request_id.as_str());
    assert_eq!(refused["span"]["name"], "request");
    assert_eq!(refused["span"]["request_id"], request_id.as_str());
    assert_eq!(refused["spans"][0]["request_id"], request_id.as_str());
    // A format that does not exist is refused by the command line.
    let (ok, out) = run(frontdesk(&data).args(["serve", "--log-format", "xml"]));
    assert!(!ok && out.contains("xml"), "{out}");
}

const SCRAPE_TOKEN: &str = "scrape-token-0123456789abcdef";

/// The value of the sample named exactly `series` (name and labels) in a scrape, if any.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Issue 17, item 5: `/metrics` is absent until a token turns it on, then refuses scrapes
/// without that token; request counters use the route template, and the mail, job and
/// outbox figures move with what really happens.
async fn metrics_endpoint(t: fd_testkit::TestApp) {
    let env = crate::mail::env(t).await;
    let app = env.t.app.clone();
    let (admin, _) = env.t.admin("root@help.example").await;
    let token = app
        .create_api_token(&fd_app::Actor::system(), &admin.email, Some("ops"))
        .await
        .unwrap()
        .token;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // The server's own job loop would take the mail before the scrape sees it queued.
    let server = tokio::spawn(async move {
        let router =
            fd_web::router(app).into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    let http = reqwest::Client::new();
    let scrape = |auth: Option<&'static str>| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let mut r = http.get(format!("{base}/metrics"));
            if let Some(a) = auth {
                r = r.bearer_auth(a);
            }
            let res = r.send().await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    };
    // Off by default: no such route.
    assert_eq!(scrape(Some(SCRAPE_TOKEN)).await.0, 404);
    assert!(env.t.app.metrics().enable_scrape("short").is_err());
    env.t.app.metrics().enable_scrape(SCRAPE_TOKEN).unwrap();
    assert_eq!(scrape(None).await.0, 401);
    assert_eq!(scrape(Some("scrape-token-0123456789abcdeX")).await.0, 401);

    // A ticket read by id twice and a miss: counted under the template, not the path.
    let id = create_ticket(&http, &base, &token, "Counted").await;
    for _ in 0..2 {
        let res = http
            .get(format!("{base}/crm/v3/objects/tickets/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = http
        .get(format!("{base}/no/such/path/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // One message arrives: accepted now, queued for ingestion until the job runs.
    env.receive(
        "carol@customer.example",
        &["support@help.example"],
        &crate::mail::msg(
            "Carol <carol@customer.example>",
            "support@help.example",
            "Metrics mail",
            Some("<metrics-1@customer.example>"),
            "",
            "Hello",
        ),
    )
    .await;
    let (status, before) = scrape(Some(SCRAPE_TOKEN)).await;
    assert_eq!(status, 200, "{before}");
    assert!(before.ends_with("# EOF\n"), "{before}");
    let route_line = before
        .lines()
        .find(|l| {
            l.starts_with("frontdesk_http_requests_total{")
                && l.contains("method=\"GET\"")
                && l.contains("/crm/v3/objects/")
                && l.contains("status=\"200\"")
        })
        .unwrap_or_else(|| panic!("no ticket read counted: {before}"));
    assert!(
        route_line.contains('{') && !route_line.contains(&id),
        "{route_line}"
    );
    assert!(route_line.ends_with(" 2"), "{route_line}");
    assert!(
        before.contains("route=\"unmatched\",status=\"404\"") && !before.contains("/no/such"),
        "{before}"
    );
    assert!(before.contains("frontdesk_http_request_duration_seconds_bucket{"));
    assert_eq!(sample(&before, "frontdesk_mail_accepted_total"), Some(1.0));
    assert_eq!(sample(&before, "frontdesk_mail_processed_total"), Some(0.0));
    assert_eq!(
        sample(&before, "frontdesk_jobs{state=\"queued\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&before, "frontdesk_jobs{state=\"failed\"}"),
        Some(0.0)
    );
    assert_eq!(sample(&before, "frontdesk_outbox_lag_seconds"), Some(0.0));
    let pool_max = sample(&before, "frontdesk_db_pool_connections{state=\"max\"}").unwrap();
    assert!(pool_max >= 1.0, "{before}");

    // The job runs: processed, nothing queued.
    let stats = env.run_jobs().await;
    assert_eq!(stats.ingested, 1);
    let (_, after) = scrape(Some(SCRAPE_TOKEN)).await;
    assert_eq!(sample(&after, "frontdesk_mail_processed_total"), Some(1.0));
    assert_eq!(
        sample(&after, "frontdesk_jobs{state=\"queued\"}"),
        Some(0.0)
    );

    // A reply waits in the outbox until its job runs: its age is the lag.
    let (_, admin_actor) = env.t.admin("lead@help.example").await;
    let thread = env
        .t
        .app
        .threads(
            &fd_app::Actor::system(),
            &fd_app::ThreadQuery {
                workspaces: vec![fd_app::domain::Workspace::HelpDesk],
                contact: None,
                status: None,
                archived: false,
                latest_message_after: None,
                sort: fd_app::ThreadSort::IdAsc,
                offset: 0,
                limit: 1,
            },
        )
        .await
        .unwrap()[0]
        .id;
    let reply = env
        .t
        .app
        .send_reply(
            &admin_actor,
            thread,
            fd_app::Reply {
                text: "On it".into(),
                ..fd_app::Reply::default()
            },
        )
        .await
        .unwrap();
    env.t.clock.advance_ms(7_500);
    let (_, waiting) = scrape(Some(SCRAPE_TOKEN)).await;
    // The manual clock moves a millisecond per reading, so the scrape's "now" lies between.
    let upper = (env.t.app.now() - reply.created_at) as f64 / 1000.0;
    let lag = sample(&waiting, "frontdesk_outbox_lag_seconds").unwrap();
    assert!((7.5..=upper).contains(&lag), "{lag} not in 7.5..={upper}");
    assert_eq!(
        sample(&waiting, "frontdesk_outbox_queued_messages"),
        Some(1.0)
    );
    env.run_jobs().await;
    let (_, settled) = scrape(Some(SCRAPE_TOKEN)).await;
    assert_eq!(sample(&settled, "frontdesk_outbox_lag_seconds"), Some(0.0));
    assert_eq!(
        sample(
            &settled,
            "frontdesk_mail_deliveries_total{outcome=\"not_sent\"}"
        ),
        Some(1.0),
        "{settled}"
    );
    let live = env.t.app.live_connection("agent");
    let (_, with_stream) = scrape(Some(SCRAPE_TOKEN)).await;
    assert_eq!(
        sample(&with_stream, "frontdesk_live_connections{stream=\"agent\"}"),
        Some(1.0)
    );
    drop(live);
    let (_, closed) = scrape(Some(SCRAPE_TOKEN)).await;
    assert_eq!(
        sample(&closed, "frontdesk_live_connections{stream=\"agent\"}"),
        Some(0.0)
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// Issue 17, item 5 ("a user can always leave"): `admin export` writes every ticket,
/// conversation with its messages and comments, contact and company as JSON Lines.
async fn export_writes_json_lines(t: fd_testkit::TestApp) {
    use fd_app::domain::ObjectType;
    let env = crate::mail::env(t).await;
    let app = env.t.app.clone();
    let system = fd_app::Actor::system();
    let (_, admin) = env.t.admin("root@help.example").await;
    env.receive(
        "dana@customer.example",
        &["support@help.example"],
        &crate::mail::msg(
            "Dana <dana@customer.example>",
            "support@help.example",
            "Export me",
            Some("<export-1@customer.example>"),
            "",
            "The export's first message",
        ),
    )
    .await;
    env.run_jobs().await;
    let company = app
        .create_record(
            &system,
            ObjectType::Company,
            [("name".to_string(), "Acme Export".to_string())].into(),
            Vec::new(),
        )
        .await
        .unwrap();
    let ticket = app
        .create_record(
            &system,
            ObjectType::Ticket,
            [
                ("subject".to_string(), "Made by the API".to_string()),
                ("hs_pipeline".to_string(), "0".to_string()),
                ("hs_pipeline_stage".to_string(), "1".to_string()),
            ]
            .into(),
            Vec::new(),
        )
        .await
        .unwrap();
    app.archive_record(&admin, ObjectType::Ticket, ticket.id)
        .await
        .unwrap();
    let threads = app
        .threads(
            &system,
            &fd_app::ThreadQuery {
                workspaces: vec![fd_app::domain::Workspace::HelpDesk],
                contact: None,
                status: None,
                archived: false,
                latest_message_after: None,
                sort: fd_app::ThreadSort::IdAsc,
                offset: 0,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(threads.len(), 1);
    app.comment(&admin, None, Some(threads[0].id), "An internal note")
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export");
    let s = frontdesk::export::export(&app, &out).await.unwrap();
    let read = |name: &str| -> Vec<Value> {
        std::fs::read_to_string(out.join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let tickets = read("tickets.jsonl");
    assert_eq!(s.tickets, 2);
    assert_eq!(tickets.len(), 2);
    let mail_ticket = &tickets[0];
    assert_eq!(mail_ticket["properties"]["subject"], "Export me");
    assert_eq!(mail_ticket["archived"], false);
    // Datetime properties in HubSpot's wire form.
    assert!(
        mail_ticket["properties"]["createdate"]
            .as_str()
            .unwrap()
            .ends_with('Z'),
        "{mail_ticket}"
    );
    assert_eq!(tickets[1]["id"], ticket.id.to_string());
    assert_eq!(tickets[1]["archived"], true, "trashed records leave too");
    let conversations = read("conversations.jsonl");
    assert_eq!(conversations.len(), 1);
    let c = &conversations[0];
    assert_eq!(c["associatedTicketId"], mail_ticket["id"]);
    let messages = c["messages"].as_array().unwrap();
    assert_eq!(messages[0]["type"], "MESSAGE");
    assert_eq!(messages[0]["direction"], "INCOMING");
    assert!(
        messages[0]["text"]
            .as_str()
            .unwrap()
            .contains("The export's first message")
    );
    assert!(
        messages
            .iter()
            .any(|m| m["type"] == "COMMENT" && m["text"] == "An internal note"),
        "{c}"
    );
    let contacts = read("contacts.jsonl");
    assert!(
        contacts
            .iter()
            .any(|x| x["properties"]["email"] == "dana@customer.example"),
        "{contacts:?}"
    );
    let companies = read("companies.jsonl");
    assert_eq!(companies.len(), 1);
    assert_eq!(companies[0]["id"], company.id.to_string());
    assert_eq!(companies[0]["properties"]["name"], "Acme Export");
    // A second export into the same directory is refused, not overwritten.
    let again = frontdesk::export::export(&app, &out).await.unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");
}

fd_testkit::on_both_backends! {
    metrics_are_off_by_default_token_protected_and_count_real_events => metrics_endpoint;
    admin_export_writes_every_record_as_json_lines => export_writes_json_lines;
}
