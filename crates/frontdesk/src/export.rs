//! `frontdesk admin export --to DIR`: every ticket, conversation (with its messages and
//! comments), contact and company as JSON Lines, so a desk can always leave with its data.
//!
//! Records are HubSpot's object shape (`id`, `properties` with HubSpot's wire values: ISO
//! instants, calendar dates; `createdAt`, `updatedAt`, `archived`); conversations follow the
//! conversations API's thread and message fields. Trashed records are exported too, marked
//! `archived`. Everything is read page by page through the same use cases the API calls, as
//! the system actor (HD-09 scope: all), and written as it is read: memory holds one page.
//!
//! Depends on fd-app's public use cases only.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use fd_app::domain::entities::Message;
use fd_app::domain::property::{PropertyType, format_time};
use fd_app::domain::{ConversationId, ObjectType, Workspace};
use fd_app::{Actor, App, CrmRecord, ThreadItem, ThreadQuery, ThreadSort};
use serde_json::{Value, json};

/// Records read per page.
const PAGE: i64 = 200;

/// Lines written per file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    pub tickets: u64,
    pub conversations: u64,
    pub messages: u64,
    pub contacts: u64,
    pub companies: u64,
}

/// The files `export` writes in `DIR`.
pub const FILES: [&str; 4] = [
    "tickets.jsonl",
    "conversations.jsonl",
    "contacts.jsonl",
    "companies.jsonl",
];

/// Writes the four files into `dir` (created when missing); refuses to overwrite an earlier
/// export's files.
pub async fn export(app: &App, dir: &Path) -> anyhow::Result<ExportSummary> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for f in FILES {
        if dir.join(f).exists() {
            bail!(
                "{} already exists; export into an empty directory",
                dir.join(f).display()
            );
        }
    }
    let tickets = export_records(app, ObjectType::Ticket, &dir.join("tickets.jsonl")).await?;
    let contacts = export_records(app, ObjectType::Contact, &dir.join("contacts.jsonl")).await?;
    let companies = export_records(app, ObjectType::Company, &dir.join("companies.jsonl")).await?;
    let (conversations, messages) =
        export_conversations(app, &dir.join("conversations.jsonl")).await?;
    Ok(ExportSummary {
        tickets,
        conversations,
        messages,
        contacts,
        companies,
    })
}

/// A JSON Lines file written through a buffer, flushed and synced when finished.
struct Lines {
    path: PathBuf,
    out: BufWriter<File>,
    count: u64,
}

impl Lines {
    fn create(path: &Path) -> anyhow::Result<Lines> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Lines {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            count: 0,
        })
    }

    fn line(&mut self, v: &Value) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.out, v)?;
        self.out
            .write_all(b"\n")
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> anyhow::Result<u64> {
        let file = self
            .out
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        file.sync_all()?;
        Ok(self.count)
    }
}

async fn export_records(app: &App, kind: ObjectType, path: &Path) -> anyhow::Result<u64> {
    let system = Actor::system();
    let types: BTreeMap<String, PropertyType> = app
        .properties(fd_app::properties_type(kind)?)
        .await?
        .into_iter()
        .map(|d| (d.name, d.kind))
        .collect();
    let mut lines = Lines::create(path)?;
    for archived in [false, true] {
        let mut after = 0;
        loop {
            let page = app
                .record_page(&system, kind, after, PAGE, archived)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for r in &page {
                lines.line(&record_json(r, &types))?;
            }
        }
    }
    lines.finish()
}

/// HubSpot's `SimplePublicObject` with every stored property.
fn record_json(r: &CrmRecord, types: &BTreeMap<String, PropertyType>) -> Value {
    let properties: serde_json::Map<String, Value> = r
        .values
        .iter()
        .map(|(name, raw)| {
            let v = match types.get(name) {
                Some(PropertyType::Datetime) => raw
                    .parse::<i64>()
                    .map(format_time)
                    .unwrap_or_else(|_| raw.clone()),
                Some(PropertyType::Date) => raw
                    .parse::<i64>()
                    .map(|ms| format_time(ms).chars().take(10).collect())
                    .unwrap_or_else(|_| raw.clone()),
                _ => raw.clone(),
            };
            (name.clone(), Value::String(v))
        })
        .collect();
    json!({
        "id": r.id.to_string(),
        "properties": properties,
        "createdAt": format_time(r.created_at),
        "updatedAt": format_time(r.updated_at),
        "archived": r.archived_at.is_some(),
        "archivedAt": r.archived_at.map(format_time),
    })
}

async fn export_conversations(app: &App, path: &Path) -> anyhow::Result<(u64, u64)> {
    let system = Actor::system();
    let mut lines = Lines::create(path)?;
    let mut messages = 0;
    for archived in [false, true] {
        let mut offset = 0;
        loop {
            // Id order: conversations created meanwhile land after the pages already read.
            let page = app
                .threads(
                    &system,
                    &ThreadQuery {
                        workspaces: vec![Workspace::HelpDesk, Workspace::Inbox],
                        contact: None,
                        status: None,
                        archived,
                        latest_message_after: None,
                        sort: ThreadSort::IdAsc,
                        offset,
                        limit: PAGE,
                    },
                )
                .await?;
            if page.is_empty() {
                break;
            }
            offset += page.len() as i64;
            for c in &page {
                let items = app.thread_items(&system, c.id).await?;
                messages += items
                    .iter()
                    .filter(|i| matches!(i, ThreadItem::Message(_)))
                    .count() as u64;
                lines.line(&conversation_json(c, &items))?;
            }
        }
    }
    Ok((lines.finish()?, messages))
}

fn conversation_json(c: &fd_app::domain::entities::Conversation, items: &[ThreadItem]) -> Value {
    let id = |v: Option<i64>| v.map(|i| i.to_string());
    json!({
        "id": c.id.0.to_string(),
        "status": c.status.as_str(),
        "channel": c.channel.as_str(),
        "channelAccount": c.channel_account,
        "inbox": c.workspace.as_str(),
        "subject": c.subject,
        "assignedTo": id(c.owner_id.map(|u| u.0)),
        "teamId": id(c.team_id.map(|t| t.0)),
        "associatedContactId": id(c.contact_id.map(|x| x.0)),
        "associatedTicketId": id(c.ticket_id.map(|t| t.0)),
        "visitorName": c.visitor_name,
        "visitorEmail": c.visitor_email,
        "createdAt": format_time(c.created_at),
        "latestMessageTimestamp": format_time(c.last_message_at),
        "closedAt": c.closed_at.map(format_time),
        "archived": c.trashed_at.is_some(),
        "messages": items.iter().map(|i| item_json(c.id, i)).collect::<Vec<_>>(),
    })
}

fn item_json(conversation: ConversationId, item: &ThreadItem) -> Value {
    match item {
        ThreadItem::Message(m) => message_json(conversation, m),
        ThreadItem::Comment(c) => json!({
            "id": format!("c{}", c.id.0),
            "type": "COMMENT",
            "conversationsThreadId": conversation.0.to_string(),
            "createdAt": format_time(c.created_at),
            "text": c.body,
            "senderUserId": c.author_id.map(|u| u.0.to_string()),
        }),
    }
}

fn message_json(conversation: ConversationId, m: &Message) -> Value {
    json!({
        "id": m.id.0.to_string(),
        "type": "MESSAGE",
        "conversationsThreadId": conversation.0.to_string(),
        "createdAt": format_time(m.created_at),
        "direction": m.direction.as_str(),
        "channel": m.channel.as_str(),
        "senders": [{
            "name": m.sender_name,
            "deliveryIdentifier": m.sender_address,
            "userId": m.sender_user_id.map(|u| u.0.to_string()),
        }],
        "recipients": m.recipients,
        "subject": m.subject,
        "text": m.text,
        "richText": m.html,
        "attachments": m.attachments.iter().map(|a| json!({
            "fileName": a.filename,
            "contentType": a.content_type,
            "size": a.size,
            "sha256": a.sha256,
        })).collect::<Vec<_>>(),
        "messageIdHeader": m.message_id_header,
        "inReplyTo": m.in_reply_to,
        "status": m.status.as_str(),
        "statusDetail": m.status_detail,
    })
}
