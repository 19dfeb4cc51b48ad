//! `frontdesk bench-hostile-mail`: the worst mail HTML we can construct against the bounds of
//! `fd_mail::html_bound` (finding 1 of the hardening issue), timed through what ingestion
//! does to a message (MIME parsing, the bounds, sanitising) at 1×, 2× and 4× its size, then
//! delivered for real to a server on a fresh SQLite database while a client measures the
//! latency of `/healthz` and of the sign-in page over loopback HTTP.
//!
//! Cases: nesting 200,000 deep (`<div>`, `<blockquote>`), one tag with 500,000 attributes, the
//! same hidden from a one-reading scanner behind `<style>`, a message of 20,000 HTML parts,
//! misnested formatting elements that make the tree builder reopen them, and the largest
//! document that passes the bounds (so is really sanitised). Growth close to 2× per row means
//! linear.

use std::time::{Duration, Instant};

use clap::Args;
use fd_mail::{IncomingMail, MailSource};

#[derive(Args, Debug, Clone)]
pub struct BenchHostileArgs {
    /// Size multipliers for the timing table (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    pub scales: Vec<usize>,
    /// Hostile messages delivered while `/healthz` is measured.
    #[arg(long, default_value_t = 24)]
    pub messages: usize,
    /// Job workers.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
}

fn html_message(n: usize, html: &str) -> Vec<u8> {
    format!(
        "From: Mallory <mallory{n}@attacker.example>\r\nTo: support@bench.example\r\nSubject: hostile {n}\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
    )
    .into_bytes()
}

fn nested(tag: &str, n: usize) -> String {
    format!(
        "{}text{}",
        format!("<{tag}>").repeat(n),
        format!("</{tag}>").repeat(n)
    )
}

fn attributes(n: usize) -> String {
    (0..n).map(|i| format!(" a{i}")).collect()
}

/// The cases at scale `k`: (name, raw message).
fn cases(k: usize) -> Vec<(&'static str, Vec<u8>)> {
    let parts = {
        let mut raw = String::from(
            "From: m@attacker.example\r\nTo: support@bench.example\r\nSubject: parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n",
        );
        for i in 0..5_000 * k {
            raw.push_str(&format!(
                "--b\r\nContent-Type: text/html\r\n\r\n<div><b>part {i}</b></div>\r\n"
            ));
        }
        raw.push_str("--b--\r\n");
        raw.into_bytes()
    };
    // Formatting elements left open inside divs: each text node reopens all of them.
    let reopen: String = (0..12_000 * k)
        .map(|i| format!("<div><b id=\"{i}\"></div>x"))
        .collect();
    // The largest document within the bounds: ~95,000 elements at depth ≤ 400.
    let within: String = {
        let depth = 100 * k;
        let unit = format!(
            "{}<p style=\"color: red\">cell <a href=\"https://example.com/\">link</a></p>{}",
            "<div>".repeat(depth),
            "</div>".repeat(depth)
        );
        unit.repeat(95_000 / (depth + 2))
    };
    vec![
        ("div × 50k·k", html_message(1, &nested("div", 50_000 * k))),
        (
            "blockquote × 50k·k",
            html_message(2, &nested("blockquote", 50_000 * k)),
        ),
        (
            "one tag, 125k·k attributes",
            html_message(3, &format!("<p{}>x</p>", attributes(125_000 * k))),
        ),
        (
            "attributes behind <style>",
            html_message(
                4,
                &format!(
                    "<style><x y=\"</style><p q=\">\"{}>x",
                    attributes(125_000 * k)
                ),
            ),
        ),
        ("5k·k HTML parts", parts),
        ("reopened formatting", html_message(5, &reopen)),
        ("within bounds, depth 100·k", html_message(6, &within)),
    ]
}

/// What ingestion does with one message before its write transaction.
fn ingest_work(raw: &[u8]) -> (usize, bool) {
    let Ok(mail) = fd_mail::parse(raw, &fd_mail::ParseOptions::default()) else {
        return (0, false);
    };
    let flattened = mail.notices.iter().any(|n| n.contains("(HTML)"));
    let out = mail.html.as_ref().map_or(0, |h| {
        fd_mail::html::sanitize(
            h,
            &fd_mail::html::SanitizeOptions {
                remote: fd_mail::html::RemoteContent::Allow,
                keep_cid: true,
                ..Default::default()
            },
        )
        .html
        .len()
    });
    (out, flattened)
}

pub async fn run(args: BenchHostileArgs) -> anyhow::Result<()> {
    println!("Parse + bounds + sanitise, per message (ms; best of 3):");
    print!("{:<30}", "case");
    for k in &args.scales {
        print!(" {:>10} {:>8}", format!("{k}× MB"), format!("{k}× ms"));
    }
    println!("  outcome");
    let names: Vec<&str> = cases(1).iter().map(|(n, _)| *n).collect();
    let per_scale: Vec<Vec<(&str, Vec<u8>)>> = args.scales.iter().map(|&k| cases(k)).collect();
    for (c, name) in names.iter().enumerate() {
        print!("{name:<30}");
        let mut outcome = "";
        for set in &per_scale {
            let raw = set[c].1.clone();
            let (best, flattened) = tokio::task::spawn_blocking(move || {
                let mut best = Duration::MAX;
                let mut flattened = false;
                for _ in 0..3 {
                    let t = Instant::now();
                    flattened = ingest_work(&raw).1;
                    best = best.min(t.elapsed());
                }
                (best, flattened)
            })
            .await?;
            outcome = if flattened { "flattened" } else { "sanitised" };
            print!(
                " {:>10.2} {:>8.1}",
                set[c].1.len() as f64 / 1e6,
                best.as_secs_f64() * 1000.0
            );
        }
        println!("  {outcome}");
    }

    // A real server on a fresh database, hostile mail arriving, a client watching.
    let tmp = std::env::temp_dir().join(format!("frontdesk-bench-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let app = crate::bench_mail::bench_app(&tmp.join("bench.db").display().to_string()).await?;
    let runtime = crate::mail::MailRuntime::basic(app.clone()).workers(args.workers);
    let service = runtime.service.clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mail_task = tokio::spawn(runtime.run(stop_rx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = fd_web::router(app.clone());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    let client = reqwest::Client::new();
    let probe = move |path: &'static str| {
        let client = client.clone();
        let url = format!("{base}{path}");
        async move {
            let mut times = Vec::new();
            let t = Instant::now();
            let r = client.get(&url).send().await?;
            r.bytes().await?;
            times.push(t.elapsed());
            anyhow::Ok(times)
        }
    };
    // Idle baseline.
    let idle = sample(&probe, 200).await?;

    let big = cases(*args.scales.iter().max().unwrap_or(&1));
    let started = Instant::now();
    let mut delivered = 0usize;
    let watcher = {
        let probe = probe.clone();
        tokio::spawn(async move {
            let mut health = Vec::new();
            let mut page = Vec::new();
            let until = Instant::now() + Duration::from_secs(600);
            loop {
                health.extend(probe("/healthz").await?);
                page.extend(probe("/login").await?);
                tokio::time::sleep(Duration::from_millis(5)).await;
                if Instant::now() > until || STOP.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
            }
            anyhow::Ok((health, page))
        })
    };
    for i in 0..args.messages {
        let (_, raw) = &big[i % big.len()];
        // A distinct Message-ID per delivery so each becomes its own message.
        let raw = String::from_utf8_lossy(raw).replacen(
            "Subject: ",
            &format!("Message-ID: <bench-{i}@attacker.example>\r\nSubject: "),
            1,
        );
        service
            .accept(IncomingMail {
                source: MailSource::Smtp {
                    peer: "127.0.0.1:1".into(),
                    helo: "bench".into(),
                    tls: false,
                },
                envelope_from: Some("m@attacker.example".into()),
                recipients: vec!["support@bench.example".into()],
                raw: raw.into_bytes(),
                truncated_from: None,
            })
            .await
            .map_err(|e| anyhow::anyhow!("delivery refused: {e:?}"))?;
        delivered += 1;
    }
    let deadline = Instant::now() + Duration::from_secs(900);
    while app.pending_jobs().await? > 0 {
        if Instant::now() > deadline {
            anyhow::bail!("ingestion did not finish");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ingest = started.elapsed();
    STOP.store(true, std::sync::atomic::Ordering::Relaxed);
    let (health, page) = watcher.await??;
    println!();
    println!(
        "Live server (SQLite, {} job workers, {} cores): {delivered} hostile messages ({:.1} MB) ingested in {:.1} s",
        args.workers,
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        big.iter().map(|(_, r)| r.len()).sum::<usize>() as f64 / 1e6 * delivered as f64
            / big.len() as f64,
        ingest.as_secs_f64()
    );
    println!(
        "{:<26} {:>8} {:>8} {:>8} {:>8}",
        "HTTP GET", "requests", "p50 ms", "p99 ms", "max ms"
    );
    report("/healthz idle", &idle);
    report("/healthz during ingestion", &health);
    report("/login during ingestion", &page);
    let _ = stop_tx.send(true);
    let _ = mail_task.await;
    server.abort();
    app.close().await;
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}

static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

async fn sample<F, Fut>(probe: &F, n: usize) -> anyhow::Result<Vec<Duration>>
where
    F: Fn(&'static str) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Vec<Duration>>>,
{
    let mut out = Vec::new();
    for _ in 0..n {
        out.extend(probe("/healthz").await?);
    }
    Ok(out)
}

fn report(name: &str, times: &[Duration]) {
    let mut t = times.to_vec();
    t.sort();
    let pct = |p: f64| {
        t.get(((t.len() as f64 * p) as usize).min(t.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{:<26} {:>8} {:>8.2} {:>8.2} {:>8.2}",
        name,
        t.len(),
        pct(0.5),
        pct(0.99),
        t.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    );
}
