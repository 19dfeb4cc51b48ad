//! The signed-in user's own pages: their password (changing it ends their other sessions;
//! a password an administrator set must be changed first), their signed-in sessions (end
//! one, or all but this one) and two-factor sign-in (enrol with a confirmed code, recovery
//! codes shown once, turn off).
//!
//! A screen: it builds on the session extractor (`auth.rs`) and the page frame (`view.rs`);
//! no widget may import it.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use fd_app::TotpStatus;

use super::auth::cookie_token;
use super::{Agent, Chrome, Post, UiResult, UiState, page, see_other};

#[derive(Template)]
#[template(path = "ui/profile_password.html")]
struct PasswordPage {
    chrome: Chrome,
    error: Option<String>,
    /// The password was set by an administrator (or printed on first start).
    forced: bool,
}

async fn password_page(state: &UiState, agent: &Agent, error: Option<String>) -> UiResult {
    let chrome = Chrome::load(&state.app, agent, "profile", "Your password").await?;
    let failed = error.is_some();
    let forced = agent.must_change_password;
    let mut r = page(&PasswordPage {
        chrome,
        error,
        forced,
    })?;
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

/// One row of the session list.
struct SessionRow {
    id: String,
    device: String,
    client_addr: String,
    /// `<time>` elements in the agent's zone (`Times::html`).
    signed_in: String,
    last_seen: String,
    current: bool,
}

/// The second-factor section of the profile.
enum TwoFactor {
    Off,
    Pending {
        secret: String,
        uri: String,
        /// The link as a QR code (inline SVG); empty if it could not be encoded.
        qr_svg: String,
    },
    On {
        recovery_codes_left: i64,
    },
}

#[derive(Template)]
#[template(path = "ui/profile.html")]
struct ProfilePage {
    chrome: Chrome,
    sessions: Vec<SessionRow>,
    two_factor: TwoFactor,
    /// Recovery codes just issued: shown on this page only.
    recovery_codes: Vec<String>,
    notice: Option<String>,
    error: Option<String>,
    /// Item 8: the agent's signature as saved (variables unfilled).
    signature: String,
    /// Notification email choices: (value, label, chosen).
    notify_modes: Vec<(&'static str, &'static str, bool)>,
}

async fn profile_page(
    state: &UiState,
    agent: &Agent,
    token: &str,
    recovery_codes: Vec<String>,
    notice: Option<String>,
    error: Option<String>,
) -> UiResult {
    let chrome = Chrome::load(&state.app, agent, "profile", "Your profile").await?;
    let times = &chrome.times;
    let sessions = state
        .app
        .sessions_of(&agent.actor, token)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            id: s.id,
            device: s.device,
            client_addr: if s.client_addr.is_empty() {
                "unknown".into()
            } else {
                s.client_addr
            },
            signed_in: times.html(&s.created_at),
            last_seen: times.html(&s.last_seen_at),
            current: s.current,
        })
        .collect();
    let two_factor = match state.app.totp_status(&agent.actor).await? {
        TotpStatus::Off => TwoFactor::Off,
        TotpStatus::Pending(e) => TwoFactor::Pending {
            qr_svg: qr_svg(&e.uri).unwrap_or_default(),
            secret: e.secret,
            uri: e.uri,
        },
        TotpStatus::On {
            recovery_codes_left,
        } => TwoFactor::On {
            recovery_codes_left,
        },
    };
    let chosen = state.app.notify_email_mode(&agent.actor).await?;
    let notify_modes = fd_app::domain::notify::NotifyEmail::ALL
        .into_iter()
        .map(|m| (m.as_str(), m.label(), m == chosen))
        .collect();
    let failed = error.is_some();
    let signature = state.app.my_signature(&agent.actor).await?;
    let mut r = page(&ProfilePage {
        signature,
        chrome,
        sessions,
        two_factor,
        recovery_codes,
        notice,
        error,
        notify_modes,
    })?;
    if failed {
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// The signed-in user's profile: password, sessions, two-factor sign-in.
pub(crate) async fn profile(
    State(state): State<UiState>,
    headers: HeaderMap,
    agent: Agent,
) -> UiResult {
    let token = cookie_token(&headers).unwrap_or_default();
    profile_page(&state, &agent, &token, Vec::new(), None, None).await
}

/// A refusal from a use case shown on the profile page, or the error page for anything
/// else.
async fn profile_result(
    state: &UiState,
    post: &Post,
    token: &str,
    r: Result<Option<String>, fd_app::AppError>,
) -> UiResult {
    match r {
        Ok(notice) => profile_page(state, &post.agent, token, Vec::new(), notice, None).await,
        Err(e @ (fd_app::AppError::Domain(_) | fd_app::AppError::Conflict(_))) => {
            profile_page(
                state,
                &post.agent,
                token,
                Vec::new(),
                None,
                Some(e.to_string()),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// Ends one of the user's sessions (by the id the list shows).
pub(crate) async fn end_session(
    State(state): State<UiState>,
    headers: HeaderMap,
    post: Post,
) -> UiResult {
    let token = cookie_token(&headers).unwrap_or_default();
    let id = post.fields.get("session").unwrap_or("").to_string();
    let r = state
        .app
        .sign_out_session(&post.agent.actor, &id)
        .await
        .map(|()| Some("That session is signed out.".to_string()));
    if r.is_ok() {
        return see_other("/profile#sessions");
    }
    profile_result(&state, &post, &token, r).await
}

/// Item 8: saves the agent's signature (unknown variables are refused on the page).
pub(crate) async fn save_signature(
    State(state): State<UiState>,
    headers: HeaderMap,
    post: Post,
) -> UiResult {
    let token = cookie_token(&headers).unwrap_or_default();
    let r = state
        .app
        .set_my_signature(
            &post.agent.actor,
            post.fields.get("signature").unwrap_or(""),
        )
        .await
        .map(|()| Some("Your signature is saved.".to_string()));
    profile_result(&state, &post, &token, r).await
}

/// Ends every session of the user but this browser's.
pub(crate) async fn end_other_sessions(
    State(state): State<UiState>,
    headers: HeaderMap,
    post: Post,
) -> UiResult {
    let token = cookie_token(&headers).unwrap_or_default();
    state
        .app
        .sign_out_other_sessions(&post.agent.actor, &token)
        .await?;
    see_other("/profile#sessions")
}

/// Starts two-factor enrolment: a new secret, shown on the profile until confirmed.
pub(crate) async fn totp_start(
    State(state): State<UiState>,
    headers: HeaderMap,
    post: Post,
) -> UiResult {
    let token = cookie_token(&headers).unwrap_or_default();
    let r = state
        .app
        .start_totp_enrolment(&post.agent.actor)
        .await
        .map(|_| None);
    if r.is_ok() {
        return see_other("/profile#two-factor");
    }
    profile_result(&state, &post, &token, r).await
}

/// Confirms enrolment with a code; the recovery codes are shown on the page that answers
/// (never again).
pub(crate) async fn totp_confirm(
    State(state): State<UiState>,
    headers: HeaderMap,
    post: Post,
) -> UiResult {
    let token = cookie_token(&headers).unwrap_or_default();
    let code = post.fields.get("code").unwrap_or("");
    match state.app.confirm_totp(&post.agent.actor, code).await {
        Ok(codes) => {
            profile_page(
                &state,
                &post.agent,
                &token,
                codes,
                Some("Two-factor sign-in is on.".into()),
                None,
            )
            .await
        }
        Err(e) => profile_result(&state, &post, &token, Err(e)).await,
    }
}

/// Turns two-factor sign-in off (or abandons an enrolment); needs the password.
pub(crate) async fn totp_disable(
    State(state): State<UiState>,
    headers: HeaderMap,
    post: Post,
) -> UiResult {
    let token = cookie_token(&headers).unwrap_or_default();
    let password = post.fields.get("current").unwrap_or("");
    let r = state
        .app
        .disable_own_totp(&post.agent.actor, password)
        .await
        .map(|()| Some("Two-factor sign-in is off.".to_string()));
    profile_result(&state, &post, &token, r).await
}

/// Follow and notify: how the user is emailed about their notifications.
pub(crate) async fn set_notify_email(
    State(state): State<UiState>,
    headers: HeaderMap,
    post: Post,
) -> UiResult {
    let token = cookie_token(&headers).unwrap_or_default();
    let r = state
        .app
        .set_notify_email_mode(
            &post.agent.actor,
            post.fields.get("notify_email").unwrap_or(""),
        )
        .await
        .map(|m| Some(format!("Notification emails: {}.", m.label())));
    profile_result(&state, &post, &token, r).await
}

/// The enrolment link as a QR code; medium error correction, as authenticator apps expect.
fn qr_code(uri: &str) -> Option<qrcode::QrCode> {
    qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M).ok()
}

/// The QR code as an inline `<svg>` with an accessible name (no XML declaration: it sits in
/// HTML; only `rect`/`path` with fill attributes, so the page's CSP needs nothing more).
fn qr_svg(uri: &str) -> Option<String> {
    let svg = qr_code(uri)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let start = svg.find("<svg")?;
    Some(svg[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code of the two-factor link below\" id=\"totp-qr\" ",
        1,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::{qr_code, qr_svg};

    const URI: &str =
        "otpauth://totp/Frontdesk:ann@example.com?secret=JBSWY3DPEHPK3PXP&issuer=Frontdesk";

    #[test]
    fn the_enrolment_qr_code_reads_back_as_the_link() {
        // Draw the code's modules at 4 px each with a 4-module quiet zone, then decode it.
        let code = qr_code(URI).unwrap();
        let width = code.width();
        let colors = code.to_colors();
        let (scale, margin) = (4usize, 4usize);
        let side = (width + 2 * margin) * scale;
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
            let (mx, my) = (x / scale, y / scale);
            let dark = mx >= margin
                && my >= margin
                && mx < width + margin
                && my < width + margin
                && colors[(my - margin) * width + (mx - margin)] == qrcode::Color::Dark;
            if dark { 0 } else { 255 }
        });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, text) = grids[0].decode().unwrap();
        assert_eq!(text, URI);
        let svg = qr_svg(URI).unwrap();
        assert!(
            svg.starts_with("<svg role=\"img\" aria-label="),
            "{}",
            &svg[..80]
        );
        assert!(!svg.contains("<script"));
    }
}
