//! Integration tests of the use cases, each scenario run on SQLite and on PostgreSQL
//! (`fd_testkit::on_both_backends!`). Test names start with the SPEC.md rule they prove.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod access;
mod accounts;
mod admin;
mod attachments;
mod automation;
mod bad_input;
mod bots;
mod bulk;
mod calling;
mod chat;
mod common;
mod concurrency;
mod contacts;
mod conversations;
mod csat;
mod forms;
mod merge;
mod notify;
mod reading;
mod reports;
mod routing;
mod search;
mod sign_in;
mod sla;
mod suggest;
mod tickets;
mod unmerge;
mod views;
mod webhooks;
