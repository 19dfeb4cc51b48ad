//! HubSpot's users object (`/crm/v3/objects/users`, type `0-115`): each account user as a CRM
//! record whose properties are their availability, time zone, working hours, out-of-office
//! ranges and job title, with the account's own facts (email, owner id, primary team) read
//! only. Users are created and deactivated in Settings → Users, never here.
//!
//! Reads are open to any signed-in actor (the owners API shows the same people); a change is
//! the user's own, or an administrator's (`Actor::require_self_or_admin`). Availability goes
//! through chat's `set_user_availability_in`, the one road the top bar's toggle takes too,
//! so a chat finds nobody available the moment the API says away. Every value is checked
//! by `fd_domain::users`. Nothing here knows HTTP.

use std::collections::BTreeMap;

use fd_domain::entities::AdminObject;
use fd_domain::users::{self as rules, UserFilter};
use fd_domain::*;
use fd_store::{Team, User, UserProfile};

use crate::chat::set_user_availability_in;
use crate::objects::{SearchRequest, search_limits};
use crate::{Actor, App, AppError};

/// A user as HubSpot's users object sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserObject {
    pub user: User,
    pub available: bool,
    pub profile: Option<UserProfile>,
    /// The primary (first) team's id.
    pub primary_team: Option<TeamId>,
    /// The latest of: created, availability set, profile changed.
    pub updated_at: Millis,
}

impl UserObject {
    pub fn id(&self) -> i64 {
        self.user.id.0
    }

    /// Every property with a value, as HubSpot's wire strings (times in epoch milliseconds;
    /// the web layer renders `hs_createdate`/`hs_lastmodifieddate` as ISO instants).
    pub fn properties(&self) -> BTreeMap<String, String> {
        let u = &self.user;
        let (given, family) = match u.name.split_once(' ') {
            Some((f, l)) => (f.to_string(), l.trim().to_string()),
            None => (u.name.clone(), String::new()),
        };
        let mut p = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            if !v.is_empty() {
                p.insert(k.to_string(), v);
            }
        };
        put("hs_object_id", u.id.to_string());
        put("hs_createdate", u.created_at.to_string());
        put("hs_lastmodifieddate", self.updated_at.to_string());
        put("hs_email", u.email.clone());
        put("hs_given_name", given);
        put("hs_family_name", family);
        // The owners API's id for a user is the user's id, and so is the account's own id.
        put("hs_internal_user_id", u.id.to_string());
        put("hubspot_owner_id", u.id.to_string());
        put(
            "hubspot_team_id",
            self.primary_team.map(|t| t.to_string()).unwrap_or_default(),
        );
        put(
            rules::AVAILABILITY,
            rules::availability_text(self.available).to_string(),
        );
        put(rules::TIME_ZONE, u.time_zone.clone());
        if let Some(pr) = &self.profile {
            put(rules::JOB_TITLE, pr.job_title.clone().unwrap_or_default());
            put(
                rules::WORKING_HOURS,
                pr.working_hours.clone().unwrap_or_default(),
            );
            put(
                rules::OUT_OF_OFFICE,
                pr.out_of_office_hours.clone().unwrap_or_default(),
            );
        }
        p
    }
}

fn assemble(
    users: Vec<User>,
    teams: &[Team],
    profiles: Vec<UserProfile>,
    availability: Vec<fd_store::UserAvailability>,
) -> Vec<UserObject> {
    users
        .into_iter()
        .map(|user| {
            let profile = profiles.iter().find(|p| p.user_id == user.id).cloned();
            let avail = availability.iter().find(|a| a.user_id == user.id);
            let primary_team = user
                .teams
                .iter()
                .find(|t| teams.iter().any(|x| x.id == **t))
                .copied();
            let updated_at = [
                Some(user.created_at),
                profile.as_ref().map(|p| p.updated_at),
                avail.map(|a| a.updated_at),
            ]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(user.created_at);
            UserObject {
                available: avail.is_some_and(|a| a.available),
                profile,
                primary_team,
                updated_at,
                user,
            }
        })
        .collect()
}

impl App {
    /// Every user as a users object, in id order: the active ones, or with `archived` the
    /// deactivated ones (HubSpot's archived users).
    /// Any authenticated actor may read them, as the owners API lists the same people.
    pub async fn user_objects(
        &self,
        _actor: &Actor,
        archived: bool,
    ) -> Result<Vec<UserObject>, AppError> {
        let mut tx = self.db().read().await?;
        let users = tx.users().await?;
        let teams = tx.teams().await?;
        let profiles = tx.user_profiles().await?;
        let availability = tx.user_availabilities().await?;
        tx.commit().await?;
        let mut out = assemble(users, &teams, profiles, availability);
        out.retain(|u| u.user.active != archived);
        out.sort_by_key(UserObject::id);
        Ok(out)
    }

    /// One user as a users object (404 when unknown or, unless `archived`, deactivated).
    pub async fn user_object(
        &self,
        actor: &Actor,
        id: i64,
        archived: bool,
    ) -> Result<UserObject, AppError> {
        self.user_objects(actor, archived)
            .await?
            .into_iter()
            .find(|u| u.id() == id)
            .ok_or_else(|| AppError::not_found("user", id))
    }

    /// A PATCH of a user's properties, checked by `fd_domain::users::check_user_patch`, in
    /// one transaction: availability (through chat's road), time zone, and the profile row.
    pub async fn update_user_object(
        &self,
        actor: &Actor,
        id: i64,
        properties: &BTreeMap<String, String>,
    ) -> Result<UserObject, AppError> {
        let user = UserId(id);
        let patch = rules::check_user_patch(properties)?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        match tx.user(user).await? {
            Some(u) if u.active => {}
            _ => return Err(AppError::not_found("user", id)),
        }
        actor.require_self_or_admin(user, "changing the users-object properties")?;
        if let Some(available) = patch.available {
            set_user_availability_in(&mut tx, actor, user, available, now).await?;
        }
        if let Some(tz) = &patch.time_zone
            && !tx.set_user_time_zone(user, tz.name()).await?
        {
            return Err(AppError::not_found("user", id));
        }
        if patch.touches_profile() || patch.time_zone.is_some() {
            let mut profile = tx.user_profile(user).await?.unwrap_or(UserProfile {
                user_id: user,
                job_title: None,
                working_hours: None,
                out_of_office_hours: None,
                updated_at: now,
            });
            if let Some(v) = patch.job_title {
                profile.job_title = v;
            }
            if let Some(v) = patch.working_hours {
                profile.working_hours = v;
            }
            if let Some(v) = patch.out_of_office {
                profile.out_of_office_hours = v;
            }
            profile.updated_at = now;
            tx.save_user_profile(&profile).await?;
        }
        // Changing someone else is an administrator's act, recorded as such; a user's own
        // availability and profile are theirs to change unrecorded (the toggle is frequent).
        if actor.user_id() != Some(user) {
            for (name, value) in properties {
                self.audit(
                    &mut tx,
                    actor,
                    AdminObject::User,
                    id,
                    "user_property_changed",
                    Some(name),
                    Some(value.clone()),
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.user_object(actor, id, false).await
    }

    /// HubSpot's CRM search over users: the CRM search's limits, its operators on the users
    /// properties (`fd_domain::users::UserFilter`), `query` over email, name and job title,
    /// one sort (id order by default), offset paging. Returns the total and the page.
    pub async fn search_user_objects(
        &self,
        actor: &Actor,
        req: &SearchRequest,
    ) -> Result<(i64, Vec<UserObject>), AppError> {
        let mut errors = search_limits(req);
        let mut groups = Vec::with_capacity(req.groups.len());
        for g in &req.groups {
            let mut filters = Vec::with_capacity(g.len());
            for f in g {
                match UserFilter::parse(
                    &f.property_name,
                    &f.operator,
                    f.value.as_deref(),
                    f.high_value.as_deref(),
                    &f.values,
                ) {
                    Ok(uf) => filters.push(uf),
                    Err(e) => errors.push(e),
                }
            }
            groups.push(filters);
        }
        if let Some((name, _)) = &req.sort
            && !rules::is_user_property(name)
        {
            errors.push(FieldError::new(
                name.as_str(),
                ErrorCode::PropertyDoesntExist,
                format!("Property \"{name}\" does not exist on users"),
            ));
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors).into());
        }
        let query = req
            .query
            .as_deref()
            .map(|q| q.trim().to_lowercase())
            .filter(|q| !q.is_empty());
        let mut hits: Vec<(UserObject, BTreeMap<String, String>)> = self
            .user_objects(actor, false)
            .await?
            .into_iter()
            .map(|u| {
                let p = u.properties();
                (u, p)
            })
            .filter(|(_, p)| {
                groups.is_empty() || groups.iter().any(|g| g.iter().all(|f| f.matches(p)))
            })
            .filter(|(u, p)| {
                query.as_deref().is_none_or(|q| {
                    [
                        u.user.email.as_str(),
                        u.user.name.as_str(),
                        p.get(rules::JOB_TITLE).map(String::as_str).unwrap_or(""),
                    ]
                    .iter()
                    .any(|s| s.to_lowercase().contains(q))
                })
            })
            .collect();
        if let Some((name, descending)) = &req.sort {
            hits.sort_by(|(a, pa), (b, pb)| {
                let o = match (pa.get(name), pb.get(name)) {
                    (Some(x), Some(y)) => rules::compare_values(x, y),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => std::cmp::Ordering::Equal,
                };
                let o = o.then(a.id().cmp(&b.id()));
                if *descending { o.reverse() } else { o }
            });
        }
        let total = hits.len() as i64;
        let page = hits
            .into_iter()
            .skip(req.offset.max(0) as usize)
            .take(req.limit.max(0) as usize)
            .map(|(u, _)| u)
            .collect();
        Ok((total, page))
    }
}
