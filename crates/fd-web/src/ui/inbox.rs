//! The inbox (seed 000): conversations by status, owner and channel; a conversation with the
//! reply editor and a sidebar holding the ticket card (fixed properties), the contact and
//! the contact's past conversations (INB-03); "Create ticket" (INB-01, INB-14), owner
//! (INB-06), ticket status (INB-10, INB-11), close only this conversation (INB-12), move to
//! trash (INB-13) and "View more" with each user's chosen properties (INB-07).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use fd_app::ConversationListQuery;
use fd_app::domain::entities::Conversation;
use fd_app::domain::*;
use fd_app::{AppError, TicketChanges};
use serde::Deserialize;

use super::Id;
use super::editor::{self, EditorState, EditorVm, ThreadItemVm};
use super::flash::{Flash, see_other_flash};
use super::view::{Directory, Opt, OptGroup, Times, channel_label, priority_label};
use super::widgets::{NamedLink, PropField, contact_from_form, editable_fields};
use super::{Agent, Chrome, Post, UiError, UiResult, UiState, page, see_other};

#[derive(Deserialize, Default, Clone)]
pub(crate) struct InboxParams {
    status: Option<String>,
    owner: Option<String>,
    channel: Option<String>,
    page: Option<i64>,
}

pub(crate) struct ConvRow {
    pub id: i64,
    pub who: String,
    pub subject: String,
    pub channel: &'static str,
    pub status: String,
    pub owner: String,
    pub at: Millis,
    /// The latest message's first line.
    pub preview: String,
    /// The customer wrote since this agent last opened the conversation.
    pub unread: bool,
    pub active: bool,
    pub has_ticket: bool,
}

pub(crate) struct Filters {
    pub statuses: Vec<Opt>,
    pub owners: Vec<Opt>,
    pub channels: Vec<Opt>,
    pub counts: Vec<(String, i64, String, bool)>,
}

const PAGE: i64 = 50;

fn query_of(p: &InboxParams, me: UserId) -> ConversationListQuery {
    ConversationListQuery {
        workspace: Some(Workspace::Inbox),
        status: match p.status.as_deref() {
            Some("closed") => Some(ConversationStatus::Closed),
            Some("all") => None,
            _ => Some(ConversationStatus::Open),
        },
        owner: match p.owner.as_deref() {
            Some("me") => Some(Some(me)),
            Some("unassigned") => Some(None),
            Some(id) => fd_app::domain::text::parse_id(id).map(|u| Some(UserId(u))),
            None => None,
        },
        channel: p.channel.as_deref().and_then(|c| c.parse().ok()),
        trashed: false,
        limit: PAGE,
        offset: (p.page.unwrap_or(1).max(1) - 1) * PAGE,
    }
}

async fn conversation_rows(
    state: &UiState,
    agent: &Agent,
    dir: &Directory,
    p: &InboxParams,
    active: Option<ConversationId>,
) -> Result<(Vec<ConvRow>, Filters), AppError> {
    let app = &state.app;
    let q = query_of(p, agent.user.id);
    let convs = app.list_conversations(&agent.actor, &q).await?;
    let contact_ids: Vec<ContactId> = convs.iter().filter_map(|c| c.contact_id).collect();
    let contacts = app.contacts_by_ids(&contact_ids).await?;
    let digests = app.conversation_digests(&agent.actor, &convs).await?;
    let rows = convs
        .iter()
        .map(|c| ConvRow {
            id: c.id.0,
            who: c
                .contact_id
                .and_then(|id| contacts.iter().find(|k| k.id == id))
                .map(|k| k.display_name())
                .or_else(|| c.visitor_name.clone())
                .or_else(|| c.visitor_email.clone())
                .unwrap_or_else(|| "Visitor".into()),
            subject: c.subject.clone().unwrap_or_default(),
            channel: channel_label(c.channel),
            status: c.status.to_string(),
            owner: dir.user_name(c.owner_id),
            at: c.last_message_at,
            preview: digests
                .get(&c.id)
                .map(|d| d.preview.clone())
                .unwrap_or_default(),
            unread: digests.get(&c.id).is_some_and(|d| d.unread),
            active: Some(c.id) == active,
            has_ticket: c.ticket_id.is_some(),
        })
        .collect();
    let status = p.status.clone().unwrap_or_else(|| "open".into());
    let owner = p.owner.clone().unwrap_or_default();
    let channel = p.channel.clone().unwrap_or_default();
    let mut counts = Vec::new();
    for (key, label) in [("open", "Open"), ("closed", "Closed")] {
        let mut cq = query_of(p, agent.user.id);
        cq.status = Some(if key == "open" {
            ConversationStatus::Open
        } else {
            ConversationStatus::Closed
        });
        counts.push((
            label.to_string(),
            app.count_conversations(&agent.actor, &cq).await?,
            format!("/inbox?status={key}&owner={owner}&channel={channel}"),
            status == key,
        ));
    }
    let filters = Filters {
        statuses: [("open", "Open"), ("closed", "Closed"), ("all", "All")]
            .iter()
            .map(|(v, l)| Opt::new(*v, *l, status == *v))
            .collect(),
        owners: [
            ("", "Any owner"),
            ("me", "Assigned to me"),
            ("unassigned", "Unassigned"),
        ]
        .iter()
        .map(|(v, l)| Opt::new(*v, *l, owner == *v))
        .chain(
            dir.active_users()
                .map(|u| Opt::new(u.id.to_string(), u.name.clone(), owner == u.id.to_string())),
        )
        .collect(),
        channels: std::iter::once(Opt::new("", "All channels", channel.is_empty()))
            .chain(
                Channel::ALL
                    .iter()
                    .map(|c| Opt::new(c.as_str(), channel_label(*c), channel == c.as_str())),
            )
            .collect(),
        counts,
    };
    Ok((rows, filters))
}

#[derive(Template)]
#[template(path = "ui/inbox.html")]
struct InboxPage {
    chrome: Chrome,
    rows: Vec<ConvRow>,
    filters: Filters,
    conv: Option<Box<ConvPane>>,
    query: String,
}

pub(crate) struct TicketCard {
    pub id: i64,
    pub subject: String,
    pub status: String,
    pub closed: bool,
    pub owner: String,
    pub priority: &'static str,
    pub created_at: Millis,
    pub version: i64,
}

pub(crate) struct ConvPane {
    pub id: i64,
    pub subject: String,
    pub channel: &'static str,
    pub status: String,
    pub open: bool,
    pub owner_options: Vec<Opt>,
    pub ticket: Option<TicketCard>,
    pub stage_groups: Vec<OptGroup>,
    pub thread: Vec<ThreadItemVm>,
    pub editor: Option<EditorVm>,
    pub contact: Option<NamedLink>,
    pub visitor: String,
    pub past: Vec<NamedLink>,
    pub panel: Vec<PropField>,
    pub panel_choices: Vec<Opt>,
    pub help_desk_mode: bool,
}

pub(crate) async fn list(
    State(state): State<UiState>,
    agent: Agent,
    Query(p): Query<InboxParams>,
) -> UiResult {
    let dir = Directory::load(&state.app).await?;
    let (rows, filters) = conversation_rows(&state, &agent, &dir, &p, None).await?;
    page(&InboxPage {
        chrome: Chrome::load(&state.app, &agent, "inbox", "Inbox").await?,
        rows,
        filters,
        conv: None,
        query: inbox_query(&p),
    })
}

fn inbox_query(p: &InboxParams) -> String {
    format!(
        "status={}&owner={}&channel={}",
        p.status.as_deref().unwrap_or("open"),
        p.owner.as_deref().unwrap_or(""),
        p.channel.as_deref().unwrap_or("")
    )
}

#[derive(Deserialize, Default)]
pub(crate) struct ConvParams {
    #[serde(flatten)]
    list: InboxParams,
    reply_to: Option<i64>,
    tab: Option<String>,
}

pub(crate) async fn conversation_page(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
    Query(p): Query<ConvParams>,
) -> UiResult {
    let es = EditorState {
        reply_to: p.reply_to.map(MessageId),
        comment_tab: p.tab.as_deref() == Some("comment"),
        ..EditorState::default()
    };
    let r = render_with(&state, &agent, ConversationId(id), es, &p.list).await?;
    // Opened: read for this agent until the customer writes again (the list's unread state).
    state
        .app
        .mark_opened(
            &agent.actor,
            fd_app::Opened::Conversation(ConversationId(id)),
        )
        .await?;
    Ok(r)
}

pub(crate) async fn render_conversation(
    state: &UiState,
    agent: &Agent,
    id: ConversationId,
    es: EditorState,
) -> UiResult {
    render_with(state, agent, id, es, &InboxParams::default()).await
}

async fn render_with(
    state: &UiState,
    agent: &Agent,
    id: ConversationId,
    es: EditorState,
    p: &InboxParams,
) -> UiResult {
    let app = &state.app;
    let c: Conversation = app.conversation(&agent.actor, id).await?;
    if c.trashed_at.is_some() {
        return Err(UiError::not_found());
    }
    let dir = Directory::load(app).await?;
    let times = Times::of(app, agent);
    let (rows, filters) = conversation_rows(state, agent, &dir, p, Some(id)).await?;
    let details = match c.ticket_id {
        Some(t) if agent.actor.viewer.can_use_tickets() => {
            Some(app.ticket_details(&agent.actor, t).await?)
        }
        _ => None,
    };
    let comments = details
        .as_ref()
        .map(|d| d.comments.clone())
        .unwrap_or_default();
    let thread =
        editor::thread_items(app, agent, &dir, std::slice::from_ref(&c), &comments).await?;
    let contact = match (c.contact_id, &c.visitor_email) {
        (Some(k), _) => app.contact(k).await.ok(),
        // A visitor whose address a contact has since been given is that contact.
        (None, Some(e)) => match app.contact_id_by_email(e).await? {
            Some(k) => app.contact(ContactId(k)).await.ok(),
            None => None,
        },
        (None, None) => None,
    };
    let contacts: Vec<_> = contact.iter().cloned().collect();
    let editor = editor::build_for(
        app,
        agent,
        &dir,
        details.as_ref().map(|d| &d.ticket),
        std::slice::from_ref(&c),
        &contacts,
        EditorState {
            conversation: Some(c.id),
            ..es
        },
        "inbox",
    )
    .await?;
    let past = app
        .other_conversations_of_contact(&agent.actor, id)
        .await?
        .into_iter()
        .map(|o| NamedLink {
            href: format!("/inbox/conversations/{}", o.id),
            name: o
                .subject
                .clone()
                .unwrap_or_else(|| format!("{} conversation", channel_label(o.channel))),
            detail: format!("{} · {}", o.status, times.text(o.last_message_at)),
        })
        .collect();
    let settings = app.account_settings().await?;
    let (panel, panel_choices) = match &details {
        Some(d) => {
            let defs = app.properties("tickets").await?;
            let chosen = app.ticket_panel(&agent.actor).await?;
            let panel = editable_fields(&defs, &d.ticket, &dir, &agent.zone(), Some(&chosen));
            let choices = defs
                .iter()
                .filter(|d| !d.archived && d.name != "hs_pipeline")
                .map(|d| Opt::new(d.name.clone(), d.label.clone(), chosen.contains(&d.name)))
                .collect();
            (panel, choices)
        }
        None => (Vec::new(), Vec::new()),
    };
    let pane = ConvPane {
        id: c.id.0,
        subject: c
            .subject
            .clone()
            .unwrap_or_else(|| format!("{} conversation", channel_label(c.channel))),
        channel: channel_label(c.channel),
        status: c.status.to_string(),
        open: c.status == ConversationStatus::Open,
        owner_options: dir.owner_options(c.owner_id),
        stage_groups: details
            .as_ref()
            .map(|d| dir.stage_groups(Some(d.ticket.stage_id)))
            .unwrap_or_default(),
        ticket: details.as_ref().map(|d| TicketCard {
            id: d.ticket.id.0,
            subject: d.ticket.subject.clone(),
            status: dir.stage_label(d.ticket.stage_id),
            closed: !d.ticket.is_open,
            owner: dir.user_name(d.ticket.owner_id),
            priority: priority_label(d.ticket.priority.as_deref()),
            created_at: d.ticket.created_at,
            version: d.ticket.version,
        }),
        thread,
        editor,
        contact: contact.as_ref().map(NamedLink::contact),
        visitor: [c.visitor_name.clone(), c.visitor_email.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" · "),
        past,
        panel,
        panel_choices,
        help_desk_mode: settings.mode == AccountMode::HelpDesk,
    };
    page(&InboxPage {
        chrome: Chrome::load(app, agent, "inbox", pane.subject.clone())
            .await?
            .watching(format!("conversation:{}", c.id)),
        rows,
        filters,
        conv: Some(Box::new(pane)),
        query: inbox_query(p),
    })
}

fn back_to_conversation(post: &Post, id: i64) -> String {
    post.fields
        .get("back")
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .map(str::to_string)
        .unwrap_or_else(|| format!("/inbox/conversations/{id}"))
}

/// INB-06: the conversation's owner, which its ticket's owner follows.
pub(crate) async fn set_owner(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let owner = post.fields.checked_id("owner")?.map(UserId);
    state
        .app
        .assign_conversation_owner(&post.agent.actor, ConversationId(id), owner)
        .await?;
    see_other_flash(&back_to_conversation(&post, id), Flash::Saved)
}

/// INB-10/INB-11: the ticket status dropdown above the editor.
pub(crate) async fn set_ticket_status(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let app = &state.app;
    let c = app
        .conversation(&post.agent.actor, ConversationId(id))
        .await?;
    let Some(ticket) = c.ticket_id else {
        return Err(UiError::bad_request("This conversation has no ticket."));
    };
    let Some(stage) = post.fields.checked_id("stage")? else {
        return Err(UiError::bad_request("Choose a status."));
    };
    let dir = Directory::load(app).await?;
    let mut props = BTreeMap::new();
    props.insert("hs_pipeline_stage".to_string(), stage.to_string());
    if let Some(p) = fd_app::domain::rules::hd_10_pipeline_of_stage(&dir.pipelines, StageId(stage))
    {
        props.insert("hs_pipeline".to_string(), p.to_string());
    }
    match app
        .update_ticket(
            &post.agent.actor,
            ticket,
            TicketChanges {
                properties: props,
                expected_version: None,
            },
        )
        .await
    {
        Ok(_) => see_other_flash(&back_to_conversation(&post, id), Flash::Saved),
        Err(AppError::Domain(DomainError::MissingRequiredProperties {
            stage_label,
            missing,
        })) => {
            let es = EditorState {
                error: Some(format!(
                    "The status {stage_label:?} needs these properties first. Fill them in and choose \"Send and set status\", or edit them in the ticket panel."
                )),
                missing,
                stage: Some(stage.to_string()),
                ..EditorState::default()
            };
            let mut r = render_conversation(&state, &post.agent, ConversationId(id), es).await?;
            *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// INB-12: closes only this conversation.
pub(crate) async fn close(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    state
        .app
        .close_conversation(&post.agent.actor, ConversationId(id))
        .await?;
    see_other_flash(&back_to_conversation(&post, id), Flash::Saved)
}

pub(crate) async fn reopen(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    state
        .app
        .reopen_conversation(&post.agent.actor, ConversationId(id))
        .await?;
    see_other_flash(&back_to_conversation(&post, id), Flash::Saved)
}

/// INB-13: the conversation and its ticket go to the trash.
pub(crate) async fn trash(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    state
        .app
        .trash_conversation(&post.agent.actor, ConversationId(id))
        .await?;
    see_other_flash("/inbox", Flash::Trashed)
}

/// INB-01/INB-14: the conversation's ticket; in help-desk mode both move to the help desk,
/// so the agent lands on the ticket there.
pub(crate) async fn create_ticket(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let mut props = BTreeMap::new();
    if let Some(s) = post.fields.text("subject") {
        props.insert("subject".to_string(), s);
    }
    let t = state
        .app
        .create_ticket_from_conversation(&post.agent.actor, ConversationId(id), props)
        .await?;
    if t.workspace == Workspace::HelpDesk {
        see_other_flash(&format!("/helpdesk/tickets/{}", t.id), Flash::TicketCreated)
    } else {
        see_other(&format!("/inbox/conversations/{id}"))
    }
}

/// HD-18: ties the visitor to a new or an existing contact (ticket included).
pub(crate) async fn associate_visitor(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let app = &state.app;
    let f = &post.fields;
    // A picked contact, an existing one with the typed address, or a new one.
    let who = contact_from_form(app, f).await?;
    app.associate_visitor_with_contact(&post.agent.actor, ConversationId(id), who)
        .await?;
    see_other_flash(&back_to_conversation(&post, id), Flash::ContactAdded)
}

/// INB-07: "Edit the properties shown" of the Ticket details panel (per user).
pub(crate) async fn set_panel(State(state): State<UiState>, post: Post) -> UiResult {
    let names: Vec<String> = post
        .fields
        .all("show")
        .into_iter()
        .map(str::to_string)
        .collect();
    state.app.set_ticket_panel(&post.agent.actor, names).await?;
    let back = post
        .fields
        .get("back")
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .unwrap_or("/inbox")
        .to_string();
    see_other(&back)
}
