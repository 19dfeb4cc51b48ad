//! Frontdesk's use cases: every write — from the web UI, the API, mail ingestion, automation
//! or bulk actions — goes through a method of [`App`]. Each runs in one transaction together
//! with its activity events, so the rules of SPEC.md (INB-xx, HD-xx) hold on every road.
//!
//! Reads are scoped by the actor's access (HD-09) through the store's scoped queries.
//!
//! Must not depend on HTTP, HTML or mail syntax: callers translate their inputs into the
//! plain types here. Time comes from the injected [`Clock`].

mod activity;
mod actor;
mod address_budget;
mod admin;
mod agent_html;
mod associations;
mod auth;
mod automation;
mod bots;
mod bulk;
mod calling;
mod chat;
mod clock;
mod cluster;
mod comments;
mod config;
mod conversations;
mod cpu;
mod crm;
mod csat;
mod drafts;
mod engagements;
mod error;
mod events;
mod files;
mod forms;
mod mail;
mod mail_ingest;
mod mail_jobs;
mod metrics;
mod notify;
mod objects;
mod passwords;
mod reading;
mod reports;
pub use reports::{BacklogRow, ReportKind, ReportQuery, Reports, TimeRow, TimeTables};
mod routing;
mod schema;
mod seeding;
mod sessions;
mod sla;
mod suggest;
mod threads;
mod ticket_merge;
mod ticket_unmerge;
mod tickets;
mod totp;
mod ui;
mod user_objects;
mod views;
mod webhooks;

use std::sync::Arc;

pub use actor::Actor;
pub use admin::{NewPipeline, NewProperty, NewStage, NewUserInput, StagePatch};
pub use agent_html::sanitize_agent_html;
pub use auth::{NewApiToken, TOKEN_PREFIX};
pub use automation::{AutomationRule, RuleInput};
pub use bots::{Bot, bot_json, parse_bot_json};
pub use bulk::{BulkAction, BulkOutcome, BulkRefusal, BulkSelection};
pub use calling::{CALL_EVENT_TOLERANCE_MS, CallEvent, CallEventOutcome, call_event_signature};
pub use chat::{ChatView, VisitorMessage, VisitorSent};
pub use clock::{Clock, ManualClock, SystemClock};
pub use cluster::RemotePresence;
pub use conversations::{InboundMessage, NewConversation, Reply, TicketCreation, VisitorContact};
pub use cpu::run_cpu;
pub use crm::{AssociationEnd, NewContact, NewLinkedRecord, RecordList};
pub use csat::{
    COMMENT_MAX as CSAT_COMMENT_MAX, CsatEmail, CsatOutcome, LINK_DAYS as CSAT_LINK_DAYS,
};
pub use error::AppError;
pub use events::{Event, WatchTarget};
pub use fd_domain as domain;
pub use fd_store::{CsatCounts, CsatSettings, CsatSurvey};
pub use fd_store::{
    WebhookApp, WebhookDelivery, WebhookEvent, WebhookSettings, WebhookSubscription,
};
pub use files::FileDownload;
pub use forms::{
    FormChanges, FormSubmission, NewForm, SUBMIT_BURST, SUBMIT_REFILL_MS, SubmitOutcome,
    parse_field_spec,
};
pub use routing::TeamRoutingView;
pub use suggest::{Suggestion, SuggestionKind};
pub use ticket_unmerge::{TicketLinks, Unmerged};
pub use views::{View, ViewInput, view_sort};
pub use webhooks::{
    LEASE_MS as WEBHOOK_LEASE_MS, NewWebhookApp, SubscriptionBatch, WebhookAccess, WebhookLog,
    WebhookRun, webhook_signature_v1, webhook_signature_v3,
};
// The query inputs of the list use cases; the store itself is not part of fd-app's API.
pub use drafts::DraftEntry;
pub use engagements::Engagement;
pub use fd_store::{
    ConversationListQuery, FileRow, ThreadQuery, ThreadSort, TicketListQuery, TicketSort,
    TicketView,
};
pub use mail::{
    AttachmentDownload, MailService, MailSettings, MessageHtml, flatten_unbounded_html,
};
pub use mail_ingest::IngestResult;
pub use mail_jobs::{JobStats, LEASE_MS};
pub use metrics::{LiveConnection, Metrics, ScrapeAccess};
pub use objects::{
    CrmRecord, FilterInput, MAX_FILTER_GROUPS, SearchRequest, duplicate_ids, properties_type,
};
pub use passwords::{generate_password, hash_password, verify_password};
pub use reading::{Opened, RowDigest};
pub use schema::{AssociationKind, HUBSPOT_DEFINED, THREAD_TO_TICKET, USER_DEFINED, default_type};
pub use seeding::TicketSeed;
pub use sessions::{
    ActiveSession, CHALLENGE_TTL_MS, CLIENT_BURST, CLIENT_REFILL_MS, DEVICE_MEMORY_MS,
    FREE_LOGIN_ATTEMPTS, SESSION_IDLE_MS, SecondFactorAttempt, SessionInfo, SignInAttempt,
    SignInOutcome, SignedIn, Throttle, describe_user_agent, lock_duration_ms,
};
pub use sla::{SlaPolicyForm, SlaPolicyView, TicketSla};
pub use threads::{
    CHAT_ACCOUNT_BASE, ChannelAccount, ThreadItem, channel_by_id, channel_id, channel_name,
    inbox_by_id, inbox_id,
};
pub use tickets::{NewTicket, TicketChanges, TicketDetails};
pub use totp::{
    RECOVERY_CODES, TotpEnrolment, TotpStatus, new_recovery_codes, recovery_code_hash, totp_code,
    totp_match, totp_uri,
};
pub use ui::{CompanyOverview, ContactOverview, LIBRARY_KINDS, ReplyOutcome};
pub use user_objects::UserObject;

use fd_store::Db;
use tokio::sync::broadcast;

/// The application: a database, a clock and the live-event bus.
#[derive(Clone)]
pub struct App {
    db: Db,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<Event>,
    config: config::ConfigSlot,
    /// Token resolutions (see `auth.rs`).
    auth_cache: Arc<auth::AuthCache>,
    /// The API's grouped ticket creates (see `objects.rs`).
    create_groups: Arc<objects::CreateGroups>,
    /// Failed sign-ins per client address (see `sessions.rs`).
    /// Failed sign-ins per client address (see `sessions.rs`).
    sign_in_clients: Arc<address_budget::AddressBudget>,
    /// Form submissions per client address (see `forms.rs`).
    form_clients: Arc<address_budget::AddressBudget>,
    /// New chats per client address (see `chat.rs`).
    chat_starts: Arc<address_budget::AddressBudget>,
    /// The reply-suggestion index (see `suggest.rs`).
    suggest_index: Arc<suggest::SuggestIndex>,
    /// This node's operational metrics (see `metrics.rs`).
    metrics: Arc<metrics::Metrics>,
    /// This node among others on one database (see `cluster.rs`).
    cluster: Arc<cluster::Cluster>,
    /// The HTTP client that delivers webhooks (see `webhooks.rs`), made at first use.
    webhook_client: webhooks::ClientSlot,
}

impl App {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> App {
        let (events, _) = broadcast::channel(1024);
        App {
            db,
            clock,
            events,
            config: config::ConfigSlot::default(),
            auth_cache: Arc::default(),
            create_groups: Arc::default(),
            sign_in_clients: Arc::new(address_budget::AddressBudget::new(
                sessions::CLIENT_BURST,
                sessions::CLIENT_REFILL_MS,
                sessions::CLIENT_TABLE_MAX,
            )),
            form_clients: Arc::new(address_budget::AddressBudget::new(
                forms::SUBMIT_BURST,
                forms::SUBMIT_REFILL_MS,
                sessions::CLIENT_TABLE_MAX,
            )),
            chat_starts: Arc::new(address_budget::AddressBudget::new(
                fd_domain::chat::CHAT_STARTS_BURST,
                fd_domain::chat::CHAT_START_REFILL_MS,
                chat::CHAT_CLIENTS_MAX,
            )),
            suggest_index: Arc::default(),
            metrics: Arc::default(),
            cluster: Arc::default(),
            webhook_client: Arc::default(),
        }
    }

    pub(crate) fn suggest_index(&self) -> &suggest::SuggestIndex {
        &self.suggest_index
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Subscribes to changes committed by any use case (live updates).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub(crate) fn publish(&self, events: Vec<Event>) {
        self.relay_events(&events);
        for e in events {
            // No subscriber is not an error: nobody is watching.
            let _ = self.events.send(e);
        }
    }
}
