//! `frontdesk bench-merge`: how long merging two big tickets takes, and undoing it (issue 15).
//! Builds two tickets on a fresh database, each with one email conversation of `--messages`
//! messages, then times `App::merge_tickets` and `App::unmerge_ticket` in turn, `--rounds`
//! times each, and checks after every unmerge that each ticket has its own conversation back.
//! A merge moves conversations by ticket (not messages one by one), so the message count
//! should barely matter; this measures that it does not.

use crate::bench_db::BenchDb;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use fd_app::domain::{Channel, TicketId, Workspace};
use fd_app::{Actor, App, InboundMessage, NewConversation, TicketCreation, Unmerged};

#[derive(Args, Debug, Clone)]
pub struct BenchMergeArgs {
    /// Messages in each ticket's conversation.
    #[arg(long, default_value_t = 1_000)]
    pub messages: usize,
    /// Merge-then-unmerge rounds timed.
    #[arg(long, default_value_t = 20)]
    pub rounds: usize,
    /// A PostgreSQL maintenance URL: the bench creates a new database there. Without it the
    /// bench uses a new SQLite file.
    #[arg(long)]
    pub postgres_admin_url: Option<String>,
}

fn message(n: usize, from: &str, subject: &str) -> InboundMessage {
    InboundMessage {
        sender_name: Some("Customer".into()),
        sender_address: Some(from.into()),
        subject: Some(subject.into()),
        text: format!("Message {n}: the printer still prints blank pages."),
        message_id_header: Some(format!("bench-{n}-{from}")),
        ..InboundMessage::default()
    }
}

/// A ticket with one email conversation of `messages` messages.
async fn big_ticket(
    app: &App,
    from: &str,
    subject: &str,
    messages: usize,
) -> anyhow::Result<TicketId> {
    let system = Actor::system();
    let (c, ticket) = app
        .create_conversation(
            &system,
            NewConversation {
                channel: Channel::Email,
                channel_account: None,
                workspace: Workspace::HelpDesk,
                team: None,
                owner: None,
                contact: None,
                visitor_name: None,
                visitor_email: None,
                subject: Some(subject.into()),
                ticket: TicketCreation::Automatic,
            },
            Some(message(0, from, subject)),
        )
        .await?;
    for n in 1..messages {
        app.record_inbound_message(&system, c.id, message(n, from, subject))
            .await?;
    }
    ticket
        .map(|t| t.id)
        .context("the conversation opened no ticket")
}

fn summary(label: &str, mut d: Vec<Duration>) {
    d.sort();
    let ms = |x: Duration| x.as_secs_f64() * 1000.0;
    let median = d[d.len() / 2];
    let p90 = d[(d.len() * 9 / 10).min(d.len() - 1)];
    println!(
        "{label:<8} n={:<3} min {:>7.2} ms  median {:>7.2} ms  p90 {:>7.2} ms  max {:>7.2} ms",
        d.len(),
        ms(d[0]),
        ms(median),
        ms(p90),
        ms(d[d.len() - 1])
    );
}

pub async fn run(args: BenchMergeArgs) -> anyhow::Result<()> {
    if args.rounds == 0 || args.messages < 1 {
        bail!("--rounds and --messages must be at least 1");
    }
    let bench = BenchDb::create("bench-merge", args.postgres_admin_url.as_deref()).await?;
    let (app, backend) = (bench.app.clone(), bench.backend);
    let system = Actor::system();
    let started = Instant::now();
    let a = big_ticket(&app, "a@customer.example", "Printer", args.messages).await?;
    let b = big_ticket(&app, "b@customer.example", "Scanner", args.messages).await?;
    println!(
        "backend: {backend}; two tickets of {} messages each built in {:.1} s",
        args.messages,
        started.elapsed().as_secs_f64()
    );
    let convs = |id| {
        let app = app.clone();
        async move {
            anyhow::Ok(
                app.ticket_details(&Actor::system(), id)
                    .await?
                    .conversations
                    .len(),
            )
        }
    };
    let (mut merges, mut unmerges) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        let t = Instant::now();
        app.merge_tickets(&system, a, b).await?;
        merges.push(t.elapsed());
        if convs(a).await? != 2 {
            bail!("after the merge ticket {a} should hold both conversations");
        }
        let t = Instant::now();
        let undone = app.unmerge_ticket(&system, a, b).await?;
        unmerges.push(t.elapsed());
        if !matches!(undone, Unmerged::Merge { .. }) || convs(a).await? != 1 || convs(b).await? != 1
        {
            bail!("after the unmerge each ticket should have its own conversation back");
        }
    }
    summary("merge", merges);
    summary("unmerge", unmerges);
    bench.finish().await;
    Ok(())
}
