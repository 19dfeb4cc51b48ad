//! Frontdesk's storage: the only crate that contains SQL.
//!
//! One `Db` handle over SQLite (embedded, the default) or PostgreSQL; migrations for both in
//! `migrations/{sqlite,postgres}` with the same version numbers; repositories as methods on a
//! transaction (`Tx`). Ticket reads take a [`fd_domain::ViewerScope`] and apply it in SQL:
//! there is no unscoped ticket list outside the `admin_`-prefixed helpers.
//!
//! Must not depend on the application, HTTP or mail crates, and never reads the clock: every
//! time is passed in.

mod activity;
mod automation;
pub use automation::{AutomationRuleInput, AutomationRuleRow, AutomationRun};
mod bots;
mod chat;
mod cluster;
pub use cluster::{ClusterListener, MAX_PAYLOAD as CLUSTER_MAX_PAYLOAD};
mod config;
mod conversations;
mod crm;
mod csat;
pub use csat::{CsatCounts, CsatSettings, CsatSurvey};
mod db;
mod directory;
mod engagements;
pub use engagements::{CallingCall, CallingChannel, EngagementRow};
mod error;
mod files;
pub use files::FileRow;
mod forms;
mod jobs;
mod leases;
mod mail;
mod notify;
pub use notify::NewNotification;
mod reads;
mod records;
mod reports;
pub use reports::{DurationRow, ReportFilter};
mod routing;
mod scope;
pub use routing::{RoutingMember, TeamRouting};
mod search;
mod search_index;
mod seed;
pub use seed::{seed_customer, seed_customer_email};
mod sessions;
mod sla;
pub use sla::TicketSlaRow;
mod sqlite;
mod suggest;
pub use suggest::SuggestionSource;
mod ticket_merges;
pub use ticket_merges::{
    MovedAssociation, MovedFromTicket, TicketMergeRecord, TicketSplit, ticket_snapshot,
};
mod tickets;
mod tokens;
mod ui;
mod user_profiles;
pub use user_profiles::{UserAvailability, UserProfile};

pub use bots::{BotRow, BotSessionRow};
pub use chat::{ChatChannel, ChatSession, VisitorToken};
pub use conversations::{ConversationListQuery, NewMessage};
pub(crate) use db::{Arg, Row, Sql};
pub use db::{Backend, Db, PoolUsage, Tx, create_postgres_database};
mod ops;
pub use directory::UserSecurity;
pub use directory::{NewUser, UserCredential};
pub use error::StoreError;
pub use forms::NewFormSubmission;
pub use jobs::{FailedJob, Job};
pub use mail::{HeaderMatch, MessageMailMeta, NewRawMail, RawMail, RawMailOutcome};
pub use ops::{OpsGauges, sqlite_schema_version, sqlite_snapshot};
pub use reads::ReadDigest;
pub use records::*;
pub(crate) use scope::push_ticket_scope;
pub use search::{
    SearchField, SearchFilter, SearchOperator, SearchPage, SearchQuery, SearchSort, ThreadQuery,
    ThreadSort, ValueKind,
};
pub use seed::SeedSpec;
pub use sessions::{LoginThrottle, SignInChallenge, UiSession};
pub use tickets::{TicketListQuery, TicketSort, TicketView};
pub use tokens::{ApiToken, AssociationLabel, TeamAddress};
pub use ui::{LibraryItem, SavedView};
mod webhooks;
pub use webhooks::{
    EventFate, WebhookApp, WebhookDelivery, WebhookEvent, WebhookSettings, WebhookSubscription,
    WebhookTarget,
};
