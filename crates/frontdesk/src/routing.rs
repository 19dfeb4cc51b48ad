//! `frontdesk admin set-routing`: how a team hands out new tickets (issue 16 item 2), through
//! the same use case as Settings → Routing. Availability has its own command
//! (`set-availability`), the road of the top bar's toggle.

use clap::{Subcommand, ValueEnum};
use fd_app::domain::routing::{RoutingChannel, RoutingMode, RoutingSetting};
use fd_app::{Actor, App};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModeArg {
    /// Tickets arrive unassigned.
    Manual,
    /// One ticket to each available member in turn.
    RoundRobin,
    /// To the available member with the fewest open tickets.
    LoadBalanced,
    /// With `--channel`: remove the channel's own setting (the team's applies again).
    TeamDefault,
}

#[derive(Subcommand, Debug, Clone)]
pub enum RoutingAdminCommand {
    /// Set how a team routes new unassigned tickets: to its available members in turn, to
    /// the least busy, or not at all; for all its channels or, with `--channel`, for one.
    SetRouting {
        /// Team name or id.
        #[arg(long)]
        team: String,
        #[arg(long, value_enum)]
        mode: ModeArg,
        /// The most open tickets a member may own and still be given one (default: no limit).
        #[arg(long)]
        capacity: Option<i64>,
        /// One channel only: email, form, chat, calls or other (API and tickets made by hand).
        #[arg(long)]
        channel: Option<String>,
    },
}

pub async fn admin(app: &App, command: RoutingAdminCommand) -> anyhow::Result<()> {
    let system = Actor::system();
    match command {
        RoutingAdminCommand::SetRouting {
            team,
            mode,
            capacity,
            channel,
        } => {
            let team_id = app.team_named(&team).await?;
            let channel = channel
                .as_deref()
                .map(RoutingChannel::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--channel: {}", e.message))?;
            let mode = match mode {
                ModeArg::Manual => Some(RoutingMode::Manual),
                ModeArg::RoundRobin => Some(RoutingMode::RoundRobin),
                ModeArg::LoadBalanced => Some(RoutingMode::LoadBalanced),
                ModeArg::TeamDefault => None,
            };
            let setting = match mode {
                Some(mode) => Some(RoutingSetting { mode, capacity }),
                None if channel.is_none() => {
                    anyhow::bail!(
                        "--mode team-default needs --channel (a team's own routing needs a mode)"
                    )
                }
                None if capacity.is_some() => {
                    anyhow::bail!("--capacity does not go with --mode team-default")
                }
                None => None,
            };
            app.set_routing(&system, team_id, channel, setting).await?;
            let what = match setting {
                Some(s) => format!(
                    "{}{}",
                    s.mode.as_cli(),
                    match s.capacity {
                        Some(c) => format!(" with a capacity of {c} open tickets per member"),
                        None => " with no capacity limit".to_string(),
                    }
                ),
                None => "the team's setting".to_string(),
            };
            match channel {
                Some(c) => println!(
                    "team {:?} routes {} tickets: {what}",
                    team.trim(),
                    c.as_str()
                ),
                None => println!("team {:?} routes new tickets: {what}", team.trim()),
            }
        }
    }
    Ok(())
}
