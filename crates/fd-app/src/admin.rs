//! Administration use cases: users and teams (HD-03), pipelines and stages (HD-19's
//! conditional stages), property definitions, the create-ticket form (HD-10), account mode
//! (INB-14) and per-user preferences (INB-07).

use fd_domain::accounts::{AccountChange, check_admin_change};
use fd_domain::entities::{AdminChange, AdminChangeRecord, AdminObject};
use fd_domain::property::{PropertyDefinition, PropertyOption, PropertyType};
use fd_domain::rules;
use fd_domain::*;
use fd_store::{NewUser, Pipeline, PropertyGroup, Stage, Team, User};

use crate::{Actor, App, AppError, hash_password, verify_password};

#[derive(Debug, Clone)]
pub struct NewUserInput {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
    pub teams: Vec<String>,
    pub ticket_access: TicketAccessLevel,
    pub account_access: bool,
    pub service_access: bool,
    pub sales_access: bool,
    pub seat: Seat,
}

#[derive(Debug, Clone)]
pub struct NewStage {
    pub label: String,
    pub display_order: i64,
    pub state: StageState,
    pub required_properties: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NewPipeline {
    pub label: String,
    pub display_order: i64,
    pub stages: Vec<NewStage>,
}

#[derive(Debug, Clone, Default)]
pub struct StagePatch {
    pub label: Option<String>,
    pub display_order: Option<i64>,
    pub state: Option<StageState>,
    pub archived: Option<bool>,
    pub required_properties: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct NewProperty {
    pub name: String,
    pub label: String,
    pub kind: PropertyType,
    pub field_type: Option<String>,
    pub group_name: String,
    pub description: String,
    pub options: Vec<PropertyOption>,
    pub display_order: i32,
    pub form_field: bool,
}

/// A user's access, as the audit records it.
fn access_summary(u: &User) -> String {
    format!(
        "role={} account={} service={} sales={} seat={} tickets={}",
        u.role.as_str(),
        u.account_access,
        u.service_access,
        u.sales_access,
        u.seat.as_str(),
        u.ticket_access.as_str()
    )
}

/// A user's or team's name, a pipeline's, stage's or property's label (Hardening finding 8:
/// NUL and other control characters are refused in every name).
fn label(field: &str, raw: &str) -> Result<String, AppError> {
    Ok(fd_domain::text::name(field, raw, 255)?)
}

impl App {
    /// Creates a user (CLI and admin screen); the CLI runs as the system actor.
    pub async fn create_user(&self, actor: &Actor, input: NewUserInput) -> Result<User, AppError> {
        actor.require_admin("managing users")?;
        let email = EmailAddress::parse(&input.email)?;
        let name = label("name", &input.name)?;
        if input.password.chars().count() < 8 {
            return Err(AppError::invalid(
                "password",
                "must be at least 8 characters",
            ));
        }
        let hash = hash_password(input.password.clone()).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        if tx.user_by_email(email.as_str()).await?.is_some() {
            return Err(AppError::Conflict(format!(
                "a user with email {email} already exists"
            )));
        }
        let mut team_ids = Vec::new();
        for t in &input.teams {
            match tx.team_by_name(t).await? {
                Some(team) => team_ids.push(team.id),
                None => return Err(AppError::invalid("team", format!("no team is named {t:?}"))),
            }
        }
        let super_admin = input.role == Role::SuperAdmin;
        let id = tx
            .insert_user(
                &NewUser {
                    email,
                    name,
                    password_hash: hash,
                    role: input.role,
                    account_access: input.account_access || super_admin,
                    service_access: input.service_access || super_admin,
                    sales_access: input.sales_access,
                    seat: input.seat,
                    ticket_access: if super_admin {
                        TicketAccessLevel::All
                    } else {
                        input.ticket_access
                    },
                },
                now,
            )
            .await?;
        for t in team_ids {
            tx.add_team_member(t, id).await?;
        }
        let user = tx
            .user(id)
            .await?
            .ok_or_else(|| AppError::Internal("new user vanished".into()))?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::User,
            id.0,
            "created",
            Some("email"),
            Some(user.email.clone()),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn update_user_access(
        &self,
        actor: &Actor,
        id: UserId,
        role: Role,
        account_access: bool,
        service_access: bool,
        sales_access: bool,
        seat: Seat,
        ticket_access: TicketAccessLevel,
    ) -> Result<User, AppError> {
        actor.require_admin("managing users")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let users = tx.users().await?;
        check_admin_change(
            actor.user_id(),
            id,
            AccountChange::SetAccess {
                role,
                account_access,
            },
            &users,
        )?;
        if !tx
            .update_user_access(
                id,
                role,
                account_access,
                service_access,
                sales_access,
                seat,
                ticket_access,
                now,
            )
            .await?
        {
            return Err(AppError::not_found("user", id));
        }
        let u = tx
            .user(id)
            .await?
            .ok_or_else(|| AppError::not_found("user", id))?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::User,
            id.0,
            "access_changed",
            Some("access"),
            Some(access_summary(&u)),
        )
        .await?;
        tx.commit().await?;
        // API tokens act as this user: their cached resolutions must not outlive the change.
        self.auth_cache.clear();
        Ok(u)
    }

    pub async fn set_user_active(
        &self,
        actor: &Actor,
        id: UserId,
        active: bool,
    ) -> Result<(), AppError> {
        actor.require_admin("managing users")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        if !active {
            let users = tx.users().await?;
            check_admin_change(actor.user_id(), id, AccountChange::Deactivate, &users)?;
        }
        if !tx.set_user_active(id, active, now).await? {
            return Err(AppError::not_found("user", id));
        }
        if !active {
            // Signed-in browsers are refused while the user is inactive anyway; ending their
            // sessions keeps them from coming back if the user is reactivated.
            tx.delete_ui_sessions_of(id).await?;
        }
        self.audit(
            &mut tx,
            actor,
            AdminObject::User,
            id.0,
            if active { "activated" } else { "deactivated" },
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        // API tokens act as this user: their cached resolutions must not outlive the change.
        self.auth_cache.clear();
        Ok(())
    }

    /// Sets a user's password (an administrator's reset, or a user's own) and ends every
    /// session of that user: whoever knew the old password is signed out (issue 11). A
    /// password set for someone else must be changed by its user at their next sign-in.
    pub async fn set_user_password(
        &self,
        actor: &Actor,
        id: UserId,
        password: String,
    ) -> Result<(), AppError> {
        let own = actor.user_id() == Some(id);
        if !own {
            actor.require_admin("changing another user's password")?;
        }
        self.store_password(actor, id, password, None, !own).await
    }

    /// Makes a user change their password before anything else in the web UI (the
    /// first-start administrator, whose password was printed on the console).
    pub async fn require_password_change(&self, actor: &Actor, id: UserId) -> Result<(), AppError> {
        actor.require_admin("managing users")?;
        let mut tx = self.db().write().await?;
        if !tx.set_must_change_password(id, true).await? {
            return Err(AppError::not_found("user", id));
        }
        tx.commit().await?;
        Ok(())
    }

    /// A signed-in user changes their own password: the current one must be right. Every
    /// other session of the user ends; the browser holding `session_token` stays signed in.
    pub async fn change_own_password(
        &self,
        actor: &Actor,
        session_token: &str,
        current: &str,
        password: String,
    ) -> Result<(), AppError> {
        let id = actor.user_id().ok_or(AppError::Unauthenticated)?;
        let mut tx = self.db().read().await?;
        let hash = tx.user_password_hash(id).await?;
        tx.commit().await?;
        let hash = hash.ok_or_else(|| AppError::not_found("user", id))?;
        if !verify_password(current.to_string(), hash.clone()).await? {
            return Err(AppError::invalid("current", "is not your current password"));
        }
        // A forced change must replace the password someone else chose.
        if verify_password(password.clone(), hash).await? {
            return Err(AppError::invalid(
                "password",
                "must differ from the current password",
            ));
        }
        self.store_password(actor, id, password, Some(session_token), false)
            .await
    }

    async fn store_password(
        &self,
        actor: &Actor,
        id: UserId,
        password: String,
        keep_session: Option<&str>,
        must_change: bool,
    ) -> Result<(), AppError> {
        if password.chars().count() < 8 {
            return Err(AppError::invalid(
                "password",
                "must be at least 8 characters",
            ));
        }
        let hash = hash_password(password).await?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        if !tx
            .set_user_password_hash(id, &hash, must_change, now)
            .await?
        {
            return Err(AppError::not_found("user", id));
        }
        match keep_session {
            Some(token) => {
                tx.delete_other_ui_sessions_of(id, &crate::passwords::sha256_hex(token))
                    .await?
            }
            None => tx.delete_ui_sessions_of(id).await?,
        };
        self.audit(
            &mut tx,
            actor,
            AdminObject::User,
            id.0,
            "password_set",
            None,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn users(&self) -> Result<Vec<User>, AppError> {
        let mut tx = self.db().read().await?;
        let u = tx.users().await?;
        tx.commit().await?;
        Ok(u)
    }

    /// Whether `password` is the user's password (the user must exist).
    pub async fn check_user_password(
        &self,
        id: UserId,
        password: String,
    ) -> Result<bool, AppError> {
        let mut tx = self.db().read().await?;
        let hash = tx.user_password_hash(id).await?;
        tx.commit().await?;
        let hash = hash.ok_or_else(|| AppError::not_found("user", id))?;
        verify_password(password, hash).await
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, AppError> {
        let mut tx = self.db().read().await?;
        let u = tx.user_by_email(email).await?;
        tx.commit().await?;
        Ok(u)
    }

    pub async fn user_count(&self) -> Result<i64, AppError> {
        let mut tx = self.db().read().await?;
        let n = tx.user_count().await?;
        tx.commit().await?;
        Ok(n)
    }

    pub async fn create_team(&self, actor: &Actor, name: &str) -> Result<Team, AppError> {
        actor.require_admin("managing teams")?;
        let name = label("name", name)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        if tx.team_by_name(&name).await?.is_some() {
            return Err(AppError::Conflict(format!(
                "a team named {name:?} already exists"
            )));
        }
        let id = tx.insert_team(&name, now).await?;
        let t = tx
            .team(id)
            .await?
            .ok_or_else(|| AppError::Internal("new team vanished".into()))?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            id.0,
            "created",
            Some("name"),
            Some(name.clone()),
        )
        .await?;
        tx.commit().await?;
        Ok(t)
    }

    pub async fn set_team_membership(
        &self,
        actor: &Actor,
        team: TeamId,
        user: UserId,
        member: bool,
    ) -> Result<(), AppError> {
        actor.require_admin("managing teams")?;
        let mut tx = self.db().write().await?;
        if tx.team(team).await?.is_none() {
            return Err(AppError::not_found("team", team));
        }
        if tx.user(user).await?.is_none() {
            return Err(AppError::not_found("user", user));
        }
        if member {
            tx.add_team_member(team, user).await?;
        } else {
            tx.remove_team_member(team, user).await?;
        }
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            team.0,
            if member {
                "member_added"
            } else {
                "member_removed"
            },
            Some("user"),
            Some(user.to_string()),
        )
        .await?;
        tx.commit().await?;
        // API tokens act as this user: their cached resolutions must not outlive the change.
        self.auth_cache.clear();
        Ok(())
    }

    pub async fn teams(&self) -> Result<Vec<Team>, AppError> {
        let mut tx = self.db().read().await?;
        let t = tx.teams().await?;
        tx.commit().await?;
        Ok(t)
    }

    /// Connects an email address to a team; the first one becomes the team's default From.
    pub async fn connect_team_address(
        &self,
        actor: &Actor,
        team: TeamId,
        address: &str,
        workspace: Workspace,
    ) -> Result<(), AppError> {
        actor.require_admin("connecting team addresses")?;
        let address = EmailAddress::parse(address)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let t = tx
            .team(team)
            .await?
            .ok_or_else(|| AppError::not_found("team", team))?;
        tx.insert_team_address(team, address.as_str(), workspace, now)
            .await?;
        if t.default_from_address.is_none() {
            tx.set_team_default_from(team, Some(address.as_str()), now)
                .await?;
        }
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            team.0,
            "address_connected",
            Some("address"),
            Some(address.as_str().to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// HD-03: the team's default From address (Super Admin or Account Access only); it must
    /// be one of the team's connected addresses.
    pub async fn set_team_default_from(
        &self,
        actor: &Actor,
        team: TeamId,
        address: &str,
    ) -> Result<Team, AppError> {
        actor.require_admin("setting a team's default From address (HD-03)")?;
        let address = EmailAddress::parse(address)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        if tx.team(team).await?.is_none() {
            return Err(AppError::not_found("team", team));
        }
        let connected = tx.team_addresses(team).await?;
        if !connected.iter().any(|(a, _)| a == address.as_str()) {
            return Err(AppError::invalid(
                "default_from_address",
                format!("{address} is not one of the team's connected addresses"),
            ));
        }
        tx.set_team_default_from(team, Some(address.as_str()), now)
            .await?;
        let t = tx
            .team(team)
            .await?
            .ok_or_else(|| AppError::not_found("team", team))?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Team,
            team.0,
            "changed",
            Some("default_from_address"),
            Some(address.as_str().to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(t)
    }

    pub async fn team_addresses(&self, team: TeamId) -> Result<Vec<(String, Workspace)>, AppError> {
        let mut tx = self.db().read().await?;
        let a = tx.team_addresses(team).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// INB-14: switches between inbox mode and help-desk mode.
    pub async fn set_account_mode(&self, actor: &Actor, mode: AccountMode) -> Result<(), AppError> {
        actor.require_admin("changing the account mode")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        tx.set_account_mode(mode, now).await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Settings,
            1,
            "changed",
            Some("mode"),
            Some(mode.as_str().to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_trash_retention_days(&self, actor: &Actor, days: i64) -> Result<(), AppError> {
        actor.require_admin("changing the trash retention")?;
        if !(1..=3650).contains(&days) {
            return Err(AppError::invalid(
                "trash_retention_days",
                "must be between 1 and 3650",
            ));
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        tx.set_trash_retention_days(days, now).await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Settings,
            1,
            "changed",
            Some("trash_retention_days"),
            Some(days.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn account_settings(&self) -> Result<fd_store::AccountSettings, AppError> {
        let mut tx = self.db().read().await?;
        let s = tx.account_settings().await?;
        tx.commit().await?;
        Ok(s)
    }

    pub async fn pipelines(&self) -> Result<Vec<Pipeline>, AppError> {
        let mut tx = self.db().read().await?;
        let p = tx.pipelines(false).await?;
        tx.commit().await?;
        Ok(p)
    }

    pub async fn pipeline(&self, id: PipelineId) -> Result<Pipeline, AppError> {
        let mut tx = self.db().read().await?;
        let p = tx.pipeline(id).await?;
        tx.commit().await?;
        p.filter(|p| !p.archived)
            .ok_or_else(|| AppError::not_found("pipeline", id))
    }

    /// Records an administrative change in `tx` with its actor and time (the audit of
    /// users, teams, pipelines, properties and settings).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn audit(
        &self,
        tx: &mut fd_store::Tx,
        actor: &Actor,
        object: AdminObject,
        id: i64,
        action: &'static str,
        field: Option<&str>,
        value: Option<String>,
    ) -> Result<(), AppError> {
        tx.record_admin_change(&AdminChange {
            object,
            object_id: id,
            actor: actor.actor_ref(),
            action,
            field: field.map(str::to_string),
            new_value: value,
            at: self.now(),
        })
        .await?;
        Ok(())
    }

    /// The recorded administrative changes to one kind of object, oldest first.
    pub async fn admin_changes(
        &self,
        actor: &Actor,
        object: AdminObject,
    ) -> Result<Vec<AdminChangeRecord>, AppError> {
        actor.require_admin("reading the administration history")?;
        let mut tx = self.db().read().await?;
        let out = tx.admin_changes(object).await?;
        tx.commit().await?;
        Ok(out)
    }

    /// HD-06/INB-11: a pipeline edit, already written in `tx`, is refused when it would stop
    /// inbound work — automatic ticket creation or reopening on a customer's message
    /// ([`rules::hd_06_check_pipeline_edit`]). Dropping `tx` undoes it.
    pub(crate) async fn check_pipeline_edit(
        &self,
        tx: &mut fd_store::Tx,
        before: &[Pipeline],
    ) -> Result<(), AppError> {
        let after = tx.all_pipelines().await?;
        rules::hd_06_check_pipeline_edit(before, &after)?;
        Ok(())
    }

    /// Ends a pipeline or stage edit: the HD-06/INB-11 check on the pipelines as the edit
    /// left them, the audit row (with the label when there is one), then the commit — so a
    /// refused edit writes and records nothing.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn finish_pipeline_edit(
        &self,
        mut tx: fd_store::Tx,
        actor: &Actor,
        before: &[Pipeline],
        object: AdminObject,
        id: i64,
        action: &'static str,
        label: Option<String>,
    ) -> Result<(), AppError> {
        self.check_pipeline_edit(&mut tx, before).await?;
        let field = label.as_ref().map(|_| "label");
        self.audit(&mut tx, actor, object, id, action, field, label)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn check_required(
        &self,
        tx: &mut fd_store::Tx,
        names: &[String],
    ) -> Result<(), AppError> {
        for n in names {
            if tx.property("tickets", n).await?.is_none_or(|p| p.archived) {
                return Err(AppError::invalid(
                    "required_properties",
                    format!("{n:?} is not a ticket property"),
                ));
            }
        }
        Ok(())
    }

    pub async fn create_pipeline(
        &self,
        actor: &Actor,
        input: NewPipeline,
    ) -> Result<Pipeline, AppError> {
        actor.require_admin("managing pipelines")?;
        let label_text = label("label", &input.label)?;
        if input.stages.is_empty() {
            return Err(AppError::invalid(
                "stages",
                "a pipeline needs at least one stage",
            ));
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        let before = tx.all_pipelines().await?;
        let id = tx
            .insert_pipeline(&label_text, input.display_order, now)
            .await?;
        let mut labels = std::collections::BTreeSet::new();
        for s in &input.stages {
            let l = label("stages.label", &s.label)?;
            if !labels.insert(l.to_lowercase()) {
                return Err(AppError::invalid(
                    "stages.label",
                    format!("{l:?} appears twice"),
                ));
            }
            self.check_required(&mut tx, &s.required_properties).await?;
            let sid = tx
                .insert_stage(id, &l, s.display_order, s.state, now)
                .await?;
            tx.set_stage_required_properties(sid, &s.required_properties)
                .await?;
        }
        let p = tx
            .pipeline(id)
            .await?
            .ok_or_else(|| AppError::Internal("new pipeline vanished".into()))?;
        self.finish_pipeline_edit(
            tx,
            actor,
            &before,
            AdminObject::Pipeline,
            id.0,
            "created",
            Some(p.label.clone()),
        )
        .await?;
        Ok(p)
    }

    pub async fn update_pipeline(
        &self,
        actor: &Actor,
        id: PipelineId,
        new_label: Option<String>,
        display_order: Option<i64>,
        archived: Option<bool>,
    ) -> Result<Pipeline, AppError> {
        actor.require_admin("managing pipelines")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let before = tx.all_pipelines().await?;
        let p = tx
            .pipeline(id)
            .await?
            .ok_or_else(|| AppError::not_found("pipeline", id))?;
        let l = match new_label {
            Some(l) => label("label", &l)?,
            None => p.label.clone(),
        };
        tx.update_pipeline(
            id,
            &l,
            display_order.unwrap_or(p.display_order),
            archived.unwrap_or(p.archived),
            now,
        )
        .await?;
        let p = tx
            .pipeline(id)
            .await?
            .ok_or_else(|| AppError::not_found("pipeline", id))?;
        self.finish_pipeline_edit(
            tx,
            actor,
            &before,
            AdminObject::Pipeline,
            id.0,
            "changed",
            Some(p.label.clone()),
        )
        .await?;
        Ok(p)
    }

    /// Archives a pipeline; refused while live tickets are in it.
    pub async fn delete_pipeline(&self, actor: &Actor, id: PipelineId) -> Result<(), AppError> {
        actor.require_admin("managing pipelines")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let before = tx.all_pipelines().await?;
        let p = tx
            .pipeline(id)
            .await?
            .filter(|p| !p.archived)
            .ok_or_else(|| AppError::not_found("pipeline", id))?;
        for s in &p.stages {
            if tx.tickets_in_stage(s.id).await? > 0 {
                return Err(AppError::Conflict(format!(
                    "pipeline {id} still has tickets; move them to another pipeline first"
                )));
            }
        }
        tx.update_pipeline(id, &p.label, p.display_order, true, now)
            .await?;
        self.finish_pipeline_edit(
            tx,
            actor,
            &before,
            AdminObject::Pipeline,
            id.0,
            "archived",
            None,
        )
        .await?;
        Ok(())
    }

    pub async fn create_stage(
        &self,
        actor: &Actor,
        pipeline: PipelineId,
        s: NewStage,
    ) -> Result<Stage, AppError> {
        actor.require_admin("managing pipelines")?;
        let l = label("label", &s.label)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let before = tx.all_pipelines().await?;
        tx.pipeline(pipeline)
            .await?
            .filter(|p| !p.archived)
            .ok_or_else(|| AppError::not_found("pipeline", pipeline))?;
        self.check_required(&mut tx, &s.required_properties).await?;
        let id = tx
            .insert_stage(pipeline, &l, s.display_order, s.state, now)
            .await?;
        tx.set_stage_required_properties(id, &s.required_properties)
            .await?;
        let stage = tx
            .stage(id)
            .await?
            .ok_or_else(|| AppError::Internal("new stage vanished".into()))?;
        self.finish_pipeline_edit(
            tx,
            actor,
            &before,
            AdminObject::Stage,
            id.0,
            "created",
            Some(stage.label.clone()),
        )
        .await?;
        Ok(stage)
    }

    pub async fn update_stage(
        &self,
        actor: &Actor,
        pipeline: PipelineId,
        id: StageId,
        patch: StagePatch,
    ) -> Result<Stage, AppError> {
        actor.require_admin("managing pipelines")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let before = tx.all_pipelines().await?;
        let s = tx
            .stage(id)
            .await?
            .filter(|s| s.pipeline_id == pipeline)
            .ok_or_else(|| AppError::not_found("stage", id))?;
        let l = match patch.label {
            Some(l) => label("label", &l)?,
            None => s.label.clone(),
        };
        if let Some(state) = patch.state
            && state != s.state
            && tx.tickets_in_stage(id).await? > 0
        {
            return Err(AppError::Conflict(format!(
                "stage {id} has tickets; its OPEN/CLOSED state cannot change while it does"
            )));
        }
        tx.update_stage(
            id,
            &l,
            patch.display_order.unwrap_or(s.display_order),
            patch.state.unwrap_or(s.state),
            patch.archived.unwrap_or(s.archived),
            now,
        )
        .await?;
        if let Some(req) = &patch.required_properties {
            self.check_required(&mut tx, req).await?;
            tx.set_stage_required_properties(id, req).await?;
        }
        let s = tx
            .stage(id)
            .await?
            .ok_or_else(|| AppError::not_found("stage", id))?;
        self.finish_pipeline_edit(
            tx,
            actor,
            &before,
            AdminObject::Stage,
            id.0,
            "changed",
            Some(s.label.clone()),
        )
        .await?;
        Ok(s)
    }

    /// Archives a stage; refused while tickets are in it.
    pub async fn delete_stage(
        &self,
        actor: &Actor,
        pipeline: PipelineId,
        id: StageId,
    ) -> Result<(), AppError> {
        actor.require_admin("managing pipelines")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let before = tx.all_pipelines().await?;
        let s = tx
            .stage(id)
            .await?
            .filter(|s| s.pipeline_id == pipeline && !s.archived)
            .ok_or_else(|| AppError::not_found("stage", id))?;
        if tx.tickets_in_stage(id).await? > 0 {
            return Err(AppError::Conflict(format!(
                "stage {id} still has tickets; move them first"
            )));
        }
        tx.update_stage(id, &s.label, s.display_order, s.state, true, now)
            .await?;
        self.finish_pipeline_edit(
            tx,
            actor,
            &before,
            AdminObject::Stage,
            id.0,
            "archived",
            None,
        )
        .await?;
        Ok(())
    }

    pub async fn properties(&self, object_type: &str) -> Result<Vec<PropertyDefinition>, AppError> {
        let mut tx = self.db().read().await?;
        let p = tx.properties(object_type, false).await?;
        tx.commit().await?;
        Ok(p)
    }

    pub async fn property_groups(&self, object_type: &str) -> Result<Vec<PropertyGroup>, AppError> {
        let mut tx = self.db().read().await?;
        let g = tx.property_groups(object_type).await?;
        tx.commit().await?;
        Ok(g)
    }

    /// Adds a custom property (usable at once in create, update, lists and forms).
    pub async fn create_property(
        &self,
        actor: &Actor,
        object_type: &str,
        p: NewProperty,
    ) -> Result<PropertyDefinition, AppError> {
        actor.require_admin("managing properties")?;
        let name = p.name.trim().to_string();
        let valid_name = !name.is_empty()
            && name.len() <= 100
            && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid_name {
            return Err(AppError::invalid(
                "name",
                format!("{name:?} must start with a lowercase letter and hold only a-z, 0-9 and _"),
            ));
        }
        if name.starts_with("hs_") || name.starts_with("hubspot_") {
            return Err(AppError::invalid(
                "name",
                "names starting with hs_ or hubspot_ are reserved",
            ));
        }
        if p.kind == PropertyType::Enumeration && p.options.is_empty() {
            return Err(AppError::invalid(
                "options",
                "an enumeration needs at least one option",
            ));
        }
        let def = PropertyDefinition {
            name: name.clone(),
            label: label("label", &p.label)?,
            kind: p.kind,
            field_type: p
                .field_type
                .unwrap_or_else(|| p.kind.default_field_type().to_string()),
            group_name: p.group_name,
            description: p.description,
            options: p.options,
            hubspot_defined: false,
            read_only: false,
            display_order: p.display_order,
            form_field: p.form_field,
            archived: false,
        };
        let now = self.now();
        let mut tx = self.db().write().await?;
        if let Some(existing) = tx.property(object_type, &name).await?
            && !existing.archived
        {
            return Err(AppError::Conflict(format!(
                "property {name:?} already exists"
            )));
        }
        tx.upsert_property(object_type, &def, now).await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Property,
            0,
            "created",
            Some(&name),
            Some(object_type.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(def)
    }

    /// Changes a custom property's label, options, group or description (not its name or type).
    pub async fn update_property(
        &self,
        actor: &Actor,
        object_type: &str,
        def: PropertyDefinition,
    ) -> Result<PropertyDefinition, AppError> {
        actor.require_admin("managing properties")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let existing = tx
            .property(object_type, &def.name)
            .await?
            .filter(|p| !p.archived)
            .ok_or_else(|| AppError::not_found("property", &def.name))?;
        if existing.hubspot_defined
            && (def.kind != existing.kind || def.options != existing.options)
        {
            return Err(AppError::invalid(
                &def.name,
                "HubSpot-defined properties keep their type and options",
            ));
        }
        let merged = PropertyDefinition {
            hubspot_defined: existing.hubspot_defined,
            read_only: existing.read_only,
            ..def
        };
        tx.upsert_property(object_type, &merged, now).await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Property,
            0,
            "changed",
            Some(&merged.name),
            Some(object_type.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(merged)
    }

    pub async fn archive_property(
        &self,
        actor: &Actor,
        object_type: &str,
        name: &str,
    ) -> Result<(), AppError> {
        actor.require_admin("managing properties")?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let mut p = tx
            .property(object_type, name)
            .await?
            .filter(|p| !p.archived)
            .ok_or_else(|| AppError::not_found("property", name))?;
        if p.hubspot_defined {
            return Err(AppError::invalid(
                name,
                "HubSpot-defined properties cannot be deleted",
            ));
        }
        p.archived = true;
        tx.upsert_property(object_type, &p, now).await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Property,
            0,
            "archived",
            Some(name),
            Some(object_type.to_string()),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// HD-10: the properties admins add to the create-ticket form, and which are required.
    pub async fn set_ticket_form_fields(
        &self,
        actor: &Actor,
        fields: Vec<(String, bool)>,
    ) -> Result<(), AppError> {
        actor.require_admin("editing the create-ticket form")?;
        let mut tx = self.db().write().await?;
        for (name, _) in &fields {
            if tx
                .property("tickets", name)
                .await?
                .is_none_or(|p| p.archived || p.read_only)
            {
                return Err(AppError::invalid(
                    "fields",
                    format!("{name:?} is not an editable ticket property"),
                ));
            }
        }
        tx.set_ticket_form_fields(&fields).await?;
        self.audit(
            &mut tx,
            actor,
            AdminObject::Settings,
            1,
            "changed",
            Some("ticket_form_fields"),
            Some(
                fields
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn ticket_form_fields(&self) -> Result<Vec<(String, bool)>, AppError> {
        let mut tx = self.db().read().await?;
        let f = tx.ticket_form_fields().await?;
        tx.commit().await?;
        Ok(f)
    }

    /// INB-07: each user picks the properties of their Ticket details panel.
    pub async fn set_ticket_panel(
        &self,
        actor: &Actor,
        names: Vec<String>,
    ) -> Result<(), AppError> {
        let user = actor.require_user()?;
        let mut tx = self.db().write().await?;
        for n in &names {
            if tx.property("tickets", n).await?.is_none_or(|p| p.archived) {
                return Err(AppError::invalid(
                    "properties",
                    format!("{n:?} is not a ticket property"),
                ));
            }
        }
        tx.set_user_ticket_panel(user, &names).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn ticket_panel(&self, actor: &Actor) -> Result<Vec<String>, AppError> {
        let user = actor.require_user()?;
        let mut tx = self.db().read().await?;
        let mut p = tx.user_ticket_panel(user).await?;
        tx.commit().await?;
        if p.is_empty() {
            p = [
                "hs_pipeline_stage",
                "hs_ticket_priority",
                "hubspot_owner_id",
                "createdate",
            ]
            .map(String::from)
            .to_vec();
        }
        Ok(p)
    }
}
