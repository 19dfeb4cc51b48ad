//! `frontdesk admin …` commands of SLA policies (issue 16 item 1): `create-sla` builds one
//! through the same use case as Settings, `list-slas` and `delete-sla` manage them. Goals
//! are durations (`30m`, `2h`, `3d`); the calendar is weekly hours, an IANA zone and
//! holidays. Bad input is refused with every problem named, and a non-zero exit.

use clap::Subcommand;
use fd_app::domain::sla::{SlaPolicyInput, format_duration};
use fd_app::{Actor, App, SlaPolicyForm};

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug, Clone)]
pub enum SlaAdminCommand {
    /// Create an SLA policy; its id is the last line printed. The most specific policy that
    /// matches a ticket (pipeline, priority, team) applies; open tickets are recomputed.
    CreateSla {
        #[arg(long)]
        name: String,
        /// Pipeline id or label (default: every pipeline).
        #[arg(long)]
        pipeline: Option<String>,
        /// A priority (value or label; repeatable; default: any priority).
        #[arg(long = "priority")]
        priorities: Vec<String>,
        /// Team id or name (default: any team).
        #[arg(long)]
        team: Option<String>,
        /// Time to first response, such as 30m, 2h or 3d (a day is 24 counted hours).
        #[arg(long)]
        first_response: String,
        /// Time to next response after each customer message.
        #[arg(long)]
        next_response: Option<String>,
        /// Time to close.
        #[arg(long)]
        time_to_close: Option<String>,
        /// Weekly hours when the clocks run, such as "Mon-Fri 09:00-17:00" (groups separated
        /// by ';'); default: around the clock.
        #[arg(long)]
        hours: Option<String>,
        /// IANA time zone of the hours and holidays (default UTC).
        #[arg(long)]
        time_zone: Option<String>,
        /// A holiday, YYYY-MM-DD (repeatable): no clock runs that local day.
        #[arg(long = "holiday")]
        holidays: Vec<String>,
        /// A stage (id or label, repeatable) in which the clocks pause, such as
        /// "Waiting on contact".
        #[arg(long = "pause-stage")]
        pause_stages: Vec<String>,
    },
    /// List SLA policies.
    ListSlas,
    /// Delete an SLA policy by id; open tickets are recomputed.
    DeleteSla {
        #[arg(long)]
        id: i64,
    },
}

pub async fn admin(app: &App, command: SlaAdminCommand) -> anyhow::Result<()> {
    let system = Actor::system();
    match command {
        SlaAdminCommand::CreateSla {
            name,
            pipeline,
            priorities,
            team,
            first_response,
            next_response,
            time_to_close,
            hours,
            time_zone,
            holidays,
            pause_stages,
        } => {
            let p = app
                .create_sla_policy(
                    &system,
                    SlaPolicyForm {
                        input: SlaPolicyInput {
                            name,
                            first_response,
                            next_response,
                            time_to_close,
                            hours,
                            time_zone,
                            holidays,
                        },
                        pipeline,
                        priorities,
                        team,
                        pause_stages,
                    },
                )
                .await?;
            println!("Created SLA policy {:?}.", p.name);
            println!("{}", p.id);
        }
        SlaAdminCommand::ListSlas => {
            for v in app.sla_policies(&system).await? {
                let p = &v.policy;
                let goals = [
                    Some(format!(
                        "first response {}",
                        format_duration(p.first_response_ms)
                    )),
                    p.next_response_ms
                        .map(|g| format!("next response {}", format_duration(g))),
                    p.time_to_close_ms
                        .map(|g| format!("close {}", format_duration(g))),
                ];
                let hours = p
                    .calendar
                    .hours
                    .as_ref()
                    .map(|h| h.spec())
                    .unwrap_or_else(|| "24/7".into());
                println!(
                    "{}\t{}\tpipeline={}\tpriorities={}\tteam={}\t{}\t{} {}\tpause={}",
                    p.id,
                    p.name,
                    v.pipeline_label.as_deref().unwrap_or("any"),
                    if p.priorities.is_empty() {
                        "any".to_string()
                    } else {
                        p.priorities.join(",")
                    },
                    v.team_name.as_deref().unwrap_or("any"),
                    goals.into_iter().flatten().collect::<Vec<_>>().join(", "),
                    hours,
                    p.calendar.zone.name(),
                    v.pause_stage_labels.join(","),
                );
            }
        }
        SlaAdminCommand::DeleteSla { id } => {
            app.delete_sla_policy(&system, id).await?;
            println!("Deleted SLA policy {id}.");
        }
    }
    Ok(())
}
