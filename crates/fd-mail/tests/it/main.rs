//! fd-mail against real-world input (the shared corpus, read at test time) and real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod corpus;
mod headers;
mod hostile;
mod listener;
mod outgoing;
