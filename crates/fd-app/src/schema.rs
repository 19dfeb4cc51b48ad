//! Schema-like administration the HubSpot API exposes beyond the foundation's admin use
//! cases: property groups, replacing a pipeline's stages at once, association labels, and
//! associations carrying explicit types (primary company, user-defined labels).

use std::collections::BTreeSet;

use fd_domain::association_type as at;
use fd_domain::entities::AdminObject;
use fd_domain::*;
use fd_store::{Association, AssociationLabel, Pipeline, PropertyGroup};

use crate::crm::{AssociationEnd, association_pair};
use crate::{Actor, App, AppError, NewProperty, NewStage};

pub const HUBSPOT_DEFINED: &str = "HUBSPOT_DEFINED";
pub const USER_DEFINED: &str = "USER_DEFINED";

/// An association type as the v4 API names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationKind {
    pub category: String,
    pub type_id: i64,
    pub label: Option<String>,
}

/// Ticket → conversation is HubSpot's type 32; the reverse id is not published, so Frontdesk
/// uses 31 for it.
pub const THREAD_TO_TICKET: i64 = 31;

/// HubSpot's "primary company" types, with the id of the reverse direction.
fn primary_type(from: ObjectType, to: ObjectType) -> Option<(i64, i64)> {
    use ObjectType::*;
    Some(match (from, to) {
        (Ticket, Company) => (
            i64::from(at::TICKET_TO_PRIMARY_COMPANY),
            i64::from(at::PRIMARY_COMPANY_TO_TICKET),
        ),
        (Company, Ticket) => (
            i64::from(at::PRIMARY_COMPANY_TO_TICKET),
            i64::from(at::TICKET_TO_PRIMARY_COMPANY),
        ),
        (Contact, Company) => (
            i64::from(at::CONTACT_TO_PRIMARY_COMPANY),
            i64::from(at::PRIMARY_COMPANY_TO_CONTACT),
        ),
        (Company, Contact) => (
            i64::from(at::PRIMARY_COMPANY_TO_CONTACT),
            i64::from(at::CONTACT_TO_PRIMARY_COMPANY),
        ),
        _ => return None,
    })
}

/// The unlabelled HubSpot-defined type from `from` to `to`, if the pair can be associated.
pub fn default_type(from: ObjectType, to: ObjectType) -> Option<i64> {
    match (from, to) {
        (ObjectType::Ticket, ObjectType::Conversation) => Some(i64::from(at::TICKET_TO_THREAD)),
        (ObjectType::Conversation, ObjectType::Ticket) => Some(THREAD_TO_TICKET),
        _ => association_pair(&AssociationEnd::new(from, 0), &AssociationEnd::new(to, 0))
            .ok()
            .map(|rows| rows[0].type_id),
    }
}

fn check_label_text(field: &str, raw: &str) -> Result<String, AppError> {
    Ok(fd_domain::text::name(field, raw, 100)?)
}

fn check_group_name(name: &str) -> Result<String, AppError> {
    let n = name.trim();
    let ok = !n.is_empty()
        && n.len() <= 100
        && n.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(n.to_string())
    } else {
        Err(AppError::invalid(
            "name",
            format!("{n:?} must start with a lowercase letter and hold only a-z, 0-9 and _"),
        ))
    }
}

impl App {
    /// The types known between two object types: HubSpot's (unlabelled and primary) and the
    /// user-defined labels.
    pub async fn association_kinds(
        &self,
        from: ObjectType,
        to: ObjectType,
    ) -> Result<Vec<AssociationKind>, AppError> {
        let mut out = Vec::new();
        let Some(default) = default_type(from, to) else {
            return Err(AppError::invalid(
                "toObjectType",
                format!("{} and {} cannot be associated", from.plural(), to.plural()),
            ));
        };
        out.push(AssociationKind {
            category: HUBSPOT_DEFINED.into(),
            type_id: default,
            label: None,
        });
        if let Some((primary, _)) = primary_type(from, to) {
            out.push(AssociationKind {
                category: HUBSPOT_DEFINED.into(),
                type_id: primary,
                label: Some("Primary".into()),
            });
        }
        let mut tx = self.db().read().await?;
        for l in tx.association_labels(from, to).await? {
            out.push(AssociationKind {
                category: USER_DEFINED.into(),
                type_id: l.type_id,
                label: Some(l.label),
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Associates two records with the given types. The unlabelled association is always
    /// made (as HubSpot does); primary and user-defined types add their rows in both
    /// directions. Returns the labels the pair now carries.
    pub async fn associate_with_types(
        &self,
        actor: &Actor,
        a: AssociationEnd,
        b: AssociationEnd,
        types: &[(String, i64)],
    ) -> Result<Vec<String>, AppError> {
        let default = default_type(a.kind, b.kind).ok_or_else(|| {
            AppError::invalid(
                "toObjectType",
                format!(
                    "{} and {} cannot be associated",
                    a.kind.plural(),
                    b.kind.plural()
                ),
            )
        })?;
        let now = self.now();
        let mut tx = self.db().write().await?;
        let mut extra: Vec<(i64, i64)> = Vec::new();
        let mut labels = Vec::new();
        for (category, type_id) in types {
            match category.as_str() {
                HUBSPOT_DEFINED if *type_id == default => {}
                HUBSPOT_DEFINED => match primary_type(a.kind, b.kind) {
                    Some((p, inverse)) if p == *type_id => {
                        extra.push((p, inverse));
                        labels.push("Primary".to_string());
                    }
                    _ => {
                        return Err(AppError::invalid(
                            "associationTypeId",
                            format!(
                                "{type_id} is not a HubSpot-defined type from {} to {}",
                                a.kind.plural(),
                                b.kind.plural()
                            ),
                        ));
                    }
                },
                USER_DEFINED | "INTEGRATOR_DEFINED" => {
                    match tx.association_label(*type_id).await? {
                        Some(l) if l.from_type == a.kind && l.to_type == b.kind => {
                            extra.push((l.type_id, l.inverse_type_id));
                            labels.push(l.label);
                        }
                        _ => {
                            return Err(AppError::invalid(
                                "associationTypeId",
                                format!(
                                    "{type_id} is not a label from {} to {}",
                                    a.kind.plural(),
                                    b.kind.plural()
                                ),
                            ));
                        }
                    }
                }
                other => {
                    return Err(AppError::invalid(
                        "associationCategory",
                        format!(
                            "{other:?} is not one of HUBSPOT_DEFINED, USER_DEFINED, INTEGRATOR_DEFINED"
                        ),
                    ));
                }
            }
        }
        let events = self.associate_in(&mut tx, actor, a, b, now).await?;
        for (ab, ba) in extra {
            let category = if ab < 1000 {
                HUBSPOT_DEFINED
            } else {
                USER_DEFINED
            };
            for (from, to, type_id) in [(a, b, ab), (b, a, ba)] {
                tx.insert_association(
                    &Association {
                        from_type: from.kind,
                        from_id: from.id,
                        to_type: to.kind,
                        to_id: to.id,
                        type_id,
                        category: category.into(),
                    },
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        self.publish(events);
        Ok(labels)
    }

    /// Removes some types between two records. Removing the unlabelled type removes the
    /// whole association (and is refused for a ticket and its conversation, INB-04).
    pub async fn remove_association_types(
        &self,
        actor: &Actor,
        a: AssociationEnd,
        b: AssociationEnd,
        type_ids: &[i64],
    ) -> Result<(), AppError> {
        let default = default_type(a.kind, b.kind);
        if default.is_some_and(|d| type_ids.contains(&d)) {
            return self.dissociate(actor, a, b).await;
        }
        let mut tx = self.db().write().await?;
        for end in [a, b] {
            self.check_end(&mut tx, actor, end).await?;
        }
        let mut ids: BTreeSet<i64> = BTreeSet::new();
        for t in type_ids {
            ids.insert(*t);
            if let Some((p, inverse)) = primary_type(a.kind, b.kind)
                && p == *t
            {
                ids.insert(inverse);
            }
            if let Some(l) = tx.association_label(*t).await? {
                ids.insert(l.inverse_type_id);
            }
        }
        let ids: Vec<i64> = ids.into_iter().collect();
        tx.delete_association_types(a.kind, a.id, b.kind, b.id, &ids)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Association rows from one record to records of `to` the actor may see; a
    /// conversation's ticket comes from the conversation itself (INB-04).
    pub async fn association_rows(
        &self,
        actor: &Actor,
        from: AssociationEnd,
        to: ObjectType,
    ) -> Result<Vec<Association>, AppError> {
        if from.kind == ObjectType::Conversation && to == ObjectType::Ticket {
            let c = self.conversation(actor, ConversationId(from.id)).await?;
            if c.trashed_at.is_some() {
                return Err(AppError::not_found("conversation", from.id));
            }
            return Ok(c
                .ticket_id
                .into_iter()
                .map(|t| Association {
                    from_type: ObjectType::Conversation,
                    from_id: from.id,
                    to_type: ObjectType::Ticket,
                    to_id: t.0,
                    type_id: THREAD_TO_TICKET,
                    category: HUBSPOT_DEFINED.into(),
                })
                .collect());
        }
        self.associations(actor, from, to).await
    }

    pub async fn association_labels(
        &self,
        from: ObjectType,
        to: ObjectType,
    ) -> Result<Vec<AssociationLabel>, AppError> {
        let mut tx = self.db().read().await?;
        let l = tx.association_labels(from, to).await?;
        tx.commit().await?;
        Ok(l)
    }

    /// Creates a user-defined label between two object types (both directions).
    pub async fn create_association_label(
        &self,
        actor: &Actor,
        from: ObjectType,
        to: ObjectType,
        name: &str,
        label: &str,
        inverse_label: Option<&str>,
    ) -> Result<(i64, i64), AppError> {
        actor.require_admin("managing association labels")?;
        if default_type(from, to).is_none()
            || from == ObjectType::Conversation
            || to == ObjectType::Conversation
        {
            return Err(AppError::invalid(
                "toObjectType",
                format!("{} and {} cannot be associated", from.plural(), to.plural()),
            ));
        }
        let name = check_group_name(name)?;
        let label = check_label_text("label", label)?;
        let inverse = match inverse_label {
            Some(l) => check_label_text("inverseLabel", l)?,
            None => label.clone(),
        };
        let now = self.now();
        let mut tx = self.db().write().await?;
        if tx
            .association_labels(from, to)
            .await?
            .iter()
            .any(|l| l.name == name)
        {
            return Err(AppError::Conflict(format!(
                "a label named {name:?} already exists between {} and {}",
                from.plural(),
                to.plural()
            )));
        }
        let ids = tx
            .insert_association_label(from, to, &name, &label, &inverse, now)
            .await?;
        tx.commit().await?;
        Ok(ids)
    }

    pub async fn update_association_label(
        &self,
        actor: &Actor,
        from: ObjectType,
        to: ObjectType,
        type_id: i64,
        label: &str,
        inverse_label: Option<&str>,
    ) -> Result<(), AppError> {
        actor.require_admin("managing association labels")?;
        let label = check_label_text("label", label)?;
        let mut tx = self.db().write().await?;
        let l = tx
            .association_label(type_id)
            .await?
            .filter(|l| l.from_type == from && l.to_type == to)
            .ok_or_else(|| AppError::not_found("association label", type_id))?;
        tx.rename_association_label(type_id, &label).await?;
        if let Some(inv) = inverse_label {
            let inv = check_label_text("inverseLabel", inv)?;
            tx.rename_association_label(l.inverse_type_id, &inv).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a label and every association carrying it.
    pub async fn delete_association_label(
        &self,
        actor: &Actor,
        from: ObjectType,
        to: ObjectType,
        type_id: i64,
    ) -> Result<(), AppError> {
        actor.require_admin("managing association labels")?;
        let mut tx = self.db().write().await?;
        if tx
            .association_label(type_id)
            .await?
            .is_none_or(|l| l.from_type != from || l.to_type != to)
        {
            return Err(AppError::not_found("association label", type_id));
        }
        tx.delete_association_label(type_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ticket pipelines that are live, or (with `archived`) archived.
    pub async fn pipelines_in_state(&self, archived: bool) -> Result<Vec<Pipeline>, AppError> {
        let mut tx = self.db().read().await?;
        let p = tx.pipelines(true).await?;
        tx.commit().await?;
        Ok(p.into_iter().filter(|p| p.archived == archived).collect())
    }

    /// Property definitions that are live, or (with `archived`) archived.
    pub async fn properties_in_state(
        &self,
        object_type: &str,
        archived: bool,
    ) -> Result<Vec<fd_domain::property::PropertyDefinition>, AppError> {
        let mut tx = self.db().read().await?;
        let p = tx.properties(object_type, true).await?;
        tx.commit().await?;
        Ok(p.into_iter().filter(|p| p.archived == archived).collect())
    }

    /// A property group by name (archived ones are not returned).
    pub async fn property_group(
        &self,
        object_type: &str,
        name: &str,
    ) -> Result<PropertyGroup, AppError> {
        self.property_groups(object_type)
            .await?
            .into_iter()
            .find(|g| g.name == name)
            .ok_or_else(|| AppError::not_found("property group", name))
    }

    pub async fn create_property_group(
        &self,
        actor: &Actor,
        object_type: &str,
        name: &str,
        label: &str,
        display_order: i64,
    ) -> Result<PropertyGroup, AppError> {
        actor.require_admin("managing property groups")?;
        let name = check_group_name(name)?;
        let label = check_label_text("label", label)?;
        let mut tx = self.db().write().await?;
        if tx
            .property_groups(object_type)
            .await?
            .iter()
            .any(|g| g.name == name)
        {
            return Err(AppError::Conflict(format!(
                "property group {name:?} already exists"
            )));
        }
        let g = PropertyGroup {
            name,
            label,
            display_order,
            archived: false,
        };
        tx.upsert_property_group(object_type, &g).await?;
        tx.commit().await?;
        Ok(g)
    }

    pub async fn update_property_group(
        &self,
        actor: &Actor,
        object_type: &str,
        name: &str,
        label: Option<&str>,
        display_order: Option<i64>,
    ) -> Result<PropertyGroup, AppError> {
        actor.require_admin("managing property groups")?;
        let mut tx = self.db().write().await?;
        let mut g = tx
            .property_groups(object_type)
            .await?
            .into_iter()
            .find(|g| g.name == name)
            .ok_or_else(|| AppError::not_found("property group", name))?;
        if let Some(l) = label {
            g.label = check_label_text("label", l)?;
        }
        if let Some(o) = display_order {
            g.display_order = o;
        }
        tx.upsert_property_group(object_type, &g).await?;
        tx.commit().await?;
        Ok(g)
    }

    /// Archives a group; refused while live properties belong to it.
    pub async fn archive_property_group(
        &self,
        actor: &Actor,
        object_type: &str,
        name: &str,
    ) -> Result<(), AppError> {
        actor.require_admin("managing property groups")?;
        let mut tx = self.db().write().await?;
        let mut g = tx
            .property_groups(object_type)
            .await?
            .into_iter()
            .find(|g| g.name == name)
            .ok_or_else(|| AppError::not_found("property group", name))?;
        if tx
            .properties(object_type, false)
            .await?
            .iter()
            .any(|p| p.group_name == name)
        {
            return Err(AppError::Conflict(format!(
                "property group {name:?} still has properties"
            )));
        }
        g.archived = true;
        tx.upsert_property_group(object_type, &g).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a custom property in an existing group.
    pub async fn create_property_in_group(
        &self,
        actor: &Actor,
        object_type: &str,
        p: NewProperty,
    ) -> Result<fd_domain::property::PropertyDefinition, AppError> {
        actor.require_admin("managing properties")?;
        let groups = self.property_groups(object_type).await?;
        if !groups.iter().any(|g| g.name == p.group_name) {
            return Err(AppError::invalid(
                "groupName",
                format!(
                    "{:?} is not a property group of {object_type}",
                    p.group_name
                ),
            ));
        }
        self.create_property(actor, object_type, p).await
    }

    /// Replaces a pipeline's label, order and stages in one transaction. Stages are matched
    /// to existing ones by label (case-insensitive): matched ones are updated, new ones
    /// created, and the others archived — refused while tickets are in them.
    pub async fn replace_pipeline(
        &self,
        actor: &Actor,
        id: PipelineId,
        label: &str,
        display_order: i64,
        stages: Vec<NewStage>,
    ) -> Result<Pipeline, AppError> {
        actor.require_admin("managing pipelines")?;
        let label = check_label_text("label", label)?;
        if stages.is_empty() {
            return Err(AppError::invalid(
                "stages",
                "a pipeline needs at least one stage",
            ));
        }
        let mut seen = BTreeSet::new();
        for s in &stages {
            let l = check_label_text("stages.label", &s.label)?;
            if !seen.insert(l.to_lowercase()) {
                return Err(AppError::invalid(
                    "stages.label",
                    format!("{l:?} appears twice"),
                ));
            }
        }
        let now = self.now();
        let mut tx = self.db().write().await?;
        let before = tx.all_pipelines().await?;
        let p = tx
            .pipeline(id)
            .await?
            .filter(|p| !p.archived)
            .ok_or_else(|| AppError::not_found("pipeline", id))?;
        for s in &stages {
            for n in &s.required_properties {
                if tx.property("tickets", n).await?.is_none_or(|p| p.archived) {
                    return Err(AppError::invalid_as(
                        "required_properties",
                        ErrorCode::PropertyDoesntExist,
                        format!("{n:?} is not a ticket property"),
                    ));
                }
            }
        }
        // Archive the stages that go first, so their labels are free for new ones.
        for old in p.stages.iter().filter(|s| !s.archived) {
            if !seen.contains(&old.label.to_lowercase()) {
                if tx.tickets_in_stage(old.id).await? > 0 {
                    return Err(AppError::Conflict(format!(
                        "stage {} ({:?}) still has tickets; move them first",
                        old.id, old.label
                    )));
                }
                tx.update_stage(old.id, &old.label, old.display_order, old.state, true, now)
                    .await?;
            }
        }
        for s in &stages {
            let l = s.label.trim();
            let existing = p
                .stages
                .iter()
                .find(|o| !o.archived && o.label.to_lowercase() == l.to_lowercase());
            let sid = match existing {
                Some(o) => {
                    if o.state != s.state && tx.tickets_in_stage(o.id).await? > 0 {
                        return Err(AppError::Conflict(format!(
                            "stage {} has tickets; its OPEN/CLOSED state cannot change while it does",
                            o.id
                        )));
                    }
                    tx.update_stage(o.id, l, s.display_order, s.state, false, now)
                        .await?;
                    o.id
                }
                None => {
                    tx.insert_stage(id, l, s.display_order, s.state, now)
                        .await?
                }
            };
            tx.set_stage_required_properties(sid, &s.required_properties)
                .await?;
        }
        tx.update_pipeline(id, &label, display_order, false, now)
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
            "replaced",
            Some(p.label.clone()),
        )
        .await?;
        Ok(p)
    }
}
