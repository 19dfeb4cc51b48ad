//! Tickets: rows, custom property values, scoped lists, counts and search, trash and purge.

use std::collections::BTreeMap;

use fd_domain::*;

use crate::records::TICKET_COLUMNS;
use crate::records::ticket_from_row;
use crate::scope::push_ticket_scope;
use crate::search::{MatchUse, push_text_search, ticket_matches_capped};
use crate::{Backend, Sql, StoreError, Ticket, Tx, args};

/// The built-in views of the help desk's left panel (HD-01), plus "everything live".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketView {
    /// Every live (not trashed) ticket.
    All,
    AllOpen,
    Unassigned,
    AssignedTo(UserId),
    Following(UserId),
    Closed,
    Trash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketSort {
    LastActivityDesc,
    CreatedDesc,
    CreatedAsc,
    /// The web UI's sortable columns (issue 5).
    LastActivityAsc,
    SubjectAsc,
    SubjectDesc,
    /// Urgent first; tickets without a priority last.
    PriorityDesc,
    PriorityAsc,
    /// The SLA clock a list shows (`ticket_sla.relevant_due`), soonest first; tickets
    /// without a counting clock last (issue 16 item 1).
    SlaDueAsc,
}

#[derive(Debug, Clone)]
pub struct TicketListQuery {
    pub view: TicketView,
    pub sort: TicketSort,
    pub limit: i64,
    pub offset: i64,
    /// Case-insensitive text to find in the name or description.
    pub text: Option<String>,
    pub pipeline: Option<PipelineId>,
    pub stage: Option<StageId>,
    pub priority: Option<String>,
    /// The SLA state of the clock a list shows (`ticket_sla.relevant_status`): `breached`,
    /// `due_soon`, `at_risk` (either), `running`, `paused`, `met` or `met_late`.
    pub sla: Option<String>,
    /// Property filters (ANDed) in the HubSpot search's terms: a shared view's definition
    /// compiles into these (issue 16 item 4), applied by `search.rs`'s own filter SQL.
    pub filters: Vec<crate::search::SearchFilter>,
}

impl Default for TicketListQuery {
    fn default() -> Self {
        TicketListQuery {
            view: TicketView::AllOpen,
            sort: TicketSort::LastActivityDesc,
            limit: 25,
            offset: 0,
            text: None,
            pipeline: None,
            stage: None,
            priority: None,
            sla: None,
            filters: Vec::new(),
        }
    }
}

fn push_view_filter(
    sql: &mut Sql,
    backend: Backend,
    scope: &ViewerScope,
    q: &TicketListQuery,
    how: MatchUse,
) -> Result<(), StoreError> {
    match q.view {
        TicketView::All => sql.push(" AND t.trashed_at IS NULL"),
        TicketView::AllOpen => sql.push(" AND t.trashed_at IS NULL AND t.is_open = TRUE"),
        TicketView::Unassigned => {
            sql.push(" AND t.trashed_at IS NULL AND t.is_open = TRUE AND t.owner_id IS NULL")
        }
        TicketView::AssignedTo(u) => sql
            .push(" AND t.trashed_at IS NULL AND t.is_open = TRUE AND t.owner_id = ")
            .bind(u),
        TicketView::Following(u) => sql
            .push(" AND t.trashed_at IS NULL AND t.id IN (SELECT f.ticket_id FROM follows f WHERE f.user_id = ")
            .bind(u)
            .push(")"),
        TicketView::Closed => sql.push(" AND t.trashed_at IS NULL AND t.is_open = FALSE"),
        // A merged-away ticket is kept trashed for unmerge, but it was not deleted (0017).
        TicketView::Trash => sql.push(
            " AND t.trashed_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ticket_merges tm WHERE tm.merged_id = t.id)",
        ),
    };
    if let Some(p) = q.pipeline {
        sql.push(" AND t.pipeline_id = ").bind(p);
    }
    if let Some(s) = q.stage {
        sql.push(" AND t.stage_id = ").bind(s);
    }
    if let Some(p) = &q.priority {
        sql.push(" AND t.priority = ").bind(p.as_str());
    }
    if let Some(s) = &q.sla {
        crate::sla::push_sla_filter(sql, s);
    }
    for f in &q.filters {
        sql.push(" AND ");
        crate::search::push_ticket_filter(sql, scope, f)?;
    }
    if let Some(text) = &q.text {
        push_text_search(sql, backend, ObjectType::Ticket, text, how);
    }
    Ok(())
}

/// Columns of a ticket row as the store writes them.
pub(crate) fn ticket_args(t: &Ticket) -> Vec<crate::Arg> {
    args![
        t.subject.as_str(),
        t.content.clone(),
        t.pipeline_id,
        t.stage_id,
        t.priority.clone(),
        t.category.clone(),
        t.owner_id,
        t.team_id,
        t.source_type.clone(),
        t.workspace.as_str(),
        t.is_open,
        t.created_by,
        t.created_at,
        t.updated_at,
        t.closed_at,
        t.last_activity_at,
        t.trashed_at
    ]
}

impl Tx {
    /// Inserts a ticket row and its custom values; returns its id.
    pub async fn insert_ticket(&mut self, t: &Ticket) -> Result<TicketId, StoreError> {
        let r = self
            .one(
                "INSERT INTO tickets (subject, content, pipeline_id, stage_id, priority, category, owner_id, \
                 team_id, source_type, workspace, is_open, created_by, created_at, updated_at, closed_at, \
                 last_activity_at, trashed_at, version) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 1) RETURNING id",
                ticket_args(t),
            )
            .await?;
        let id = TicketId(r.i64("id")?);
        for (name, value) in &t.custom {
            self.set_property_value("tickets", id.0, name, Some(value))
                .await?;
        }
        Ok(id)
    }

    /// Writes every column of `t` if its stored version is still `t.version`; bumps the version.
    /// Returns false when another writer got there first (the caller reports a conflict).
    pub async fn save_ticket(&mut self, t: &Ticket) -> Result<bool, StoreError> {
        let mut a = ticket_args(t);
        a.push(t.id.into());
        a.push(t.version.into());
        let n = self
            .exec(
                "UPDATE tickets SET subject = $1, content = $2, pipeline_id = $3, stage_id = $4, priority = $5, \
                 category = $6, owner_id = $7, team_id = $8, source_type = $9, workspace = $10, is_open = $11, \
                 created_by = $12, created_at = $13, updated_at = $14, closed_at = $15, last_activity_at = $16, \
                 trashed_at = $17, version = version + 1 WHERE id = $18 AND version = $19",
                a,
            )
            .await?;
        Ok(n == 1)
    }

    /// Whether a ticket is open and whether it is in the trash, without loading it (a hot
    /// path's check before deciding to lock and change it); `None` when it does not exist.
    pub async fn ticket_open_state(
        &mut self,
        id: TicketId,
    ) -> Result<Option<(bool, bool)>, StoreError> {
        match self
            .opt(
                "SELECT is_open, trashed_at FROM tickets WHERE id = $1",
                args![id],
            )
            .await?
        {
            Some(r) => Ok(Some((
                r.bool("is_open")?,
                r.opt_i64("trashed_at")?.is_some(),
            ))),
            None => Ok(None),
        }
    }

    /// Marks activity on a ticket (a message or comment) without touching its properties.
    pub async fn touch_ticket(&mut self, id: TicketId, now: Millis) -> Result<(), StoreError> {
        self.exec(
            "UPDATE tickets SET last_activity_at = $2 WHERE id = $1 AND last_activity_at < $2",
            args![id, now],
        )
        .await?;
        Ok(())
    }

    pub async fn set_property_value(
        &mut self,
        object_type: &str,
        object_id: i64,
        name: &str,
        value: Option<&str>,
    ) -> Result<(), StoreError> {
        match value {
            Some(v) => {
                self.exec(
                    "INSERT INTO property_values (object_type, object_id, name, value) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (object_type, object_id, name) DO UPDATE SET value = $4",
                    args![object_type, object_id, name, v],
                )
                .await?
            }
            None => {
                self.exec(
                    "DELETE FROM property_values WHERE object_type = $1 AND object_id = $2 AND name = $3",
                    args![object_type, object_id, name],
                )
                .await?
            }
        };
        Ok(())
    }

    pub async fn property_values(
        &mut self,
        object_type: &str,
        object_id: i64,
    ) -> Result<BTreeMap<String, String>, StoreError> {
        let rows = self
            .all(
                "SELECT name, value FROM property_values WHERE object_type = $1 AND object_id = $2",
                args![object_type, object_id],
            )
            .await?;
        rows.iter()
            .map(|r| Ok((r.string("name")?, r.string("value")?)))
            .collect()
    }

    async fn fill_custom(&mut self, tickets: &mut [Ticket]) -> Result<(), StoreError> {
        if tickets.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new(
            "SELECT object_id, name, value FROM property_values WHERE object_type = 'tickets' AND object_id IN (",
        );
        sql.bind_list(tickets.iter().map(|t| t.id)).push(")");
        for r in self.all_sql(sql).await? {
            let id = r.i64("object_id")?;
            if let Some(t) = tickets.iter_mut().find(|t| t.id.0 == id) {
                t.custom.insert(r.string("name")?, r.string("value")?);
            }
        }
        Ok(())
    }

    /// A ticket the viewer may see (trashed ones included; callers check `trashed_at`).
    pub async fn ticket(
        &mut self,
        scope: &ViewerScope,
        id: TicketId,
    ) -> Result<Option<Ticket>, StoreError> {
        self.ticket_inner(scope, id, false).await
    }

    /// The same, locking the row for the rest of the write transaction.
    pub async fn ticket_for_update(
        &mut self,
        scope: &ViewerScope,
        id: TicketId,
    ) -> Result<Option<Ticket>, StoreError> {
        self.ticket_inner(scope, id, true).await
    }

    async fn ticket_inner(
        &mut self,
        scope: &ViewerScope,
        id: TicketId,
        lock: bool,
    ) -> Result<Option<Ticket>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id = "
        ));
        sql.bind(id);
        push_ticket_scope(&mut sql, scope, "t");
        if lock {
            sql.push(self.lock_rows());
        }
        let Some(r) = self.opt_sql(sql).await? else {
            return Ok(None);
        };
        let mut t = vec![ticket_from_row(&r)?];
        self.fill_custom(&mut t).await?;
        Ok(t.pop())
    }

    /// Does the ticket exist at all (regardless of who is asking)? Lets callers tell
    /// "not found" from "not yours" without leaking the row.
    pub async fn ticket_exists(&mut self, id: TicketId) -> Result<bool, StoreError> {
        Ok(self
            .opt("SELECT 1 AS one FROM tickets WHERE id = $1", args![id])
            .await?
            .is_some())
    }

    /// Several tickets by id, keeping only those the viewer may see.
    pub async fn tickets_by_ids(
        &mut self,
        scope: &ViewerScope,
        ids: &[TicketId],
    ) -> Result<Vec<Ticket>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = Sql::new(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id IN ("
        ));
        sql.bind_list(ids.iter().copied()).push(")");
        push_ticket_scope(&mut sql, scope, "t");
        sql.push(" ORDER BY t.id");
        let rows = self.all_sql(sql).await?;
        let mut out = rows
            .iter()
            .map(ticket_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.fill_custom(&mut out).await?;
        Ok(out)
    }

    /// A page of a view, scoped to what the viewer may see (HD-09).
    pub async fn list_tickets(
        &mut self,
        scope: &ViewerScope,
        q: &TicketListQuery,
    ) -> Result<Vec<Ticket>, StoreError> {
        let how = self.text_match_use(q).await?;
        let mut sql = Sql::new(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t WHERE 1 = 1"
        ));
        push_view_filter(&mut sql, self.backend(), scope, q, how)?;
        push_ticket_scope(&mut sql, scope, "t");
        sql.push(match q.sort {
            TicketSort::LastActivityDesc => " ORDER BY t.last_activity_at DESC, t.id DESC",
            TicketSort::CreatedDesc => " ORDER BY t.created_at DESC, t.id DESC",
            TicketSort::CreatedAsc => " ORDER BY t.created_at ASC, t.id ASC",
            TicketSort::LastActivityAsc => " ORDER BY t.last_activity_at ASC, t.id ASC",
            TicketSort::SubjectAsc => " ORDER BY LOWER(t.subject) ASC, t.id ASC",
            TicketSort::SubjectDesc => " ORDER BY LOWER(t.subject) DESC, t.id DESC",
            TicketSort::PriorityDesc => {
                " ORDER BY (CASE priority WHEN 'URGENT' THEN 4 WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 1 ELSE 0 END) DESC, t.last_activity_at DESC, t.id DESC"
            }
            TicketSort::PriorityAsc => {
                " ORDER BY (CASE priority WHEN 'URGENT' THEN 4 WHEN 'HIGH' THEN 3 WHEN 'MEDIUM' THEN 2 WHEN 'LOW' THEN 1 ELSE 5 END) ASC, t.last_activity_at DESC, t.id DESC"
            }
            TicketSort::SlaDueAsc => crate::sla::SLA_DUE_ORDER,
        });
        sql.push(" LIMIT ")
            .bind(q.limit.clamp(0, 1000))
            .push(" OFFSET ")
            .bind(q.offset.max(0));
        let rows = self.all_sql(sql).await?;
        let mut out = rows
            .iter()
            .map(ticket_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.fill_custom(&mut out).await?;
        Ok(out)
    }

    /// Every ticket id of a view with its filters, scoped to what the viewer may see (HD-09),
    /// in id order: a bulk action's "all N matching this filter", resolved here rather than
    /// from the ids a page showed. Ids only, so 10,000 matches stay small.
    pub async fn ticket_ids_matching(
        &mut self,
        scope: &ViewerScope,
        q: &TicketListQuery,
    ) -> Result<Vec<TicketId>, StoreError> {
        let mut sql = Sql::new("SELECT t.id AS id FROM tickets t WHERE 1 = 1");
        push_view_filter(&mut sql, self.backend(), scope, q, MatchUse::Drive)?;
        push_ticket_scope(&mut sql, scope, "t");
        sql.push(" ORDER BY t.id");
        let rows = self.all_sql(sql).await?;
        rows.iter().map(|r| Ok(TicketId(r.i64("id")?))).collect()
    }

    /// How a page of a search should use the full-text matches (SQLite). A page of a
    /// search whose words are common is found by walking the page's ordering index and
    /// keeping the matches, a few dozen entries in; looking every match up and sorting them
    /// cost 100 ms and more at a million tickets. Few matches are looked up directly, as
    /// walking the index for them could pass most of the desk. Walking needs an index in
    /// the page's order: the latest activity over every state (`tickets_live_recent`), or
    /// any sort within one state.
    async fn text_match_use(&mut self, q: &TicketListQuery) -> Result<MatchUse, StoreError> {
        /// Matches up to which looking each one up is cheaper than walking an index.
        const FEW_MATCHES: i64 = 2_000;
        let Some(text) = q.text.as_deref() else {
            return Ok(MatchUse::Drive);
        };
        let ordered_walk = match q.view {
            TicketView::All => q.sort == TicketSort::LastActivityDesc,
            TicketView::AllOpen
            | TicketView::Closed
            | TicketView::Unassigned
            | TicketView::AssignedTo(_) => true,
            TicketView::Following(_) | TicketView::Trash => false,
        };
        if self.backend() != Backend::Sqlite || !ordered_walk {
            return Ok(MatchUse::Drive);
        }
        let Some(count) = ticket_matches_capped(text, FEW_MATCHES + 1) else {
            return Ok(MatchUse::Drive);
        };
        Ok(if self.count_sql(count).await? > FEW_MATCHES {
            MatchUse::Filter
        } else {
            MatchUse::Drive
        })
    }

    /// How many tickets a view holds for this viewer (the counts beside the views). Views
    /// over the columns `ticket_tallies` keeps (migration 0011) are summed from it; a followed
    /// view, the trash or a text search counts the tickets themselves.
    pub async fn count_tickets(
        &mut self,
        scope: &ViewerScope,
        q: &TicketListQuery,
    ) -> Result<i64, StoreError> {
        // The trash is counted: merged-away tickets are kept trashed (0017) but are not in it.
        if q.text.is_none()
            && q.sla.is_none()
            && q.filters.is_empty()
            && !matches!(q.view, TicketView::Following(_) | TicketView::Trash)
        {
            return self.count_tickets_tallied(scope, q).await;
        }
        self.count_tickets_counted(scope, q).await
    }

    /// [`Tx::count_tickets`] by counting the tickets (what the tallies must always agree with).
    pub async fn count_tickets_counted(
        &mut self,
        scope: &ViewerScope,
        q: &TicketListQuery,
    ) -> Result<i64, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) AS n FROM tickets t WHERE 1 = 1");
        push_view_filter(&mut sql, self.backend(), scope, q, MatchUse::Drive)?;
        push_ticket_scope(&mut sql, scope, "t");
        self.count_sql(sql).await
    }

    async fn count_tickets_tallied(
        &mut self,
        scope: &ViewerScope,
        q: &TicketListQuery,
    ) -> Result<i64, StoreError> {
        // The sum is NUMERIC on PostgreSQL: cast back to the count's type.
        let mut sql = Sql::new(
            "SELECT CAST(COALESCE(SUM(t.n), 0) AS BIGINT) AS n FROM ticket_tallies t WHERE 1 = 1",
        );
        match q.view {
            TicketView::All => sql.push(" AND t.trashed = FALSE"),
            TicketView::AllOpen => sql.push(" AND t.trashed = FALSE AND t.is_open = TRUE"),
            TicketView::Unassigned => {
                sql.push(" AND t.trashed = FALSE AND t.is_open = TRUE AND t.owner_id = 0")
            }
            TicketView::AssignedTo(u) => sql
                .push(" AND t.trashed = FALSE AND t.is_open = TRUE AND t.owner_id = ")
                .bind(u),
            TicketView::Closed => sql.push(" AND t.trashed = FALSE AND t.is_open = FALSE"),
            TicketView::Trash => sql.push(" AND t.trashed = TRUE"),
            TicketView::Following(_) => {
                return Err(StoreError::Internal(
                    "followed tickets are not tallied".into(),
                ));
            }
        };
        if let Some(p) = q.pipeline {
            sql.push(" AND t.pipeline_id = ").bind(p);
        }
        if let Some(s) = q.stage {
            sql.push(" AND t.stage_id = ").bind(s);
        }
        if let Some(p) = &q.priority {
            sql.push(" AND t.priority = ").bind(p.as_str());
        }
        // Absent owners and teams are 0 here, which no scope names: the scope reads the same.
        push_ticket_scope(&mut sql, scope, "t");
        self.count_sql(sql).await
    }

    /// Folds `ticket_tallies`' rows per combination into one and drops empty ones
    /// (PostgreSQL's trigger appends a row per change; SQLite's keeps one per combination).
    pub async fn compact_ticket_tallies(&mut self) -> Result<(), StoreError> {
        if self.backend() == crate::Backend::Sqlite {
            self.exec("DELETE FROM ticket_tallies WHERE n = 0", args![])
                .await?;
            return Ok(());
        }
        // Only rows this statement's snapshot sees are folded: rows other transactions add
        // meanwhile stay as they are, so no sum changes.
        self.exec(
            "WITH gone AS (DELETE FROM ticket_tallies RETURNING *) \
             INSERT INTO ticket_tallies (is_open, trashed, owner_id, team_id, pipeline_id, stage_id, priority, n) \
             SELECT is_open, trashed, owner_id, team_id, pipeline_id, stage_id, priority, SUM(n) FROM gone \
             GROUP BY is_open, trashed, owner_id, team_id, pipeline_id, stage_id, priority HAVING SUM(n) <> 0",
            args![],
        )
        .await?;
        Ok(())
    }

    /// Live tickets associated with a CRM record, scoped (contact and company pages).
    pub async fn tickets_of(
        &mut self,
        scope: &ViewerScope,
        other: ObjectType,
        other_id: i64,
    ) -> Result<Vec<Ticket>, StoreError> {
        let mut sql = Sql::new(&format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.trashed_at IS NULL AND t.id IN \
             (SELECT a.to_id FROM associations a WHERE a.from_type = "
        ));
        sql.bind(other.as_str())
            .push(" AND a.from_id = ")
            .bind(other_id)
            .push(" AND a.to_type = 'ticket')");
        push_ticket_scope(&mut sql, scope, "t");
        sql.push(" ORDER BY t.last_activity_at DESC, t.id DESC LIMIT 200");
        let rows = self.all_sql(sql).await?;
        let mut out = rows
            .iter()
            .map(ticket_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        self.fill_custom(&mut out).await?;
        Ok(out)
    }

    /// Ids of tickets trashed before `cutoff` (the purge job's work list).
    pub async fn trashed_tickets_before(
        &mut self,
        cutoff: Millis,
        limit: i64,
    ) -> Result<Vec<TicketId>, StoreError> {
        let rows = self
            .all(
                "SELECT id FROM tickets WHERE trashed_at IS NOT NULL AND trashed_at < $1 \
                 AND id NOT IN (SELECT merged_id FROM ticket_merges) ORDER BY id LIMIT $2",
                args![cutoff, limit],
            )
            .await?;
        rows.iter().map(|r| Ok(TicketId(r.i64("id")?))).collect()
    }

    /// Deletes a ticket for good, with everything that hangs off it.
    pub async fn purge_ticket(&mut self, id: TicketId, now: Millis) -> Result<(), StoreError> {
        // Tickets merged into this one go with it: they are kept only to be unmerged (0017).
        let merged = self
            .all(
                "SELECT merged_id FROM ticket_merges WHERE survivor_id = $1",
                args![id],
            )
            .await?;
        for m in merged {
            Box::pin(self.purge_ticket(TicketId(m.i64("merged_id")?), now)).await?;
        }
        let convs = self
            .all(
                "SELECT id FROM conversations WHERE ticket_id = $1",
                args![id],
            )
            .await?;
        for c in convs {
            self.purge_conversation(ConversationId(c.i64("id")?))
                .await?;
        }
        self.exec(
            "DELETE FROM associations WHERE (from_type = 'ticket' AND from_id = $1) OR (to_type = 'ticket' AND to_id = $1)",
            args![id],
        )
        .await?;
        self.exec(
            "DELETE FROM property_values WHERE object_type = 'tickets' AND object_id = $1",
            args![id],
        )
        .await?;
        // Rows recorded earlier in this transaction must go too.
        self.flush_activity().await?;
        self.exec(
            "DELETE FROM activity WHERE object_type = 'ticket' AND object_id = $1",
            args![id],
        )
        .await?;
        self.exec(
            "DELETE FROM agent_reads WHERE object_type = 'ticket' AND object_id = $1",
            args![id],
        )
        .await?;
        self.exec("DELETE FROM tickets WHERE id = $1", args![id])
            .await?;
        self.note_change(
            fd_domain::webhooks::Change {
                object: fd_domain::webhooks::EventObject::Ticket,
                object_id: id.0,
                kind: fd_domain::webhooks::ChangeKind::Deleted { purged: true },
                actor: ActorRef::System,
                at: now,
            },
            true,
        );
        Ok(())
    }
}
