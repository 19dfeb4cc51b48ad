//! Conversation use cases: receive and send messages, owners (INB-06), close/reopen
//! (INB-10–12), trash (INB-13), tickets from conversations (INB-01, INB-04, INB-14),
//! visitors becoming contacts (HD-18). Comments live in `comments.rs`, drafts in `drafts.rs`:
//! both lock through this module, never the other way round.
//!
//! Depends on tickets (a conversation creates and moves its ticket), CRM rows and mail
//! composition; must not be depended on by `tickets.rs` or `crm.rs`, nor depend on HTTP or
//! HTML (agents' HTML is sanitised by `agent_html.rs`).

use std::collections::BTreeMap;

use fd_domain::engagements::ReplyDelivery;
use fd_domain::notify::TicketActivity;
use fd_domain::rules;
use fd_domain::*;
use fd_store::{
    AttachmentMeta, Contact, Conversation, ConversationListQuery, Message, NewActivity, NewMessage,
    Recipients, Ticket, Tx,
};

use crate::activity::{conv_change, conv_event};
use crate::agent_html::sanitize_agent_html;
use crate::cpu::run_cpu;
use crate::crm::{AssociationEnd, association_pair};
use crate::notify::{TicketNotice, notify_ticket_activity};
use crate::tickets::{
    NewTicket, apply_for_automation, apply_ticket_changes, insert_ticket_row, ticket_created,
};
use crate::{Actor, App, AppError, Event, NewContact};

pub use fd_domain::rules::TicketCreation;

/// The reply with its HTML sanitised, on the CPU pool (outside any transaction: a long
/// document must not hold the write lock). Every use case that sends an agent's reply calls
/// this before it opens its transaction.
pub(crate) async fn clean_reply(mut reply: Reply) -> Result<Reply, AppError> {
    if let Some(html) = reply.html.take() {
        reply.html = Some(run_cpu(move || sanitize_agent_html(&html)).await?);
    }
    Ok(reply)
}

#[derive(Debug, Clone)]
pub struct NewConversation {
    pub channel: Channel,
    pub channel_account: Option<String>,
    pub workspace: Workspace,
    pub team: Option<TeamId>,
    pub owner: Option<UserId>,
    pub contact: Option<ContactId>,
    pub visitor_name: Option<String>,
    pub visitor_email: Option<String>,
    pub subject: Option<String>,
    pub ticket: TicketCreation,
}

/// A message from the customer, as a channel hands it over.
#[derive(Debug, Clone, Default)]
pub struct InboundMessage {
    pub sender_name: Option<String>,
    pub sender_address: Option<String>,
    pub recipients: Recipients,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<AttachmentMeta>,
    pub message_id_header: Option<String>,
    pub in_reply_to: Option<String>,
    pub references_header: Option<String>,
}

/// An agent's reply (HD-14, HD-15, HD-19).
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub text: String,
    pub html: Option<String>,
    pub recipients: Recipients,
    pub from_address: Option<String>,
    /// HD-14: answer this message instead of the newest one.
    pub reply_to: Option<MessageId>,
    /// HD-19: move the ticket to this stage in the same transaction.
    pub set_stage: Option<StageId>,
    /// Properties given with the send (a conditional stage's required ones).
    pub properties: BTreeMap<String, String>,
    pub message_id_header: Option<String>,
    /// Item 7: uploaded files (ids) sent with the reply: the sender's own, not yet sent,
    /// within the account's limits.
    pub attachments: Vec<i64>,
}

/// HD-18: who an unknown visitor turns out to be.
#[derive(Debug, Clone)]
pub enum VisitorContact {
    Existing(ContactId),
    New(NewContact),
}

/// Lock order, so concurrent use cases cannot deadlock: a ticket before its conversations.
/// Ticket-first paths (stage moves, trash) update the ticket's conversations, so
/// conversation-first paths lock the conversation's ticket before the conversation itself.
pub(crate) async fn lock_conversation(
    tx: &mut Tx,
    actor: &Actor,
    id: ConversationId,
) -> Result<Conversation, AppError> {
    tx.lock_ticket_of_conversation(id).await?;
    match tx.conversation_for_update(&actor.scope(), id).await? {
        Some(c) if c.trashed_at.is_none() => Ok(c),
        _ => Err(AppError::not_found("conversation", id)),
    }
}

async fn save_conv(tx: &mut Tx, c: &mut Conversation) -> Result<(), AppError> {
    if !tx.save_conversation(c).await? {
        return Err(AppError::Conflict(format!(
            "conversation {} was changed by someone else; reload and try again",
            c.id
        )));
    }
    c.version += 1;
    Ok(())
}

async fn set_conv_status(
    tx: &mut Tx,
    actor: &Actor,
    c: &mut Conversation,
    status: ConversationStatus,
    now: i64,
) -> Result<bool, AppError> {
    if c.status == status {
        return Ok(false);
    }
    let old = c.status;
    c.status = status;
    c.closed_at = (status == ConversationStatus::Closed).then_some(now);
    c.updated_at = now;
    save_conv(tx, c).await?;
    tx.record_activity(&conv_change(
        c.id,
        actor,
        "status",
        Some(old.to_string()),
        Some(status.to_string()),
        now,
    ))
    .await?;
    Ok(true)
}

/// What attaching conversation `c` to `ticket` records: the change on both sides and the
/// ticket's association with the conversation's contact.
async fn record_attached(
    tx: &mut Tx,
    actor: &Actor,
    ticket: TicketId,
    c: &Conversation,
    now: i64,
) -> Result<(), AppError> {
    tx.record_activity(&conv_change(
        c.id,
        actor,
        "ticket",
        None,
        Some(ticket.to_string()),
        now,
    ))
    .await?;
    tx.record_activity(&NewActivity {
        object_type: ObjectType::Ticket,
        object_id: ticket.0,
        actor: actor.actor_ref(),
        action: "associated",
        field: Some("conversation".into()),
        old_value: None,
        new_value: Some(c.id.to_string()),
        at: now,
    })
    .await?;
    if let Some(contact) = c.contact_id {
        for row in association_pair(
            &AssociationEnd::new(ObjectType::Ticket, ticket.0),
            &AssociationEnd::new(ObjectType::Contact, contact.0),
        )? {
            tx.insert_association(&row, now).await?;
        }
    }
    Ok(())
}

/// INB-04: links a conversation to a ticket unless it already has one.
pub(crate) async fn attach_conversation(
    tx: &mut Tx,
    actor: &Actor,
    ticket: TicketId,
    conversation: ConversationId,
    now: i64,
) -> Result<(), AppError> {
    let mut c = lock_conversation(tx, actor, conversation).await?;
    if !rules::inb_04_check_attach(&c, Some(ticket))? {
        return Ok(());
    }
    c.ticket_id = Some(ticket);
    c.updated_at = now;
    save_conv(tx, &mut c).await?;
    record_attached(tx, actor, ticket, &c, now).await?;
    tx.touch_ticket(ticket, now).await?;
    Ok(())
}

impl App {
    /// Opens a conversation (a channel's first message, or an agent starting one); help-desk
    /// channels also create its ticket (HD-06, HD-07), rule-based bots do not (HD-08).
    pub async fn create_conversation(
        &self,
        actor: &Actor,
        input: NewConversation,
        first: Option<InboundMessage>,
    ) -> Result<(Conversation, Option<Ticket>), AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let (c, ticket, _) = self
            .create_conversation_in(&mut tx, actor, input, first, now)
            .await?;
        tx.commit().await?;
        let mut events = vec![Event::ConversationChanged(c.id)];
        if let Some(t) = &ticket {
            events.push(Event::TicketChanged(t.id));
        }
        self.publish(events);
        Ok((c, ticket))
    }

    /// The body of [`App::create_conversation`] inside an open transaction (mail ingestion
    /// commits it together with its deduplication key); also returns the first message's id.
    pub(crate) async fn create_conversation_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        input: NewConversation,
        first: Option<InboundMessage>,
        now: i64,
    ) -> Result<(Conversation, Option<Ticket>, Option<MessageId>), AppError> {
        let visitor_email = match input
            .visitor_email
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(e) => Some(EmailAddress::parse(e)?.as_str().to_string()),
            None => None,
        };
        if let Some(contact) = input.contact
            && !tx.record_exists(ObjectType::Contact, contact.0).await?
        {
            return Err(AppError::invalid(
                "contact",
                format!("contact {contact} does not exist"),
            ));
        }
        if let Some(team) = input.team
            && !tx.team_exists(team).await?
        {
            return Err(AppError::invalid(
                "team",
                format!("team {team} does not exist"),
            ));
        }
        if let Some(owner) = input.owner
            && tx.user_active(owner).await? != Some(true)
        {
            return Err(AppError::invalid(
                "owner",
                format!("{owner} is not an active user"),
            ));
        }
        let mut c = Conversation {
            id: ConversationId(0),
            channel: input.channel,
            channel_account: input.channel_account.clone(),
            workspace: input.workspace,
            status: ConversationStatus::Open,
            owner_id: input.owner,
            team_id: input.team,
            contact_id: input.contact,
            visitor_name: input.visitor_name.clone(),
            visitor_email,
            subject: input.subject.clone(),
            ticket_id: None,
            created_at: now,
            updated_at: now,
            last_message_at: now,
            closed_at: None,
            trashed_at: None,
            version: 1,
        };
        let mut ticket = None;
        let auto_ticket = rules::hd_06_08_creates_ticket(input.ticket, input.channel);
        if auto_ticket {
            // The ticket first, so the conversation is inserted already attached (INB-04
            // holds trivially for a conversation that did not exist): no second write of the
            // conversation and no lock of a row nobody else can see yet.
            let cfg = self.ticket_config(tx).await?;
            let (pipeline, stage) = rules::hd_06_intake_stage(&cfg.pipelines)?;
            let subject = input
                .subject
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| format!("{} conversation", channel_label(input.channel)));
            let mut props = BTreeMap::new();
            props.insert("subject".to_string(), truncate(&subject, 1000));
            props.insert("hs_pipeline".to_string(), pipeline.id.to_string());
            props.insert("hs_pipeline_stage".to_string(), stage.id.to_string());
            props.insert(
                "source_type".to_string(),
                source_type(input.channel).to_string(),
            );
            if let Some(o) = input.owner {
                props.insert("hubspot_owner_id".to_string(), o.to_string());
            }
            if let Some(t) = input.team {
                props.insert("hubspot_team_id".to_string(), t.to_string());
            }
            if let Some(m) = &first {
                props.insert("content".to_string(), truncate(&m.text, 65_536));
            }
            let new = NewTicket {
                properties: props,
                associations: Vec::new(),
                via_form: false,
            };
            let t =
                insert_ticket_row(tx, &cfg, &Actor::system(), &new, input.workspace, now).await?;
            c.ticket_id = Some(t.id);
            ticket = Some((t, cfg));
        }
        c.id = tx.insert_conversation(&c).await?;
        tx.record_activity(&conv_event(c.id, actor, "created", now))
            .await?;
        if let Some((t, _)) = &ticket {
            record_attached(tx, &Actor::system(), t.id, &c, now).await?;
        }
        let mut first_id = None;
        if let Some(m) = first {
            // A ticket created just now already has this instant as its last activity.
            first_id = Some(insert_inbound(tx, &c, m, ticket.is_none(), now).await?);
        }
        // The thread exists now: the clocks and the "ticket created" rules see the first
        // message (a rule emailing the customer answers it).
        let ticket = match ticket {
            Some((mut t, cfg)) => {
                let fired = ticket_created(tx, &cfg, &Actor::system(), &mut t, now).await?;
                if !fired.is_empty()
                    && let Some(fresh) = tx.conversation(&ViewerScope::All, c.id).await?
                {
                    // A rule may have written to the conversation (an email sent on it).
                    c = fresh;
                }
                Some(t)
            }
            None => None,
        };
        Ok((c, ticket, first_id))
    }

    /// Adds a customer's message to a conversation, on any channel: a closed conversation
    /// reopens, and so does a closed ticket (INB-11, [`rules::inb_11_reopen_on_customer_message`]).
    pub async fn record_inbound_message(
        &self,
        actor: &Actor,
        id: ConversationId,
        m: InboundMessage,
    ) -> Result<MessageId, AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let (mid, c, mut events) = self
            .record_inbound_in(&mut tx, actor, id, m, true, now)
            .await?;
        tx.commit().await?;
        events.push(Event::MessageAdded {
            conversation: id,
            ticket: c.ticket_id,
        });
        self.publish(events);
        Ok(mid)
    }

    /// INB-08/HD-14/HD-15/HD-19: an agent's reply; with `set_stage`, the message and the
    /// status change commit together or not at all.
    pub async fn send_reply(
        &self,
        actor: &Actor,
        id: ConversationId,
        reply: Reply,
    ) -> Result<Message, AppError> {
        let user = actor.require_user()?;
        actor.require_ticket_access()?;
        let reply = clean_reply(reply).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let (message, events) = self
            .send_reply_in(&mut tx, actor, user, id, reply, now)
            .await?;
        tx.commit().await?;
        self.publish(events);
        Ok(message)
    }

    /// Sends a failed or unsent outgoing email again: the message goes back to `queued` and
    /// a new outbox job is enqueued, exactly as when it was first written (its From is chosen
    /// again, so a reply kept unsent for want of a connected address goes out once one is
    /// connected). Anything else (received mail, a chat message, a message queued or sent
    /// already) is refused, so a message is never delivered twice.
    pub async fn retry_delivery(&self, actor: &Actor, id: MessageId) -> Result<Message, AppError> {
        actor.require_user()?;
        actor.require_ticket_access()?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let Some(m) = tx.message(&actor.scope(), id).await? else {
            return Err(AppError::not_found("message", id));
        };
        let c = lock_conversation(&mut tx, actor, m.conversation_id).await?;
        let by_email = matches!(
            fd_domain::engagements::hd_15_reply_delivery(m.channel, true, false),
            ReplyDelivery::Email
        );
        if m.direction != Direction::Outbound || !by_email {
            return Err(AppError::invalid(
                "message",
                format!("message {id} is not an outgoing email: there is nothing to send again"),
            ));
        }
        if !matches!(m.status, DeliveryStatus::Failed | DeliveryStatus::NotSent) {
            return Err(AppError::invalid(
                "message",
                format!(
                    "message {id} is {}: only a failed or unsent message is sent again",
                    m.status
                ),
            ));
        }
        let auto = tx
            .message_meta(&ViewerScope::All, id)
            .await?
            .is_some_and(|meta| meta.auto_submitted);
        tx.set_message_status(id, DeliveryStatus::Queued, None)
            .await?;
        crate::mail::prepare_outbound_email(
            &mut tx,
            &c,
            id,
            m.sender_address.as_deref(),
            auto,
            now,
        )
        .await?;
        let out = tx
            .message(&ViewerScope::All, id)
            .await?
            .ok_or_else(|| AppError::not_found("message", id))?;
        tx.commit().await?;
        self.publish(vec![Event::ConversationChanged(c.id)]);
        Ok(out)
    }

    /// The body of [`App::send_reply`] inside an open transaction; `reply.html` has been
    /// through [`clean_reply`] (also the first message of
    /// HD-12's conversation, which must commit together with that conversation).
    pub(crate) async fn send_reply_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        user: UserId,
        id: ConversationId,
        reply: Reply,
        now: i64,
    ) -> Result<(Message, Vec<Event>), AppError> {
        let mut c = lock_conversation(tx, actor, id).await?;
        let mut events = vec![Event::MessageAdded {
            conversation: id,
            ticket: c.ticket_id,
        }];
        let target = match reply.reply_to {
            Some(mid) => match tx.message(&actor.scope(), mid).await? {
                Some(m) if m.conversation_id == id => Some(m),
                _ => {
                    return Err(AppError::invalid(
                        "reply_to",
                        format!("message {mid} is not part of conversation {id}"),
                    ));
                }
            },
            None => tx.latest_message(&actor.scope(), id).await?,
        };
        if reply.text.trim().is_empty()
            && reply.html.as_deref().is_none_or(|h| h.trim().is_empty())
            && reply.attachments.is_empty()
        {
            return Err(AppError::invalid("text", "the reply is empty"));
        }
        let files = crate::files::attachments_for_reply(tx, user, &reply.attachments).await?;
        let mut ticket_props = reply.properties.clone();
        if let Some(stage) = reply.set_stage {
            ticket_props.insert("hs_pipeline_stage".into(), stage.to_string());
        }
        if let Some(ticket_id) = c.ticket_id {
            let mut t = match tx.ticket_for_update(&actor.scope(), ticket_id).await? {
                Some(t) => t,
                None => return Err(AppError::not_found("ticket", ticket_id)),
            };
            if !ticket_props.is_empty() {
                let cfg = self.ticket_config(tx).await?;
                let applied =
                    apply_ticket_changes(tx, &cfg, actor, &mut t, &ticket_props, now).await?;
                events.extend(applied.events);
            }
        } else if !ticket_props.is_empty() {
            return Err(AppError::invalid(
                "set_stage",
                "this conversation has no ticket to change",
            ));
        }
        // An agent answering a bot's chat takes it over from the bot (HD-15's rule, fd-app
        // `bots.rs`): from here on it is a live chat of the channel's team.
        if c.channel == Channel::Bot {
            events.extend(self.take_over_from_bot_in(tx, id, now).await?);
        }
        // Changing the stage may have closed this conversation (INB-10); reload it.
        c = lock_conversation(tx, actor, id).await?;
        let sender = tx.user(user).await?;
        // HD-15 / issue 14: every reply is delivered or refused, decided by one rule.
        let contact_email = match c.contact_id {
            Some(cid) => tx.contact(cid).await?.and_then(|k| k.email),
            None => None,
        };
        let has_email = c.channel == Channel::Email
            || c.visitor_email.is_some()
            || contact_email.is_some()
            || !reply.recipients.to.is_empty();
        let by_email = reply_goes_by_email(tx, &c, has_email).await?;
        let recipients = if reply.recipients.to.is_empty() && by_email {
            // The customer's newest message matters only when the answered one is not theirs.
            let newest_inbound = match &target {
                Some(m) if m.direction == Direction::Inbound => None,
                // The conversation is locked and in the actor's scope already.
                _ => tx
                    .messages(&ViewerScope::All, id)
                    .await?
                    .unwrap_or_default()
                    .into_iter()
                    .rev()
                    .find(|m| m.direction == Direction::Inbound),
            };
            let to = rules::hd_14_default_to(
                target.as_ref(),
                newest_inbound.as_ref(),
                &c,
                contact_email.as_deref(),
            );
            Recipients {
                to: to.into_iter().collect(),
                ..reply.recipients.clone()
            }
        } else {
            reply.recipients.clone()
        };
        for addr in recipients
            .to
            .iter()
            .chain(&recipients.cc)
            .chain(&recipients.bcc)
        {
            EmailAddress::parse(addr)?;
        }
        if by_email && recipients.to.is_empty() {
            return Err(AppError::invalid(
                "to",
                "an email reply needs at least one recipient",
            ));
        }
        let subject = c.subject.as_deref().map(fd_mail::thread::reply_subject);
        let references = target.as_ref().and_then(|m| {
            fd_mail::thread::reply_references(
                m.references_header.as_deref(),
                m.in_reply_to.as_deref(),
                m.message_id_header.as_deref(),
            )
        });
        let new = NewMessage {
            conversation_id: id,
            direction: Direction::Outbound,
            // A chat answered by email (its visitor left an address when nobody was available)
            // is an email message: delivered, retried and threaded as one.
            channel: if by_email && c.channel == Channel::Chat {
                Channel::Email
            } else {
                c.channel
            },
            sender_user_id: Some(user),
            sender_name: sender.as_ref().map(|u| u.name.clone()),
            sender_address: reply.from_address.clone(),
            recipients,
            subject,
            text: reply.text.clone(),
            html: reply.html.clone(),
            attachments: files.iter().map(|(_, m)| m.clone()).collect(),
            message_id_header: reply.message_id_header.clone(),
            in_reply_to: target.as_ref().and_then(|m| m.message_id_header.clone()),
            references_header: references,
            reply_to_message_id: target.as_ref().map(|m| m.id),
            // Email waits for the outbox; live chat is delivered as it is stored.
            status: if by_email {
                DeliveryStatus::Queued
            } else {
                DeliveryStatus::Sent
            },
            created_at: now,
        };
        let reply_excerpt = if new.text.trim().is_empty() {
            new.html.clone().unwrap_or_default()
        } else {
            new.text.clone()
        };
        let mid = tx.insert_message(&new).await?;
        crate::files::bind_attachments(tx, &files, mid, now).await?;
        if let Some(t) = c.ticket_id {
            crate::sla::recompute_ticket_sla(tx, t, now).await?;
            let mut n = TicketNotice::new(t, TicketActivity::Reply, &reply_excerpt);
            n.conversation = Some(c.id);
            let told = notify_ticket_activity(tx, actor, n, now).await?;
            events.extend(told.into_iter().map(Event::NotificationsChanged));
        }
        if by_email {
            // HD-15 From, our Message-ID, the reply address and the outbox job, in this
            // transaction.
            crate::mail::prepare_outbound_email(
                tx,
                &c,
                mid,
                reply.from_address.as_deref(),
                false,
                now,
            )
            .await?;
        }
        c.last_message_at = now;
        c.updated_at = now;
        save_conv(tx, &mut c).await?;
        if let Some(t) = c.ticket_id {
            tx.touch_ticket(t, now).await?;
        }
        tx.delete_draft(user, c.ticket_id, Some(id)).await?;
        events.extend(
            crate::automation::agent_reply(
                self,
                tx,
                actor,
                c.ticket_id,
                by_email,
                reply.set_stage.is_some(),
                apply_for_automation,
                now,
            )
            .await?,
        );
        let message = tx
            .message(&ViewerScope::All, mid)
            .await?
            .ok_or_else(|| AppError::Internal("the sent message vanished".into()))?;
        Ok((message, events))
    }

    /// HD-12: the first message of a ticket created by hand starts an email conversation with
    /// one of its contacts.
    pub async fn start_conversation_on_ticket(
        &self,
        actor: &Actor,
        ticket: TicketId,
        contact: ContactId,
        reply: Reply,
    ) -> Result<(Conversation, Message), AppError> {
        let user = actor.require_user()?;
        actor.require_ticket_access()?;
        let reply = clean_reply(reply).await?;
        let now = self.now();
        let (conv_id, message) = {
            let mut tx = self.db().write().await?;
            let t = self.locked_ticket(&mut tx, actor, ticket).await?;
            let associated = tx
                .associations_from(ObjectType::Ticket, ticket.0, Some(ObjectType::Contact))
                .await?
                .iter()
                .any(|a| a.to_id == contact.0);
            if !associated {
                return Err(AppError::invalid(
                    "contact",
                    format!(
                        "contact {contact} is not associated with ticket {ticket}; add the contact first"
                    ),
                ));
            }
            // The same first message posted twice (a double click, a resent form): the
            // conversation the first post started is the answer. The form only shows while
            // the ticket has no conversation, so that message came after the page did.
            for c in tx
                .conversations_of_ticket(&ViewerScope::All, ticket, false)
                .await?
                .into_iter()
                .filter(|c| c.contact_id == Some(contact))
            {
                let thread = tx
                    .messages(&ViewerScope::All, c.id)
                    .await?
                    .unwrap_or_default();
                if let Some(m) = rules::repeated_reply(
                    &thread,
                    user,
                    MessageId(0),
                    &reply.text,
                    reply.html.as_deref(),
                ) {
                    let m = m.clone();
                    tx.commit().await?;
                    return Ok((c, m));
                }
            }
            let k = tx
                .contact(contact)
                .await?
                .ok_or_else(|| AppError::not_found("contact", contact))?;
            if k.email.is_none() {
                return Err(AppError::invalid(
                    "contact",
                    "the contact has no email address",
                ));
            }
            let c = Conversation {
                id: ConversationId(0),
                channel: Channel::Email,
                channel_account: reply.from_address.clone(),
                workspace: t.workspace,
                status: ConversationStatus::Open,
                owner_id: t.owner_id,
                team_id: t.team_id,
                contact_id: Some(contact),
                visitor_name: None,
                visitor_email: None,
                subject: Some(t.subject.clone()),
                ticket_id: None,
                created_at: now,
                updated_at: now,
                last_message_at: now,
                closed_at: None,
                trashed_at: None,
                version: 1,
            };
            let id = tx.insert_conversation(&c).await?;
            tx.record_activity(&conv_event(id, actor, "created", now))
                .await?;
            attach_conversation(&mut tx, actor, ticket, id, now).await?;
            let mut reply = reply;
            if reply.recipients.to.is_empty() {
                reply.recipients.to.extend(k.email.clone());
            }
            // One transaction: a refused first message leaves no conversation behind.
            let (message, events) = self
                .send_reply_in(&mut tx, actor, user, id, reply, now)
                .await?;
            tx.commit().await?;
            self.publish(events);
            (id, message)
        };
        let c = self.conversation(actor, conv_id).await?;
        Ok((c, message))
    }

    /// INB-06: the conversation's owner becomes its ticket's owner too.
    pub async fn assign_conversation_owner(
        &self,
        actor: &Actor,
        id: ConversationId,
        owner: Option<UserId>,
    ) -> Result<Conversation, AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let mut c = lock_conversation(&mut tx, actor, id).await?;
        if let Some(o) = owner
            && !tx.user(o).await?.is_some_and(|u| u.active)
        {
            return Err(AppError::invalid(
                "owner",
                format!("{o} is not an active user"),
            ));
        }
        let mut events = vec![Event::ConversationChanged(id)];
        if c.owner_id != owner {
            let old = c.owner_id;
            c.owner_id = owner;
            c.updated_at = now;
            save_conv(&mut tx, &mut c).await?;
            tx.record_activity(&conv_change(
                id,
                actor,
                "owner",
                old.map(|o| o.to_string()),
                owner.map(|o| o.to_string()),
                now,
            ))
            .await?;
        }
        if let Some(ticket_id) = c.ticket_id
            && let Some(mut t) = tx.ticket_for_update(&ViewerScope::All, ticket_id).await?
            && let Some(new_owner) = rules::inb_06_ticket_owner_after_conversation_owner(owner, &t)
        {
            let mut props = BTreeMap::new();
            props.insert(
                "hubspot_owner_id".to_string(),
                new_owner.map(|o| o.to_string()).unwrap_or_default(),
            );
            let cfg = self.ticket_config(&mut tx).await?;
            events.extend(
                apply_ticket_changes(&mut tx, &cfg, actor, &mut t, &props, now)
                    .await?
                    .events,
            );
        }
        tx.commit().await?;
        self.publish(events);
        Ok(c)
    }

    /// INB-12: closes only this conversation; its ticket and other conversations stay open.
    pub async fn close_conversation(
        &self,
        actor: &Actor,
        id: ConversationId,
    ) -> Result<Conversation, AppError> {
        self.set_conversation_status(actor, id, ConversationStatus::Closed)
            .await
    }

    pub async fn reopen_conversation(
        &self,
        actor: &Actor,
        id: ConversationId,
    ) -> Result<Conversation, AppError> {
        self.set_conversation_status(actor, id, ConversationStatus::Open)
            .await
    }

    async fn set_conversation_status(
        &self,
        actor: &Actor,
        id: ConversationId,
        status: ConversationStatus,
    ) -> Result<Conversation, AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let mut c = lock_conversation(&mut tx, actor, id).await?;
        set_conv_status(&mut tx, actor, &mut c, status, now).await?;
        tx.commit().await?;
        self.publish(vec![Event::ConversationChanged(id)]);
        Ok(c)
    }

    /// INB-13: trashing a conversation trashes its ticket (and so the ticket's other conversations).
    pub async fn trash_conversation(
        &self,
        actor: &Actor,
        id: ConversationId,
    ) -> Result<(), AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        let mut c = lock_conversation(&mut tx, actor, id).await?;
        let events = match rules::inb_13_trash_conversation(&c) {
            rules::TrashCascade::Ticket(ticket_id) => {
                let mut t = self.locked_ticket(&mut tx, actor, ticket_id).await?;
                crate::tickets::trash_ticket_in(&mut tx, actor, &mut t, now).await?
            }
            rules::TrashCascade::ConversationOnly => {
                c.trashed_at = Some(now);
                c.updated_at = now;
                save_conv(&mut tx, &mut c).await?;
                tx.record_activity(&conv_event(id, actor, "trashed", now))
                    .await?;
                vec![Event::ConversationChanged(id)]
            }
        };
        tx.commit().await?;
        self.publish(events);
        Ok(())
    }

    /// Restores a trashed conversation, with its ticket when it has one.
    pub async fn restore_conversation(
        &self,
        actor: &Actor,
        id: ConversationId,
    ) -> Result<Conversation, AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        tx.lock_ticket_of_conversation(id).await?;
        let mut c = match tx.conversation_for_update(&actor.scope(), id).await? {
            Some(c) if c.trashed_at.is_some() => c,
            Some(_) => {
                return Err(AppError::Conflict(format!(
                    "conversation {id} is not in the trash"
                )));
            }
            None => return Err(AppError::not_found("conversation", id)),
        };
        let events = match c.ticket_id {
            Some(ticket_id) => {
                let mut t = tx
                    .ticket_for_update(&actor.scope(), ticket_id)
                    .await?
                    .ok_or_else(|| AppError::not_found("ticket", ticket_id))?;
                if t.trashed_at.is_some() {
                    crate::tickets::restore_ticket_in(&mut tx, actor, &mut t, now).await?
                } else {
                    c.trashed_at = None;
                    save_conv(&mut tx, &mut c).await?;
                    vec![Event::ConversationChanged(id)]
                }
            }
            None => {
                c.trashed_at = None;
                c.updated_at = now;
                save_conv(&mut tx, &mut c).await?;
                tx.record_activity(&conv_event(id, actor, "restored", now))
                    .await?;
                vec![Event::ConversationChanged(id)]
            }
        };
        tx.commit().await?;
        self.publish(events);
        self.conversation(actor, id).await
    }

    /// INB-01/INB-04/INB-14: creates the ticket of a conversation that has none. In help-desk
    /// mode the conversation and its ticket move to the help desk.
    pub async fn create_ticket_from_conversation(
        &self,
        actor: &Actor,
        id: ConversationId,
        properties: BTreeMap<String, String>,
    ) -> Result<Ticket, AppError> {
        actor.require_ticket_access()?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let t = self
            .create_ticket_from_conversation_in(&mut tx, actor, id, properties, now)
            .await?;
        tx.commit().await?;
        self.publish(vec![
            Event::TicketChanged(t.id),
            Event::ConversationChanged(id),
        ]);
        Ok(t)
    }

    /// The body of [`App::create_ticket_from_conversation`] inside an open transaction: a
    /// bot's `create_ticket` step (HD-08) makes its ticket here, in the transaction of the
    /// visitor's message, so it follows every rule of a ticket made by hand.
    pub(crate) async fn create_ticket_from_conversation_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        id: ConversationId,
        properties: BTreeMap<String, String>,
        now: i64,
    ) -> Result<Ticket, AppError> {
        actor.require_ticket_access()?;
        let mut c = lock_conversation(tx, actor, id).await?;
        rules::inb_04_check_attach(&c, None)?;
        let mode = tx.account_settings().await?.mode;
        let workspace = match mode {
            AccountMode::HelpDesk => Workspace::HelpDesk,
            AccountMode::Inbox => Workspace::Inbox,
        };
        let mut props = properties;
        if props.get("subject").is_none_or(|s| s.trim().is_empty()) {
            let subject = c
                .subject
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| format!("{} conversation", channel_label(c.channel)));
            props.insert("subject".into(), truncate(&subject, 1000));
        }
        if !props.contains_key("hs_pipeline_stage") {
            let pipeline_id = props
                .get("hs_pipeline")
                .and_then(|p| p.parse::<i64>().ok())
                .map(PipelineId)
                .unwrap_or(PipelineId(0));
            let cfg = self.ticket_config(tx).await?;
            // No status chosen: the one automatic creation would use (HD-06) — in the chosen
            // pipeline, or the default one when none was chosen either.
            let start = match props.contains_key("hs_pipeline") {
                true => cfg
                    .pipeline(pipeline_id)
                    .and_then(|p| rules::inb_11_reopen_stage(p).map(|s| (p, s))),
                false => rules::hd_06_intake_stage(&cfg.pipelines).ok(),
            };
            if let Some((p, s)) = start {
                props.insert("hs_pipeline".into(), p.id.to_string());
                props.insert("hs_pipeline_stage".into(), s.id.to_string());
            }
        }
        if let Some(o) = c.owner_id {
            props
                .entry("hubspot_owner_id".into())
                .or_insert_with(|| o.to_string());
        }
        if let Some(t) = c.team_id {
            props
                .entry("hubspot_team_id".into())
                .or_insert_with(|| t.to_string());
        }
        props
            .entry("source_type".into())
            .or_insert_with(|| source_type(c.channel).to_string());
        let new = NewTicket {
            properties: props,
            associations: Vec::new(),
            via_form: false,
        };
        let cfg = self.ticket_config(tx).await?;
        let mut t = insert_ticket_row(tx, &cfg, actor, &new, workspace, now).await?;
        attach_conversation(tx, actor, t.id, id, now).await?;
        c = lock_conversation(tx, actor, id).await?;
        if c.workspace != workspace {
            let old = c.workspace;
            c.workspace = workspace;
            c.updated_at = now;
            save_conv(tx, &mut c).await?;
            tx.record_activity(&conv_change(
                id,
                actor,
                "workspace",
                Some(old.to_string()),
                Some(workspace.to_string()),
                now,
            ))
            .await?;
        }
        // Attached: the clocks and the "ticket created" rules see the conversation's thread.
        ticket_created(tx, &cfg, actor, &mut t, now).await?;
        Ok(t)
    }

    /// HD-18: ties a visitor to a new or existing contact; the ticket gets the contact too.
    pub async fn associate_visitor_with_contact(
        &self,
        actor: &Actor,
        id: ConversationId,
        who: VisitorContact,
    ) -> Result<Contact, AppError> {
        let now = self.now();
        let mut tx = self.db().write().await?;
        // The conversation (and its ticket's scope) first: one the actor may not see
        // leaves nothing behind, not even the new contact.
        let mut c = lock_conversation(&mut tx, actor, id).await?;
        let contact = match who {
            VisitorContact::Existing(cid) => tx
                .contact(cid)
                .await?
                .filter(|k| k.archived_at.is_none())
                .ok_or_else(|| AppError::not_found("contact", cid))?,
            VisitorContact::New(n) => {
                let mut k = crate::crm::contact_row(n, now)?;
                crate::crm::insert_contact_in(&mut tx, actor, &mut k, now).await?;
                k
            }
        };
        let old = c.contact_id;
        c.contact_id = Some(contact.id);
        c.updated_at = now;
        save_conv(&mut tx, &mut c).await?;
        tx.record_activity(&conv_change(
            id,
            actor,
            "contact",
            old.map(|o| o.to_string()),
            Some(contact.id.to_string()),
            now,
        ))
        .await?;
        if let Some(ticket) = c.ticket_id {
            for row in association_pair(
                &AssociationEnd::new(ObjectType::Ticket, ticket.0),
                &AssociationEnd::new(ObjectType::Contact, contact.id.0),
            )? {
                tx.insert_association(&row, now).await?;
            }
            tx.record_activity(&NewActivity {
                object_type: ObjectType::Ticket,
                object_id: ticket.0,
                actor: actor.actor_ref(),
                action: "associated",
                field: Some("contact".into()),
                old_value: None,
                new_value: Some(contact.id.to_string()),
                at: now,
            })
            .await?;
        }
        tx.commit().await?;
        self.publish(vec![Event::ConversationChanged(id)]);
        Ok(contact)
    }

    pub async fn conversation(
        &self,
        actor: &Actor,
        id: ConversationId,
    ) -> Result<Conversation, AppError> {
        let mut tx = self.db().read().await?;
        let c = tx.conversation(&actor.scope(), id).await?;
        tx.commit().await?;
        c.ok_or_else(|| AppError::not_found("conversation", id))
    }

    pub async fn messages(
        &self,
        actor: &Actor,
        id: ConversationId,
    ) -> Result<Vec<Message>, AppError> {
        let mut tx = self.db().read().await?;
        let out = tx.messages(&actor.scope(), id).await?;
        tx.commit().await?;
        out.ok_or_else(|| AppError::not_found("conversation", id))
    }

    pub async fn list_conversations(
        &self,
        actor: &Actor,
        q: &ConversationListQuery,
    ) -> Result<Vec<Conversation>, AppError> {
        let mut tx = self.db().read().await?;
        let out = tx.list_conversations(&actor.scope(), q).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// INB-03: the contact's other conversations, as far as the actor may see them.
    pub async fn other_conversations_of_contact(
        &self,
        actor: &Actor,
        id: ConversationId,
    ) -> Result<Vec<Conversation>, AppError> {
        let c = self.conversation(actor, id).await?;
        let Some(contact) = c.contact_id else {
            return Ok(Vec::new());
        };
        let mut tx = self.db().read().await?;
        let out = tx
            .conversations_of_contact(&actor.scope(), contact, Some(id), 50)
            .await?;
        tx.commit().await?;
        Ok(out)
    }
}

impl App {
    /// The body of [`App::record_inbound_message`] inside an open transaction. `customer:
    /// false` adds the message without reopening anything (automatic replies, bulk mail).
    /// Returns the events of the ticket's reopening, if any; the caller adds `MessageAdded`.
    pub(crate) async fn record_inbound_in(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        id: ConversationId,
        m: InboundMessage,
        customer: bool,
        now: i64,
    ) -> Result<(MessageId, Conversation, Vec<Event>), AppError> {
        let mut events = Vec::new();
        if customer {
            // Closed longer than the account's follow-up period: a new ticket instead.
            if let Some(done) = self.open_follow_up(tx, actor, id, &m, now).await? {
                return Ok(done);
            }
            // The ticket first (lock order: a ticket before its conversations); its move to
            // an OPEN stage reopens its conversation when it has only one (INB-11).
            events = self.reopen_ticket_for_customer(tx, actor, id, now).await?;
        }
        let mut c = lock_conversation(tx, actor, id).await?;
        if customer && c.status == ConversationStatus::Closed {
            set_conv_status(tx, actor, &mut c, ConversationStatus::Open, now).await?;
        }
        let excerpt = m.text.clone();
        let mid = insert_inbound(tx, &c, m, true, now).await?;
        c.last_message_at = now;
        c.updated_at = now;
        save_conv(tx, &mut c).await?;
        if customer && let Some(t) = c.ticket_id {
            crate::sla::recompute_ticket_sla(tx, t, now).await?;
            let mut n = TicketNotice::new(t, TicketActivity::CustomerMessage, &excerpt);
            n.conversation = Some(c.id);
            let told = notify_ticket_activity(tx, &Actor::system(), n, now).await?;
            events.extend(told.into_iter().map(Event::NotificationsChanged));
        }
        if customer {
            events.extend(
                crate::automation::customer_message(
                    self,
                    tx,
                    c.ticket_id,
                    apply_for_automation,
                    now,
                )
                .await?,
            );
        }
        Ok((mid, c, events))
    }

    /// Follow-up tickets (INB-11 with `notify::inb_11_follow_up`): a customer's email on a
    /// conversation whose ticket has been closed longer than the account's follow-up period
    /// opens a new conversation and ticket (same contact, channel address, team and owner,
    /// a subject naming the old ticket) linked to the old one, which stays closed. `None`
    /// when the rule says reopen (or there is no closed ticket). Email and live chat take
    /// follow-ups (a chat's session moves to the new conversation); other channels start a
    /// new conversation per contact anyway (forms, calls) or have no ticket (bots).
    async fn open_follow_up(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        id: ConversationId,
        m: &InboundMessage,
        now: i64,
    ) -> Result<Option<(MessageId, Conversation, Vec<Event>)>, AppError> {
        let Some(old_conv) = tx.conversation(&ViewerScope::All, id).await? else {
            return Ok(None);
        };
        let Some(old_id) = old_conv.ticket_id else {
            return Ok(None);
        };
        if !matches!(old_conv.channel, Channel::Email | Channel::Chat)
            || tx.ticket_open_state(old_id).await? != Some((false, false))
        {
            return Ok(None);
        }
        let Some(old) = tx.ticket(&ViewerScope::All, old_id).await? else {
            return Ok(None);
        };
        let days = tx.follow_up_days().await?;
        if !fd_domain::notify::inb_11_follow_up(old.is_open, old.closed_at, now, days) {
            return Ok(None);
        }
        let owner = match old.owner_id {
            Some(o) if tx.user_active(o).await? == Some(true) => Some(o),
            _ => None,
        };
        let input = NewConversation {
            channel: old_conv.channel,
            channel_account: old_conv.channel_account.clone(),
            workspace: old_conv.workspace,
            team: old_conv.team_id,
            owner,
            contact: old_conv.contact_id,
            visitor_name: old_conv.visitor_name.clone(),
            visitor_email: old_conv.visitor_email.clone(),
            subject: Some(fd_domain::notify::follow_up_subject(&old.subject, old.id.0)),
            ticket: TicketCreation::Automatic,
        };
        let excerpt = m.text.clone();
        let (c, ticket, mid) = self
            .create_conversation_in(tx, actor, input, Some(m.clone()), now)
            .await?;
        let (Some(new), Some(mid)) = (ticket, mid) else {
            return Err(AppError::Internal(
                "a follow-up conversation was created without its ticket".into(),
            ));
        };
        tx.insert_follow_up(new.id, old.id, now).await?;
        if old_conv.channel == Channel::Chat {
            tx.move_chat_session(old_conv.id, c.id).await?;
        }
        for (on, action, other) in [
            (old.id, "follow_up_opened", new.id),
            (new.id, "follow_up_of", old.id),
        ] {
            tx.record_activity(&NewActivity {
                object_type: ObjectType::Ticket,
                object_id: on.0,
                actor: ActorRef::System,
                action,
                field: None,
                old_value: None,
                new_value: Some(other.to_string()),
                at: now,
            })
            .await?;
        }
        let mut events = vec![
            Event::ConversationChanged(c.id),
            Event::TicketChanged(new.id),
            Event::TicketChanged(old.id),
        ];
        for (t, activity) in [
            (old.id, TicketActivity::FollowUp),
            (new.id, TicketActivity::CustomerMessage),
        ] {
            let mut n = TicketNotice::new(t, activity, &excerpt);
            n.conversation = Some(c.id);
            let told = notify_ticket_activity(tx, &Actor::system(), n, now).await?;
            events.extend(told.into_iter().map(Event::NotificationsChanged));
        }
        Ok(Some((mid, c, events)))
    }

    /// INB-11 on a customer's message: load the conversation's ticket, ask the rule where a
    /// closed one reopens, and move it there (as the system: nobody chose the move).
    async fn reopen_ticket_for_customer(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        id: ConversationId,
        now: i64,
    ) -> Result<Vec<Event>, AppError> {
        let Some(ticket_id) = tx
            .conversation(&actor.scope(), id)
            .await?
            .and_then(|c| c.ticket_id)
        else {
            return Ok(Vec::new());
        };
        // One light read first: most messages arrive on open tickets.
        if tx.ticket_open_state(ticket_id).await? != Some((false, false)) {
            return Ok(Vec::new());
        }
        let Some(mut t) = tx.ticket_for_update(&ViewerScope::All, ticket_id).await? else {
            return Ok(Vec::new());
        };
        let cfg = self.ticket_config(tx).await?;
        let Some(stage) = rules::inb_11_reopen_on_customer_message(&t, cfg.pipeline(t.pipeline_id))
        else {
            return Ok(Vec::new());
        };
        let mut props = BTreeMap::new();
        props.insert("hs_pipeline_stage".to_string(), stage.to_string());
        let applied = apply_ticket_changes(tx, &cfg, &Actor::system(), &mut t, &props, now).await?;
        Ok(applied.events)
    }
}

/// HD-15: whether a reply on `c` goes by email (true) or is read where the customer wrote
/// (false), or is refused. `fd_domain::engagements::hd_15_reply_delivery` decides per channel;
/// for live chat, `fd_domain::chat::hd_15_chat_delivery` decides between the visitor's chat
/// window and the email address a visitor left when nobody was available.
async fn reply_goes_by_email(
    tx: &mut Tx,
    c: &Conversation,
    has_email: bool,
) -> Result<bool, AppError> {
    if c.channel == Channel::Chat {
        let s = tx.chat_session_of_conversation(c.id).await?;
        let d = fd_domain::chat::hd_15_chat_delivery(fd_domain::chat::ChatVisitor {
            has_session: s.is_some(),
            by_email: s.as_ref().is_some_and(|s| s.by_email),
            email: c.visitor_email.as_deref(),
        })?;
        return Ok(d == fd_domain::chat::ChatDelivery::Email);
    }
    match fd_domain::engagements::hd_15_reply_delivery(c.channel, has_email, false) {
        ReplyDelivery::Email => Ok(true),
        ReplyDelivery::LiveChat => Ok(false),
        ReplyDelivery::Refused(reason) => Err(DomainError::RuleViolation {
            rule: "HD-15",
            message: reason,
        }
        .into()),
    }
}

async fn insert_inbound(
    tx: &mut Tx,
    c: &Conversation,
    m: InboundMessage,
    touch_ticket: bool,
    now: i64,
) -> Result<MessageId, AppError> {
    let id = tx
        .insert_message(&NewMessage {
            conversation_id: c.id,
            direction: Direction::Inbound,
            channel: c.channel,
            sender_user_id: None,
            sender_name: m.sender_name,
            sender_address: m.sender_address,
            recipients: m.recipients,
            subject: m.subject,
            text: m.text,
            html: m.html,
            attachments: m.attachments,
            message_id_header: m.message_id_header,
            in_reply_to: m.in_reply_to,
            references_header: m.references_header,
            reply_to_message_id: None,
            status: DeliveryStatus::Received,
            created_at: now,
        })
        .await?;
    if touch_ticket && let Some(t) = c.ticket_id {
        tx.touch_ticket(t, now).await?;
    }
    Ok(id)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn channel_label(c: Channel) -> &'static str {
    match c {
        Channel::Email => "Email",
        Channel::Form => "Form",
        Channel::Chat => "Chat",
        Channel::Bot => "Bot",
        Channel::Call => "Call",
        Channel::Whatsapp => "WhatsApp",
        Channel::Messenger => "Messenger",
    }
}

/// HubSpot's `source_type` options for a channel.
fn source_type(c: Channel) -> &'static str {
    match c {
        Channel::Email => "EMAIL",
        Channel::Form => "FORM",
        Channel::Call => "PHONE",
        _ => "CHAT",
    }
}
