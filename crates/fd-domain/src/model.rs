//! Identifiers and small value types shared by every layer.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::DomainError;

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        /// A 64-bit row id; HubSpot renders ids as digit strings, so Display/FromStr do too.
        /// Deserialises from a JSON number or a canonical digit string (HubSpot's clients
        /// send both); [`crate::text::parse_id`] decides what a string id may look like.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(IdVisitor(stringify!($name))).map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                crate::text::parse_id(s).map($name).ok_or_else(|| {
                    DomainError::field(
                        stringify!($name),
                        crate::ErrorCode::InvalidInteger,
                        format!("{s:?} is not a numeric id"),
                    )
                })
            }
        }
    )*};
}

/// Reads an id from a JSON integer or a canonical digit string.
struct IdVisitor(&'static str);

impl serde::de::Visitor<'_> for IdVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} (an integer or a string of digits)", self.0)
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom(format!("{v} is not a {}", self.0)))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<i64, E> {
        crate::text::parse_id(v)
            .ok_or_else(|| E::custom(format!("{v:?} is not a {} (digits only)", self.0)))
    }
}

id_type!(
    UserId,
    TeamId,
    ContactId,
    CompanyId,
    DealId,
    PipelineId,
    StageId,
    TicketId,
    ConversationId,
    MessageId,
    CommentId,
    DraftId,
    NotificationId,
);

/// Milliseconds since the Unix epoch, UTC. Every stored time uses it.
pub type Millis = i64;

/// A lower-cased, syntactically checked email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Accepts `local@domain` with a dotted or bracketed domain; rejects spaces, control
    /// characters and anything longer than RFC 5321 §4.5.3.1.3's 254-character path limit.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        let bad = |why: &str| {
            DomainError::field(
                "email",
                crate::ErrorCode::InvalidEmail,
                format!("{input:?} {why}"),
            )
        };
        if s.is_empty() {
            return Err(bad("is empty"));
        }
        if s.len() > 254 {
            return Err(bad("is longer than 254 characters"));
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        {
            return Err(bad("contains spaces or forbidden characters"));
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(bad("has no @"));
        };
        if local.is_empty() || local.len() > 64 {
            return Err(bad("has an empty or over-long local part"));
        }
        if domain.is_empty() || domain.starts_with('.') || domain.ends_with('.') {
            return Err(bad("has an invalid domain"));
        }
        if !(domain.contains('.') || domain == "localhost" || domain.starts_with('[')) {
            return Err(bad("has an invalid domain"));
        }
        Ok(EmailAddress(s.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)*
                    other => Err(DomainError::field(
                        stringify!($name),
                        crate::ErrorCode::InvalidOption,
                        format!("{other:?} is not one of: {}", [$($text),*].join(", ")),
                    )),
                }
            }
        }
    };
}

string_enum!(
    /// INB-14: where tickets are managed.
    AccountMode { Inbox = "inbox", HelpDesk = "help_desk" }
);
string_enum!(Role { SuperAdmin = "super-admin", Agent = "agent" });
string_enum!(
    /// HD-04: a Service Seat unlocks custom views, SLAs and reply suggestions.
    Seat { None = "none", Core = "core", Service = "service" }
);
string_enum!(
    /// HD-09: which tickets a user may see and change.
    TicketAccessLevel { All = "all", Team = "team", Owned = "owned" }
);
string_enum!(
    /// HubSpot's `ticketState` stage metadata.
    StageState { Open = "OPEN", Closed = "CLOSED" }
);
string_enum!(ConversationStatus { Open = "OPEN", Closed = "CLOSED" });
string_enum!(
    /// Which workspace shows a conversation (INB-14).
    Workspace { Inbox = "inbox", HelpDesk = "help_desk" }
);
string_enum!(Channel {
    Email = "EMAIL",
    Form = "FORM",
    Chat = "CHAT",
    Bot = "BOT",
    Call = "CALL",
    Whatsapp = "WHATSAPP",
    Messenger = "FB_MESSENGER",
});
string_enum!(Direction { Inbound = "INCOMING", Outbound = "OUTGOING" });
string_enum!(
    /// Delivery state of a message: inbound ones are `Received`; outbound ones move
    /// from `Queued` to `Sent` or `Failed`, or stay `NotSent` when no channel can send them.
    DeliveryStatus {
        Received = "received",
        Queued = "queued",
        Sent = "sent",
        Failed = "failed",
        NotSent = "not_sent",
    }
);
string_enum!(ObjectType {
    Ticket = "ticket",
    Contact = "contact",
    Company = "company",
    Deal = "deal",
    Conversation = "conversation",
    Call = "call",
    Note = "note",
    Email = "email",
});

impl ObjectType {
    /// HubSpot's plural API name (`tickets`, `contacts`…; conversations are `threads`).
    pub fn plural(self) -> &'static str {
        match self {
            ObjectType::Ticket => "tickets",
            ObjectType::Contact => "contacts",
            ObjectType::Company => "companies",
            ObjectType::Deal => "deals",
            ObjectType::Conversation => "threads",
            ObjectType::Call => "calls",
            ObjectType::Note => "notes",
            ObjectType::Email => "emails",
        }
    }

    /// Calls, notes and emails: HubSpot's engagement objects (activities on a timeline).
    pub fn is_engagement(self) -> bool {
        matches!(
            self,
            ObjectType::Call | ObjectType::Note | ObjectType::Email
        )
    }
}

/// HubSpot-defined association type ids (associations v4), per direction.
pub mod association_type {
    pub const TICKET_TO_CONTACT: i32 = 16;
    pub const CONTACT_TO_TICKET: i32 = 15;
    pub const TICKET_TO_COMPANY: i32 = 339;
    pub const COMPANY_TO_TICKET: i32 = 340;
    pub const TICKET_TO_PRIMARY_COMPANY: i32 = 26;
    pub const PRIMARY_COMPANY_TO_TICKET: i32 = 25;
    pub const TICKET_TO_DEAL: i32 = 28;
    pub const DEAL_TO_TICKET: i32 = 27;
    pub const TICKET_TO_THREAD: i32 = 32;
    pub const CONTACT_TO_COMPANY: i32 = 279;
    pub const COMPANY_TO_CONTACT: i32 = 280;
    pub const CONTACT_TO_PRIMARY_COMPANY: i32 = 1;
    pub const PRIMARY_COMPANY_TO_CONTACT: i32 = 2;
    // Engagements (HUBSPOT-API-2.md §4.4).
    pub const TICKET_TO_CALL: i32 = 219;
    pub const CALL_TO_TICKET: i32 = 220;
    pub const TICKET_TO_EMAIL: i32 = 223;
    pub const EMAIL_TO_TICKET: i32 = 224;
    pub const TICKET_TO_NOTE: i32 = 227;
    pub const NOTE_TO_TICKET: i32 = 228;
    pub const CONTACT_TO_CALL: i32 = 193;
    pub const CALL_TO_CONTACT: i32 = 194;
    pub const CONTACT_TO_EMAIL: i32 = 197;
    pub const EMAIL_TO_CONTACT: i32 = 198;
    pub const CONTACT_TO_NOTE: i32 = 201;
    pub const NOTE_TO_CONTACT: i32 = 202;
    pub const COMPANY_TO_CALL: i32 = 181;
    pub const CALL_TO_COMPANY: i32 = 182;
    pub const COMPANY_TO_EMAIL: i32 = 185;
    pub const EMAIL_TO_COMPANY: i32 = 186;
    pub const COMPANY_TO_NOTE: i32 = 189;
    pub const NOTE_TO_COMPANY: i32 = 190;
}

/// Who performs an action: a signed-in user, or the system itself (mail ingestion, jobs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorRef {
    User(UserId),
    System,
}

impl ActorRef {
    pub fn user_id(self) -> Option<UserId> {
        match self {
            ActorRef::User(id) => Some(id),
            ActorRef::System => None,
        }
    }
}
