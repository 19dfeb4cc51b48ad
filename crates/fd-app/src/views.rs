//! Shared views (issue 16 item 4, HD-04): listing the views a user sees, creating, changing
//! and deleting them under `fd_domain::views`' rules, and compiling a view's definition into
//! the help desk list's query — property filters through the HubSpot search's checks against
//! the property model, relative dates read with the injected clock — so its page and its
//! count are the list's own scoped queries (HD-09). Depends on fd-domain and fd-store only.

use fd_domain::views::{ViewDefinition, ViewOwner, may_manage, may_see};
use fd_domain::*;
use fd_store::{SavedView, Ticket, TicketListQuery, TicketSort, TicketView};

use crate::objects::{FilterInput, properties_type};
use crate::{Actor, App, AppError};

/// A view as a user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub id: i64,
    pub name: String,
    pub owner: ViewOwner,
    pub definition: ViewDefinition,
    pub created_by: UserId,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What a create or an edit asks for.
#[derive(Debug, Clone, Default)]
pub struct ViewInput {
    pub name: String,
    /// `user` (the actor's own), `team` or `everyone`.
    pub owner_kind: String,
    pub team_id: Option<TeamId>,
    pub definition: ViewDefinition,
}

fn view_of(v: SavedView) -> Result<View, AppError> {
    let owner = ViewOwner::parse(&v.owner_kind, v.user_id, v.team_id)?;
    let definition = match v.definition.as_deref() {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| AppError::Internal(format!("view {} has a bad definition: {e}", v.id)))?,
        // Saved before views were shared: the list's query string.
        None => ViewDefinition::from_list_query(&v.query),
    };
    Ok(View {
        id: v.id,
        name: v.name,
        owner,
        definition,
        created_by: v.user_id,
        created_at: v.created_at,
        updated_at: v.updated_at,
    })
}

/// The list sort a view's sort key names (the help desk list's keys).
pub fn view_sort(key: &str) -> TicketSort {
    match key {
        "activity_asc" => TicketSort::LastActivityAsc,
        "created_desc" => TicketSort::CreatedDesc,
        "created_asc" => TicketSort::CreatedAsc,
        "subject_asc" => TicketSort::SubjectAsc,
        "subject_desc" => TicketSort::SubjectDesc,
        "priority_desc" => TicketSort::PriorityDesc,
        "priority_asc" => TicketSort::PriorityAsc,
        "sla_due_asc" => TicketSort::SlaDueAsc,
        _ => TicketSort::LastActivityDesc,
    }
}

fn forbidden(why: String) -> AppError {
    AppError::Forbidden(why)
}

impl App {
    /// The views the actor sees (`fd_domain::views::may_see`), personal first, then their
    /// teams', then everyone's.
    pub async fn views(&self, actor: &Actor) -> Result<Vec<View>, AppError> {
        actor.require_ticket_access()?;
        let user = actor.require_user()?;
        let teams = match &actor.viewer {
            Viewer::User { teams, .. } => teams.clone(),
            Viewer::System => Vec::new(),
        };
        let mut tx = self.db().read().await?;
        let rows = tx
            .views_visible_to(user, &teams, actor.viewer.is_account_admin())
            .await?;
        tx.commit().await?;
        let views = rows
            .into_iter()
            .map(view_of)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(views
            .into_iter()
            .filter(|v| may_see(&actor.viewer, v.owner))
            .collect())
    }

    /// One view the actor sees; a view they may not see is not found.
    pub async fn view(&self, actor: &Actor, id: i64) -> Result<View, AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().read().await?;
        let row = tx.saved_view(id).await?;
        tx.commit().await?;
        let view = row
            .map(view_of)
            .transpose()?
            .ok_or_else(|| AppError::not_found("view", id))?;
        if !may_see(&actor.viewer, view.owner) {
            return Err(AppError::not_found("view", id));
        }
        Ok(view)
    }

    /// A view the actor is about to change or delete: one they may manage; refused when they
    /// only see it, not found when they do not.
    async fn managed_view(&self, actor: &Actor, id: i64) -> Result<View, AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().read().await?;
        let row = tx.saved_view(id).await?;
        tx.commit().await?;
        let view = row
            .map(view_of)
            .transpose()?
            .ok_or_else(|| AppError::not_found("view", id))?;
        match may_manage(&actor.viewer, view.owner) {
            Ok(()) => Ok(view),
            Err(_) if !may_see(&actor.viewer, view.owner) => Err(AppError::not_found("view", id)),
            Err(why) => Err(forbidden(why)),
        }
    }

    /// Whether the actor may change or delete this view (what the page offers).
    pub fn may_manage_view(&self, actor: &Actor, view: &View) -> bool {
        may_manage(&actor.viewer, view.owner).is_ok()
    }

    async fn checked_input(
        &self,
        actor: &Actor,
        input: &ViewInput,
    ) -> Result<(String, ViewOwner), AppError> {
        let user = actor.require_user()?;
        let owner = ViewOwner::parse(input.owner_kind.trim(), user, input.team_id)?;
        may_manage(&actor.viewer, owner).map_err(forbidden)?;
        let name = fd_domain::text::name("name", &input.name, 100)?;
        // Compiling checks every filter against the property model, as the search does.
        self.view_query(actor, &input.definition, 0, 0).await?;
        Ok((name, owner))
    }

    /// Creates a view (HD-04: a Service Seat; who may own what is `views::may_manage`).
    pub async fn create_view(&self, actor: &Actor, input: &ViewInput) -> Result<View, AppError> {
        let user = actor.require_user()?;
        let (name, owner) = self.checked_input(actor, input).await?;
        let now = self.now();
        let mut row = SavedView {
            id: 0,
            user_id: user,
            owner_kind: owner.kind().into(),
            team_id: match owner {
                ViewOwner::Team(t) => Some(t),
                _ => None,
            },
            name,
            query: String::new(),
            definition: Some(definition_json(&input.definition)?),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.db().write().await?;
        row.id = tx.insert_saved_view(&row).await?;
        tx.commit().await?;
        view_of(row)
    }

    /// Changes a view: the actor must be allowed to manage it as it is and as it becomes.
    pub async fn update_view(
        &self,
        actor: &Actor,
        id: i64,
        input: &ViewInput,
    ) -> Result<View, AppError> {
        let old = self.managed_view(actor, id).await?;
        let (name, owner) = self.checked_input(actor, input).await?;
        let row = SavedView {
            id,
            // A personal view stays its owner's; the creator of a shared one is kept.
            user_id: match owner {
                ViewOwner::User(u) => u,
                _ => old.created_by,
            },
            owner_kind: owner.kind().into(),
            team_id: match owner {
                ViewOwner::Team(t) => Some(t),
                _ => None,
            },
            name,
            query: String::new(),
            definition: Some(definition_json(&input.definition)?),
            created_at: old.created_at,
            updated_at: self.now(),
        };
        let mut tx = self.db().write().await?;
        if !tx.update_saved_view(&row).await? {
            return Err(AppError::not_found("view", id));
        }
        tx.commit().await?;
        view_of(row)
    }

    pub async fn delete_view(&self, actor: &Actor, id: i64) -> Result<(), AppError> {
        self.managed_view(actor, id).await?;
        let mut tx = self.db().write().await?;
        if !tx.delete_saved_view(id).await? {
            return Err(AppError::not_found("view", id));
        }
        tx.commit().await?;
        Ok(())
    }

    /// A definition as the list's query (one page of it): the status, the filters checked
    /// and compiled as the search's, relative dates read now in the actor's time zone. The
    /// list's scoping (HD-09) is applied by the store when the query runs.
    pub async fn view_query(
        &self,
        actor: &Actor,
        d: &ViewDefinition,
        limit: i64,
        offset: i64,
    ) -> Result<TicketListQuery, AppError> {
        let mut tx = self.db().read().await?;
        let ctx = CompileContext::read(&mut tx, actor).await?;
        tx.commit().await?;
        self.compile_view(actor, &ctx, d, limit, offset)
    }

    fn compile_view(
        &self,
        actor: &Actor,
        ctx: &CompileContext,
        d: &ViewDefinition,
        limit: i64,
        offset: i64,
    ) -> Result<TicketListQuery, AppError> {
        let def = |name: &str| ctx.properties.iter().find(|p| p.name == name);
        d.check(&|name| def(name).is_some())?;
        let resolved = d.resolved_filters(actor.user_id(), self.now(), ctx.zone.zone())?;
        let mut filters = Vec::with_capacity(resolved.len());
        let mut errors = Vec::new();
        for f in resolved {
            let input = FilterInput {
                property_name: f.property_name,
                operator: f.operator,
                value: f.value,
                high_value: f.high_value,
                values: f.values,
            };
            match self.search_filter(ObjectType::Ticket, &input, &def) {
                Ok(sf) => filters.push(sf),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors).into());
        }
        Ok(TicketListQuery {
            view: match d.status {
                views::ViewStatus::Open => TicketView::AllOpen,
                views::ViewStatus::Closed => TicketView::Closed,
                views::ViewStatus::All => TicketView::All,
            },
            sort: view_sort(&d.sort),
            limit,
            offset,
            text: d.text.clone().filter(|t| !t.trim().is_empty()),
            pipeline: None,
            stage: None,
            priority: None,
            sla: d.sla.clone(),
            filters,
        })
    }

    /// How many tickets a view holds for the actor (HD-09).
    pub async fn view_count(&self, actor: &Actor, view: &View) -> Result<i64, AppError> {
        Ok(self
            .view_counts(actor, std::slice::from_ref(view))
            .await?
            .first()
            .copied()
            .unwrap_or(0))
    }

    /// How many tickets each view holds for the actor (HD-09), in the views' order: the
    /// left panel's counts. The property model and the actor's time zone are read once;
    /// each count then runs on its own task and read transaction, as the built-in views'
    /// counts do, so they proceed at once on SQLite (whose statements run on the calling
    /// task).
    pub async fn view_counts(&self, actor: &Actor, views: &[View]) -> Result<Vec<i64>, AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().read().await?;
        let ctx = CompileContext::read(&mut tx, actor).await?;
        tx.commit().await?;
        let mut counting = Vec::with_capacity(views.len());
        for v in views {
            let q = self.compile_view(actor, &ctx, &v.definition, 0, 0)?;
            let (app, actor) = (self.clone(), actor.clone());
            counting.push(tokio::spawn(
                async move { app.count_tickets(&actor, &q).await },
            ));
        }
        let mut counts = Vec::with_capacity(counting.len());
        for h in counting {
            counts.push(
                h.await
                    .map_err(|e| AppError::Internal(format!("a view count stopped: {e}")))??,
            );
        }
        Ok(counts)
    }

    /// A page of a view's tickets and their number, as the actor may see them (HD-09).
    pub async fn view_tickets(
        &self,
        actor: &Actor,
        view: &View,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Ticket>, i64), AppError> {
        actor.require_ticket_access()?;
        let mut tx = self.db().read().await?;
        let ctx = CompileContext::read(&mut tx, actor).await?;
        let q = self.compile_view(actor, &ctx, &view.definition, limit, offset)?;
        let tickets = tx.list_tickets(&actor.scope(), &q).await?;
        let total = tx.count_tickets(&actor.scope(), &q).await?;
        tx.commit().await?;
        Ok((tickets, total))
    }
}

/// What compiling a definition reads: the ticket property model (filters are checked against
/// it) and the reader's time zone (relative dates are the reader's days).
struct CompileContext {
    properties: Vec<property::PropertyDefinition>,
    zone: local_time::UserTimeZone,
}

impl CompileContext {
    async fn read(tx: &mut fd_store::Tx, actor: &Actor) -> Result<Self, AppError> {
        let pt = properties_type(ObjectType::Ticket)?;
        let properties = tx.properties(pt, false).await?;
        let zone = match actor.user_id() {
            Some(u) => tx.user(u).await?.map(|u| u.time_zone),
            None => None,
        };
        Ok(Self {
            properties,
            zone: local_time::UserTimeZone::or_utc(zone.as_deref().unwrap_or("UTC")),
        })
    }
}

fn definition_json(d: &ViewDefinition) -> Result<String, AppError> {
    serde_json::to_string(d).map_err(|e| AppError::Internal(format!("a view definition: {e}")))
}
