//! Frontdesk's domain: the vocabulary of SPEC.md and the rules that do not need storage.
//!
//! Pure types and decisions — ids, parsed values, pipelines and stages, property typing,
//! the ticket/conversation rules (INB-xx, HD-xx) and the ticket access policy (HD-05, HD-09).
//!
//! Must not depend on any I/O: no database, no HTTP, no mail, no clock reads, no async,
//! no randomness. Time and ids are passed in by the caller so tests control them.

// Byte-index slicing of text panics on a char boundary; the domain reads user text, so it
// uses `get`, `split_at_checked` or char iterators instead.
#![deny(clippy::string_slice)]

pub mod access;
pub mod accounts;
pub mod automation;
pub mod bots;
pub mod chat;
pub mod contacts;
pub mod engagements;
pub mod entities;
pub mod error;
pub mod forms;
pub mod limits;
pub mod local_time;
pub mod model;
pub mod notify;
pub mod outgoing;
pub mod property;
pub mod reading;
pub mod reports;
pub mod routing;
pub mod rules;
pub mod search;
pub mod sla;
pub mod text;
pub mod ticket_merge;
pub mod ticket_unmerge;
pub mod users;
pub mod views;
pub mod webhooks;

pub use access::{TicketAccess, Viewer, ViewerScope};
pub use error::{DomainError, ErrorCode, FieldError};
pub use model::*;
