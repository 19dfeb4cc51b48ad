//! The help desk workspace (HD-01, HD-13, HD-17): the left panel of views with counts, the
//! ticket list (sort, filters, search), the ticket page (conversations, reply editor, sidebar
//! with editable properties, associations and activity), "Create ticket" (HD-10, HD-11) and
//! "Add contact" (HD-12).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use fd_app::domain::local_time::UserTimeZone;
use fd_app::domain::rules;
use fd_app::domain::*;
use fd_app::{
    Actor, App, AppError, AssociationEnd, NewLinkedRecord, NewTicket, TicketChanges, VisitorContact,
};
use fd_app::{TicketListQuery, TicketSort, TicketView};
use serde::Deserialize;

use super::Id;
use super::editor::{self, EditorState, EditorVm, ThreadItemVm};
use super::flash::{Flash, see_other_flash};
use super::view::{Directory, Opt, OptGroup, TicketRow};
use super::views::ViewLink;
use super::widgets::{
    ActivityVm, NamedLink, PropField, Refusal, TicketVm, activity_vm, contact_from_form,
    editable_fields, mark_changed_by, prop_field, ticket_activity_words, ticket_rows,
};
use super::{Agent, Chrome, Post, UiError, UiResult, UiState, page, see_other};

/// The built-in views (HD-01, HD-17, plus Mentions).
const VIEWS: &[(&str, &str)] = &[
    ("unassigned", "Unassigned"),
    ("mine", "Assigned to me"),
    ("open", "All open"),
    ("following", "Following"),
    ("mentions", "Mentions"),
    ("drafts", "Drafts"),
    ("closed", "Closed"),
    ("trash", "Trash"),
];

fn ticket_view(key: &str, me: UserId) -> Option<TicketView> {
    Some(match key {
        "unassigned" => TicketView::Unassigned,
        "mine" => TicketView::AssignedTo(me),
        "open" => TicketView::AllOpen,
        "following" => TicketView::Following(me),
        "closed" => TicketView::Closed,
        "trash" => TicketView::Trash,
        "all" => TicketView::All,
        _ => return None,
    })
}

type Counting = tokio::task::JoinHandle<Result<i64, AppError>>;

/// Counts tickets on a task of its own. SQLite statements run on the task that issues them
/// (fd-store's `sqlite` module), so counts joined within one task run one after another;
/// on their own tasks the runtime spreads them over the cores.
fn count_on_own_task(app: &App, actor: &Actor, q: TicketListQuery) -> Counting {
    let (app, actor) = (app.clone(), actor.clone());
    tokio::spawn(async move { app.count_tickets(&actor, &q).await })
}

async fn counted(h: Counting) -> Result<i64, AppError> {
    h.await
        .map_err(|e| AppError::Internal(format!("a ticket count stopped: {e}")))?
}

/// The left panel with a count per view, as this agent may see them (HD-09).
pub(crate) async fn view_links(
    app: &App,
    agent: &Agent,
    active: &str,
    with_counts: bool,
) -> Result<Vec<ViewLink>, AppError> {
    if !with_counts {
        // Pages beside the list (a ticket, the create form) link the views without counting
        // them: the counts are the list's, and they cost a query each.
        let mut links: Vec<ViewLink> = VIEWS
            .iter()
            .map(|(key, label)| ViewLink {
                href: format!("/helpdesk?view={key}"),
                label: label.to_string(),
                count: -1,
                active: *key == active,
                custom: false,
            })
            .collect();
        links.extend(super::views::view_entries(app, agent, None, false).await?);
        return Ok(links);
    }
    let me = agent.user.id;
    let counting = [
        TicketView::Unassigned,
        TicketView::AssignedTo(me),
        TicketView::AllOpen,
        TicketView::Following(me),
        TicketView::Closed,
        TicketView::Trash,
    ]
    .map(|view| {
        let q = TicketListQuery {
            view,
            ..TicketListQuery::default()
        };
        count_on_own_task(app, &agent.actor, q)
    });
    let (mentions, drafts) = tokio::join!(
        app.mentioned_tickets(&agent.actor, 0, 0),
        app.draft_entries(&agent.actor),
    );
    let mut n = [0i64; 6];
    for (slot, h) in n.iter_mut().zip(counting) {
        *slot = counted(h).await?;
    }
    let [unassigned, mine, open, following, closed, trash] = n;
    let counts = [
        unassigned,
        mine,
        open,
        following,
        mentions?.1,
        drafts?.len() as i64,
        closed,
        trash,
    ];
    let mut links: Vec<ViewLink> = VIEWS
        .iter()
        .zip(counts)
        .map(|((key, label), count)| ViewLink {
            href: format!("/helpdesk?view={key}"),
            label: label.to_string(),
            count,
            active: *key == active,
            custom: false,
        })
        .collect();
    links.extend(super::views::view_entries(app, agent, None, true).await?);
    Ok(links)
}

#[derive(Deserialize, Default, Clone)]
pub(crate) struct ListParams {
    view: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    pipeline: Option<String>,
    stage: Option<String>,
    priority: Option<String>,
    /// The SLA state of the shown clock (issue 16 item 1): a name of `slas::SLA_FILTERS`.
    sla: Option<String>,
    page: Option<i64>,
    /// A search's reach (issue 13): all live tickets (empty), `open` or `closed`; a search
    /// ignores the current view so a closed ticket is found from the open view.
    within: Option<String>,
}

const SORTS: &[(&str, &str, TicketSort)] = &[
    (
        "activity_desc",
        "Last activity (newest)",
        TicketSort::LastActivityDesc,
    ),
    (
        "activity_asc",
        "Last activity (oldest)",
        TicketSort::LastActivityAsc,
    ),
    ("created_desc", "Created (newest)", TicketSort::CreatedDesc),
    ("created_asc", "Created (oldest)", TicketSort::CreatedAsc),
    ("subject_asc", "Name (A–Z)", TicketSort::SubjectAsc),
    ("subject_desc", "Name (Z–A)", TicketSort::SubjectDesc),
    (
        "priority_desc",
        "Priority (highest)",
        TicketSort::PriorityDesc,
    ),
    ("priority_asc", "Priority (lowest)", TicketSort::PriorityAsc),
    ("sla_due_asc", "SLA due (soonest)", TicketSort::SlaDueAsc),
];

const PAGE_SIZE: i64 = 25;

/// A sortable column header: the link sorts by it, toggling direction.
pub(crate) struct SortHeader {
    pub label: &'static str,
    pub href: String,
    pub aria: &'static str,
}

pub(crate) struct DraftRow {
    pub href: String,
    pub title: String,
    pub excerpt: String,
    pub updated_at: Millis,
}

#[derive(Template)]
#[template(path = "ui/helpdesk_list.html")]
struct ListPage {
    chrome: Chrome,
    views: Vec<ViewLink>,
    view_key: String,
    view_label: String,
    rows: Vec<TicketRow>,
    drafts: Vec<DraftRow>,
    q: String,
    sorts: Vec<Opt>,
    headers: Vec<SortHeader>,
    stage_groups: Vec<OptGroup>,
    priorities: Vec<Opt>,
    /// The SLA state filter (Service Seat only, HD-04).
    sla_states: Vec<Opt>,
    query_string: String,
    /// A text search: results come from every view, narrowed by `reach`.
    searching: bool,
    reach: Vec<Opt>,
    prev_href: Option<String>,
    next_href: Option<String>,
    range: String,
    /// The bulk action bar (issue 15 item 6); `None` for drafts and mentions.
    bulk: Option<BulkBar>,
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl ListParams {
    /// The list query these parameters stand for (this page of it) and whether it is a text
    /// search. The bulk actions resolve "all matching this filter" from the same query.
    pub(crate) fn query(&self, me: UserId) -> (TicketListQuery, bool) {
        let view_key = self.view.as_deref().unwrap_or("open");
        let sort_key = self.sort.as_deref().unwrap_or("activity_desc");
        let sort = SORTS
            .iter()
            .find(|s| s.0 == sort_key)
            .map(|s| s.2)
            .unwrap_or(TicketSort::LastActivityDesc);
        let page_no = self.page.unwrap_or(1).max(1);
        let text = self.q.clone().filter(|s| !s.trim().is_empty());
        let searching = text.is_some() && !matches!(view_key, "mentions" | "drafts");
        let view = if searching {
            search_reach(self.within.as_deref().unwrap_or(""))
        } else {
            ticket_view(view_key, me).unwrap_or(TicketView::AllOpen)
        };
        let q = TicketListQuery {
            view,
            sort,
            limit: PAGE_SIZE,
            offset: (page_no - 1) * PAGE_SIZE,
            text,
            pipeline: self.pipeline.as_deref().and_then(|s| s.parse().ok()),
            stage: self.stage.as_deref().and_then(|s| s.parse().ok()),
            priority: self.priority.clone().filter(|s| !s.is_empty()),
            sla: self.sla.clone().filter(|s| !s.is_empty()),
            filters: Vec::new(),
        };
        (q, searching)
    }

    /// The filter fields of a posted form (the bulk form carries the list's filter).
    pub(crate) fn from_fields(f: &super::auth::Fields) -> ListParams {
        ListParams {
            view: f.text("view"),
            q: f.text("q"),
            sort: f.text("sort"),
            pipeline: f.text("pipeline"),
            stage: f.text("stage"),
            priority: f.text("priority"),
            sla: f.text("sla"),
            page: None,
            within: f.text("within"),
        }
    }

    /// The filter as hidden fields of the bulk form, so "all matching" is resolved from the
    /// same parameters the list was drawn with (`from_fields` reads them back).
    fn hidden_fields(&self) -> Vec<(&'static str, String)> {
        [
            ("view", &self.view),
            ("q", &self.q),
            ("sort", &self.sort),
            ("pipeline", &self.pipeline),
            ("stage", &self.stage),
            ("priority", &self.priority),
            ("sla", &self.sla),
            ("within", &self.within),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.clone().filter(|v| !v.is_empty())?)))
        .collect()
    }

    /// The list's address with these parameters (first page).
    pub(crate) fn list_href(&self) -> String {
        self.href(None, None)
    }

    fn href(&self, page: Option<i64>, sort: Option<&str>) -> String {
        let mut parts = Vec::new();
        let mut add = |k: &str, v: Option<&str>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                parts.push(format!("{k}={}", encode(v)));
            }
        };
        add("view", self.view.as_deref());
        add("q", self.q.as_deref());
        add("sort", sort.or(self.sort.as_deref()));
        add("pipeline", self.pipeline.as_deref());
        add("stage", self.stage.as_deref());
        add("priority", self.priority.as_deref());
        add("sla", self.sla.as_deref());
        add("within", self.within.as_deref());
        let page = page.map(|p| p.to_string());
        add("page", page.as_deref().filter(|p| *p != "1"));
        format!("/helpdesk?{}", parts.join("&"))
    }
}

/// Where a search looks (`within`): every live ticket by default, whatever view is open.
const SEARCH_REACH: &[(&str, &str)] = &[
    ("", "All tickets"),
    ("open", "Open tickets"),
    ("closed", "Closed tickets"),
];

fn search_reach(within: &str) -> TicketView {
    match within {
        "open" => TicketView::AllOpen,
        "closed" => TicketView::Closed,
        _ => TicketView::All,
    }
}

pub(crate) async fn list(
    State(state): State<UiState>,
    agent: Agent,
    Query(p): Query<ListParams>,
) -> UiResult {
    let app = &state.app;
    agent.actor_can_use_tickets()?;
    let view_key = p.view.clone().unwrap_or_else(|| "open".into());
    let sort_key = p.sort.clone().unwrap_or_else(|| "activity_desc".into());
    let page_no = p.page.unwrap_or(1).max(1);
    let stage: Option<StageId> = p.stage.as_deref().and_then(|s| s.parse().ok());
    let within = p.within.clone().unwrap_or_default();
    let (mut q, searching) = p.query(agent.user.id);
    // HD-04: SLA states are a Service Seat feature; without one the filter does nothing.
    q.sla = q.sla.filter(|_| agent.actor.viewer.has_service_seat());
    let dir = Directory::load(app).await?;
    // Search results span every view (`within`), so no view is marked as the current one.
    let active_view = if searching { "" } else { view_key.as_str() };
    let views = view_links(app, &agent, active_view, true).await?;
    let mut matches = Vec::new();
    let (tickets, total, drafts) = match view_key.as_str() {
        "mentions" => {
            let (t, n) = app
                .mentioned_tickets(&agent.actor, PAGE_SIZE, q.offset)
                .await?;
            (t, n, Vec::new())
        }
        "drafts" => {
            let entries = app.draft_entries(&agent.actor).await?;
            let n = entries.len() as i64;
            let rows = entries
                .into_iter()
                .map(|e| DraftRow {
                    href: match (e.ticket.as_ref(), e.draft.conversation_id) {
                        (Some(t), _) => format!("/helpdesk/tickets/{}", t.id),
                        (None, Some(c)) => format!("/inbox/conversations/{c}"),
                        (None, None) => "/helpdesk".into(),
                    },
                    title: e
                        .ticket
                        .as_ref()
                        .map(|t| t.subject.clone())
                        .unwrap_or_else(|| "Conversation".into()),
                    excerpt: e.draft.body_text.chars().take(140).collect(),
                    updated_at: e.draft.updated_at,
                })
                .collect();
            (Vec::new(), n, rows)
        }
        _ if searching => {
            // Counting every match would run the search a second time. One row past the
            // page tells whether there is a next page.
            let mut probe = q.clone();
            probe.limit = PAGE_SIZE + 1;
            let mut found = app.search_tickets(&agent.actor, &probe).await?;
            let more = found.len() as i64 > PAGE_SIZE;
            found.truncate(PAGE_SIZE as usize);
            let n = q.offset + found.len() as i64;
            let (t, m): (Vec<_>, Vec<_>) = found.into_iter().unzip();
            matches = m;
            (t, if more { -1 } else { n }, Vec::new())
        }
        _ => {
            let n = count_on_own_task(app, &agent.actor, q.clone());
            let t = app.list_tickets(&agent.actor, &q).await;
            (t?, counted(n).await?, Vec::new())
        }
    };
    let mut rows = ticket_rows(app, &agent, &dir, &tickets).await?;
    for (row, found) in rows.iter_mut().zip(matches) {
        row.matched = found.map(|m| (m.source.label(), m.pieces));
    }
    let view_label = if searching {
        SEARCH_REACH
            .iter()
            .find(|r| r.0 == within)
            .map(|r| format!("Search results: {}", r.1.to_lowercase()))
            .unwrap_or_else(|| "Search results".into())
    } else {
        VIEWS
            .iter()
            .find(|v| v.0 == view_key)
            .map(|v| v.1)
            .unwrap_or("All tickets")
            .to_string()
    };
    let shown = rows.len().max(drafts.len()) as i64;
    let first = q.offset + 1;
    let header = |label: &'static str, asc: &'static str, desc: &'static str| {
        let (next, aria) = if sort_key == desc {
            (asc, "descending")
        } else if sort_key == asc {
            (desc, "ascending")
        } else {
            (desc, "none")
        };
        SortHeader {
            label,
            href: p.href(None, Some(next)),
            aria,
        }
    };
    let headers = vec![
        header("Name", "subject_asc", "subject_desc"),
        header("Priority", "priority_asc", "priority_desc"),
        header("Last activity", "activity_asc", "activity_desc"),
    ];
    let bulk = bulk_bar(&state, &dir, &view_key, &p, total).await?;
    let query_string = p
        .href(None, None)
        .trim_start_matches("/helpdesk?")
        .to_string();
    page(&ListPage {
        chrome: Chrome::load(app, &agent, "helpdesk", view_label.clone()).await?,
        views,
        view_label,
        rows,
        drafts,
        q: p.q.clone().unwrap_or_default(),
        sorts: SORTS
            .iter()
            .map(|(k, l, _)| Opt::new(*k, *l, *k == sort_key))
            .collect(),
        headers,
        stage_groups: dir.stage_groups(stage),
        priorities: [
            ("", "Any priority"),
            ("LOW", "Low"),
            ("MEDIUM", "Medium"),
            ("HIGH", "High"),
            ("URGENT", "Urgent"),
        ]
        .iter()
        .map(|(v, l)| Opt::new(*v, *l, p.priority.as_deref().unwrap_or("") == *v))
        .collect(),
        sla_states: super::slas::SLA_FILTERS
            .iter()
            .map(|(v, l)| Opt::new(*v, *l, p.sla.as_deref().unwrap_or("") == *v))
            .collect(),
        query_string,
        searching,
        reach: SEARCH_REACH
            .iter()
            .map(|(k, l)| Opt::new(*k, *l, *k == within))
            .collect(),
        prev_href: (page_no > 1).then(|| p.href(Some(page_no - 1), None)),
        next_href: ((total < 0 || q.offset + shown < total) && view_key != "drafts")
            .then(|| p.href(Some(page_no + 1), None)),
        range: match (shown, total) {
            (0, _) => "0".into(),
            // -1: a search with more matches than this page (not counted, see above).
            (_, -1) => format!("{}–{} of many", first, q.offset + shown),
            _ => format!("{}–{} of {}", first, q.offset + shown, total),
        },
        view_key,
        bulk,
    })
}

impl Agent {
    /// HD-05: the help desk needs Service or Sales access.
    pub(crate) fn actor_can_use_tickets(&self) -> Result<(), UiError> {
        if self.actor.viewer.can_use_tickets() {
            Ok(())
        } else {
            Err(UiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "Viewing, editing and replying to tickets requires Service or Sales access (HD-05).",
            ))
        }
    }
}

/// HD-04: "Save view" (Service Seat only; the use case refuses others).
pub(crate) async fn save_view(State(state): State<UiState>, post: Post) -> UiResult {
    let name = post.fields.get("name").unwrap_or("");
    let query = post.fields.get("query").unwrap_or("");
    let v = state.app.save_view(&post.agent.actor, name, query).await?;
    see_other_flash(&format!("/helpdesk/views/{}", v.id), Flash::Saved)
}

/// Values of posted property inputs (`p.<name>`, several for checkboxes) that differ from
/// their originals (`o.<name>`): only what the agent changed is sent to the use case.
pub(crate) fn changed_properties(
    fields: &super::Fields,
    dir: &Directory,
) -> BTreeMap<String, String> {
    let mut names: Vec<&str> = fields
        .0
        .iter()
        .filter_map(|(k, _)| k.strip_prefix("o."))
        .collect();
    names.dedup();
    let mut out = BTreeMap::new();
    for name in names {
        let new = fields.all(&format!("p.{name}")).join(";");
        let old = fields.get(&format!("o.{name}")).unwrap_or("");
        if new != old {
            // The status pickers span pipelines: a status brings its pipeline (HD-10).
            if name == "hs_pipeline_stage"
                && let Some(p) = new
                    .parse()
                    .ok()
                    .and_then(|s| rules::hd_10_pipeline_of_stage(&dir.pipelines, StageId(s)))
            {
                out.insert("hs_pipeline".into(), p.to_string());
            }
            out.insert(name.to_string(), new);
        }
    }
    out
}

#[derive(Template)]
#[template(path = "ui/ticket.html")]
struct TicketPage {
    chrome: Chrome,
    views: Vec<ViewLink>,
    t: TicketVm,
    thread: Vec<ThreadItemVm>,
    editor: Option<EditorVm>,
    /// HD-12: no conversation yet.
    needs_contact: bool,
    /// The editor can send (a conversation, or a contact to start one with).
    can_reply: bool,
    props: Vec<PropField>,
    prop_error: Option<String>,
    contacts: Vec<NamedLink>,
    companies: Vec<NamedLink>,
    deals: Vec<NamedLink>,
    activity: Vec<ActivityVm>,
    following: bool,
    followers: Vec<String>,
    conversations: Vec<NamedLink>,
    engagements: Vec<super::engagements::EngagementVm>,
    /// Follow-up tickets: the one this follows up, and this one's follow-ups.
    follow_up_of: Option<(i64, String)>,
    follow_ups: Vec<(i64, String)>,
    /// The tickets this one was split from or into (issue 15).
    links: super::ticket_split::LinksVm,
    /// The customer's satisfaction rating (issue 16, item 7).
    csat: Option<super::csat::CsatBadge>,
    /// The SLA clocks and why (Service Seat only, HD-04).
    sla: Option<super::slas::SlaVm>,
}

/// Renders the ticket page; posts that fail re-render it with their error and the agent's
/// unsent text (`editor_state`), so nothing typed is lost.
pub(crate) async fn render_ticket(
    state: &UiState,
    agent: &Agent,
    id: TicketId,
    editor_state: EditorState,
    refusal: Option<Refusal>,
) -> UiResult {
    agent.actor_can_use_tickets()?;
    let app = &state.app;
    let d = app.ticket_details(&agent.actor, id).await?;
    let dir = Directory::load(app).await?;
    let defs = app.properties("tickets").await?;
    let words = ticket_activity_words(&defs, &d);
    let t = &d.ticket;
    let thread = editor::thread_items(app, agent, &dir, &d.conversations, &d.comments).await?;
    let editor = if t.trashed_at.is_some() {
        None
    } else {
        editor::build(
            app,
            agent,
            &dir,
            t,
            &d.conversations,
            &d.contacts,
            editor_state,
        )
        .await?
    };
    let views = view_links(app, agent, "", false).await?;
    let mut activity: Vec<ActivityVm> = d
        .activity
        .iter()
        .rev()
        .take(100)
        .map(|a| activity_vm(a, &dir, &words))
        .collect();
    activity.truncate(100);
    let links = super::ticket_split::links_and_undo(
        app,
        agent,
        t,
        d.activity.iter().rev().take(100),
        &mut activity,
    )
    .await?;
    let tz = agent.zone();
    let mut props = editable_fields(&defs, t, &dir, &tz, None);
    mark_changed_by(&mut props, &d.activity, &dir);
    let prop_error = refusal.and_then(|r| r.apply(&mut props, &defs, &dir, &tz));
    let vm = TicketVm {
        id: t.id.0,
        subject: t.subject.clone(),
        status: dir.stage_label(t.stage_id),
        closed: !t.is_open,
        owner: dir.user_name(t.owner_id),
        pipeline: dir.pipeline_label(t.pipeline_id),
        version: t.version,
        trashed: t.trashed_at.is_some(),
        created_at: t.created_at,
        priority: super::view::priority_label(t.priority.as_deref()),
    };
    let (follow_up_of, follow_ups) = app.follow_up_links(&agent.actor, id).await?;
    let csat = app
        .ticket_csat(&agent.actor, id)
        .await?
        .as_ref()
        .and_then(super::csat::CsatBadge::from_survey);
    page(&TicketPage {
        csat,
        sla: super::slas::ticket_sla_vm(state, agent, t.id).await?,
        follow_up_of: follow_up_of.map(|(i, s)| (i.0, s)),
        follow_ups: follow_ups.into_iter().map(|(i, s)| (i.0, s)).collect(),
        chrome: Chrome::load(app, agent, "helpdesk", t.subject.clone())
            .await?
            .watching(format!("ticket:{}", t.id)),
        views,
        thread,
        needs_contact: d.conversations.is_empty(),
        can_reply: editor.as_ref().is_some_and(|e| e.mode != "comment"),
        props,
        prop_error,
        contacts: d.contacts.iter().map(NamedLink::contact).collect(),
        companies: d
            .companies
            .iter()
            .map(|c| NamedLink {
                href: format!("/companies/{}", c.id),
                name: c
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("Company {}", c.id)),
                detail: c.domain.clone().unwrap_or_default(),
            })
            .collect(),
        deals: d
            .deals
            .iter()
            .map(|x| NamedLink {
                href: String::new(),
                name: x.name.clone().unwrap_or_else(|| format!("Deal {}", x.id)),
                detail: x.amount.clone().unwrap_or_default(),
            })
            .collect(),
        activity,
        links,
        following: d.followers.contains(&agent.user.id),
        followers: d
            .followers
            .iter()
            .map(|u| dir.user_name(Some(*u)))
            .collect(),
        conversations: d
            .conversations
            .iter()
            .map(|c| NamedLink {
                href: format!("/inbox/conversations/{}", c.id),
                name: format!("{} conversation", super::view::channel_label(c.channel)),
                detail: c.status.to_string(),
            })
            .collect(),
        t: vm,
        editor,
        engagements: super::engagements::timeline(
            app,
            &agent.actor,
            fd_app::domain::ObjectType::Ticket,
            t.id.0,
        )
        .await?,
    })
}

/// Saves the sidebar's changed properties (none: the ticket as it is, for the JSON answer).
async fn save_changes(
    state: &UiState,
    post: &Post,
    id: i64,
    changes: BTreeMap<String, String>,
) -> Result<fd_app::domain::entities::Ticket, AppError> {
    if changes.is_empty() {
        state
            .app
            .ticket_details(&post.agent.actor, TicketId(id))
            .await
            .map(|d| d.ticket)
    } else {
        state
            .app
            .update_ticket(
                &post.agent.actor,
                TicketId(id),
                TicketChanges {
                    properties: changes,
                    expected_version: post.fields.id("version"),
                },
            )
            .await
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct TicketParams {
    reply_to: Option<i64>,
    tab: Option<String>,
}

pub(crate) async fn ticket_page(
    State(state): State<UiState>,
    agent: Agent,
    Path(Id(id)): Path<Id>,
    Query(p): Query<TicketParams>,
) -> UiResult {
    // A merged-away ticket's address (a bookmark, a link in an old mail) opens the ticket it
    // was merged into, when the agent may see that one.
    if let Some(survivor) = state.app.merge_survivor(ObjectType::Ticket, id).await?
        && state
            .app
            .ticket(&agent.actor, TicketId(survivor))
            .await
            .is_ok()
    {
        return see_other_flash(
            &format!("/helpdesk/tickets/{survivor}"),
            Flash::TicketMerged,
        );
    }
    let es = EditorState {
        reply_to: p.reply_to.map(MessageId),
        comment_tab: p.tab.as_deref() == Some("comment"),
        ..EditorState::default()
    };
    let r = render_ticket(&state, &agent, TicketId(id), es, None).await?;
    // Opened: read for this agent until a customer writes again (the list's unread state).
    state
        .app
        .mark_opened(&agent.actor, fd_app::Opened::Ticket(TicketId(id)))
        .await?;
    Ok(r)
}

/// INB-05 / sidebar: saves the properties the agent changed (a stale version is a conflict).
/// The script saves one field at a time as it changes and asks for JSON (`_respond=json`):
/// the new version and a confirmation, or the refusal by field (HD-19 at the status). Without
/// script the whole form is posted, and a refusal re-renders the page with what was typed.
pub(crate) async fn update_properties(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let dir = Directory::load(&state.app).await?;
    let changes = changed_properties(&post.fields, &dir);
    let json = post.fields.get("_respond") == Some("json");
    let back = post
        .fields
        .get("back")
        .filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .map(str::to_string)
        .unwrap_or_else(|| format!("/helpdesk/tickets/{id}#props-title"));
    if changes.is_empty() && !json {
        return see_other(&back);
    }
    let typed = changes.clone();
    let defs = state.app.properties("tickets").await?;
    let result = match super::widgets::stored_times(changes, &defs, &post.agent.zone()) {
        Err(e) => Err(e),
        Ok(changes) => save_changes(&state, &post, id, changes).await,
    };
    match result {
        Ok(t) if json => {
            let saved: Vec<String> = typed
                .keys()
                .filter(|k| *k != "hs_pipeline")
                .map(|k| {
                    defs.iter()
                        .find(|d| &d.name == k)
                        .map(|d| d.label.clone())
                        .unwrap_or_else(|| k.clone())
                })
                .collect();
            let message = if saved.is_empty() {
                "Nothing to save.".to_string()
            } else {
                format!("{} saved.", saved.join(", "))
            };
            Ok(axum::Json(serde_json::json!({
                "ok": true,
                "version": t.version,
                "message": message,
            }))
            .into_response())
        }
        Ok(_) => see_other_flash(&back, Flash::Saved),
        Err(e @ (AppError::Domain(_) | AppError::Conflict(_))) => {
            let refusal = match &e {
                AppError::Conflict(_) => Refusal {
                    values: typed,
                    ..Refusal::message(
                        "This ticket was changed by someone else meanwhile. Reload the page to see their change, then save again.",
                    )
                },
                _ => Refusal::of(&e, typed),
            };
            if json {
                let mut r = axum::Json(serde_json::json!({
                    "ok": false,
                    "errors": refusal.at,
                    "message": refusal.rest,
                }))
                .into_response();
                *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
                return Ok(r);
            }
            let mut r = render_ticket(
                &state,
                &post.agent,
                TicketId(id),
                EditorState::default(),
                Some(refusal),
            )
            .await?;
            *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn follow(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let on = post.fields.flag("follow");
    state
        .app
        .follow_ticket(&post.agent.actor, TicketId(id), on)
        .await?;
    let done = if on {
        Flash::Followed
    } else {
        Flash::Unfollowed
    };
    see_other_flash(&format!("/helpdesk/tickets/{id}#follow-title"), done)
}

/// INB-13: deleting a ticket moves it and its conversations to the trash.
pub(crate) async fn trash(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    state
        .app
        .trash_ticket(&post.agent.actor, TicketId(id))
        .await?;
    see_other_flash("/helpdesk?view=trash", Flash::Trashed)
}

pub(crate) async fn restore(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    state
        .app
        .restore_ticket(&post.agent.actor, TicketId(id))
        .await?;
    see_other_flash(&format!("/helpdesk/tickets/{id}"), Flash::Restored)
}

/// HD-12: "Add contact" (new or existing); the reply editor then appears on the ticket.
pub(crate) async fn add_contact(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let app = &state.app;
    let result = async {
        match contact_from_form(app, &post.fields).await? {
            VisitorContact::Existing(contact) => {
                app.associate(
                    &post.agent.actor,
                    AssociationEnd::new(ObjectType::Ticket, id),
                    AssociationEnd::new(ObjectType::Contact, contact.0),
                )
                .await
            }
            VisitorContact::New(contact) => app
                .create_for_ticket(
                    &post.agent.actor,
                    TicketId(id),
                    NewLinkedRecord::Contact(contact),
                )
                .await
                .map(|_| ()),
        }
    }
    .await;
    match result {
        Ok(()) => see_other_flash(&format!("/helpdesk/tickets/{id}"), Flash::ContactAdded),
        Err(e @ (AppError::Domain(_) | AppError::Conflict(_))) => {
            let mut r = render_ticket(
                &state,
                &post.agent,
                TicketId(id),
                EditorState::default(),
                Some(Refusal::message(e.to_string())),
            )
            .await?;
            *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// Associates a company (existing by id, or new by name) or a new deal with the ticket.
pub(crate) async fn associate(
    State(state): State<UiState>,
    Path(Id(id)): Path<Id>,
    post: Post,
) -> UiResult {
    let app = &state.app;
    let f = &post.fields;
    // A new company or deal is created by the use case after it has checked the ticket,
    // so a ticket the agent may not see leaves nothing behind.
    let new = match f.get("kind") {
        Some("company") => match f.record_id("company_id") {
            Some(c) => {
                app.associate(
                    &post.agent.actor,
                    AssociationEnd::new(ObjectType::Ticket, id),
                    AssociationEnd::new(ObjectType::Company, c),
                )
                .await?;
                return see_other_flash(&format!("/helpdesk/tickets/{id}"), Flash::RecordAdded);
            }
            None => NewLinkedRecord::Company {
                name: f
                    .text("name")
                    .ok_or_else(|| UiError::bad_request("Give the company a name."))?,
                domain: f.text("domain"),
            },
        },
        Some("deal") => NewLinkedRecord::Deal {
            name: f
                .text("name")
                .ok_or_else(|| UiError::bad_request("Give the deal a name."))?,
            amount: f.text("amount"),
        },
        _ => return Err(UiError::bad_request("Unknown kind of record.")),
    };
    app.create_for_ticket(&post.agent.actor, TicketId(id), new)
        .await?;
    see_other_flash(&format!("/helpdesk/tickets/{id}"), Flash::RecordAdded)
}

#[derive(Template)]
#[template(path = "ui/new_ticket.html")]
struct NewTicketPage {
    chrome: Chrome,
    views: Vec<ViewLink>,
    fields: Vec<PropField>,
    error: Option<String>,
    contact_ids: String,
    company_ids: String,
}

/// The create form's fields: name, pipeline + status (HD-10), then the admins' form fields.
async fn create_form_fields(
    app: &App,
    dir: &Directory,
    tz: &UserTimeZone,
    values: &BTreeMap<String, String>,
) -> Result<Vec<PropField>, AppError> {
    let defs = app.properties("tickets").await?;
    let form = app.ticket_form_fields().await?;
    let mut out = Vec::new();
    for (name, required) in [("subject", true), ("hs_pipeline_stage", true)]
        .into_iter()
        .map(|(n, r)| (n.to_string(), r))
        .chain(
            form.into_iter()
                .filter(|(n, _)| n != "subject" && n != "hs_pipeline_stage" && n != "hs_pipeline"),
        )
    {
        if let Some(def) = defs.iter().find(|d| d.name == name && !d.archived) {
            let mut f = prop_field(
                def,
                values.get(&name).map(String::as_str),
                dir,
                tz,
                required,
            );
            if name == "hs_pipeline_stage" && values.get(&name).is_none() {
                // Preselect the stage automatic creation uses (HD-06): one rule for both.
                if let Ok((_, s)) = fd_app::domain::rules::hd_06_intake_stage(&dir.pipelines) {
                    f.groups = dir.stage_groups(Some(s.id));
                }
            }
            out.push(f);
        }
    }
    Ok(out)
}

pub(crate) async fn new_ticket_form(State(state): State<UiState>, agent: Agent) -> UiResult {
    agent.actor_can_use_tickets()?;
    let app = &state.app;
    let dir = Directory::load(app).await?;
    page(&NewTicketPage {
        chrome: Chrome::load(app, &agent, "helpdesk", "Create ticket").await?,
        views: view_links(app, &agent, "", false).await?,
        fields: create_form_fields(app, &dir, &agent.zone(), &BTreeMap::new()).await?,
        error: None,
        contact_ids: String::new(),
        company_ids: String::new(),
    })
}

/// HD-10/HD-11: creates the ticket with its contacts and companies, then opens it.
pub(crate) async fn create_ticket(State(state): State<UiState>, post: Post) -> UiResult {
    let app = &state.app;
    let f = &post.fields;
    let dir = Directory::load(app).await?;
    let mut props = BTreeMap::new();
    for (k, _) in &f.0 {
        if let Some(name) = k.strip_prefix("p.") {
            let v = f.all(k).join(";");
            if !v.trim().is_empty() {
                props.insert(name.to_string(), v);
            }
        }
    }
    if let Some(p) = props
        .get("hs_pipeline_stage")
        .and_then(|s| fd_app::domain::text::parse_id(s))
        .and_then(|s| rules::hd_10_pipeline_of_stage(&dir.pipelines, StageId(s)))
    {
        props.insert("hs_pipeline".into(), p.to_string());
    }
    let ids = |name: &str| -> Vec<i64> {
        f.get(name)
            .unwrap_or("")
            .split(',')
            .filter_map(|s| fd_app::domain::text::parse_id(s.trim()))
            .collect()
    };
    let associations: Vec<AssociationEnd> = ids("contact_ids")
        .into_iter()
        .map(|c| AssociationEnd::new(ObjectType::Contact, c))
        .chain(
            ids("company_ids")
                .into_iter()
                .map(|c| AssociationEnd::new(ObjectType::Company, c)),
        )
        .collect();
    // Without the search script, a contact can be named by email: the existing contact or a
    // new one, created in the ticket's own transaction (a refused ticket leaves none behind).
    // Dates and times as typed are read in the agent's zone; `props` keeps the typing for a
    // refused form.
    let defs = app.properties("tickets").await?;
    let created = match super::widgets::stored_times(props.clone(), &defs, &post.agent.zone()) {
        Err(e) => Err(e),
        Ok(properties) => {
            let input = NewTicket {
                properties,
                associations,
                via_form: true,
            };
            match f.text("contact_email") {
                Some(email) => {
                    app.create_ticket_with_contact(&post.agent.actor, input, &email)
                        .await
                }
                None => app.create_ticket(&post.agent.actor, input).await,
            }
        }
    };
    match created {
        Ok(t) => see_other_flash(&format!("/helpdesk/tickets/{}", t.id), Flash::TicketCreated),
        Err(e @ AppError::Domain(_)) => {
            // The form comes back as it was typed, each reason at its field.
            let mut fields = create_form_fields(app, &dir, &post.agent.zone(), &props).await?;
            let (at, rest) = super::widgets::field_errors(&e, "hs_pipeline_stage");
            let error = super::widgets::place_errors(&mut fields, at, rest);
            let mut r = page(&NewTicketPage {
                chrome: Chrome::load(app, &post.agent, "helpdesk", "Create ticket").await?,
                views: view_links(app, &post.agent, "", false).await?,
                fields,
                error,
                contact_ids: f.get("contact_ids").unwrap_or("").to_string(),
                company_ids: f.get("company_ids").unwrap_or("").to_string(),
            })?;
            *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// What the list page's bulk bar offers.
pub(crate) struct BulkBar {
    /// Tickets matching the filter (-1: a search, not counted).
    pub total: i64,
    pub trash: bool,
    /// The filter, as hidden fields, so "all matching" is resolved from it.
    pub filter: Vec<(&'static str, String)>,
    pub owners: Vec<Opt>,
    pub stage_groups: Vec<OptGroup>,
    pub pipelines: Vec<Opt>,
    pub properties: Vec<Opt>,
}

/// The bar for a list of tickets; `None` for views that list no tickets (drafts, mentions).
pub(crate) async fn bulk_bar(
    state: &UiState,
    dir: &Directory,
    view_key: &str,
    p: &ListParams,
    total: i64,
) -> Result<Option<BulkBar>, AppError> {
    if matches!(view_key, "drafts" | "mentions") {
        return Ok(None);
    }
    let properties = state
        .app
        .properties("tickets")
        .await?
        .into_iter()
        .filter(|d| !d.read_only && !BAR_FIELDS.contains(&d.name.as_str()))
        .map(|d| Opt::new(d.name, d.label, false))
        .collect();
    Ok(Some(BulkBar {
        total,
        trash: view_key == "trash",
        filter: p.hidden_fields(),
        owners: dir.owner_options(None),
        stage_groups: dir.stage_groups(None),
        pipelines: dir
            .pipelines
            .iter()
            .filter(|p| !p.archived)
            .map(|p| Opt::new(p.id.to_string(), p.label.clone(), false))
            .collect(),
        properties,
    }))
}

/// Properties the bar has its own control for (or that are not values to set in bulk).
const BAR_FIELDS: &[&str] = &[
    "hs_pipeline",
    "hs_pipeline_stage",
    "hubspot_owner_id",
    "hs_ticket_priority",
    "subject",
];
