//! Receiving SMTP: [`session`] is the protocol (sans-IO), [`server`] the tokio listener.

pub mod server;
pub mod session;

pub use server::{SmtpServerConfig, serve};
pub use session::{Action, Envelope, Session, SessionConfig};
