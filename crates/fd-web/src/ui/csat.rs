//! CSAT pages (issue 16, item 7): the customer's rating page behind the survey email's
//! one-click links (`/csat/{token}/good|bad`: records the rating and offers a comment form;
//! no sign-in, the token is the credential; expired and unknown links get a page that says
//! so), Settings → Satisfaction survey (switch and wording), and the ticket page's badge.
//!
//! Only translates requests into `fd_app::App`'s CSAT use cases; must not contain SQL.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use fd_app::{AppError, CSAT_LINK_DAYS, CsatOutcome};

use super::chat::require_admin;
use super::flash::{Flash, see_other_flash};
use super::widgets::field_errors;
use super::{Agent, Chrome, Post, UiResult, UiState, page, with_security_headers};

pub(crate) fn routes() -> Router<UiState> {
    Router::new()
        .route("/settings/csat", get(settings).post(save_settings))
        .route("/csat/{token}/{rating}", get(rate))
        .route("/csat/{token}", post(comment))
}

/// The ticket page's badge: the customer's rating and comment.
pub(crate) struct CsatBadge {
    pub good: bool,
    pub comment: Option<String>,
}

impl CsatBadge {
    pub(crate) fn from_survey(s: &fd_app::CsatSurvey) -> Option<CsatBadge> {
        s.rating.as_deref().map(|r| CsatBadge {
            good: r == "good",
            comment: s.comment.clone(),
        })
    }
}

/// The customer's page.
#[derive(Template)]
#[template(path = "ui/csat_page.html")]
struct RatingPage {
    heading: String,
    message: String,
    /// The rating recorded (the page then offers the other one and a comment form).
    rating: Option<&'static str>,
    token: String,
    comment: String,
    comment_max: usize,
    error: Option<String>,
}

fn rating_page(status: StatusCode, p: RatingPage) -> Response {
    let body = p
        .render()
        .unwrap_or_else(|_| "<!doctype html><title>Rating</title>".into());
    with_security_headers((status, Html(body)).into_response())
}

fn outcome_page(token: &str, outcome: CsatOutcome, saved_comment: bool) -> Response {
    match outcome {
        CsatOutcome::Rated { survey, subject } => {
            let rating = if survey.rating.as_deref() == Some("good") {
                "good"
            } else {
                "bad"
            };
            rating_page(
                StatusCode::OK,
                RatingPage {
                    heading: "Thank you for your rating".into(),
                    message: if saved_comment {
                        format!("Your comment on “{subject}” was saved.")
                    } else {
                        format!(
                            "You rated the help with “{subject}” as {}.",
                            if rating == "good" { "good" } else { "bad" }
                        )
                    },
                    rating: Some(rating),
                    token: token.to_string(),
                    comment: survey.comment.unwrap_or_default(),
                    comment_max: fd_app::CSAT_COMMENT_MAX,
                    error: None,
                },
            )
        }
        CsatOutcome::Expired => rating_page(
            StatusCode::GONE,
            RatingPage {
                heading: "This rating link has expired".into(),
                message: format!(
                    "Rating links work for {CSAT_LINK_DAYS} days after a request is closed. \
                     Thank you all the same; if you need more help, just write to us again."
                ),
                rating: None,
                token: String::new(),
                comment: String::new(),
                comment_max: 0,
                error: None,
            },
        ),
        CsatOutcome::Unknown => rating_page(
            StatusCode::NOT_FOUND,
            RatingPage {
                heading: "This rating link does not work".into(),
                message: "The link may have been cut or mistyped. Open it again from the email, \
                          or copy the whole address into your browser."
                    .into(),
                rating: None,
                token: String::new(),
                comment: String::new(),
                comment_max: 0,
                error: None,
            },
        ),
    }
}

fn refused_page(token: &str, e: &AppError, comment: &str) -> Response {
    let (at, rest) = field_errors(e, "comment");
    let error = rest
        .or_else(|| (!at.is_empty()).then(|| at.into_values().collect::<Vec<_>>().join(" ")))
        .unwrap_or_else(|| e.to_string());
    rating_page(
        StatusCode::BAD_REQUEST,
        RatingPage {
            heading: "Your rating was not saved".into(),
            message: "Please choose good or bad, or correct the comment.".into(),
            rating: None,
            token: token.to_string(),
            comment: comment.to_string(),
            comment_max: fd_app::CSAT_COMMENT_MAX,
            error: Some(error),
        },
    )
}

async fn rate(
    State(st): State<UiState>,
    Path((token, rating)): Path<(String, String)>,
) -> Result<Response, super::UiError> {
    match st.app.csat_rate(&token, Some(&rating), None).await {
        Ok(o) => Ok(outcome_page(&token, o, false)),
        Err(e @ AppError::Domain(_)) => Ok(refused_page(&token, &e, "")),
        Err(e) => Err(e.into()),
    }
}

async fn comment(
    State(st): State<UiState>,
    Path(token): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, super::UiError> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let text = get("comment").unwrap_or("");
    let rating = get("rating").filter(|r| !r.is_empty());
    match st.app.csat_rate(&token, rating, Some(text)).await {
        Ok(o) => Ok(outcome_page(&token, o, true)),
        Err(e @ AppError::Domain(_)) => Ok(refused_page(&token, &e, text)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "ui/settings_csat.html")]
struct SettingsPage {
    chrome: Chrome,
    enabled: bool,
    subject: String,
    intro: String,
    error: Option<String>,
}

async fn settings(State(st): State<UiState>, agent: Agent) -> UiResult {
    require_admin(&agent)?;
    let s = st.app.csat_settings(&agent.actor).await?;
    page(&SettingsPage {
        chrome: Chrome::load(&st.app, &agent, "settings", "Satisfaction survey").await?,
        enabled: s.enabled,
        subject: s.subject,
        intro: s.intro,
        error: None,
    })
}

async fn save_settings(State(st): State<UiState>, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    let f = &post.fields;
    let enabled = f.get("enabled") == Some("on");
    let subject = f.get("subject").unwrap_or("").to_string();
    let intro = f.get("intro").unwrap_or("").to_string();
    match st
        .app
        .set_csat_settings(&post.agent.actor, enabled, &subject, &intro)
        .await
    {
        Ok(_) => see_other_flash("/settings/csat", Flash::SettingsSaved),
        Err(e @ AppError::Domain(_)) => {
            let (at, rest) = field_errors(&e, "csat_intro");
            let error = rest.or_else(|| {
                (!at.is_empty()).then(|| {
                    at.into_iter()
                        .map(|(k, v)| {
                            let what = if k == "csat_subject" {
                                "Subject"
                            } else {
                                "Text"
                            };
                            format!("{what}: {v}")
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
            });
            let mut r = page(&SettingsPage {
                chrome: Chrome::load(&st.app, &post.agent, "settings", "Satisfaction survey")
                    .await?,
                enabled,
                subject,
                intro,
                error,
            })?;
            *r.status_mut() = StatusCode::BAD_REQUEST;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}
