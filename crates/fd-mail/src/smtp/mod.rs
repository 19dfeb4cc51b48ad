//! Receiving SMTP: [`session`] is the protocol (sans-IO), [`server`] the tokio listener,
//! [`limits`] who may connect.

pub mod limits;
pub mod server;
pub mod session;

pub use limits::{ConnectionLimits, Refusal};
pub use server::{SmtpServerConfig, serve};
pub use session::{Action, Envelope, Session, SessionConfig};
