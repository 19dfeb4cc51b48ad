//! Queries behind the agents' web UI (issue 5): the reply libraries (HD-16), custom views
//! (HD-04), the Mentions view, the bell's unread count and the list's contact column.

use fd_domain::*;

use crate::crm::CONTACT_COLUMNS;
use crate::records::TICKET_COLUMNS;
use crate::records::ticket_from_row;
use crate::scope::push_ticket_scope;
use crate::{Contact, Sql, StoreError, Ticket, Tx, args};

/// A snippet, template or knowledge-base article (HD-16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryItem {
    pub id: i64,
    /// `snippet`, `template` or `article`.
    pub kind: String,
    pub title: String,
    pub body_html: String,
    pub created_by: Option<UserId>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A named view of the help desk list (HD-04: custom views; issue 16 item 4: shared).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    pub id: i64,
    /// Who created it; the owner of a personal view.
    pub user_id: UserId,
    /// `user`, `team` or `everyone` (`fd_domain::views::ViewOwner::kind`).
    pub owner_kind: String,
    pub team_id: Option<TeamId>,
    pub name: String,
    /// The list's query string of a view saved before views were shared; empty since.
    pub query: String,
    /// `fd_domain::views::ViewDefinition` as JSON; `None` for older rows.
    pub definition: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

const VIEW_COLUMNS: &str =
    "id, user_id, owner_kind, team_id, name, query, definition, created_at, updated_at";

fn view_from_row(r: &crate::Row) -> Result<SavedView, StoreError> {
    let created_at = r.i64("created_at")?;
    Ok(SavedView {
        id: r.i64("id")?,
        user_id: UserId(r.i64("user_id")?),
        owner_kind: r.string("owner_kind")?,
        team_id: r.opt_i64("team_id")?.map(TeamId),
        name: r.string("name")?,
        query: r.string("query")?,
        definition: r.opt_string("definition")?,
        created_at,
        updated_at: r.opt_i64("updated_at")?.unwrap_or(created_at),
    })
}

fn library_from_row(r: &crate::Row) -> Result<LibraryItem, StoreError> {
    Ok(LibraryItem {
        id: r.i64("id")?,
        kind: r.string("kind")?,
        title: r.string("title")?,
        body_html: r.string("body_html")?,
        created_by: r.opt_i64("created_by")?.map(UserId),
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
    })
}

impl Tx {
    pub async fn insert_library_item(&mut self, item: &LibraryItem) -> Result<i64, StoreError> {
        let r = self
            .one(
                "INSERT INTO library_items (kind, title, body_html, created_by, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
                args![
                    item.kind.as_str(),
                    item.title.as_str(),
                    item.body_html.as_str(),
                    item.created_by,
                    item.created_at
                ],
            )
            .await?;
        r.i64("id")
    }

    pub async fn update_library_item(
        &mut self,
        id: i64,
        title: &str,
        body_html: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE library_items SET title = $2, body_html = $3, updated_at = $4 WHERE id = $1 AND archived = FALSE",
                args![id, title, body_html, now],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn archive_library_item(&mut self, id: i64, now: Millis) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE library_items SET archived = TRUE, updated_at = $2 WHERE id = $1 AND archived = FALSE",
                args![id, now],
            )
            .await?;
        Ok(n == 1)
    }

    /// Live items, by kind then title (all kinds when `kind` is `None`).
    pub async fn library_items(
        &mut self,
        kind: Option<&str>,
    ) -> Result<Vec<LibraryItem>, StoreError> {
        let mut sql = Sql::new(
            "SELECT id, kind, title, body_html, created_by, created_at, updated_at FROM library_items \
             WHERE archived = FALSE",
        );
        if let Some(k) = kind {
            sql.push(" AND kind = ").bind(k);
        }
        sql.push(" ORDER BY kind, title, id");
        let rows = self.all_sql(sql).await?;
        rows.iter().map(library_from_row).collect()
    }

    pub async fn library_item(&mut self, id: i64) -> Result<Option<LibraryItem>, StoreError> {
        self.opt(
            "SELECT id, kind, title, body_html, created_by, created_at, updated_at FROM library_items \
             WHERE id = $1 AND archived = FALSE",
            args![id],
        )
        .await?
        .as_ref()
        .map(library_from_row)
        .transpose()
    }

    pub async fn insert_saved_view(&mut self, v: &SavedView) -> Result<i64, StoreError> {
        let r = self
            .one(
                "INSERT INTO saved_views (user_id, owner_kind, team_id, name, query, definition, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                args![
                    v.user_id,
                    v.owner_kind.as_str(),
                    v.team_id,
                    v.name.as_str(),
                    v.query.as_str(),
                    v.definition.clone(),
                    v.created_at,
                    v.updated_at
                ],
            )
            .await?;
        r.i64("id")
    }

    /// Rewrites a view's owner, name and definition (the creator stays).
    pub async fn update_saved_view(&mut self, v: &SavedView) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE saved_views SET owner_kind = $2, team_id = $3, name = $4, query = $5, \
                 definition = $6, updated_at = $7 WHERE id = $1",
                args![
                    v.id,
                    v.owner_kind.as_str(),
                    v.team_id,
                    v.name.as_str(),
                    v.query.as_str(),
                    v.definition.clone(),
                    v.updated_at
                ],
            )
            .await?;
        Ok(n == 1)
    }

    pub async fn saved_view(&mut self, id: i64) -> Result<Option<SavedView>, StoreError> {
        self.opt(
            &format!("SELECT {VIEW_COLUMNS} FROM saved_views WHERE id = $1"),
            args![id],
        )
        .await?
        .as_ref()
        .map(view_from_row)
        .transpose()
    }

    /// The views `user` sees (`fd_domain::views::may_see`): their personal views, their
    /// teams' views (every team's for an administrator, `all_teams`) and the views for
    /// everyone; personal first, then by name.
    pub async fn views_visible_to(
        &mut self,
        user: UserId,
        teams: &[TeamId],
        all_teams: bool,
    ) -> Result<Vec<SavedView>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {VIEW_COLUMNS} FROM saved_views WHERE owner_kind = 'everyone' \
             OR (owner_kind = 'user' AND user_id = "
        ));
        sql.bind(user).push(")");
        if all_teams {
            sql.push(" OR owner_kind = 'team'");
        } else if !teams.is_empty() {
            sql.push(" OR (owner_kind = 'team' AND team_id IN (")
                .bind_list(teams.iter().map(|t| t.0).collect::<Vec<i64>>())
                .push("))");
        }
        sql.push(" ORDER BY owner_kind DESC, LOWER(name), id");
        let rows = self.all_sql(sql).await?;
        rows.iter().map(view_from_row).collect()
    }

    pub async fn delete_saved_view(&mut self, id: i64) -> Result<bool, StoreError> {
        let n = self
            .exec("DELETE FROM saved_views WHERE id = $1", args![id])
            .await?;
        Ok(n == 1)
    }

    /// The Mentions view: live tickets on which `user` was @mentioned, newest activity first,
    /// scoped (HD-09).
    pub async fn mentioned_tickets(
        &mut self,
        scope: &ViewerScope,
        user: UserId,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Ticket>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.trashed_at IS NULL AND t.id IN ({}",
            MENTIONED_TICKET_IDS
        ));
        sql.bind(user);
        sql.push(")");
        // The bind above closes the sub-select's placeholder; the scope follows.
        push_ticket_scope(&mut sql, scope, "t");
        sql.push(" ORDER BY t.last_activity_at DESC, t.id DESC LIMIT ")
            .bind(limit.clamp(0, 1000))
            .push(" OFFSET ")
            .bind(offset.max(0));
        let rows = self.all_sql(sql).await?;
        rows.iter().map(ticket_from_row).collect()
    }

    pub async fn count_mentioned_tickets(
        &mut self,
        scope: &ViewerScope,
        user: UserId,
    ) -> Result<i64, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT COUNT(*) AS n FROM tickets t WHERE t.trashed_at IS NULL AND t.id IN ({}",
            MENTIONED_TICKET_IDS
        ));
        sql.bind(user);
        sql.push(")");
        push_ticket_scope(&mut sql, scope, "t");
        self.count_sql(sql).await
    }

    pub async fn unread_notification_count(
        &mut self,
        user: UserId,
        scope: &ViewerScope,
    ) -> Result<i64, StoreError> {
        let mut sql = Sql::new(
            "SELECT COUNT(*) AS n FROM notifications n WHERE n.read_at IS NULL AND n.user_id = ",
        );
        sql.bind(user);
        if !matches!(scope, ViewerScope::All) {
            // EXISTS by primary key, not `IN (SELECT …)`, which scans every visible ticket.
            sql.push(" AND (n.ticket_id IS NULL OR EXISTS (SELECT 1 FROM tickets t WHERE t.id = n.ticket_id");
            push_ticket_scope(&mut sql, scope, "t");
            sql.push("))");
        }
        self.count_sql(sql).await
    }

    /// The contacts associated with each of `tickets` (the list's Contact column).
    pub async fn contacts_of_tickets(
        &mut self,
        tickets: &[TicketId],
    ) -> Result<Vec<(TicketId, Contact)>, StoreError> {
        if tickets.is_empty() {
            return Ok(Vec::new());
        }
        let cols = CONTACT_COLUMNS
            .split(", ")
            .map(|c| format!("k.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut sql = Sql::new(&format!(
            "SELECT a.from_id AS ticket_id, {cols} FROM associations a JOIN contacts k ON k.id = a.to_id \
             WHERE a.from_type = 'ticket' AND a.to_type = 'contact' AND a.from_id IN ("
        ));
        sql.bind_list(tickets.iter().copied())
            .push(") ORDER BY a.from_id, k.id");
        let rows = self.all_sql(sql).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push((
                TicketId(r.i64("ticket_id")?),
                crate::crm::contact_from_row(r)?,
            ));
        }
        out.dedup_by(|a, b| a.0 == b.0 && a.1.id == b.1.id);
        Ok(out)
    }

    /// The newest inbound message of a conversation (the stale-reply check compares it with
    /// what the agent had seen).
    pub async fn latest_inbound_message_id(
        &mut self,
        conversation: ConversationId,
    ) -> Result<Option<MessageId>, StoreError> {
        self.opt(
            "SELECT id FROM messages WHERE conversation_id = $1 AND direction = 'INCOMING' \
             ORDER BY created_at DESC, id DESC LIMIT 1",
            args![conversation],
        )
        .await?
        .map(|r| r.i64("id").map(MessageId))
        .transpose()
    }

    /// The live contacts associated with a company (the company page).
    pub async fn contacts_of_company(
        &mut self,
        company: CompanyId,
    ) -> Result<Vec<Contact>, StoreError> {
        let cols = CONTACT_COLUMNS
            .split(", ")
            .map(|c| format!("k.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT DISTINCT {cols} FROM associations a JOIN contacts k ON k.id = a.to_id \
             WHERE a.from_type = 'company' AND a.from_id = $1 AND a.to_type = 'contact' AND k.archived_at IS NULL \
             ORDER BY k.id LIMIT 500"
        );
        let rows = self.all(&sql, args![company]).await?;
        rows.iter().map(crate::crm::contact_from_row).collect()
    }
}

/// Ticket ids whose comments (on the ticket or one of its conversations) mention `$N`.
const MENTIONED_TICKET_IDS: &str = "SELECT COALESCE(cm.ticket_id, cv.ticket_id) FROM comment_mentions m \
     JOIN comments cm ON cm.id = m.comment_id LEFT JOIN conversations cv ON cv.id = cm.conversation_id \
     WHERE m.user_id = ";
