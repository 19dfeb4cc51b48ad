//! Frontdesk's use cases: every write — from the web UI, the API, mail ingestion, automation
//! or bulk actions — goes through a method of [`App`]. Each runs in one transaction together
//! with its activity events, so the rules of SPEC.md (INB-xx, HD-xx) hold on every road.
//!
//! Reads are scoped by the actor's access (HD-09) through the store's scoped queries.
//!
//! Must not depend on HTTP, HTML or mail syntax: callers translate their inputs into the
//! plain types here. Time comes from the injected [`Clock`].

mod actor;
mod admin;
mod clock;
mod conversations;
mod crm;
mod error;
mod events;
mod passwords;
mod tickets;

use std::sync::Arc;

pub use actor::Actor;
pub use admin::{NewPipeline, NewProperty, NewStage, NewUserInput, StagePatch};
pub use clock::{Clock, ManualClock, SystemClock};
pub use conversations::{InboundMessage, NewConversation, Reply, TicketCreation, VisitorContact};
pub use crm::{AssociationEnd, NewContact};
pub use error::AppError;
pub use events::Event;
pub use fd_domain as domain;
pub use fd_store as store;
pub use passwords::{generate_password, hash_password, verify_password};
pub use tickets::{NewTicket, TicketChanges, TicketDetails};

use fd_store::Db;
use tokio::sync::broadcast;

/// The application: a database, a clock and the live-event bus.
#[derive(Clone)]
pub struct App {
    db: Db,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<Event>,
}

impl App {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> App {
        let (events, _) = broadcast::channel(1024);
        App { db, clock, events }
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
        for e in events {
            // No subscriber is not an error: nobody is watching.
            let _ = self.events.send(e);
        }
    }
}
