//! Log output of the binary: human-readable text (the default) or one JSON object per line
//! (`serve --log-format json`) for log collectors.
//!
//! Both formats carry the same fields: the `request` span's `request_id` (the
//! `X-Request-Id` header and the error body's `correlationId`) and the `error` cause chain
//! that fd-web's error mapping records. Depends on tracing-subscriber only.

use clap::ValueEnum;

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event, span fields in front.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (the message and
    /// the event's fields, such as the cause chain), `span` (the innermost span, whose
    /// `request_id` names the request) and `spans` (every enclosing span with its fields).
    Json,
}

/// Installs the global subscriber. The filter comes from `FRONTDESK_LOG` (default
/// `info,sqlx=warn`).
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FRONTDESK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}
