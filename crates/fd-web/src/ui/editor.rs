//! The reply editor (HD-14 – HD-19, HD-21) and the conversation thread it sits under: reply
//! target, To/Cc, From among the team's addresses (default preselected), rich text that is
//! sanitised here on the server, libraries and link cards, autosaved drafts visible only to
//! their author, Send and Send + status with the conditional stage's prompt, the Comment tab,
//! and the stale-reply check.
//!
//! Must not depend on any screen module (`helpdesk`, `inbox`, `records`, `admin`,
//! `notifications`, `host`): a refused post comes back as [`Posted::Refused`] naming its
//! [`Host`], and `host.rs` renders that page. The editor builds on `widgets.rs` and `view.rs`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fd_app::domain::engagements::ReplyDelivery;
use fd_app::domain::entities::{
    Comment, Contact, Conversation, Draft, Message, Recipients, Ticket,
};
use fd_app::domain::rules;
use fd_app::domain::*;
use fd_app::{App, AppError, LIBRARY_KINDS, Reply, ReplyOutcome};

use super::Id;
use super::flash::{Flash, see_other_flash};
use super::html::{frame_document, html_to_text, sanitize_reply, text_to_html};
use super::view::{Directory, Opt, StatusChoice, Times, channel_label};
use super::widgets::{PropField, prop_field};
use super::{Agent, Fields, Post, UiError, UiResult, UiState, see_other};

/// The page the editor sits on, which a refused post shows again.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Host {
    Ticket(TicketId),
    Conversation(ConversationId),
}

/// What a reply, comment or first-message post came to.
pub(crate) enum Posted {
    /// Accepted: the response to send (a redirect).
    Done(Response),
    /// Refused: the host page again, with the agent's unsent state and its message.
    Refused {
        host: Host,
        state: EditorState,
        status: StatusCode,
    },
}

/// What the agent had in the editor when a post came back refused (or a link preselected).
#[derive(Debug, Default, Clone)]
pub(crate) struct EditorState {
    pub conversation: Option<ConversationId>,
    pub reply_to: Option<MessageId>,
    pub body_html: Option<String>,
    pub to: Option<String>,
    pub cc: Option<String>,
    pub from: Option<String>,
    pub stage: Option<String>,
    pub comment_tab: bool,
    pub comment: Option<String>,
    pub error: Option<String>,
    /// The customer wrote again since the draft began: show the review notice.
    pub stale: bool,
    pub missing: Vec<String>,
    pub values: BTreeMap<String, String>,
    /// Item 7: files already uploaded for this reply (kept when a send is refused).
    pub attachments: Vec<i64>,
}

/// One entry of a thread: a conversation's header, a message or an internal comment.
#[derive(Default)]
pub(crate) struct ThreadItemVm {
    pub kind: &'static str,
    pub id: i64,
    pub conversation_id: i64,
    pub css: &'static str,
    pub author: String,
    pub address: String,
    pub recipients: String,
    pub at: Millis,
    pub subject: String,
    pub text: String,
    /// An agent's rich reply: the sanitised document for a `srcdoc` frame.
    pub frame: Option<String>,
    /// Customer HTML: the URL of the frame route that sanitises and serves it.
    pub frame_src: Option<String>,
    /// Remote images the customer's mail had blocked ("Load remote images" when non-zero).
    pub blocked_images: i64,
    /// What parsing the mail left for agents to know (a flattened HTML body…).
    pub notices: Vec<String>,
    pub status: String,
    /// An outgoing message's delivery state (`queued`, `sent`, `failed`, `not_sent`) for its
    /// pill's style; empty for received mail.
    pub delivery: &'static str,
    /// Why it is in that state: the relay's reply or the error the outbox job kept.
    pub delivery_detail: String,
    /// A failed or unsent reply can be queued again (`/messages/{id}/retry`).
    pub can_retry: bool,
    pub channel: &'static str,
    /// HD-18: this inbound message comes from a visitor not yet tied to a contact.
    pub visitor: bool,
    pub attachments: Vec<AttachmentVm>,
}

/// An attachment as the thread shows it: a link to the attachment route (which serves raster
/// images inline and everything else as a download, under a sandbox CSP), its size, and an
/// inline preview for the image types that route shows.
pub(crate) struct AttachmentVm {
    pub name: String,
    pub href: String,
    pub size: String,
    pub preview: bool,
}

/// "12 bytes", "3.4 KB", "1.2 MB": sizes as agents read them (1 KB = 1,024 bytes).
fn human_size(bytes: i64) -> String {
    const KB: f64 = 1024.0;
    let b = bytes.max(0) as f64;
    if b < KB {
        format!("{bytes} bytes")
    } else if b < KB * KB {
        format!("{:.1} KB", b / KB)
    } else {
        format!("{:.1} MB", b / (KB * KB))
    }
}

fn recipients_text(r: &Recipients) -> String {
    let mut parts = Vec::new();
    if !r.to.is_empty() {
        parts.push(format!("To: {}", r.to.join(", ")));
    }
    if !r.cc.is_empty() {
        parts.push(format!("Cc: {}", r.cc.join(", ")));
    }
    parts.join(" · ")
}

/// The HTML of a message that is not framed from its own route: an agent's reply.
fn reply_html(m: &Message) -> Option<&str> {
    (m.direction != Direction::Inbound)
        .then_some(m.html.as_deref())
        .flatten()
        .filter(|h| !h.trim().is_empty())
}

/// `reply_frame`: the `srcdoc` document of an agent's reply, sanitised beforehand off the
/// async runtime (see [`thread_items`]).
fn message_item(
    m: &Message,
    blocked: i64,
    reply_frame: Option<String>,
    c: &Conversation,
    dir: &Directory,
) -> ThreadItemVm {
    let inbound = m.direction == Direction::Inbound;
    let html = m.html.as_deref().filter(|h| !h.trim().is_empty());
    // Customer HTML is framed from its own route, which serves what ingestion sanitised under
    // a CSP that forbids script and (unless asked) remote loads. Agents' replies stay inline
    // `srcdoc` documents: the mail sanitiser would drop the `data:` images pasted into the
    // editor, and the page's own CSP already governs `srcdoc` frames.
    let (frame, frame_src) = match html {
        Some(_) if inbound => (None, Some(format!("/mail/messages/{}/html", m.id.0))),
        Some(_) => (reply_frame, None),
        None => (None, None),
    };
    ThreadItemVm {
        kind: "message",
        id: m.id.0,
        conversation_id: c.id.0,
        css: if inbound { "inbound" } else { "outbound" },
        author: m
            .sender_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| m.sender_user_id.map(|u| dir.user_name(Some(u))))
            .or_else(|| m.sender_address.clone())
            .unwrap_or_else(|| "Visitor".into()),
        address: m.sender_address.clone().unwrap_or_default(),
        recipients: recipients_text(&m.recipients),
        at: m.created_at,
        subject: m.subject.clone().unwrap_or_default(),
        text: m.text.clone(),
        frame,
        frame_src,
        blocked_images: if inbound { blocked } else { 0 },
        notices: Vec::new(),
        status: delivery_label(m.status).to_string(),
        delivery: match m.status {
            DeliveryStatus::Received => "",
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::NotSent => "not_sent",
        },
        delivery_detail: if m.status == DeliveryStatus::Sent {
            // "accepted by relay.example: 250 2.0.0 queued" is for admins; Sent says it.
            String::new()
        } else {
            m.status_detail.clone().unwrap_or_default()
        },
        can_retry: !inbound
            && matches!(
                fd_app::domain::engagements::hd_15_reply_delivery(m.channel, true, false),
                ReplyDelivery::Email
            )
            && matches!(m.status, DeliveryStatus::Failed | DeliveryStatus::NotSent),
        channel: channel_label(m.channel),
        visitor: inbound && c.contact_id.is_none(),
        attachments: m
            .attachments
            .iter()
            .enumerate()
            .map(|(i, a)| AttachmentVm {
                name: if a.filename.trim().is_empty() {
                    format!("attachment {}", i + 1)
                } else {
                    a.filename.clone()
                },
                href: crate::attachments::attachment_href(m.id, i),
                size: human_size(a.size),
                preview: crate::attachments::INLINE_TYPES.contains(&a.content_type.as_str()),
            })
            .collect(),
    }
}

fn comment_item(cm: &Comment, dir: &Directory) -> ThreadItemVm {
    ThreadItemVm {
        kind: "comment",
        id: cm.id.0,
        conversation_id: cm.conversation_id.map_or(0, |c| c.0),
        css: "comment",
        // A comment without an author was posted by an automation rule.
        author: match cm.author_id {
            Some(u) => dir.user_name(Some(u)),
            None => "Automation".into(),
        },
        at: cm.created_at,
        text: cm.body.clone(),
        ..ThreadItemVm::default()
    }
}

/// Every conversation with its messages and comments in time order; comments on the ticket
/// itself come last.
pub(crate) async fn thread_items(
    app: &App,
    agent: &Agent,
    dir: &Directory,
    conversations: &[Conversation],
    comments: &[Comment],
) -> Result<Vec<ThreadItemVm>, AppError> {
    let mut out = Vec::new();
    for c in conversations {
        let messages = app.thread_messages(&agent.actor, c.id).await?;
        out.push(ThreadItemVm {
            kind: "header",
            id: c.id.0,
            conversation_id: c.id.0,
            css: "header",
            address: c.visitor_email.clone().unwrap_or_default(),
            at: c.created_at,
            subject: c.subject.clone().unwrap_or_default(),
            status: c.status.to_string(),
            channel: channel_label(c.channel),
            ..ThreadItemVm::default()
        });
        // Sanitising agents' replies parses HTML: done for the whole thread at once on a
        // bounded blocking thread, never on the async runtime (hardening, finding 1).
        let replies: Vec<Option<String>> = messages
            .iter()
            .map(|(m, _, _)| reply_html(m).map(str::to_string))
            .collect();
        let frames = fd_app::run_cpu(move || {
            replies
                .into_iter()
                .map(|h| h.map(|h| frame_document(&sanitize_reply(&h))))
                .collect::<Vec<_>>()
        })
        .await?;
        // HD-18 is for visitors nobody knows: once a contact has the visitor's address
        // (created from another mail, by hand or through the API), there is nobody to ask about.
        let known_address = match (&c.contact_id, &c.visitor_email) {
            (None, Some(e)) => app.contact_id_by_email(e).await?.is_some(),
            _ => false,
        };
        // Live chat's read state: the visitor's widget has shown the replies up to this one.
        let visitor_seen = match c.channel {
            Channel::Chat => app
                .chat_session_of(&agent.actor, c.id)
                .await?
                .and_then(|s| s.visitor_seen_message_id),
            _ => None,
        };
        let mut items: Vec<(i64, i64, ThreadItemVm)> = messages
            .iter()
            .zip(frames)
            .map(|((m, blocked, notices), frame)| {
                let mut item = message_item(m, *blocked, frame, c, dir);
                if m.channel == Channel::Chat
                    && m.status == DeliveryStatus::Sent
                    && visitor_seen.is_some_and(|s| m.id <= s)
                {
                    item.status = "Seen".into();
                }
                item.visitor &= !known_address;
                item.notices = notices.clone();
                (m.created_at, m.id.0, item)
            })
            .chain(
                comments
                    .iter()
                    .filter(|cm| cm.conversation_id == Some(c.id))
                    .map(|cm| (cm.created_at, cm.id.0, comment_item(cm, dir))),
            )
            .collect();
        items.sort_by_key(|(at, id, _)| (*at, *id));
        out.extend(items.into_iter().map(|(_, _, i)| i));
    }
    out.extend(
        comments
            .iter()
            .filter(|cm| cm.conversation_id.is_none())
            .map(|cm| comment_item(cm, dir)),
    );
    Ok(out)
}

pub(crate) struct LibItemVm {
    pub id: i64,
    pub kind: String,
    pub kind_label: &'static str,
    pub title: String,
    pub body: String,
}

pub(crate) struct EditorVm {
    /// `reply` (an existing conversation) or `start` (HD-12's first message).
    pub mode: &'static str,
    pub surface: &'static str,
    pub ticket_id: i64,
    pub conversation_id: i64,
    pub channel: &'static str,
    pub is_email: bool,
    /// HD-15: why a reply on this channel cannot be delivered (empty when it can).
    pub delivery_note: String,
    pub from_options: Vec<Opt>,
    pub to: String,
    pub cc: String,
    pub start_contacts: Vec<Opt>,
    pub reply_to_options: Vec<Opt>,
    pub body_html: String,
    /// The same body as plain text, for the textarea that works without script.
    pub body_text: String,
    pub seen_id: i64,
    pub reviewed: bool,
    pub stale: bool,
    pub statuses: Vec<StatusChoice>,
    pub selected_stage: String,
    pub missing: Vec<PropField>,
    pub libraries: Vec<LibItemVm>,
    pub mention_users: String,
    pub comment_allowed: bool,
    pub comment_tab: bool,
    pub comment_text: String,
    pub error: Option<String>,
    pub draft_saved: String,
    pub post_url: String,
    pub draft_url: String,
    pub discard_url: String,
    pub comment_url: String,
    /// Item 7: files attached so far, and the account's limits in words.
    pub attachments: Vec<super::attach::ChipVm>,
    pub limits_text: String,
}

/// The conversation the editor answers: the one the agent chose (or whose message they
/// reply to), else the most recently active open one, else the most recent.
fn target_conversation(
    conversations: &[Conversation],
    chosen: Option<ConversationId>,
) -> Option<&Conversation> {
    if let Some(c) = chosen.and_then(|id| conversations.iter().find(|c| c.id == id)) {
        return Some(c);
    }
    conversations
        .iter()
        .filter(|c| c.status == ConversationStatus::Open)
        .max_by_key(|c| (c.last_message_at, c.id))
        .or_else(|| {
            conversations
                .iter()
                .max_by_key(|c| (c.last_message_at, c.id))
        })
}

/// HD-15: the connected addresses of the ticket's team (else the agent's teams), with what
/// the reply would go out from preselected: `reply_default` when replying to a conversation
/// (the send use case's own choice, e.g. the address the customer wrote to), else the team's
/// default From address.
async fn from_options(
    app: &App,
    agent: &Agent,
    dir: &Directory,
    team: Option<TeamId>,
    chosen: Option<&str>,
    reply_default: Option<String>,
) -> Result<Vec<Opt>, AppError> {
    let teams: Vec<TeamId> = match team {
        Some(t) => vec![t],
        None => agent.user.teams.clone(),
    };
    let mut addresses: Vec<String> = Vec::new();
    let mut default = None;
    for t in &teams {
        for (a, _) in app.team_addresses(*t).await? {
            if !addresses.contains(&a) {
                addresses.push(a);
            }
        }
        if default.is_none() {
            default = dir
                .teams
                .iter()
                .find(|x| x.id == *t)
                .and_then(|x| x.default_from_address.clone());
        }
    }
    // The address the conversation arrived on may be connected to another team: it is
    // still offered, since the reply goes out from it unless the agent picks another.
    if let Some(d) = &reply_default
        && !addresses.contains(d)
    {
        addresses.insert(0, d.clone());
    }
    // HD-15: the chosen address, else what the reply would be sent from by default.
    let selected = chosen
        .filter(|c| addresses.iter().any(|a| a == c))
        .map(str::to_string)
        .or(reply_default)
        .or_else(|| rules::hd_15_default_from(default.as_deref(), &addresses, None, None));
    Ok(addresses
        .iter()
        .map(|a| {
            let is_default = dir
                .teams
                .iter()
                .any(|t| t.default_from_address.as_deref() == Some(a.as_str()));
            let label = if is_default {
                format!("{a} (team default)")
            } else {
                a.clone()
            };
            Opt::new(a.clone(), label, selected.as_deref() == Some(a.as_str()))
        })
        .collect())
}

/// HD-16: the library items the editor inserts, their variables filled for `ticket` (the
/// ticket at hand, as the agent may see it) when the editor is built for it.
pub(crate) async fn libraries(
    app: &App,
    agent: &Agent,
    ticket: Option<TicketId>,
) -> Result<Vec<LibItemVm>, AppError> {
    let mut items = app.library_items(&agent.actor, None).await?;
    let bodies: Vec<&str> = items.iter().map(|i| i.body_html.as_str()).collect();
    let filled = app
        .fill_variables(&agent.actor, ticket, &bodies, true)
        .await?;
    for (i, body) in items.iter_mut().zip(filled) {
        i.body_html = body;
    }
    Ok(items
        .into_iter()
        .map(|i| LibItemVm {
            id: i.id,
            kind_label: LIBRARY_KINDS
                .iter()
                .find(|(k, _)| *k == i.kind)
                .map(|(_, l)| *l)
                .unwrap_or(""),
            kind: i.kind,
            title: i.title,
            body: sanitize_reply(&i.body_html),
        })
        .collect())
}

fn mention_users(dir: &Directory) -> String {
    serde_json::Value::Array(
        dir.active_users()
            .map(|u| serde_json::json!({"id": u.id.0, "name": u.name, "email": u.email}))
            .collect(),
    )
    .to_string()
}

/// The editor for a ticket's page (help desk) or a conversation's page (inbox).
pub(crate) async fn build(
    app: &App,
    agent: &Agent,
    dir: &Directory,
    ticket: &Ticket,
    conversations: &[Conversation],
    contacts: &[Contact],
    st: EditorState,
) -> Result<Option<EditorVm>, AppError> {
    build_for(
        app,
        agent,
        dir,
        Some(ticket),
        conversations,
        contacts,
        st,
        "helpdesk",
    )
    .await
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn build_for(
    app: &App,
    agent: &Agent,
    dir: &Directory,
    ticket: Option<&Ticket>,
    conversations: &[Conversation],
    contacts: &[Contact],
    st: EditorState,
    surface: &'static str,
) -> Result<Option<EditorVm>, AppError> {
    let times = Times::of(app, agent);
    let mut chosen = st.conversation;
    if chosen.is_none()
        && let Some(mid) = st.reply_to
    {
        for c in conversations {
            if app
                .messages(&agent.actor, c.id)
                .await?
                .iter()
                .any(|m| m.id == mid)
            {
                chosen = Some(c.id);
            }
        }
    }
    let conv = target_conversation(conversations, chosen);
    let libraries = libraries(app, agent, ticket.map(|t| t.id)).await?;
    let chips = super::attach::chips(app, &agent.actor, &st.attachments).await;
    let limits_text = super::attach::limits_text(app.attachment_limits().await?);
    let statuses = ticket
        .map(|t| dir.send_statuses(t.pipeline_id))
        .unwrap_or_default();
    let missing: Vec<PropField> = if st.missing.is_empty() {
        Vec::new()
    } else {
        let defs = app.properties("tickets").await?;
        st.missing
            .iter()
            .filter_map(|n| defs.iter().find(|d| d.name == *n))
            .map(|d| {
                let v = st
                    .values
                    .get(&d.name)
                    .cloned()
                    .or_else(|| ticket.and_then(|t| t.property(&d.name)));
                let mut f = prop_field(d, v.as_deref(), dir, &agent.zone(), true);
                f.id = format!("m-{}", d.name);
                f
            })
            .collect()
    };
    let comment_error = st.error.clone();
    let Some(conv) = conv else {
        // HD-12: a ticket without conversation gets the editor once it has a contact.
        let Some(t) = ticket else { return Ok(None) };
        let with_email: Vec<&Contact> = contacts.iter().filter(|c| c.email.is_some()).collect();
        let draft = app.draft(&agent.actor, Some(t.id), None).await?;
        let from = from_options(
            app,
            agent,
            dir,
            t.team_id,
            st.from
                .as_deref()
                .or(draft.as_ref().and_then(|d| d.from_address.as_deref())),
            None,
        )
        .await?;
        let body_html = match st
            .body_html
            .clone()
            .or_else(|| draft.as_ref().map(draft_html))
        {
            Some(b) => b,
            None => signature_html(app, agent, &from, Some(t.id)).await?,
        };
        // Without a contact to write to, the ticket still takes internal comments.
        let mode = if with_email.is_empty() {
            "comment"
        } else {
            "start"
        };
        return Ok(Some(with_text(EditorVm {
            mode,
            surface,
            ticket_id: t.id.0,
            conversation_id: 0,
            channel: "Email",
            is_email: true,
            delivery_note: String::new(),
            from_options: from,
            to: String::new(),
            cc: st.cc.clone().unwrap_or_default(),
            start_contacts: with_email
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    Opt::new(
                        c.id.to_string(),
                        format!(
                            "{} <{}>",
                            c.display_name(),
                            c.email.clone().unwrap_or_default()
                        ),
                        i == 0,
                    )
                })
                .collect(),
            reply_to_options: Vec::new(),
            body_html,
            body_text: String::new(),
            seen_id: 0,
            reviewed: false,
            stale: false,
            statuses,
            selected_stage: st.stage.clone().unwrap_or_default(),
            missing,
            libraries,
            mention_users: mention_users(dir),
            comment_allowed: true,
            comment_tab: st.comment_tab || mode == "comment",
            comment_text: st.comment.clone().unwrap_or_default(),
            error: comment_error,
            draft_saved: draft.map(|d| times.text(d.updated_at)).unwrap_or_default(),
            post_url: format!("/tickets/{}/start", t.id),
            draft_url: format!("/tickets/{}/draft", t.id),
            discard_url: String::new(),
            comment_url: format!("/tickets/{}/comment", t.id),
            attachments: chips,
            limits_text,
        })));
    };
    let messages = app.messages(&agent.actor, conv.id).await?;
    let draft = app.draft(&agent.actor, None, Some(conv.id)).await?;
    let latest = messages.last();
    let reply_to = st
        .reply_to
        .or_else(|| draft.as_ref().and_then(|d| d.reply_to_message_id))
        .filter(|m| messages.iter().any(|x| x.id == *m));
    let mut reply_to_options = vec![Opt::new("", "The newest message", reply_to.is_none())];
    reply_to_options.extend(messages.iter().rev().map(|m| {
        let who = m
            .sender_name
            .clone()
            .or_else(|| m.sender_address.clone())
            .unwrap_or_else(|| "message".into());
        let excerpt: String = m.text.chars().take(50).collect();
        Opt::new(
            m.id.to_string(),
            format!("{who}, {}: {excerpt}", times.text(m.created_at)),
            Some(m.id) == reply_to,
        )
    }));
    // HD-14: the same defaults the reply use case applies when To is left empty.
    let target = rules::hd_14_reply_target(&messages, reply_to);
    let newest_inbound = messages
        .iter()
        .rev()
        .find(|m| m.direction == Direction::Inbound);
    let contact_email = conv
        .contact_id
        .and_then(|cid| contacts.iter().find(|c| c.id == cid))
        .and_then(|c| c.email.as_deref());
    let default_to =
        rules::hd_14_default_to(target, newest_inbound, conv, contact_email).unwrap_or_default();
    let from = from_options(
        app,
        agent,
        dir,
        conv.team_id.or(ticket.and_then(|t| t.team_id)),
        st.from
            .as_deref()
            .or(draft.as_ref().and_then(|d| d.from_address.as_deref())),
        app.default_reply_from(&agent.actor, conv.id).await?,
    )
    .await?;
    let body_html = match st
        .body_html
        .clone()
        .or_else(|| draft.as_ref().map(draft_html))
    {
        // Item 8: a new reply starts with the signature, once: a refused send or a draft
        // brings back what the agent had, signature included.
        Some(b) => b,
        None => signature_html(app, agent, &from, ticket.map(|t| t.id)).await?,
    };
    // HD-15: the editor adapts to how this channel's replies are delivered (one rule, the
    // one the reply use case applies).
    // A chat, or a bot's chat an agent takes over, is answered in the visitor's chat window
    // (the reply use case refuses one that has neither a window nor an address).
    let delivery = fd_app::domain::engagements::hd_15_reply_delivery(
        conv.channel,
        conv.channel == Channel::Email || conv.visitor_email.is_some() || contact_email.is_some(),
        matches!(conv.channel, Channel::Chat | Channel::Bot),
    );
    // HD-21: on call tickets, comments open once an outgoing email is drafted or sent.
    let channels: Vec<Channel> = conversations.iter().map(|c| c.channel).collect();
    let comment_allowed = rules::hd_21_comments_open(
        &channels,
        draft.is_some() || messages.iter().any(|m| m.direction == Direction::Outbound),
    );
    // The page shows every message up to the newest: that is what the agent has seen.
    let seen_id = latest.map_or(0, |m| m.id.0);
    let tid = ticket.map_or(0, |t| t.id.0);
    Ok(Some(with_text(EditorVm {
        mode: "reply",
        surface,
        ticket_id: tid,
        conversation_id: conv.id.0,
        channel: channel_label(conv.channel),
        is_email: matches!(delivery, ReplyDelivery::Email),
        delivery_note: match &delivery {
            ReplyDelivery::Refused(reason) => reason.clone(),
            _ => String::new(),
        },
        from_options: from,
        to: st
            .to
            .clone()
            .or_else(|| {
                draft
                    .as_ref()
                    .map(|d| d.recipients.to.join(", "))
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or(default_to),
        cc: st
            .cc
            .clone()
            .or_else(|| draft.as_ref().map(|d| d.recipients.cc.join(", ")))
            .unwrap_or_default(),
        start_contacts: Vec::new(),
        reply_to_options,
        body_html,
        body_text: String::new(),
        seen_id,
        reviewed: st.stale,
        stale: st.stale,
        statuses,
        selected_stage: st.stage.clone().unwrap_or_default(),
        missing,
        libraries,
        mention_users: mention_users(dir),
        comment_allowed,
        comment_tab: st.comment_tab,
        comment_text: st.comment.clone().unwrap_or_default(),
        error: comment_error,
        draft_saved: draft
            .as_ref()
            .map(|d| times.text(d.updated_at))
            .unwrap_or_default(),
        post_url: format!("/conversations/{}/reply", conv.id),
        draft_url: format!("/conversations/{}/draft", conv.id),
        discard_url: format!("/conversations/{}/draft/discard", conv.id),
        comment_url: format!("/conversations/{}/comment", conv.id),
        attachments: chips,
        limits_text,
    })))
}

/// Item 8: the signature a new reply starts with (the selected From address's, else the
/// agent's), its variables filled for the ticket, below an empty first line; empty when
/// there is none.
async fn signature_html(
    app: &App,
    agent: &Agent,
    from: &[Opt],
    ticket: Option<TicketId>,
) -> Result<String, AppError> {
    let address = from
        .iter()
        .find(|o| o.selected)
        .or(from.first())
        .map(|o| o.value.clone());
    let sig = app
        .reply_signature(&agent.actor, address.as_deref(), ticket)
        .await?;
    if sig.trim().is_empty() {
        return Ok(String::new());
    }
    Ok(format!(
        "<div><br></div>{}",
        text_to_html(&format!("-- \n{sig}"))
    ))
}

fn with_text(mut e: EditorVm) -> EditorVm {
    e.body_text = html_to_text(&e.body_html);
    e
}

fn draft_html(d: &Draft) -> String {
    match &d.body_html {
        Some(h) if !h.trim().is_empty() => sanitize_reply(h),
        _ => text_to_html(&d.body_text),
    }
}

/// Addresses typed into To/Cc: separated by commas, semicolons or spaces.
fn addresses(s: Option<&str>) -> Vec<String> {
    s.unwrap_or("")
        .split([',', ';', ' ', '\n'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

/// The reply's body: the rich editor's HTML (sanitised) or the plain textarea.
fn body_of(f: &Fields) -> (String, Option<String>) {
    if let Some(h) = f.text("body_html") {
        let clean = sanitize_reply(&h);
        let text = html_to_text(&clean);
        if !text.trim().is_empty() || clean.contains("<img") {
            return (text, Some(clean));
        }
    }
    let text = f.get("body").unwrap_or("").trim().to_string();
    let html = (!text.is_empty()).then(|| text_to_html(&text));
    (text, html)
}

fn reply_of(f: &Fields) -> Reply {
    let (text, html) = body_of(f);
    let properties: BTreeMap<String, String> =
        f.0.iter()
            .filter_map(|(k, v)| k.strip_prefix("p.").map(|n| (n.to_string(), v.clone())))
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
    Reply {
        text,
        html,
        recipients: Recipients {
            to: addresses(f.get("to")),
            cc: addresses(f.get("cc")),
            bcc: Vec::new(),
        },
        from_address: f.text("from"),
        reply_to: f.record_id("reply_to").map(MessageId),
        set_stage: f.record_id("stage").map(StageId),
        properties,
        message_id_header: None,
        attachments: attachment_ids(f),
    }
}

/// The files the form attaches: its checked `attachment` boxes (ids of uploads).
fn attachment_ids(f: &Fields) -> Vec<i64> {
    f.all("attachment")
        .into_iter()
        .filter_map(|v| fd_app::domain::text::parse_id(v.trim()))
        .collect()
}

fn state_of(f: &Fields, conversation: Option<ConversationId>) -> EditorState {
    EditorState {
        conversation,
        reply_to: f.record_id("reply_to").map(MessageId),
        body_html: Some(body_of(f).1.unwrap_or_default()),
        to: f.get("to").map(str::to_string),
        cc: f.get("cc").map(str::to_string),
        from: f.text("from"),
        stage: f.text("stage"),
        values: f
            .0
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("p.").map(|n| (n.to_string(), v.clone())))
            .collect(),
        attachments: attachment_ids(f),
        ..EditorState::default()
    }
}

/// The page the post came from, to show again with the editor's state and a message.
fn refused(
    f: &Fields,
    conversation: Option<ConversationId>,
    es: EditorState,
    status: StatusCode,
) -> Result<Posted, UiError> {
    let host = match (f.get("surface"), f.record_id("ticket"), conversation) {
        (Some("inbox"), _, Some(c)) | (_, None | Some(0), Some(c)) => Host::Conversation(c),
        (_, Some(t), _) => Host::Ticket(TicketId(t)),
        _ => return Err(UiError::bad_request("Unknown page.")),
    };
    Ok(Posted::Refused {
        host,
        state: es,
        status,
    })
}

/// A delivery state in words (received mail has none).
fn delivery_label(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Received => "",
        DeliveryStatus::Queued => "Queued",
        DeliveryStatus::Sent => "Sent",
        DeliveryStatus::Failed => "Failed",
        DeliveryStatus::NotSent => "Not sent",
    }
}

/// `to` scrolled to a message of its thread (any fragment it had is replaced).
fn at_message(to: &str, message: MessageId) -> String {
    let page = to.split('#').next().unwrap_or(to);
    format!("{page}#message-{message}")
}

/// The confirmation of a reply: queued for the relay, sent (chat), or kept unsent.
fn delivery_flash(status: DeliveryStatus) -> Flash {
    match status {
        DeliveryStatus::Queued => Flash::ReplyQueued,
        DeliveryStatus::NotSent | DeliveryStatus::Failed => Flash::ReplyNotSent,
        DeliveryStatus::Sent | DeliveryStatus::Received => Flash::MessageSent,
    }
}

fn back(f: &Fields, fallback: String) -> String {
    f.get("back")
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .map(str::to_string)
        .unwrap_or(fallback)
}

/// Send, or Send + status (HD-19), with the stale-reply check.
pub(crate) async fn reply(state: &UiState, id: i64, post: &Post) -> Result<Posted, UiError> {
    let f = &post.fields;
    let conv = ConversationId(id);
    let mut reply = reply_of(f);
    // Item 7: the form's own file input (no script): stored first, for this agent.
    let (uploaded, upload_err) = super::attach::store_files(&state.app, post).await;
    reply.attachments.extend(uploaded.iter().copied());
    if let Some(e) = upload_err {
        let mut es = state_of(f, Some(conv));
        es.attachments = reply.attachments.clone();
        let api = crate::api::files::upload_error(e);
        es.error = Some(format!("The file was not attached: {}", api.message));
        return refused(f, Some(conv), es, api.status);
    }
    let attached = reply.attachments.clone();
    let seen = f.record_id("seen").map(MessageId);
    // Required dates and times asked for by the status (HD-19) are read in the agent's zone.
    let outcome = if reply.properties.is_empty() {
        Ok(reply)
    } else {
        let defs = state.app.properties("tickets").await?;
        super::widgets::stored_times(
            std::mem::take(&mut reply.properties),
            &defs,
            &post.agent.zone(),
        )
        .map(|properties| Reply {
            properties,
            ..reply
        })
    };
    let outcome = match outcome {
        Ok(reply) => {
            state
                .app
                .send_reply_checked(&post.agent.actor, conv, reply, seen, f.flag("reviewed"))
                .await
        }
        Err(e) => Err(e),
    };
    let mut es = state_of(f, Some(conv));
    es.attachments = attached;
    match outcome {
        Ok(ReplyOutcome::Sent(m)) => {
            // Back where the agent was, at the message just written, with what became of it.
            let to = at_message(&back(f, format!("/inbox/conversations/{id}")), m.id);
            see_other_flash(&to, delivery_flash(m.status)).map(Posted::Done)
        }
        Ok(ReplyOutcome::NewerMessage { .. }) => {
            es.stale = true;
            es.error = Some(
                "The customer sent a new message after you started this reply. Review it below, then send again."
                    .into(),
            );
            refused(f, Some(conv), es, StatusCode::CONFLICT)
        }
        Err(AppError::Domain(DomainError::MissingRequiredProperties {
            stage_label,
            missing,
        })) => {
            es.error = Some(format!(
                "The status {stage_label:?} needs these properties before the ticket can move there. Fill them in and send again."
            ));
            es.missing = missing;
            refused(f, Some(conv), es, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e @ (AppError::Domain(_) | AppError::Conflict(_))) => {
            // A refused property the agent filled in comes back as typed, to correct.
            if let AppError::Domain(DomainError::Invalid(errors)) = &e {
                es.missing = errors
                    .iter()
                    .map(|x| x.field.clone())
                    .filter(|n| es.values.contains_key(n))
                    .collect();
            }
            es.error = Some(e.to_string());
            refused(f, Some(conv), es, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}

/// HD-12: the first message of a hand-made ticket starts its conversation.
pub(crate) async fn start_conversation(
    state: &UiState,
    id: i64,
    post: &Post,
) -> Result<Posted, UiError> {
    let f = &post.fields;
    let Some(contact) = f.record_id("contact") else {
        return Err(UiError::bad_request("Choose the contact to write to."));
    };
    let mut reply = reply_of(f);
    let (uploaded, upload_err) = super::attach::store_files(&state.app, post).await;
    reply.attachments.extend(uploaded.iter().copied());
    let attached = reply.attachments.clone();
    if let Some(e) = upload_err {
        let mut es = state_of(f, None);
        es.attachments = attached;
        let api = crate::api::files::upload_error(e);
        es.error = Some(format!("The file was not attached: {}", api.message));
        return Ok(Posted::Refused {
            host: Host::Ticket(TicketId(id)),
            state: es,
            status: api.status,
        });
    }
    let result = state
        .app
        .start_conversation_on_ticket(&post.agent.actor, TicketId(id), ContactId(contact), reply)
        .await;
    match result {
        Ok((_, m)) => {
            state
                .app
                .discard_draft(&post.agent.actor, Some(TicketId(id)), None)
                .await?;
            let to = at_message(&format!("/helpdesk/tickets/{id}"), m.id);
            see_other_flash(&to, delivery_flash(m.status)).map(Posted::Done)
        }
        Err(e @ (AppError::Domain(_) | AppError::Conflict(_))) => {
            let mut es = state_of(f, None);
            es.attachments = attached;
            if let AppError::Domain(DomainError::MissingRequiredProperties { missing, .. }) = &e {
                es.missing = missing.clone();
            }
            es.error = Some(e.to_string());
            Ok(Posted::Refused {
                host: Host::Ticket(TicketId(id)),
                state: es,
                status: StatusCode::UNPROCESSABLE_ENTITY,
            })
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn comment(
    state: &UiState,
    post: &Post,
    ticket: Option<TicketId>,
    conversation: Option<ConversationId>,
) -> Result<Posted, UiError> {
    let f = &post.fields;
    let body = f.get("comment").unwrap_or("");
    match state
        .app
        .comment(&post.agent.actor, ticket, conversation, body)
        .await
    {
        Ok(_) => {
            let fallback = match (ticket, conversation) {
                (Some(t), _) => format!("/helpdesk/tickets/{t}?tab=comment"),
                (None, Some(c)) => format!("/inbox/conversations/{c}?tab=comment"),
                _ => "/".into(),
            };
            see_other_flash(&back(f, fallback), Flash::CommentAdded).map(Posted::Done)
        }
        Err(e @ AppError::Domain(_)) => {
            let es = EditorState {
                comment_tab: true,
                comment: Some(body.to_string()),
                error: Some(e.to_string()),
                ..EditorState::default()
            };
            let fields_with_ticket = Fields(
                f.0.iter()
                    .cloned()
                    .chain(ticket.map(|t| ("ticket".to_string(), t.to_string())))
                    .collect(),
            );
            refused(
                &fields_with_ticket,
                conversation,
                es,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

fn draft_of(f: &Fields, ticket: Option<TicketId>, conversation: Option<ConversationId>) -> Draft {
    let (text, html) = body_of(f);
    Draft {
        id: DraftId(0),
        author_id: UserId(0),
        ticket_id: ticket,
        conversation_id: conversation,
        body_text: text,
        body_html: html,
        recipients: Recipients {
            to: addresses(f.get("to")),
            cc: addresses(f.get("cc")),
            bcc: Vec::new(),
        },
        from_address: f.text("from"),
        reply_to_message_id: f.record_id("reply_to").map(MessageId),
        // What the agent's page showed when the draft began (kept by later saves).
        seen_message_id: f.record_id("seen").filter(|s| *s > 0).map(MessageId),
        created_at: 0,
        updated_at: 0,
    }
}

/// HD-17: autosave while typing (the editor's script posts here; a no-JS "Save draft"
/// button posts the same form).
pub(crate) async fn save_draft(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let d = draft_of(&post.fields, None, Some(ConversationId(id)));
    let saved = state.app.save_draft(&post.agent.actor, d).await?;
    draft_saved(&post.fields, saved, &Times::of(&state.app, &post.agent))
}

pub(crate) async fn save_ticket_draft(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let d = draft_of(&post.fields, Some(TicketId(id)), None);
    let saved = state.app.save_draft(&post.agent.actor, d).await?;
    draft_saved(&post.fields, saved, &Times::of(&state.app, &post.agent))
}

fn draft_saved(f: &Fields, d: Draft, times: &Times) -> UiResult {
    if f.flag("js") {
        Ok(Json(serde_json::json!({"saved": times.text(d.updated_at)})).into_response())
    } else {
        see_other(&back(f, "/helpdesk?view=drafts".into()))
    }
}

pub(crate) async fn discard_draft(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    state
        .app
        .discard_draft(&post.agent.actor, None, Some(ConversationId(id)))
        .await?;
    see_other(&back(&post.fields, format!("/inbox/conversations/{id}")))
}

/// HD-04: reply suggestions, for Service Seat holders only (others get 403): BM25-ranked
/// knowledge-base articles and past replies on resolved tickets the agent may see.
pub(crate) async fn suggestions(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
) -> UiResult {
    let items = state
        .app
        .reply_suggestions(&agent.actor, TicketId(id))
        .await?;
    let bodies: Vec<&str> = items.iter().map(|i| i.body_html.as_str()).collect();
    let filled = state
        .app
        .fill_variables(&agent.actor, Some(TicketId(id)), &bodies, true)
        .await?;
    Ok(Json(
        items
            .into_iter()
            .zip(filled)
            .map(|(i, body)| {
                serde_json::json!({
                    "id": i.id,
                    "kind": i.kind.as_str(),
                    "title": i.title,
                    "ticket": i.ticket.map(|t| t.0.to_string()),
                    "body": sanitize_reply(&body),
                })
            })
            .collect::<Vec<_>>(),
    )
    .into_response())
}
