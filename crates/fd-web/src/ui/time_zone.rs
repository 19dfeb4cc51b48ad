//! The signed-in user's own display settings (issue 13, item 8): the time zone every page
//! shows their times in. A small page beside the profile's password form, so the profile can
//! grow without this form moving.
//!
//! A screen: it builds on the session extractor (`auth.rs`) and the page frame (`view.rs`);
//! no widget may import it.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use fd_app::domain::local_time::time_zone_names;

use super::view::Times;
use super::{Agent, Chrome, Post, UiResult, UiState, page, see_other};

#[derive(Template)]
#[template(path = "ui/profile_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    zones: Vec<String>,
    current: String,
    /// An example of how times look now, in the chosen zone.
    sample: String,
    saved: bool,
    error: Option<String>,
}

async fn settings_page(
    state: &UiState,
    agent: &Agent,
    saved: bool,
    error: Option<String>,
) -> UiResult {
    let chrome = Chrome::load(&state.app, agent, "profile", "Your settings").await?;
    let times = Times::of(&state.app, agent);
    let failed = error.is_some();
    let mut r = page(&SettingsPage {
        current: times.zone_name().to_string(),
        sample: times.html(&state.app.now()),
        chrome,
        zones: time_zone_names(),
        saved,
        error,
    })?;
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

#[derive(serde::Deserialize, Default)]
pub(crate) struct SettingsParams {
    saved: Option<String>,
}

pub(crate) async fn settings_form(
    State(state): State<UiState>,
    agent: Agent,
    axum::extract::Query(p): axum::extract::Query<SettingsParams>,
) -> UiResult {
    settings_page(&state, &agent, p.saved.is_some(), None).await
}

/// Saves the user's own time zone; a name the zone database does not know is refused.
pub(crate) async fn save_settings(State(state): State<UiState>, post: Post) -> UiResult {
    let raw = post.fields.get("time_zone").unwrap_or("");
    match state.app.set_own_time_zone(&post.agent.actor, raw).await {
        Ok(_) => see_other("/profile/settings?saved=1"),
        Err(fd_app::AppError::Domain(e)) => {
            settings_page(&state, &post.agent, false, Some(e.to_string())).await
        }
        Err(e) => Err(e.into()),
    }
}
