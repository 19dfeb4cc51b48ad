//! The signed-in user's own page: changing their password (their other sessions end).
//!
//! A screen: it builds on the session extractor (`auth.rs`) and the page frame (`view.rs`);
//! no widget may import it.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::auth::cookie_token;
use super::{Agent, Chrome, Post, UiResult, UiState, page, see_other};

#[derive(Template)]
#[template(path = "ui/profile_password.html")]
struct PasswordPage {
    chrome: Chrome,
    error: Option<String>,
}

async fn password_page(state: &UiState, agent: &Agent, error: Option<String>) -> UiResult {
    let chrome = Chrome::load(&state.app, agent, "profile", "Your password").await?;
    let failed = error.is_some();
    let mut r = page(&PasswordPage { chrome, error })?;
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// Every signed-in user's own password form.
pub(crate) async fn password_form(State(state): State<UiState>, agent: Agent) -> UiResult {
    password_page(&state, &agent, None).await
}

/// Changes the user's own password; their other sessions end (issue 11), this one stays.
pub(crate) async fn change_password(
    State(state): State<UiState>,
    headers: HeaderMap,
    post: Post,
) -> UiResult {
    let f = &post.fields;
    let new = f.get("password").unwrap_or("");
    if f.get("confirm") != Some(new) {
        return password_page(
            &state,
            &post.agent,
            Some("The two new passwords differ. Type the same one twice.".into()),
        )
        .await;
    }
    let token = cookie_token(&headers).unwrap_or_default();
    match state
        .app
        .change_own_password(
            &post.agent.actor,
            &token,
            f.get("current").unwrap_or(""),
            new.to_string(),
        )
        .await
    {
        Ok(()) => see_other("/"),
        Err(fd_app::AppError::Domain(e)) => {
            let message = if e.to_string().contains("current") {
                "That is not your current password.".to_string()
            } else {
                e.to_string()
            };
            password_page(&state, &post.agent, Some(message)).await
        }
        Err(e) => Err(e.into()),
    }
}
