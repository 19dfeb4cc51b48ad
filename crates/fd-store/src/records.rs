//! Rows decoded into the domain's entities. The entities themselves live in `fd-domain`
//! (`fd_domain::entities`); they are re-exported here so existing `fd_store::Ticket` paths keep
//! compiling. This module only maps columns to fields.

use std::collections::BTreeMap;

use fd_domain::property::{PropertyDefinition, PropertyOption, PropertyType};
use fd_domain::*;

use crate::error::decode;
use crate::{Row, StoreError};

pub use fd_domain::entities::{
    AccountSettings, ActivityEvent, Association, AttachmentMeta, Comment, Company, Contact,
    Conversation, Deal, Draft, Message, NewActivity, Notification, Pipeline, PropertyGroup,
    Recipients, Stage, TICKET_COLUMN_PROPERTIES, Team, Ticket, User,
};

pub(crate) fn user_from_row(r: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(r.i64("id")?),
        email: r.string("email")?,
        name: r.string("name")?,
        role: decode(r.string("role")?.parse())?,
        account_access: r.bool("account_access")?,
        service_access: r.bool("service_access")?,
        sales_access: r.bool("sales_access")?,
        seat: decode(r.string("seat")?.parse())?,
        ticket_access: decode(r.string("ticket_access")?.parse())?,
        active: r.bool("active")?,
        teams: Vec::new(),
        created_at: r.i64("created_at")?,
        time_zone: r.string("time_zone")?,
    })
}

pub(crate) fn stage_from_row(r: &Row) -> Result<Stage, StoreError> {
    Ok(Stage {
        id: StageId(r.i64("id")?),
        pipeline_id: PipelineId(r.i64("pipeline_id")?),
        label: r.string("label")?,
        display_order: r.i64("display_order")?,
        state: decode(r.string("state")?.parse())?,
        archived: r.bool("archived")?,
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
        required_properties: Vec::new(),
    })
}

pub(crate) fn property_from_row(r: &Row) -> Result<PropertyDefinition, StoreError> {
    let options: Vec<PropertyOption> = decode(serde_json::from_str(&r.string("options")?))?;
    Ok(PropertyDefinition {
        name: r.string("name")?,
        label: r.string("label")?,
        kind: decode(PropertyType::parse(&r.string("type")?))?,
        field_type: r.string("field_type")?,
        group_name: r.string("group_name")?,
        description: r.string("description")?,
        options,
        hubspot_defined: r.bool("hubspot_defined")?,
        read_only: r.bool("read_only")?,
        display_order: i32::try_from(r.i64("display_order")?).unwrap_or(i32::MAX),
        form_field: r.bool("form_field")?,
        archived: r.bool("archived")?,
    })
}

pub(crate) const TICKET_COLUMNS: &str = "t.id, t.subject, t.content, t.pipeline_id, t.stage_id, \
    t.priority, t.category, t.owner_id, t.team_id, t.source_type, t.workspace, t.is_open, \
    t.created_by, t.created_at, t.updated_at, t.closed_at, t.last_activity_at, t.version, t.trashed_at";

pub(crate) fn ticket_from_row(r: &Row) -> Result<Ticket, StoreError> {
    Ok(Ticket {
        id: TicketId(r.i64("id")?),
        subject: r.string("subject")?,
        content: r.opt_string("content")?,
        pipeline_id: PipelineId(r.i64("pipeline_id")?),
        stage_id: StageId(r.i64("stage_id")?),
        priority: r.opt_string("priority")?,
        category: r.opt_string("category")?,
        owner_id: r.opt_i64("owner_id")?.map(UserId),
        team_id: r.opt_i64("team_id")?.map(TeamId),
        source_type: r.opt_string("source_type")?,
        workspace: decode(r.string("workspace")?.parse())?,
        is_open: r.bool("is_open")?,
        created_by: r.opt_i64("created_by")?.map(UserId),
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
        closed_at: r.opt_i64("closed_at")?,
        last_activity_at: r.i64("last_activity_at")?,
        version: r.i64("version")?,
        trashed_at: r.opt_i64("trashed_at")?,
        custom: BTreeMap::new(),
    })
}

pub(crate) const CONVERSATION_COLUMNS: &str = "c.id, c.channel, c.channel_account, c.workspace, \
    c.status, c.owner_id, c.team_id, c.contact_id, c.visitor_name, c.visitor_email, c.subject, \
    c.ticket_id, c.created_at, c.updated_at, c.last_message_at, c.closed_at, c.trashed_at, c.version";

pub(crate) fn conversation_from_row(r: &Row) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: ConversationId(r.i64("id")?),
        channel: decode(r.string("channel")?.parse())?,
        channel_account: r.opt_string("channel_account")?,
        workspace: decode(r.string("workspace")?.parse())?,
        status: decode(r.string("status")?.parse())?,
        owner_id: r.opt_i64("owner_id")?.map(UserId),
        team_id: r.opt_i64("team_id")?.map(TeamId),
        contact_id: r.opt_i64("contact_id")?.map(ContactId),
        visitor_name: r.opt_string("visitor_name")?,
        visitor_email: r.opt_string("visitor_email")?,
        subject: r.opt_string("subject")?,
        ticket_id: r.opt_i64("ticket_id")?.map(TicketId),
        created_at: r.i64("created_at")?,
        updated_at: r.i64("updated_at")?,
        last_message_at: r.i64("last_message_at")?,
        closed_at: r.opt_i64("closed_at")?,
        trashed_at: r.opt_i64("trashed_at")?,
        version: r.i64("version")?,
    })
}

pub(crate) fn message_from_row(r: &Row) -> Result<Message, StoreError> {
    Ok(Message {
        id: MessageId(r.i64("id")?),
        conversation_id: ConversationId(r.i64("conversation_id")?),
        direction: decode(r.string("direction")?.parse())?,
        channel: decode(r.string("channel")?.parse())?,
        sender_user_id: r.opt_i64("sender_user_id")?.map(UserId),
        sender_name: r.opt_string("sender_name")?,
        sender_address: r.opt_string("sender_address")?,
        recipients: decode(serde_json::from_str(&r.string("recipients")?))?,
        subject: r.opt_string("subject")?,
        text: r.string("text")?,
        html: r.opt_string("html")?,
        attachments: decode(serde_json::from_str(&r.string("attachments")?))?,
        message_id_header: r.opt_string("message_id_header")?,
        in_reply_to: r.opt_string("in_reply_to")?,
        references_header: r.opt_string("references_header")?,
        reply_to_message_id: r.opt_i64("reply_to_message_id")?.map(MessageId),
        status: decode(r.string("status")?.parse())?,
        status_detail: r.opt_string("status_detail")?,
        created_at: r.i64("created_at")?,
    })
}
