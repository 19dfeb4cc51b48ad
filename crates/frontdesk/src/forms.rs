//! `frontdesk admin …` commands of web forms (HD-06): `create-form` builds one through the
//! same use case as Settings and the forms API, and prints its id as the last line.

use clap::Subcommand;
use fd_app::domain::Workspace;
use fd_app::domain::forms::{PostSubmit, default_fields};
use fd_app::{Actor, App, NewForm, parse_field_spec};

#[derive(Subcommand, Debug, Clone)]
pub enum FormsAdminCommand {
    /// Create a web form; its id (the form GUID) is the last line printed. Without `--field`
    /// it asks for email (required), first name, last name, subject and message.
    CreateForm {
        #[arg(long)]
        name: String,
        /// Team name or id: submissions start conversations (and tickets) on it.
        #[arg(long)]
        team: String,
        /// A ticket per submission (HD-06; the default).
        #[arg(long, conflicts_with = "inbox")]
        help_desk: bool,
        /// Conversations in the inbox, without tickets.
        #[arg(long)]
        inbox: bool,
        /// A field as NAME or NAME:required (repeatable, in order). Contact properties
        /// (email, firstname, lastname, phone, company) fill the contact; other names
        /// (subject, content, ticket properties) the ticket.
        #[arg(long = "field")]
        fields: Vec<String>,
        /// The message shown after submitting.
        #[arg(long, conflicts_with = "redirect")]
        thank_you: Option<String>,
        /// A page to send the submitter to instead.
        #[arg(long)]
        redirect: Option<String>,
    },
}

pub async fn admin(app: &App, command: FormsAdminCommand) -> anyhow::Result<()> {
    let system = Actor::system();
    match command {
        FormsAdminCommand::CreateForm {
            name,
            team,
            help_desk: _,
            inbox,
            fields,
            thank_you,
            redirect,
        } => {
            let team = app.team_named(&team).await?;
            let fields = if fields.is_empty() {
                default_fields()
            } else {
                fields
                    .iter()
                    .map(|f| parse_field_spec(f))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let post_submit = match redirect {
                Some(u) => PostSubmit::Redirect(u),
                None => PostSubmit::ThankYou(thank_you.unwrap_or_default()),
            };
            let workspace = if inbox {
                Workspace::Inbox
            } else {
                Workspace::HelpDesk
            };
            let f = app
                .create_form(
                    &system,
                    NewForm {
                        name,
                        fields,
                        post_submit,
                        team: Some(team),
                        workspace,
                    },
                )
                .await?;
            let portal = app.portal_id().await?;
            println!(
                "created form {:?} ({}, {} fields); hosted page /forms/{}, submissions to \
                 /submissions/v3/integration/submit/{portal}/{}",
                f.name,
                workspace.as_str(),
                f.fields.len(),
                f.id,
                f.id
            );
            println!("{}", f.id);
        }
    }
    Ok(())
}
