//! Activity-log rows that several aggregates write: a ticket's use cases record changes on
//! its conversations (trash, restore, stage moves), so the row builders live below both.
//!
//! Must not depend on any other module of this crate but the actor: it only shapes rows.

use fd_domain::{ConversationId, ObjectType};
use fd_store::NewActivity;

use crate::actor::Actor;

pub(crate) fn conv_event(
    id: ConversationId,
    actor: &Actor,
    action: &'static str,
    at: i64,
) -> NewActivity {
    NewActivity {
        object_type: ObjectType::Conversation,
        object_id: id.0,
        actor: actor.actor_ref(),
        action,
        field: None,
        old_value: None,
        new_value: None,
        at,
    }
}

pub(crate) fn conv_change(
    id: ConversationId,
    actor: &Actor,
    field: &str,
    old: Option<String>,
    new: Option<String>,
    at: i64,
) -> NewActivity {
    NewActivity {
        field: Some(field.to_string()),
        old_value: old,
        new_value: new,
        ..conv_event(id, actor, "property_changed", at)
    }
}
