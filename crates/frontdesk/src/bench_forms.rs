//! `frontdesk bench-forms`: public form submissions measured over HTTP on loopback. Starts
//! the router on 127.0.0.1:0 over a fresh database with a help-desk form, then posts
//! HubSpot-shaped submissions (`POST /submissions/v3/integration/submit/{portalId}/{formGuid}`)
//! from several concurrent connections and reports submissions per second — each one a
//! contact found or created, a FORM conversation with its first message and a ticket, in one
//! transaction.
//!
//! The router is served without connection info, so the per-address budget (50 at once, then
//! 5 per second, which every loopback client would share) does not apply: this measures what
//! the server sustains for many clients, not what one client is allowed.

use crate::bench_db::BenchDb;
use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use fd_app::domain::Workspace;
use fd_app::domain::forms::{PostSubmit, default_fields};
use fd_app::{Actor, NewForm};
use serde_json::json;

#[derive(Args, Debug, Clone)]
pub struct BenchFormsArgs {
    /// Concurrent connections, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4,16")]
    pub concurrency: Vec<usize>,
    /// Submissions per concurrency level.
    #[arg(long, default_value_t = 5_000)]
    pub submissions: u64,
    /// Distinct submitter addresses (later submissions reuse earlier contacts).
    #[arg(long, default_value_t = 1_000)]
    pub submitters: u64,
    /// A PostgreSQL maintenance URL: the bench creates a new database there. Without it the
    /// bench uses a new SQLite file.
    #[arg(long)]
    pub postgres_admin_url: Option<String>,
}

pub async fn run(args: BenchFormsArgs) -> anyhow::Result<()> {
    let bench = BenchDb::create("bench-forms", args.postgres_admin_url.as_deref()).await?;
    let (app, backend) = (bench.app.clone(), bench.backend);
    let system = Actor::system();
    let team = app.create_team(&system, "Support").await?.id;
    let form = app
        .create_form(
            &system,
            NewForm {
                name: "Bench form".into(),
                fields: default_fields(),
                post_submit: PostSubmit::ThankYou("Thanks".into()),
                team: Some(team),
                workspace: Workspace::HelpDesk,
            },
        )
        .await?;
    let portal = app.portal_id().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let router = fd_web::router(app.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await
    });
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let url = format!(
        "{base}/submissions/v3/integration/submit/{portal}/{}",
        form.id
    );
    let ctx = Arc::new((http, url, args.submitters.max(1)));
    println!("backend: {backend}  (client and server in one process, loopback HTTP/1.1)");
    println!(
        "{:>12} {:>12} {:>14}",
        "connections", "submissions", "submissions/s"
    );
    let mut next = 0u64;
    for &c in &args.concurrency {
        let started = Instant::now();
        let workers = c.max(1) as u64;
        let mut tasks = Vec::new();
        for w in 0..workers {
            let ctx = ctx.clone();
            let (start, n) = (next, args.submissions);
            tasks.push(tokio::spawn(async move {
                let (http, url, submitters) = &*ctx;
                let mut i = start + w;
                while i < start + n {
                    let body = json!({"fields": [
                        {"objectTypeId": "0-1", "name": "email", "value": format!("customer{}@bench.example", i % submitters)},
                        {"objectTypeId": "0-1", "name": "firstname", "value": "Bench"},
                        {"objectTypeId": "0-5", "name": "subject", "value": format!("Order {i} did not arrive")},
                        {"objectTypeId": "0-5", "name": "content", "value": format!("Hello, my order number {i} has not arrived yet.")},
                    ], "context": {"pageUri": "https://bench.example/help"}});
                    let res = http.post(url.as_str()).json(&body).send().await?;
                    if res.status().as_u16() != 200 {
                        let status = res.status();
                        bail!(
                            "submission answered {status}: {}",
                            res.text().await.unwrap_or_default()
                        );
                    }
                    res.bytes().await?;
                    i += workers;
                }
                anyhow::Ok(())
            }));
        }
        for t in tasks {
            t.await??;
        }
        let secs = started.elapsed().as_secs_f64();
        next += args.submissions;
        println!(
            "{:>12} {:>12} {:>14.0}",
            c,
            args.submissions,
            args.submissions as f64 / secs.max(1e-9)
        );
    }
    let stored = app.form_submission_count(&system, &form.id).await?;
    if stored != next as i64 {
        bail!("{stored} submissions stored, {next} sent");
    }
    println!("{stored} submissions stored, each with its conversation and ticket");
    let _ = stop_tx.send(());
    server.await??;
    bench.finish().await;
    Ok(())
}
