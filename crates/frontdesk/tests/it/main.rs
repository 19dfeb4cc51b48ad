//! The real binary and server: first start, health check, admin commands beside a running
//! server, graceful shutdown — on SQLite and, when configured, PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod boundaries;
mod calling;
mod chat;
mod cli;
mod cluster;
mod common;
mod mail;
mod notify;
mod notmuch;
mod ops;
mod routing;
mod server;
mod sla;
mod tokens;
mod webhooks;
