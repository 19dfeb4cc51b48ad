//! Use cases the agents' web UI needs beyond the shared ones (issue 5): reply libraries
//! (HD-16), custom views and reply suggestions (HD-04, Service Seat only), record overviews,
//! and the stale-reply check of "Send". Each reads through the actor's scope (HD-09) like
//! every other use case. (The Mentions view and the bell are in `comments.rs`, the Drafts
//! view in `drafts.rs`.) Must not depend on HTTP or HTML, nor be depended on by the
//! aggregates' modules.

use std::collections::HashMap;

use fd_domain::*;
use fd_store::{
    Company, Contact, Conversation, ConversationListQuery, LibraryItem, Message, Ticket,
};

use crate::{Actor, App, AppError, Reply};

/// The kinds of reusable reply content admins manage (HD-16).
pub const LIBRARY_KINDS: &[(&str, &str)] = &[
    ("snippet", "Snippets"),
    ("template", "Templates"),
    ("article", "Knowledge base"),
];

/// What "Send" did: sent, or held back because the customer wrote again meanwhile.
#[derive(Debug, Clone)]
pub enum ReplyOutcome {
    Sent(Box<Message>),
    /// A newer inbound message arrived after the draft began: the agent must review it first.
    NewerMessage {
        latest: MessageId,
    },
}

/// A contact's record page.
#[derive(Debug, Clone)]
pub struct ContactOverview {
    pub contact: Contact,
    pub companies: Vec<Company>,
    pub tickets: Vec<Ticket>,
    pub conversations: Vec<Conversation>,
}

/// A company's record page.
#[derive(Debug, Clone)]
pub struct CompanyOverview {
    pub company: Company,
    pub contacts: Vec<Contact>,
    pub tickets: Vec<Ticket>,
    /// Its contacts' conversations, as far as the viewer may see them (HD-09), newest first.
    pub conversations: Vec<Conversation>,
}

fn require_seat(actor: &Actor, what: &str) -> Result<(), AppError> {
    if actor.viewer.has_service_seat() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "{what} requires a Service Seat (HD-04)"
        )))
    }
}

fn library_kind(kind: &str) -> Result<&'static str, AppError> {
    LIBRARY_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(k, _)| *k)
        .ok_or_else(|| {
            AppError::invalid(
                "kind",
                format!("{kind:?} is not snippet, template or article"),
            )
        })
}

fn title(raw: &str) -> Result<String, AppError> {
    Ok(fd_domain::text::name("title", raw, 255)?)
}

impl App {
    /// HD-16: the live snippets, templates and articles (every agent may insert them).
    pub async fn library_items(
        &self,
        actor: &Actor,
        kind: Option<&str>,
    ) -> Result<Vec<LibraryItem>, AppError> {
        actor.require_ticket_access()?;
        let kind = kind.map(library_kind).transpose()?;
        let mut tx = self.db().read().await?;
        let items = tx.library_items(kind).await?;
        tx.commit().await?;
        Ok(items)
    }

    pub async fn library_item(&self, actor: &Actor, id: i64) -> Result<LibraryItem, AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().read().await?;
        let item = tx.library_item(id).await?;
        tx.commit().await?;
        item.ok_or_else(|| AppError::not_found("library item", id))
    }

    /// Adds a library item; `body_html` must already be sanitised by the caller that knows HTML.
    pub async fn create_library_item(
        &self,
        actor: &Actor,
        kind: &str,
        item_title: &str,
        body_html: &str,
    ) -> Result<LibraryItem, AppError> {
        actor.require_admin("managing snippets, templates and the knowledge base")?;
        let kind = library_kind(kind)?;
        // HD-16: a snippet or template may use only the variables filled at insert time.
        fd_domain::outgoing::check_variables("body", body_html)?;
        let now = self.now();
        let mut item = LibraryItem {
            id: 0,
            kind: kind.to_string(),
            title: title(item_title)?,
            body_html: body_html.to_string(),
            created_by: actor.user_id(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db().write().await?;
        item.id = tx.insert_library_item(&item).await?;
        tx.commit().await?;
        Ok(item)
    }

    pub async fn update_library_item(
        &self,
        actor: &Actor,
        id: i64,
        item_title: &str,
        body_html: &str,
    ) -> Result<(), AppError> {
        actor.require_admin("managing snippets, templates and the knowledge base")?;
        let t = title(item_title)?;
        fd_domain::outgoing::check_variables("body", body_html)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        if !tx.update_library_item(id, &t, body_html, now).await? {
            return Err(AppError::not_found("library item", id));
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn archive_library_item(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        actor.require_admin("managing snippets, templates and the knowledge base")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        if !tx.archive_library_item(id, now).await? {
            return Err(AppError::not_found("library item", id));
        }
        tx.commit().await?;
        Ok(())
    }

    /// HD-04: "Save view" on the list: the list's current filters as a personal view (the
    /// same use case as every view, `create_view`).
    pub async fn save_view(
        &self,
        actor: &Actor,
        name: &str,
        query: &str,
    ) -> Result<crate::View, AppError> {
        require_seat(actor, "custom views")?;
        actor.require_ticket_access()?;
        if query.len() > 2_000 {
            return Err(AppError::invalid("query", "is too long"));
        }
        // The query is the list page's query string, replayed in a `Location` header and a
        // link: a CR, LF or NUL in it (Hardening finding 6) is refused before anything is
        // stored, rather than failing the redirect after the view was saved.
        if !query
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'#' | b'"' | b'<' | b'>' | b'\\'))
        {
            return Err(AppError::invalid(
                "query",
                "must be a URL query string (no spaces, line breaks or control characters)",
            ));
        }
        let input = crate::ViewInput {
            name: name.to_string(),
            owner_kind: "user".into(),
            team_id: None,
            definition: fd_domain::views::ViewDefinition::from_list_query(query),
        };
        self.create_view(actor, &input).await
    }

    /// A conversation's messages for the thread view, each with the number of remote images
    /// its mail had blocked (0 when none), so the page can offer to load them, and the notices
    /// parsing left for agents (a flattened HTML body, dropped attachments…).
    pub async fn thread_messages(
        &self,
        actor: &Actor,
        id: ConversationId,
    ) -> Result<Vec<(Message, i64, Vec<String>)>, AppError> {
        let mut tx = self.db().read().await?;
        let scope = actor.scope();
        let messages = tx
            .messages(&scope, id)
            .await?
            .ok_or_else(|| AppError::not_found("conversation", id))?;
        let mut meta: HashMap<MessageId, (i64, Vec<String>)> = tx
            .thread_mail_meta(&scope, id)
            .await?
            .into_iter()
            .map(|(m, blocked, notices)| (m, (blocked, notices)))
            .collect();
        tx.commit().await?;
        Ok(messages
            .into_iter()
            .map(|m| {
                let (blocked, notices) = meta.remove(&m.id).unwrap_or_default();
                (m, blocked, notices)
            })
            .collect())
    }

    /// The contacts of tickets the actor listed (the list's Contact column). The tickets are
    /// the caller's: only those the actor may see are looked up (HD-09), whatever was passed.
    pub async fn contacts_of_tickets(
        &self,
        actor: &Actor,
        tickets: &[Ticket],
    ) -> Result<Vec<(TicketId, Contact)>, AppError> {
        actor.require_ticket_access()?;
        let ids: Vec<TicketId> = tickets.iter().map(|t| t.id).collect();
        let mut tx = self.db().read().await?;
        let visible: Vec<TicketId> = tx
            .tickets_by_ids(&actor.scope(), &ids)
            .await?
            .into_iter()
            .map(|t| t.id)
            .collect();
        let out = tx.contacts_of_tickets(&visible).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Contacts by id (the inbox list's contact names).
    pub async fn contacts_by_ids(&self, ids: &[ContactId]) -> Result<Vec<Contact>, AppError> {
        let raw: Vec<i64> = ids.iter().map(|c| c.0).collect();
        let mut tx = self.db().read().await?;
        let out = tx.contacts_by_ids(&raw).await?;
        tx.commit().await?;
        Ok(out)
    }

    pub async fn count_conversations(
        &self,
        actor: &Actor,
        q: &ConversationListQuery,
    ) -> Result<i64, AppError> {
        let mut tx = self.db().read().await?;
        let n = tx.count_conversations(&actor.scope(), q).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// A contact with the tickets and conversations the actor may see (HD-09).
    pub async fn contact_overview(
        &self,
        actor: &Actor,
        id: ContactId,
    ) -> Result<ContactOverview, AppError> {
        actor.require_ticket_access()?;
        let contact = self.contact(id).await?;
        let mut tx = self.db().read().await?;
        let tickets = tx
            .tickets_of(&actor.scope(), ObjectType::Contact, id.0)
            .await?;
        let conversations = tx
            .conversations_of_contact(&actor.scope(), id, None, 100)
            .await?;
        let mut companies = Vec::new();
        for a in tx
            .associations_from(ObjectType::Contact, id.0, Some(ObjectType::Company))
            .await?
        {
            if let Some(c) = tx.company(CompanyId(a.to_id)).await?
                && c.archived_at.is_none()
            {
                companies.push(c);
            }
        }
        tx.commit().await?;
        Ok(ContactOverview {
            contact,
            companies,
            tickets,
            conversations,
        })
    }

    pub async fn company_overview(
        &self,
        actor: &Actor,
        id: CompanyId,
    ) -> Result<CompanyOverview, AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().read().await?;
        let company = tx
            .company(id)
            .await?
            .filter(|c| c.archived_at.is_none())
            .ok_or_else(|| AppError::not_found("company", id))?;
        let contacts = tx.contacts_of_company(id).await?;
        let tickets = tx
            .tickets_of(&actor.scope(), ObjectType::Company, id.0)
            .await?;
        let mut conversations = Vec::new();
        for k in contacts.iter().take(50) {
            conversations.extend(
                tx.conversations_of_contact(&actor.scope(), k.id, None, 100)
                    .await?,
            );
        }
        conversations.sort_by_key(|c| std::cmp::Reverse(c.last_message_at));
        conversations.truncate(100);
        tx.commit().await?;
        Ok(CompanyOverview {
            company,
            contacts,
            tickets,
            conversations,
        })
    }

    /// "Send" with the stale-reply check: when the customer wrote again after the agent's
    /// draft began (or after the page the agent answered from was shown), nothing is sent and
    /// the agent is asked to review. `seen` is the newest message the agent's page showed;
    /// `reviewed` says the agent has just been shown the newer messages, so `seen` is current
    /// even though the draft began earlier. A page that showed an empty conversation sends
    /// `MessageId(0)`; `None` takes no part in the check (nothing to compare with).
    pub async fn send_reply_checked(
        &self,
        actor: &Actor,
        conversation: ConversationId,
        reply: Reply,
        seen: Option<MessageId>,
        reviewed: bool,
    ) -> Result<ReplyOutcome, AppError> {
        let user = actor.require_user()?;
        actor.require_ticket_access()?;
        let reply = crate::conversations::clean_reply(reply).await?;
        let now = self.now();
        // Checked in the transaction that sends, with the conversation locked as inbound mail
        // locks it: a customer message cannot slip in between the check and the send.
        let mut tx = self.db().write().await?;
        crate::conversations::lock_conversation(&mut tx, actor, conversation).await?;
        // The same form posted twice (a double click, a resent post): the first post's
        // message is the answer, nothing is sent again. Checked under the same lock, so two
        // posts racing each other see one another.
        if let Some(seen) = seen {
            let thread = tx
                .messages(&ViewerScope::All, conversation)
                .await?
                .unwrap_or_default();
            if let Some(m) = fd_domain::rules::repeated_reply(
                &thread,
                user,
                seen,
                &reply.text,
                reply.html.as_deref(),
            ) {
                let m = m.clone();
                tx.commit().await?;
                return Ok(ReplyOutcome::Sent(Box::new(m)));
            }
        }
        let draft = tx.draft(user, None, Some(conversation)).await?;
        let latest = tx.latest_inbound_message_id(conversation).await?;
        let baseline = if reviewed {
            seen
        } else {
            draft.and_then(|d| d.seen_message_id).or(seen)
        };
        if let (Some(latest), Some(baseline)) = (latest, baseline)
            && latest > baseline
        {
            return Ok(ReplyOutcome::NewerMessage { latest });
        }
        let (message, events) = self
            .send_reply_in(&mut tx, actor, user, conversation, reply, now)
            .await?;
        tx.commit().await?;
        self.publish(events);
        Ok(ReplyOutcome::Sent(Box::new(message)))
    }
}
