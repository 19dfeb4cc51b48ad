//! The entities of SPEC.md's glossary: tickets, conversations and their messages, comments
//! and drafts, pipelines and stages, users and teams, CRM records, associations and activity.
//!
//! Plain data plus the decisions that need nothing but the entity itself; the store maps rows
//! onto them and the application decides with them. Must not depend on storage, HTTP or mail,
//! and holds no secrets: a user's password hash stays in the store (`fd-store`'s credential
//! read), so nothing that renders a `User` can leak it.

use std::collections::BTreeMap;

use crate::access::{TicketAccess, Viewer};
use crate::model::*;

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
    pub role: Role,
    pub account_access: bool,
    pub service_access: bool,
    pub sales_access: bool,
    pub seat: Seat,
    pub ticket_access: TicketAccessLevel,
    pub active: bool,
    pub teams: Vec<TeamId>,
    pub created_at: Millis,
    /// The IANA zone the UI shows this user's times in (`local_time::UserTimeZone`).
    pub time_zone: String,
}

impl User {
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
    /// Plain-text excerpt of what happened (a message, a comment, `old → new`).
    pub excerpt: Option<String>,
    /// The ticket's subject at read time, so the bell names the ticket.
    pub ticket_subject: Option<String>,
    pub created_at: Millis,
    pub read_at: Option<Millis>,
    pub emailed_at: Option<Millis>,
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

/// A CRM text value as stored: trimmed; empty means none.
fn clean(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

impl Contact {
    /// Sets one of the contact's own (column) properties from text, the same for every road:
    /// trimmed, empty clears it, an email must be an address (stored in its normal form).
    /// Returns `false` for a name that is not one of them (a custom property).
    pub fn set_standard(
        &mut self,
        name: &str,
        value: Option<&str>,
    ) -> Result<bool, crate::DomainError> {
        let v = clean(value);
        match name {
            "email" => {
                self.email = match v {
                    Some(e) => Some(EmailAddress::parse(&e)?.as_str().to_string()),
                    None => None,
                }
            }
            "firstname" => self.firstname = v,
            "lastname" => self.lastname = v,
            "phone" => self.phone = v,
            "company" => self.company = v,
            _ => return Ok(false),
        }
        Ok(true)
    }

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

impl Company {
    /// Sets one of the company's own (column) properties from text: trimmed, empty clears
    /// it, the domain in lower case. Returns `false` for any other name.
    pub fn set_standard(&mut self, name: &str, value: Option<&str>) -> bool {
        let v = clean(value);
        match name {
            "name" => self.name = v,
            "domain" => self.domain = v.map(|d| d.to_lowercase()),
            "phone" => self.phone = v,
            _ => return false,
        }
        true
    }
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

impl Ticket {
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

/// What an administrator's change was made to: account configuration rather than a CRM
/// record, so it has its own kinds (stored in the activity history under these names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminObject {
    User,
    Team,
    Pipeline,
    Stage,
    /// A property definition; its name is the change's `field` (properties have no id).
    Property,
    /// Account settings (mode, trash retention, the create-ticket form).
    Settings,
}

impl AdminObject {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminObject::User => "admin.user",
            AdminObject::Team => "admin.team",
            AdminObject::Pipeline => "admin.pipeline",
            AdminObject::Stage => "admin.stage",
            AdminObject::Property => "admin.property",
            AdminObject::Settings => "admin.settings",
        }
    }
}

/// One administrative change to record: who, when, what (audit of users, teams, pipelines,
/// properties and settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminChange {
    pub object: AdminObject,
    pub object_id: i64,
    pub actor: ActorRef,
    pub action: &'static str,
    pub field: Option<String>,
    pub new_value: Option<String>,
    pub at: Millis,
}

/// A recorded administrative change, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminChangeRecord {
    pub object_id: i64,
    pub actor_user_id: Option<UserId>,
    pub action: String,
    pub field: Option<String>,
    pub new_value: Option<String>,
    pub at: Millis,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn contact_and_company_values_are_normalised_the_same_on_every_road() {
        let mut c = Contact {
            id: ContactId(0),
            email: None,
            firstname: None,
            lastname: None,
            phone: None,
            company: None,
            created_at: 0,
            updated_at: 0,
            archived_at: None,
        };
        assert!(c.set_standard("email", Some("  Kim@Example.COM ")).unwrap());
        assert_eq!(c.email.as_deref(), Some("kim@example.com"));
        assert!(c.set_standard("firstname", Some("  ")).unwrap());
        assert_eq!(c.firstname, None);
        assert!(!c.set_standard("favourite_colour", Some("red")).unwrap());
        assert!(c.set_standard("email", Some("not an address")).is_err());
        let mut k = Company {
            id: CompanyId(0),
            name: None,
            domain: None,
            phone: None,
            created_at: 0,
            updated_at: 0,
            archived_at: None,
        };
        assert!(k.set_standard("domain", Some(" ACME.example ")));
        assert_eq!(k.domain.as_deref(), Some("acme.example"));
        assert!(!k.set_standard("industry", Some("x")));
    }
}
