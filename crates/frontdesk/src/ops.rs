//! `serve`'s operations options: the log format and the token that turns `/metrics` on.
//!
//! Only argument parsing and applying them to the app; the metrics live in fd-app and
//! fd-web, the log formats in `logging.rs`.

use clap::Args;
use fd_app::App;

use crate::logging::LogFormat;

#[derive(Args, Debug, Clone, Default)]
pub struct ServeOpsArgs {
    /// Log lines as readable text (default) or one JSON object per line.
    #[arg(long, env = "FRONTDESK_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Serves Prometheus metrics at `/metrics` to scrapes presenting this bearer token (at
    /// least 16 characters). Without it `/metrics` does not exist (404).
    #[arg(long, env = "FRONTDESK_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl ServeOpsArgs {
    /// Turns on what was asked for on this node's app.
    pub fn apply(&self, app: &App) -> anyhow::Result<()> {
        if let Some(token) = &self.metrics_token {
            app.metrics().enable_scrape(token)?;
        }
        Ok(())
    }
}
