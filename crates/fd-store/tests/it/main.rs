//! Integration tests of the store, each scenario run on SQLite and on PostgreSQL
//! (`fd_testkit::on_both_backends!`) unless it is about one backend's own machinery. Records are written through the app's use cases, so
//! the database's own machinery (triggers, generated columns) is what the tests exercise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod errors;
mod pool;
mod reads;
mod search;
mod tallies;
mod writers;
