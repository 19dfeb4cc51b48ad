//! The rows the store hands out, decoded into typed records.

use std::collections::BTreeMap;

use fd_domain::property::{PropertyDefinition, PropertyOption, PropertyType};
use fd_domain::*;

use crate::error::decode;
use crate::{Row, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSettings {
    pub mode: AccountMode,
    pub trash_retention_days: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub role: Role,
    pub account_access: bool,
    pub service_access: bool,
    pub sales_access: bool,
    pub seat: Seat,
    pub ticket_access: TicketAccessLevel,
    pub active: bool,
    pub teams: Vec<TeamId>,
    pub created_at: Millis,
}

impl User {
    pub(crate) fn from_row(r: &Row) -> Result<Self, StoreError> {
        Ok(User {
            id: UserId(r.i64("id")?),
            email: r.string("email")?,
            name: r.string("name")?,
            password_hash: r.string("password_hash")?,
            role: decode(r.string("role")?.parse())?,
            account_access: r.bool("account_access")?,
            service_access: r.bool("service_access")?,
            sales_access: r.bool("sales_access")?,
            seat: decode(r.string("seat")?.parse())?,
            ticket_access: decode(r.string("ticket_access")?.parse())?,
            active: r.bool("active")?,
            teams: Vec::new(),
            created_at: r.i64("created_at")?,
        })
    }

    /// The viewer this user acts as.
    pub fn viewer(&self) -> Viewer {
        Viewer::User {
            id: self.id,
            role: self.role,
            account_access: self.account_access,
            seat: self.seat,
            access: TicketAccess {
                level: self.ticket_access,
                service_access: self.service_access,
                sales_access: self.sales_access,
            },
            teams: self.teams.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub default_from_address: Option<String>,
    pub members: Vec<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    pub id: PipelineId,
    pub label: String,
    pub display_order: i64,
    pub archived: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub stages: Vec<Stage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub id: StageId,
    pub pipeline_id: PipelineId,
    pub label: String,
    pub display_order: i64,
    pub state: StageState,
    pub archived: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// HD-19: properties a ticket must have before entering this stage (empty: not conditional).
    pub required_properties: Vec<String>,
}

impl Stage {
    pub(crate) fn from_row(r: &Row) -> Result<Self, StoreError> {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyGroup {
    pub name: String,
    pub label: String,
    pub display_order: i64,
    pub archived: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: TicketId,
    pub subject: String,
    pub content: Option<String>,
    pub pipeline_id: PipelineId,
    pub stage_id: StageId,
    pub priority: Option<String>,
    pub category: Option<String>,
    pub owner_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub source_type: Option<String>,
    pub workspace: Workspace,
    pub is_open: bool,
    pub created_by: Option<UserId>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub closed_at: Option<Millis>,
    pub last_activity_at: Millis,
    pub version: i64,
    pub trashed_at: Option<Millis>,
    /// Custom property values (canonical text), by property name.
    pub custom: BTreeMap<String, String>,
}

pub(crate) const TICKET_COLUMNS: &str = "t.id, t.subject, t.content, t.pipeline_id, t.stage_id, \
    t.priority, t.category, t.owner_id, t.team_id, t.source_type, t.workspace, t.is_open, \
    t.created_by, t.created_at, t.updated_at, t.closed_at, t.last_activity_at, t.version, t.trashed_at";

impl Ticket {
    pub(crate) fn from_row(r: &Row) -> Result<Self, StoreError> {
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

    /// A property's value in HubSpot's vocabulary (standard names map onto columns).
    pub fn property(&self, name: &str) -> Option<String> {
        match name {
            "subject" => Some(self.subject.clone()),
            "content" => self.content.clone(),
            "hs_pipeline" => Some(self.pipeline_id.to_string()),
            "hs_pipeline_stage" => Some(self.stage_id.to_string()),
            "hs_ticket_priority" => self.priority.clone(),
            "hs_ticket_category" => self.category.clone(),
            "hubspot_owner_id" => self.owner_id.map(|v| v.to_string()),
            "hubspot_team_id" => self.team_id.map(|v| v.to_string()),
            "source_type" => self.source_type.clone(),
            "createdate" => Some(self.created_at.to_string()),
            "hs_lastmodifieddate" => Some(self.updated_at.to_string()),
            "closed_date" => self.closed_at.map(|v| v.to_string()),
            "hs_object_id" => Some(self.id.to_string()),
            "hs_last_activity_date" => Some(self.last_activity_at.to_string()),
            other => self.custom.get(other).cloned(),
        }
    }
}

/// Property names stored in ticket columns rather than in `property_values`.
pub const TICKET_COLUMN_PROPERTIES: &[&str] = &[
    "subject",
    "content",
    "hs_pipeline",
    "hs_pipeline_stage",
    "hs_ticket_priority",
    "hs_ticket_category",
    "hubspot_owner_id",
    "hubspot_team_id",
    "source_type",
    "createdate",
    "hs_lastmodifieddate",
    "closed_date",
    "hs_object_id",
    "hs_last_activity_date",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: ConversationId,
    pub channel: Channel,
    pub channel_account: Option<String>,
    pub workspace: Workspace,
    pub status: ConversationStatus,
    pub owner_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub contact_id: Option<ContactId>,
    pub visitor_name: Option<String>,
    pub visitor_email: Option<String>,
    pub subject: Option<String>,
    pub ticket_id: Option<TicketId>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub last_message_at: Millis,
    pub closed_at: Option<Millis>,
    pub trashed_at: Option<Millis>,
    pub version: i64,
}

pub(crate) const CONVERSATION_COLUMNS: &str = "c.id, c.channel, c.channel_account, c.workspace, \
    c.status, c.owner_id, c.team_id, c.contact_id, c.visitor_name, c.visitor_email, c.subject, \
    c.ticket_id, c.created_at, c.updated_at, c.last_message_at, c.closed_at, c.trashed_at, c.version";

impl Conversation {
    pub(crate) fn from_row(r: &Row) -> Result<Self, StoreError> {
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
}

/// To/Cc/Bcc of a message, stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Recipients {
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    #[serde(default)]
    pub bcc: Vec<String>,
}

/// Metadata of a stored attachment (the bytes live in the content-addressed blob store).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttachmentMeta {
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    #[serde(default)]
    pub content_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub direction: Direction,
    pub channel: Channel,
    pub sender_user_id: Option<UserId>,
    pub sender_name: Option<String>,
    pub sender_address: Option<String>,
    pub recipients: Recipients,
    pub subject: Option<String>,
    pub text: String,
    pub html: Option<String>,
    pub attachments: Vec<AttachmentMeta>,
    pub message_id_header: Option<String>,
    pub in_reply_to: Option<String>,
    pub references_header: Option<String>,
    pub reply_to_message_id: Option<MessageId>,
    pub status: DeliveryStatus,
    pub status_detail: Option<String>,
    pub created_at: Millis,
}

impl Message {
    pub(crate) fn from_row(r: &Row) -> Result<Self, StoreError> {
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: CommentId,
    pub ticket_id: Option<TicketId>,
    pub conversation_id: Option<ConversationId>,
    pub author_id: Option<UserId>,
    pub body: String,
    pub mentions: Vec<UserId>,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub id: DraftId,
    pub author_id: UserId,
    pub ticket_id: Option<TicketId>,
    pub conversation_id: Option<ConversationId>,
    pub body_text: String,
    pub body_html: Option<String>,
    pub recipients: Recipients,
    pub from_address: Option<String>,
    pub reply_to_message_id: Option<MessageId>,
    pub seen_message_id: Option<MessageId>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: NotificationId,
    pub user_id: UserId,
    pub kind: String,
    pub ticket_id: Option<TicketId>,
    pub conversation_id: Option<ConversationId>,
    pub comment_id: Option<CommentId>,
    pub actor_id: Option<UserId>,
    pub text: String,
    pub created_at: Millis,
    pub read_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: ContactId,
    pub email: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub archived_at: Option<Millis>,
}

impl Contact {
    pub fn display_name(&self) -> String {
        let name = [self.firstname.as_deref(), self.lastname.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if name.trim().is_empty() {
            self.email
                .clone()
                .unwrap_or_else(|| format!("Contact {}", self.id))
        } else {
            name
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Company {
    pub id: CompanyId,
    pub name: Option<String>,
    pub domain: Option<String>,
    pub phone: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub archived_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deal {
    pub id: DealId,
    pub name: Option<String>,
    pub amount: Option<String>,
    pub dealstage: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub archived_at: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    pub from_type: ObjectType,
    pub from_id: i64,
    pub to_type: ObjectType,
    pub to_id: i64,
    pub type_id: i64,
    pub category: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityEvent {
    pub id: i64,
    pub object_type: ObjectType,
    pub object_id: i64,
    pub actor_user_id: Option<UserId>,
    pub action: String,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub at: Millis,
}

/// One change to record in the activity history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewActivity {
    pub object_type: ObjectType,
    pub object_id: i64,
    pub actor: ActorRef,
    pub action: &'static str,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub at: Millis,
}
