//! Web forms (HD-06): the definitions admins build (Settings, the forms v3 API, the CLI) and
//! the public submission — one use case, one transaction: the contact found or created by
//! email, a FORM conversation with the submitted fields as its first message on the form's
//! team, and, for a form connected to the help desk, its ticket through the same path every
//! automatic ticket takes (`create_conversation_in`). Replies to a FORM conversation go out
//! by email through the outbox (`conversations.rs`, HD-15), so the submitter's answer threads
//! back onto the same conversation and ticket.
//!
//! Depends on `conversations.rs`, `crm.rs` and `tickets.rs`; none of them depends on this.
//! Must not depend on HTTP: the caller hands over the client address and the values.

use std::net::IpAddr;

use fd_domain::forms::{
    Form, FormField, PostSubmit, SubmissionError, SubmittedValue, check_form, check_submission,
};
use fd_domain::*;
use fd_store::{NewFormSubmission, Tx};
use rand::Rng;

use crate::conversations::{InboundMessage, NewConversation};
use crate::tickets::apply_ticket_changes;
use crate::{Actor, App, AppError, Event, TicketCreation};

/// Submissions one client address may send at once (HubSpot allows 50 per 10 seconds)…
pub const SUBMIT_BURST: i64 = 50;
/// …after which it regains one per this many milliseconds.
pub const SUBMIT_REFILL_MS: i64 = 200;

/// Ticket properties that route a ticket rather than describe the request: a form's
/// submitter never sets them (the form's team and the intake stage do).
const ROUTING_PROPERTIES: [&str; 5] = [
    "hs_pipeline",
    "hs_pipeline_stage",
    "hubspot_owner_id",
    "hubspot_team_id",
    "source_type",
];

/// A new form's definition (defaults: the help desk, a thank-you message).
#[derive(Debug, Clone)]
pub struct NewForm {
    pub name: String,
    pub fields: Vec<FormField>,
    pub post_submit: PostSubmit,
    pub team: Option<TeamId>,
    pub workspace: Workspace,
}

/// A change to a form: what is `None` stays.
#[derive(Debug, Clone, Default)]
pub struct FormChanges {
    pub name: Option<String>,
    pub fields: Option<Vec<FormField>>,
    pub post_submit: Option<PostSubmit>,
    pub team: Option<Option<TeamId>>,
    pub workspace: Option<Workspace>,
    pub archived: Option<bool>,
}

/// A submission as a channel (the API, the hosted page) received it.
#[derive(Debug, Clone, Default)]
pub struct FormSubmission {
    pub portal_id: i64,
    pub form_id: String,
    pub values: Vec<SubmittedValue>,
    /// The hidden honeypot input's value ([`fd_domain::forms::HONEYPOT_FIELD`]).
    pub honeypot: Option<String>,
    /// The client's address, for the per-address budget (`None`: not counted).
    pub client: Option<IpAddr>,
    /// `context.pageUri`: where the form was filled in.
    pub page_uri: Option<String>,
}

/// What became of a submission.
#[derive(Debug, Clone)]
pub enum SubmitOutcome {
    /// Stored: the contact, the FORM conversation and, on the help desk, its ticket.
    Accepted {
        post_submit: PostSubmit,
        contact: ContactId,
        conversation: ConversationId,
        ticket: Option<TicketId>,
    },
    /// The honeypot was filled: answered as a success, nothing stored.
    Discarded { post_submit: PostSubmit },
    /// Refused, with HubSpot's reasons; nothing stored.
    Rejected(Vec<SubmissionError>),
    /// Too many submissions from this client address; nothing stored.
    Throttled { retry_after_ms: i64 },
}

/// A random version-4 UUID, as HubSpot's form GUIDs.
fn new_form_id() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A form id as given in a path: anything but a UUID's characters names no form.
fn well_formed_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

impl App {
    /// This installation's `portalId` (`/account-info/v3/details`, embeds).
    pub async fn portal_id(&self) -> Result<i64, AppError> {
        let mut tx = self.db().read().await?;
        let id = tx.portal_id().await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A team by name, or by id written as digits (the CLI's `--team`).
    pub async fn team_named(&self, team: &str) -> Result<TeamId, AppError> {
        let mut tx = self.db().read().await?;
        let t = match tx.team_by_name(team.trim()).await? {
            Some(t) => Some(t),
            None => match team.trim().parse::<i64>() {
                Ok(n) => tx.team(TeamId(n)).await?,
                Err(_) => None,
            },
        };
        tx.commit().await?;
        t.map(|t| t.id)
            .ok_or_else(|| AppError::not_found("team", team.trim()))
    }

    /// Checks a definition against HD-06/HD-15 and the ticket properties that exist.
    async fn checked_form(&self, tx: &mut Tx, f: &mut Form) -> Result<(), AppError> {
        let cfg = self.ticket_config(tx).await?;
        let settable = |name: &str| {
            !ROUTING_PROPERTIES.contains(&name)
                && cfg
                    .properties
                    .get(name)
                    .is_some_and(|p| !p.read_only && !p.archived)
        };
        let (name, fields, post_submit) = check_form(
            &f.name,
            std::mem::take(&mut f.fields),
            f.post_submit.clone(),
            settable,
        )?;
        f.name = name;
        f.fields = fields;
        f.post_submit = post_submit;
        if let Some(team) = f.team
            && !tx.team_exists(team).await?
        {
            return Err(AppError::invalid(
                "team",
                format!("team {team} does not exist"),
            ));
        }
        Ok(())
    }

    /// Creates a form (Settings, `POST /marketing/v3/forms`, `admin create-form`).
    pub async fn create_form(&self, actor: &Actor, input: NewForm) -> Result<Form, AppError> {
        actor.require_admin("creating forms")?;
        let now = self.now();
        let mut f = Form {
            id: new_form_id(),
            name: input.name,
            fields: input.fields,
            post_submit: input.post_submit,
            team: input.team,
            workspace: input.workspace,
            archived: false,
            archived_at: None,
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db().write().await?;
        self.checked_form(&mut tx, &mut f).await?;
        tx.insert_form(&f).await?;
        tx.commit().await?;
        Ok(f)
    }

    /// Changes a form (Settings, `PATCH`/`PUT /marketing/v3/forms/{id}`); archiving and
    /// restoring are changes of `archived`.
    pub async fn update_form(
        &self,
        actor: &Actor,
        id: &str,
        changes: FormChanges,
    ) -> Result<Form, AppError> {
        actor.require_admin("changing forms")?;
        if !well_formed_id(id) {
            return Err(AppError::not_found("form", id));
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        let mut f = tx
            .form_for_update(id)
            .await?
            .ok_or_else(|| AppError::not_found("form", id))?;
        if let Some(n) = changes.name {
            f.name = n;
        }
        if let Some(fields) = changes.fields {
            f.fields = fields;
        }
        if let Some(p) = changes.post_submit {
            f.post_submit = p;
        }
        if let Some(t) = changes.team {
            f.team = t;
        }
        if let Some(w) = changes.workspace {
            f.workspace = w;
        }
        if let Some(a) = changes.archived
            && a != f.archived
        {
            f.archived = a;
            f.archived_at = a.then_some(now);
        }
        f.updated_at = now;
        self.checked_form(&mut tx, &mut f).await?;
        tx.update_form(&f).await?;
        tx.commit().await?;
        Ok(f)
    }

    /// Archives a live form (`DELETE /marketing/v3/forms/{id}`); its hosted page and
    /// submission endpoint answer 404 from then on.
    pub async fn archive_form(&self, actor: &Actor, id: &str) -> Result<(), AppError> {
        let f = self.form(actor, id, false).await?;
        self.update_form(
            actor,
            &f.id,
            FormChanges {
                archived: Some(true),
                ..FormChanges::default()
            },
        )
        .await?;
        Ok(())
    }

    /// A form by id for an agent; `archived` chooses archived or live forms, as HubSpot's
    /// `archived` parameter does.
    pub async fn form(&self, actor: &Actor, id: &str, archived: bool) -> Result<Form, AppError> {
        actor.require_admin("reading forms")?;
        match self.load_form(id).await? {
            Some(f) if f.archived == archived => Ok(f),
            _ => Err(AppError::not_found("form", id)),
        }
    }

    async fn load_form(&self, id: &str) -> Result<Option<Form>, AppError> {
        if !well_formed_id(id) {
            return Ok(None);
        }
        let mut tx = self.db().read().await?;
        let f = tx.form(id).await?;
        tx.commit().await?;
        Ok(f)
    }

    /// A live form for the public (its hosted page): `None` when unknown or archived.
    pub async fn public_form(&self, id: &str) -> Result<Option<Form>, AppError> {
        Ok(self.load_form(id).await?.filter(|f| !f.archived))
    }

    /// One page of forms, oldest first, and whether more follow.
    pub async fn forms(
        &self,
        actor: &Actor,
        archived: bool,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<Form>, bool), AppError> {
        actor.require_admin("reading forms")?;
        let mut tx = self.db().read().await?;
        let mut page = tx.forms_page(archived, offset, limit + 1).await?;
        tx.commit().await?;
        let more = page.len() as i64 > limit;
        page.truncate(limit.max(0) as usize);
        Ok((page, more))
    }

    /// How many submissions a form has accepted (Settings).
    pub async fn form_submission_count(&self, actor: &Actor, id: &str) -> Result<i64, AppError> {
        actor.require_admin("reading form statistics")?;
        let mut tx = self.db().read().await?;
        let n = tx.form_submission_count(id).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// HD-06: a public submission (see the module header). Every request counts against
    /// its client's budget, valid or not, so a flood is stopped before it costs a write.
    pub async fn submit_form(&self, input: FormSubmission) -> Result<SubmitOutcome, AppError> {
        let now = self.now();
        if let Some(ip) = input.client
            && let Err(wait) = self.form_clients.take(ip, now)
        {
            tracing::info!(client = %ip, "form submission refused: too many from this client");
            return Ok(SubmitOutcome::Throttled {
                retry_after_ms: wait,
            });
        }
        let portal = self.portal_id().await?;
        let form = match self.public_form(&input.form_id).await? {
            Some(f) if portal == input.portal_id => f,
            _ => return Err(AppError::not_found("form", &input.form_id)),
        };
        if input
            .honeypot
            .as_deref()
            .is_some_and(|h| !h.trim().is_empty())
        {
            tracing::info!(form = %form.id, "form submission discarded: the honeypot was filled");
            return Ok(SubmitOutcome::Discarded {
                post_submit: form.post_submit,
            });
        }
        let submission = match check_submission(&form, &input.values) {
            Ok(s) => s,
            Err(errors) => return Ok(SubmitOutcome::Rejected(errors)),
        };
        let system = Actor::system();
        let mut tx = self.db().write().await?;
        let (contact, mut events) = crate::crm::contact_for_sender_in(
            self,
            &mut tx,
            &system,
            submission.email.as_str(),
            submission.display_name().as_deref(),
            now,
        )
        .await?;
        let subject = submission
            .subject
            .clone()
            .unwrap_or_else(|| format!("Form: {}", form.name));
        let conversation = NewConversation {
            channel: Channel::Form,
            channel_account: Some(form.id.clone()),
            workspace: form.workspace,
            team: form.team,
            owner: None,
            contact: Some(contact),
            visitor_name: submission.display_name(),
            visitor_email: Some(submission.email.as_str().to_string()),
            subject: Some(subject.clone()),
            ticket: match form.workspace {
                Workspace::HelpDesk => TicketCreation::Automatic,
                Workspace::Inbox => TicketCreation::None,
            },
        };
        let first = InboundMessage {
            sender_name: submission.display_name(),
            sender_address: Some(submission.email.as_str().to_string()),
            subject: Some(subject),
            text: submission.message_text(),
            ..InboundMessage::default()
        };
        let (c, ticket, _) = self
            .create_conversation_in(&mut tx, &system, conversation, Some(first), now)
            .await?;
        if let Some(t) = &ticket
            && !submission.ticket.is_empty()
        {
            // The form's other ticket fields go through the ticket rules like any change.
            let cfg = self.ticket_config(&mut tx).await?;
            let mut locked = tx
                .ticket_for_update(&ViewerScope::All, t.id)
                .await?
                .ok_or_else(|| AppError::not_found("ticket", t.id))?;
            let applied = match apply_ticket_changes(
                &mut tx,
                &cfg,
                &system,
                &mut locked,
                &submission.ticket,
                now,
            )
            .await
            {
                Ok(a) => a,
                Err(AppError::Domain(DomainError::Invalid(fields))) => {
                    return Ok(SubmitOutcome::Rejected(
                        fields
                            .iter()
                            .map(|f| {
                                SubmissionError::new(
                                    &f.field,
                                    forms::SubmissionErrorType::ValueNotInFieldDefinition,
                                    &f.message,
                                )
                            })
                            .collect(),
                    ));
                }
                Err(e) => return Err(e),
            };
            events.extend(applied.events);
        }
        tx.insert_form_submission(&NewFormSubmission {
            form_id: &form.id,
            contact: Some(contact),
            conversation: Some(c.id),
            ticket: ticket.as_ref().map(|t| t.id),
            page_uri: input.page_uri.as_deref(),
            at: now,
        })
        .await?;
        tx.commit().await?;
        events.push(Event::ConversationChanged(c.id));
        if let Some(t) = &ticket {
            events.push(Event::TicketChanged(t.id));
        }
        self.publish(events);
        Ok(SubmitOutcome::Accepted {
            post_submit: form.post_submit,
            contact,
            conversation: c.id,
            ticket: ticket.map(|t| t.id),
        })
    }
}

/// Fields given as `NAME[:required]` (the CLI's `--field`): contact properties by default,
/// `subject`, `content` and other names that are not contact properties on the ticket.
pub fn parse_field_spec(spec: &str) -> Result<FormField, AppError> {
    let (name, flag) = match spec.split_once(':') {
        Some((n, f)) => (n.trim(), Some(f.trim())),
        None => (spec.trim(), None),
    };
    let required = match flag {
        None | Some("") => false,
        Some(f) if f.eq_ignore_ascii_case("required") => true,
        Some(other) => {
            return Err(AppError::invalid(
                "field",
                format!("{spec:?}: after the colon only \"required\" is allowed, not {other:?}"),
            ));
        }
    };
    let name = name.to_ascii_lowercase();
    let object = if forms::CONTACT_FIELDS.contains(&name.as_str()) {
        forms::FieldObject::Contact
    } else {
        forms::FieldObject::Ticket
    };
    Ok(FormField {
        object,
        label: forms::default_label(&name),
        name,
        required,
    })
}
