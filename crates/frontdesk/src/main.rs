//! `frontdesk`: the help desk server and its administration commands.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use fd_app::Actor;
use fd_app::domain::{Role, Seat, TicketAccessLevel};
use frontdesk::{DatabaseConfig, bench};

#[derive(Parser)]
#[command(
    name = "frontdesk",
    version,
    about = "Frontdesk: a self-hosted help desk"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct DbArgs {
    /// Directory for the embedded SQLite database and stored files.
    #[arg(
        long,
        env = "FRONTDESK_DATA_DIR",
        default_value = "./frontdesk-data",
        global = true
    )]
    data_dir: PathBuf,
    /// A postgres:// URL to use PostgreSQL instead of the embedded SQLite database.
    #[arg(long, env = "FRONTDESK_DATABASE_URL", global = true)]
    database_url: Option<String>,
}

impl DbArgs {
    fn config(&self) -> DatabaseConfig {
        DatabaseConfig {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (HTTP, jobs).
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on for HTTP.
        #[arg(long, env = "FRONTDESK_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        mail: frontdesk::mail::MailArgs,
        #[command(flatten)]
        ops: frontdesk::ops::ServeOpsArgs,
    },
    /// Read one RFC 5322 message on stdin and store it, for an MTA's pipe (exit 0 stored,
    /// 65 refused as too large, 75 temporary failure: the MTA retries).
    Mailgate {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        args: frontdesk::mail::MailgateArgs,
    },
    /// Measure mail throughput: SMTP delivery to a ticket in the list (BENCHMARKS.md, "Email").
    BenchMail(frontdesk::bench_mail::BenchMailArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Write a consistent copy of a SQLite installation (database with its attachments, and
    /// the data directory's other files) to one archive; safe while the server runs.
    Backup {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        args: frontdesk::backup::BackupArgs,
    },
    /// Bring a `frontdesk backup` archive back into a new data directory.
    Restore {
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        args: frontdesk::backup::RestoreArgs,
    },
    /// Administration commands (safe while a server runs on the same database).
    Admin {
        #[command(flatten)]
        db: DbArgs,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Measure write throughput and list latency on a fresh database.
    Bench(bench::BenchArgs),
    /// Measure the HubSpot-compatible API over loopback HTTP: creates/s at several
    /// concurrencies and search latency on a large database.
    BenchApi(frontdesk::bench_api::BenchApiArgs),
    /// Public form submissions per second over loopback HTTP (each a contact, a FORM
    /// conversation and a ticket).
    BenchForms(frontdesk::bench_forms::BenchFormsArgs),
    /// Live chat over loopback HTTP: idle visitors one server process holds and its memory,
    /// and visitor-to-agent latency (BENCHMARKS.md, "Channels: forms and live chat").
    BenchChat(frontdesk::bench_chat::BenchChatArgs),
    /// One bulk status change of many tickets, each through the single-edit use case
    /// (BENCHMARKS.md, "Bulk actions").
    BenchBulk(frontdesk::bench_bulk::BenchBulkArgs),
    /// Measure the web UI's page server times on a fresh database (BENCHMARKS.md, "Web UI").
    BenchUi(frontdesk::bench_ui::BenchUiArgs),
    /// Time the worst mail HTML against the sanitiser's bounds and measure HTTP latency while
    /// it is ingested (BENCHMARKS.md, "Hostile mail").
    BenchHostileMail(frontdesk::bench_hostile::BenchHostileArgs),
    /// Time a merge of two tickets of 1,000 messages each and its unmerge (BENCHMARKS.md,
    /// "Ticket merge and unmerge").
    BenchMerge(frontdesk::bench_merge::BenchMergeArgs),
    /// Measure reply suggestions: top-3 hit rate on held-out resolved tickets and query
    /// latency (BENCHMARKS.md, "Reply suggestions").
    BenchSuggest(frontdesk::bench_suggest::BenchSuggestArgs),
    /// Time each report for the last 30 days on a year of seeded tickets (BENCHMARKS.md,
    /// "Reports").
    BenchReports(frontdesk::bench_reports::BenchReportsArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    SuperAdmin,
    Agent,
}

#[derive(Clone, Copy, ValueEnum)]
enum AvailabilityArg {
    Available,
    Away,
}

#[derive(Clone, Copy, ValueEnum)]
enum AccessArg {
    All,
    Team,
    Owned,
}

#[derive(Clone, Copy, ValueEnum)]
enum SeatArg {
    None,
    Core,
    Service,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a user; prints a generated password when none is given.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A team the user belongs to (repeatable).
        #[arg(long = "team")]
        teams: Vec<String>,
        /// Which tickets the user may see (HD-09).
        #[arg(long, value_enum, default_value = "all")]
        ticket_access: AccessArg,
        #[arg(long)]
        password: Option<String>,
        /// Service Seat (needed for custom views, SLAs, reply suggestions).
        #[arg(long, value_enum, default_value = "service")]
        seat: SeatArg,
        /// Grant the Account Access permission set (settings, team From addresses).
        #[arg(long)]
        account_access: bool,
        /// Create the user without Service access (HD-05: then no tickets at all).
        #[arg(long)]
        no_service_access: bool,
        /// Grant Sales access.
        #[arg(long)]
        sales_access: bool,
    },
    /// Connect a phone number to a team as a calling channel; the webhook secret that signs
    /// the telephony provider's events is the last line printed.
    ConnectCalling {
        /// The number in E.164 form (such as +14155550100).
        #[arg(long)]
        number: String,
        /// Team name or id.
        #[arg(long)]
        team: String,
        /// Inbound calls open tickets in the help desk (the default).
        #[arg(long, conflicts_with = "inbox")]
        help_desk: bool,
        /// Inbound calls open conversations in the inbox, without tickets.
        #[arg(long)]
        inbox: bool,
    },
    /// Set a user available or away (HubSpot's `hs_availability_status`): what the top bar's
    /// toggle and the users API set, and what a chat asks before it waits for an agent.
    SetAvailability {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        status: AvailabilityArg,
    },
    /// Create a team.
    CreateTeam {
        #[arg(long)]
        name: String,
    },
    /// Create a chat channel for a team; its id (for the widget's `data-frontdesk-chat`) is
    /// the last line printed.
    CreateChat {
        #[arg(long)]
        name: String,
        /// Team name or id.
        #[arg(long)]
        team: String,
        /// Chats open tickets in the help desk (the default).
        #[arg(long, conflicts_with = "inbox")]
        help_desk: bool,
        /// Chats open conversations in the inbox, without tickets.
        #[arg(long)]
        inbox: bool,
    },
    /// List users with their role, access and teams.
    ListUsers,
    #[command(flatten)]
    Mail(frontdesk::mail::MailAdminCommand),
    #[command(flatten)]
    Forms(frontdesk::forms::FormsAdminCommand),
    #[command(flatten)]
    Routing(frontdesk::routing::RoutingAdminCommand),
    #[command(flatten)]
    Sla(frontdesk::sla::SlaAdminCommand),
    /// Create an API token (HubSpot private-app style) acting as a user; the token is the
    /// last line printed and is shown only this once.
    CreateToken {
        /// The user the token acts as (their ticket access applies to it).
        #[arg(long)]
        email: String,
        /// A name to tell tokens apart.
        #[arg(long)]
        name: Option<String>,
    },
    /// Create a developer app for HubSpot's webhooks API; prints its `app-id`, its
    /// `developer-api-key` (the management API's `hapikey`, shown only once) and its
    /// `client-secret` (signs deliveries), one per line.
    CreateApp {
        #[arg(long)]
        name: String,
    },
    /// Revoke an API token by the id `create-token` and `list-tokens` print.
    RevokeToken {
        #[arg(long)]
        id: i64,
    },
    /// List API tokens (id, user, name, prefix, state); never the tokens themselves.
    ListTokens,
    /// Write tickets, conversations (with messages), contacts and companies as JSON Lines
    /// files into a directory.
    Export {
        /// The directory to write (created when missing; earlier exports are not overwritten).
        #[arg(long)]
        to: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    frontdesk::logging::init(match &cli.command {
        Command::Serve { ops, .. } => ops.log_format,
        _ => frontdesk::logging::LogFormat::Text,
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            db,
            listen,
            mail,
            ops,
        } => serve(db, listen, mail, ops).await,
        Command::Mailgate { db, args } => {
            let code = match frontdesk::open(&db.config()).await {
                Ok(app) => {
                    let code = frontdesk::mail::mailgate(app.clone(), args).await;
                    app.close().await;
                    code
                }
                Err(e) => {
                    eprintln!("mailgate: {e:#}");
                    frontdesk::mail::EX_TEMPFAIL
                }
            };
            // sysexits codes tell the MTA what to do with the message.
            std::process::exit(i32::from(code));
        }
        Command::BenchMail(args) => frontdesk::bench_mail::run(args).await,
        Command::Migrate { db } => {
            let config = db.config();
            let app = frontdesk::open(&config).await?;
            app.close().await;
            println!(
                "database is up to date: {}",
                frontdesk::redact(&config.url())
            );
            Ok(())
        }
        Command::Backup { db, args } => {
            let s = frontdesk::backup::backup(&db.config(), &args).await?;
            println!(
                "backed up {} (database {} bytes, schema {}, {} other files) to {}",
                db.data_dir.display(),
                s.database_bytes,
                s.schema_version,
                s.other_files,
                args.to.display()
            );
            Ok(())
        }
        Command::Restore { db, args } => {
            let s = frontdesk::backup::restore(&db.config(), &args).await?;
            println!(
                "restored {} into {} (database {} bytes, schema {}, {} other files)",
                args.from.display(),
                db.data_dir.display(),
                s.database_bytes,
                s.schema_version,
                s.other_files
            );
            Ok(())
        }
        Command::Admin { db, command } => admin(db, command).await,
        Command::Bench(args) => bench::run(args).await,
        Command::BenchApi(args) => frontdesk::bench_api::run(args).await,
        Command::BenchForms(args) => frontdesk::bench_forms::run(args).await,
        Command::BenchChat(args) => frontdesk::bench_chat::run(args).await,
        Command::BenchBulk(args) => frontdesk::bench_bulk::run(args).await,
        Command::BenchUi(args) => frontdesk::bench_ui::run(args).await,
        Command::BenchHostileMail(args) => frontdesk::bench_hostile::run(args).await,
        Command::BenchMerge(args) => frontdesk::bench_merge::run(args).await,
        Command::BenchSuggest(args) => frontdesk::bench_suggest::run(args).await,
        Command::BenchReports(args) => frontdesk::bench_reports::run(args).await,
    }
}

async fn serve(
    db: DbArgs,
    listen: SocketAddr,
    mail: frontdesk::mail::MailArgs,
    ops: frontdesk::ops::ServeOpsArgs,
) -> anyhow::Result<()> {
    let shutdown = frontdesk::shutdown_signal()?;
    // Each held chat or event stream is an open file.
    let open_files = frontdesk::raise_open_file_limit();
    tracing::info!(open_files, "open-file limit");
    let config = db.config();
    let app = frontdesk::open(&config).await?;
    ops.apply(&app)?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    println!("Frontdesk is running at http://{addr}/");
    println!("Database: {}", frontdesk::redact(&config.url()));
    match frontdesk::ensure_first_admin(&app).await? {
        Some((email, password)) => {
            println!("First start: created the Super Admin account.");
            println!("  Sign in at http://{addr}/ as {email} with password: {password}");
            println!("  (shown only this once; you will be asked to change it when you sign in)");
        }
        None => println!(
            "Sign in at http://{addr}/ with a user created by `frontdesk admin create-user`."
        ),
    }
    let mail = frontdesk::mail::MailRuntime::from_args(app.clone(), &mail).await?;
    if let Some(smtp) = mail.smtp_addr() {
        println!("Receiving mail over SMTP at {smtp}");
    }
    frontdesk::launch_with_mail(app.clone(), listener, mail, shutdown).await?;
    app.close().await;
    println!("Frontdesk stopped.");
    Ok(())
}

async fn admin(db: DbArgs, command: AdminCommand) -> anyhow::Result<()> {
    let app = frontdesk::open(&db.config()).await?;
    let system = Actor::system();
    match command {
        AdminCommand::CreateUser {
            email,
            name,
            role,
            teams,
            ticket_access,
            password,
            seat,
            account_access,
            no_service_access,
            sales_access,
        } => {
            let generated = password.is_none();
            let password = password.unwrap_or_else(fd_app::generate_password);
            let user = app
                .create_user(
                    &system,
                    fd_app::NewUserInput {
                        email,
                        name,
                        role: match role {
                            RoleArg::SuperAdmin => Role::SuperAdmin,
                            RoleArg::Agent => Role::Agent,
                        },
                        password: password.clone(),
                        teams,
                        ticket_access: match ticket_access {
                            AccessArg::All => TicketAccessLevel::All,
                            AccessArg::Team => TicketAccessLevel::Team,
                            AccessArg::Owned => TicketAccessLevel::Owned,
                        },
                        account_access,
                        service_access: !no_service_access,
                        sales_access,
                        seat: match seat {
                            SeatArg::None => Seat::None,
                            SeatArg::Core => Seat::Core,
                            SeatArg::Service => Seat::Service,
                        },
                    },
                )
                .await?;
            println!(
                "created user {} <{}> (id {})",
                user.name, user.email, user.id
            );
            if generated {
                println!("password: {password}");
            }
        }
        AdminCommand::ConnectCalling {
            number,
            team,
            help_desk: _,
            inbox,
        } => {
            let workspace = if inbox {
                fd_app::domain::Workspace::Inbox
            } else {
                fd_app::domain::Workspace::HelpDesk
            };
            let ch = app
                .connect_calling(&system, &number, &team, workspace)
                .await?;
            println!(
                "connected calling channel {} ({}) to team {}; events go to POST /calling/v1/events, signed with this secret:",
                ch.number,
                workspace.as_str(),
                ch.team_id
            );
            println!("{}", ch.secret);
        }
        AdminCommand::SetAvailability { email, status } => {
            let user = app
                .user_by_email(email.trim())
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user with the email address {email:?}"))?;
            let available = matches!(status, AvailabilityArg::Available);
            app.set_user_availability(&system, user.id, available)
                .await?;
            println!(
                "{} <{}> is now {}",
                user.name,
                user.email,
                fd_app::domain::users::availability_text(available)
            );
        }
        AdminCommand::CreateTeam { name } => {
            let team = app.create_team(&system, &name).await?;
            println!("created team {:?} (id {})", team.name, team.id);
        }
        AdminCommand::CreateChat {
            name,
            team,
            help_desk: _,
            inbox,
        } => {
            let workspace = if inbox {
                fd_app::domain::Workspace::Inbox
            } else {
                fd_app::domain::Workspace::HelpDesk
            };
            let team_id = app.team_by_name_or_id(&team).await?;
            let ch = app
                .create_chat_channel(&system, &name, team_id, workspace)
                .await?;
            println!(
                "created chat channel {:?} for team {} ({}); embed it with \
                 <script src=\"BASE/chat/widget.js\" data-frontdesk-chat=\"{}\" async></script>",
                ch.name,
                team.trim(),
                workspace.as_str(),
                ch.id
            );
            println!("{}", ch.id);
        }
        AdminCommand::CreateToken { email, name } => {
            let t = app
                .create_api_token(&system, &email, name.as_deref())
                .await?;
            println!(
                "created API token {} ({:?}) for {email}; it is shown only once:",
                t.id, t.record.name
            );
            println!("{}", t.token);
        }
        AdminCommand::CreateApp { name } => {
            let a = app.create_webhook_app(&system, &name).await?;
            println!("app-id: {}", a.app.id);
            println!("developer-api-key: {}", a.developer_key);
            println!("client-secret: {}", a.client_secret);
        }
        AdminCommand::RevokeToken { id } => {
            app.revoke_api_token(&system, id).await?;
            println!("revoked API token {id}");
        }
        AdminCommand::ListTokens => {
            let users = app.users().await?;
            println!(
                "{:<6} {:<32} {:<24} {:<14} state",
                "id", "user", "name", "prefix"
            );
            for t in app.api_tokens(&system).await? {
                let email = users
                    .iter()
                    .find(|u| u.id == t.user_id)
                    .map(|u| u.email.as_str())
                    .unwrap_or("?");
                println!(
                    "{:<6} {:<32} {:<24} {:<14} {}",
                    t.id,
                    email,
                    t.name,
                    t.prefix,
                    if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    }
                );
            }
        }
        AdminCommand::Export { to } => {
            let s = frontdesk::export::export(&app, &to).await?;
            println!(
                "exported {} tickets, {} conversations ({} messages), {} contacts, {} companies to {}",
                s.tickets,
                s.conversations,
                s.messages,
                s.contacts,
                s.companies,
                to.display()
            );
        }
        AdminCommand::Mail(cmd) => frontdesk::mail::admin(&app, cmd).await?,
        AdminCommand::Forms(cmd) => frontdesk::forms::admin(&app, cmd).await?,
        AdminCommand::Routing(cmd) => frontdesk::routing::admin(&app, cmd).await?,
        AdminCommand::Sla(cmd) => frontdesk::sla::admin(&app, cmd).await?,
        AdminCommand::ListUsers => {
            let teams = app.teams().await?;
            println!(
                "{:<6} {:<32} {:<24} {:<12} {:<7} {:<8} teams",
                "id", "email", "name", "role", "access", "seat"
            );
            for u in app.users().await? {
                let names: Vec<&str> = u
                    .teams
                    .iter()
                    .filter_map(|t| teams.iter().find(|x| x.id == *t).map(|x| x.name.as_str()))
                    .collect();
                println!(
                    "{:<6} {:<32} {:<24} {:<12} {:<7} {:<8} {}{}",
                    u.id.to_string(),
                    u.email,
                    u.name,
                    u.role.as_str(),
                    u.ticket_access.as_str(),
                    u.seat.as_str(),
                    names.join(","),
                    if u.active { "" } else { " (deactivated)" }
                );
            }
        }
    }
    app.close().await;
    Ok(())
}
