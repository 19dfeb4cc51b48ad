//! Sign-in, sign-out, the session extractor and the checks that refuse cross-site posts.
//!
//! A post is accepted only when (1) the browser does not call it cross-site (`Sec-Fetch-Site`)
//! and its `Origin`, when sent, is this server's own, and (2) for a signed-in session, it
//! carries that session's CSRF token (a hidden `_csrf` field, or `X-CSRF-Token` from fetch).
//! `SameSite=Lax` already keeps the cookie off cross-site posts; these checks hold even for
//! browsers or proxies that do not honour it.

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, RequestPartsExt};
use fd_app::domain::entities::User;
use fd_app::{Actor, SignInAttempt, SignInOutcome, Throttle};
use serde::Deserialize;

use super::{UiError, UiResult, UiState, page, with_security_headers};

pub(crate) const COOKIE: &str = "fd_session";
/// The browser's long-lived sign-in device cookie (see fd-app's `sessions.rs`): only the
/// sign-in form needs it, so it is sent to `/login` alone.
const DEVICE_COOKIE: &str = "fd_device";
/// A sign-in waiting for its second factor (see fd-app's `sessions.rs`): sent to `/login`
/// and `/login/code` alone, for a few minutes.
const CHALLENGE_COOKIE: &str = "fd_challenge";
/// The only pages a user whose password must be changed may use (issue 13, item 9).
const PASSWORD_CHANGE_PATHS: [&str; 2] = ["/profile/password", "/logout"];

/// The signed-in agent of a request.
#[derive(Clone)]
pub(crate) struct Agent {
    pub actor: Actor,
    pub user: User,
    pub csrf: String,
    /// Only the change-password page and sign-out get such an agent (see the extractor).
    pub must_change_password: bool,
    /// A confirmation left by the post that led here (`flash.rs`), shown once.
    pub flash: Option<super::flash::Flash>,
}

fn cookie_named(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

pub(crate) fn cookie_token(headers: &HeaderMap) -> Option<String> {
    cookie_named(headers, COOKIE)
}

/// Where an unauthenticated browser goes: the sign-in page, remembering the page it wanted.
fn to_login(parts: &Parts) -> Response {
    let wanted = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    if parts.method == Method::GET && parts.uri.path() != "/ui/events" {
        let next: String = form_urlencode(wanted);
        Redirect::to(&format!("/login?next={next}")).into_response()
    } else {
        UiError::new(
            StatusCode::UNAUTHORIZED,
            "Your session has ended. Sign in again.",
        )
        .into_response()
    }
}

fn form_urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl FromRequestParts<UiState> for Agent {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, Response> {
        let Some(token) = cookie_token(&parts.headers) else {
            return Err(to_login(parts));
        };
        match state.app.session(&token).await {
            // An administrator-set password (a reset, the first start) must be replaced
            // before anything else: every page leads to the change-password form. API
            // tokens do not go through here and keep working.
            Ok(Some(s))
                if s.must_change_password && !PASSWORD_CHANGE_PATHS.contains(&parts.uri.path()) =>
            {
                if parts.method == Method::GET && parts.uri.path() != "/ui/events" {
                    Err(Redirect::to("/profile/password").into_response())
                } else {
                    Err(UiError::new(
                        StatusCode::FORBIDDEN,
                        "Change your password first: an administrator set it for you.",
                    )
                    .into_response())
                }
            }
            Ok(Some(s)) => Ok(Agent {
                actor: s.actor,
                user: s.user,
                csrf: s.csrf_token,
                must_change_password: s.must_change_password,
                flash: super::flash::Flash::pending(&parts.headers),
            }),
            Ok(None) => Err(to_login(parts)),
            Err(e) => Err(UiError::from(e).into_response()),
        }
    }
}

/// Refuses a state-changing request that a browser reports as coming from another site.
fn same_origin(headers: &HeaderMap) -> Result<(), UiError> {
    let refuse = || UiError::new(StatusCode::FORBIDDEN, "Cross-site form posts are refused.");
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(refuse());
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        // The whole origin — scheme, host and port (RFC 6454 §5) — must be ours: comparing
        // the host alone let `http://desk.example` post to `https://desk.example`
        // (Hardening finding 8). `null` and anything unparsable are refused.
        let theirs = origin.to_str().ok().and_then(parse_origin);
        if theirs.is_none() || theirs != own_origin(headers) {
            return Err(refuse());
        }
    }
    Ok(())
}

/// `(scheme, host, port)` of a serialised origin, lower-cased, with the scheme's default port
/// made explicit so `https://a` and `https://a:443` compare equal.
fn parse_origin(origin: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = origin.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https") {
        return None;
    }
    host_port(&scheme, rest)
}

/// `host[:port]` (a bracketed IPv6 literal included) with the scheme's default port.
fn host_port(scheme: &str, authority: &str) -> Option<(String, String, u16)> {
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    let default = if scheme == "https" { 443 } else { 80 };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && (!h.starts_with('[') || h.ends_with(']')) => {
            (h, p.parse::<u16>().ok()?)
        }
        _ => (authority, default),
    };
    if host.is_empty() {
        return None;
    }
    Some((scheme.to_string(), host.to_ascii_lowercase(), port))
}

/// This server's origin as the browser sees it: the `Host` it was asked for, over `https`
/// when a TLS-terminating proxy says so (`X-Forwarded-Proto`, or `proto=` in RFC 7239
/// `Forwarded`), otherwise over plain `http`, which is what `serve` listens with. A browser
/// cannot add these headers to a cross-site form post, so trusting them cannot help one.
fn own_origin(headers: &HeaderMap) -> Option<(String, String, u16)> {
    let host = headers.get(header::HOST)?.to_str().ok()?.trim();
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .map(str::to_ascii_lowercase)
        .or_else(|| {
            let f = headers.get("forwarded")?.to_str().ok()?;
            let first = f.split(',').next()?;
            first.split(';').find_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("proto")
                    .then(|| v.trim().trim_matches('"').to_ascii_lowercase())
            })
        });
    let scheme = match forwarded.as_deref() {
        Some("https") => "https",
        _ => "http",
    };
    host_port(scheme, host)
}

/// The fields of a posted form, in order (repeated names allowed).
#[derive(Debug, Default, Clone)]
pub(crate) struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// The trimmed value, `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub fn flag(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v == "1" || v == "on" || v == "true")
    }
    /// A number such as an order or a version (not a record id: see [`Self::record_id`]).
    pub fn id<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }
    /// A record id: absent or blank is `None`; anything but canonical digits is refused
    /// rather than read as another id or as "none" (Hardening finding 8).
    pub fn checked_id(&self, name: &str) -> Result<Option<i64>, UiError> {
        match self.get(name).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => fd_app::domain::text::parse_id(v)
                .map(Some)
                .ok_or_else(|| UiError::bad_request(format!("{name}: {v:?} is not a record id"))),
        }
    }
    /// [`Self::checked_id`] where a malformed id reads as absent.
    pub fn record_id(&self, name: &str) -> Option<i64> {
        self.checked_id(name).ok().flatten()
    }
}

/// A signed-in, same-origin form post with a valid CSRF token.
pub(crate) struct Post {
    pub agent: Agent,
    pub fields: Fields,
    /// Files of a `multipart/form-data` post (the reply form's file input; issue 15,
    /// item 7): only parts that name a file and carry bytes.
    pub files: Vec<crate::multipart::Part>,
}

impl FromRequest<UiState> for Post {
    type Rejection = Response;

    async fn from_request(req: Request, state: &UiState) -> Result<Self, Response> {
        same_origin(req.headers()).map_err(IntoResponse::into_response)?;
        let (mut parts, body) = req.into_parts();
        let agent: Agent = parts.extract_with_state(state).await?;
        let header_token = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let boundary = parts
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::multipart::boundary);
        let req = Request::from_parts(parts, body);
        let mut files = Vec::new();
        let fields = if let Some(boundary) = boundary {
            let bytes = axum::body::Bytes::from_request(req, state)
                .await
                .map_err(IntoResponse::into_response)?;
            let form = crate::multipart::parse(&boundary, bytes)
                .await
                .map_err(|e| UiError::bad_request(e).into_response())?;
            let mut pairs = Vec::new();
            for p in form {
                match &p.filename {
                    Some(name) if !name.is_empty() && !p.data.is_empty() => files.push(p),
                    Some(_) => {}
                    None => pairs.push((p.name.clone(), p.text())),
                }
            }
            Fields(pairs)
        } else {
            let Form(pairs): Form<Vec<(String, String)>> = Form::from_request(req, state)
                .await
                .map_err(|e| UiError::bad_request(e.body_text()).into_response())?;
            Fields(pairs)
        };
        let token = header_token.or_else(|| fields.get("_csrf").map(str::to_string));
        if token.as_deref() != Some(agent.csrf.as_str()) {
            return Err(UiError::new(
                StatusCode::FORBIDDEN,
                "This form has expired (its security token does not match). Reload the page and try again.",
            )
            .into_response());
        }
        Ok(Post {
            agent,
            fields,
            files,
        })
    }
}

#[derive(Template)]
#[template(path = "ui/login.html")]
struct LoginPage {
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/login_code.html")]
struct LoginCodePage {
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

/// Only same-site paths (issue 11, findings 6 and 8): one leading `/` (not `//` nor `/\`,
/// which browsers read as another host), and nothing but visible ASCII — browsers drop tab,
/// CR and LF from URLs, so `/\t/evil.example` would become `//evil.example`, and CR/LF cannot
/// go into a `Location` header at all. Once percent-decoded it must still start with one `/`
/// and hold no control character, so no later decoding can turn it into either. Anything else
/// goes to `/`: sign-in never fails after the session is created.
fn safe_next(next: Option<&str>) -> String {
    fn same_site_start(p: &[u8]) -> bool {
        p.first() == Some(&b'/') && !matches!(p.get(1), Some(b'/' | b'\\'))
    }
    let acceptable = |n: &str| {
        let decoded = percent_decode(n);
        same_site_start(n.as_bytes())
            && !n.contains('\\')
            && n.bytes().all(|b| (0x21..=0x7e).contains(&b))
            && same_site_start(&decoded)
            && !decoded.iter().any(|b| b.is_ascii_control())
    };
    match next {
        Some(n) if acceptable(n) => n.into(),
        _ => "/".into(),
    }
}

/// `%XX` sequences decoded to their bytes; anything else kept as it is.
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

pub(crate) async fn login_page(Query(q): Query<NextQuery>) -> UiResult {
    page(&LoginPage {
        next: safe_next(q.next.as_deref()),
        email: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// The TCP peer's address, when the server was started with connection info (`frontdesk
/// serve` is; a router driven directly, as in some tests, is not).
fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

pub(crate) async fn login(
    axum::extract::State(state): axum::extract::State<UiState>,
    extensions: Extensions,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> UiResult {
    same_origin(&headers)?;
    // Checked before anything is stored: the redirect after sign-in cannot fail.
    let next = safe_next(f.next.as_deref());
    let refused = |status: StatusCode, error: String| -> UiResult {
        let mut r = page(&LoginPage {
            next: next.clone(),
            email: f.email.clone(),
            error: Some(error),
        })?;
        *r.status_mut() = status;
        Ok(r)
    };
    let device = cookie_named(&headers, DEVICE_COOKIE);
    let attempt = SignInAttempt {
        email: &f.email,
        password: &f.password,
        client: peer_ip(&extensions),
        device: device.as_deref(),
        user_agent: user_agent(&headers),
    };
    match state.app.sign_in(attempt).await? {
        SignInOutcome::SignedIn(s) => signed_in(&next, &s.token, Some(&s.device_token)),
        SignInOutcome::SecondFactor {
            challenge,
            device_token,
        } => {
            let challenge = format!(
                "{CHALLENGE_COOKIE}={challenge}; Path=/login; HttpOnly; SameSite=Lax; Max-Age={}",
                fd_app::CHALLENGE_TTL_MS / 1000
            );
            let to = format!("/login/code?next={}", form_urlencode(&next));
            let mut r = Redirect::to(&to).into_response();
            for cookie in [challenge, device_cookie(&device_token)] {
                append_cookie(&mut r, &cookie)?;
            }
            Ok(with_security_headers(r))
        }
        SignInOutcome::WrongCredentials
        | SignInOutcome::WrongCode
        | SignInOutcome::ChallengeExpired => refused(
            StatusCode::UNAUTHORIZED,
            "Wrong email address or password. Check both and try again.".into(),
        ),
        SignInOutcome::Throttled { retry_after_ms, by } => {
            let seconds = (retry_after_ms + 999) / 1000;
            let message = match by {
                Throttle::Account => format!(
                    "Too many failed attempts for this address. Wait {seconds} seconds, then \
                     try again. Browsers that have signed in to this account before are \
                     counted apart."
                ),
                Throttle::Client => format!(
                    "Too many failed sign-ins from your network. Wait {seconds} seconds, then \
                     try again."
                ),
            };
            let mut r = refused(StatusCode::TOO_MANY_REQUESTS, message)?;
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            Ok(r)
        }
    }
}

fn throttle_message(retry_after_ms: i64, by: Throttle) -> (i64, String) {
    let seconds = (retry_after_ms + 999) / 1000;
    let message = match by {
        Throttle::Account => format!(
            "Too many wrong codes for this account. Wait {seconds} seconds, then try again."
        ),
        Throttle::Client => format!(
            "Too many failed sign-ins from your network. Wait {seconds} seconds, then try again."
        ),
    };
    (seconds, message)
}

fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
}

fn device_cookie(token: &str) -> String {
    format!(
        "{DEVICE_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Lax; Max-Age={}",
        fd_app::DEVICE_MEMORY_MS / 1000
    )
}

fn append_cookie(r: &mut Response, cookie: &str) -> Result<(), UiError> {
    let v = HeaderValue::from_str(cookie)
        .map_err(|e| UiError::from(fd_app::AppError::Internal(e.to_string())))?;
    r.headers_mut().append(header::SET_COOKIE, v);
    Ok(())
}

/// The response that completes a sign-in: the session cookie (and the device cookie when
/// it is new to the browser), then the page the user wanted.
fn signed_in(next: &str, token: &str, device_token: Option<&str>) -> UiResult {
    let session = format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        fd_app::SESSION_IDLE_MS / 1000
    );
    let mut r = Redirect::to(next).into_response();
    append_cookie(&mut r, &session)?;
    if let Some(d) = device_token.filter(|d| !d.is_empty()) {
        append_cookie(&mut r, &device_cookie(d))?;
    }
    append_cookie(
        &mut r,
        &format!("{CHALLENGE_COOKIE}=; Path=/login; HttpOnly; SameSite=Lax; Max-Age=0"),
    )?;
    Ok(with_security_headers(r))
}

/// The second step of a two-factor sign-in: the code form.
pub(crate) async fn login_code_page(Query(q): Query<NextQuery>, headers: HeaderMap) -> UiResult {
    if cookie_named(&headers, CHALLENGE_COOKIE).is_none() {
        return Ok(Redirect::to("/login").into_response());
    }
    page(&LoginCodePage {
        next: safe_next(q.next.as_deref()),
        error: None,
    })
}

#[derive(Deserialize)]
pub(crate) struct CodeForm {
    code: String,
    next: Option<String>,
}

/// Checks the code of a two-factor sign-in and opens the session.
pub(crate) async fn login_code(
    axum::extract::State(state): axum::extract::State<UiState>,
    extensions: Extensions,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> UiResult {
    same_origin(&headers)?;
    let next = safe_next(f.next.as_deref());
    let refused = |status: StatusCode, error: String| -> UiResult {
        let mut r = page(&LoginCodePage {
            next: next.clone(),
            error: Some(error),
        })?;
        *r.status_mut() = status;
        Ok(r)
    };
    let Some(challenge) = cookie_named(&headers, CHALLENGE_COOKIE) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let attempt = fd_app::SecondFactorAttempt {
        challenge: &challenge,
        code: &f.code,
        client: peer_ip(&extensions),
        user_agent: user_agent(&headers),
    };
    match state.app.sign_in_second_factor(attempt).await? {
        SignInOutcome::SignedIn(s) => signed_in(&next, &s.token, None),
        SignInOutcome::Throttled { retry_after_ms, by } => {
            let (seconds, message) = throttle_message(retry_after_ms, by);
            let mut r = refused(StatusCode::TOO_MANY_REQUESTS, message)?;
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            Ok(r)
        }
        SignInOutcome::ChallengeExpired => {
            let mut r = page(&LoginPage {
                next: next.clone(),
                email: String::new(),
                error: Some(
                    "Your sign-in took too long or was already used. Sign in again.".into(),
                ),
            })?;
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            Ok(r)
        }
        _ => refused(
            StatusCode::UNAUTHORIZED,
            "Wrong or already used code. Type the current code from your authenticator app, \
             or one of your recovery codes."
                .into(),
        ),
    }
}

pub(crate) async fn logout(
    axum::extract::State(state): axum::extract::State<UiState>,
    headers: HeaderMap,
    _post: Post,
) -> UiResult {
    if let Some(token) = cookie_token(&headers) {
        state.app.sign_out(&token).await?;
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("fd_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(r)
}
