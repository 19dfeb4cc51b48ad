//! The agents' web UI (issue 5): server-rendered pages (askama templates compiled into the
//! binary), a little hand-written JavaScript and CSS embedded with `include_str!`, sessions
//! in an `HttpOnly; SameSite=Lax` cookie, and live updates over server-sent events.
//!
//! One module per screen. Every action calls the same `fd_app::App` use case the API calls;
//! this module only translates forms into those calls and results into HTML. Reading works
//! without JavaScript: every page is complete HTML and every action is a plain form post.

mod admin;
mod assets;
mod attach;
mod auth;
mod automation;
mod bots;
mod calling;
mod chat;
mod csat;
mod editor;
mod engagements;
mod flash;
mod forms;
mod helpdesk;
mod host;
mod html;
mod inbox;
mod live;
mod notifications;
mod people;
mod profile;
mod records;
mod reports;
mod routing;
mod slas;
mod ticket_bulk;
mod ticket_merge;
mod ticket_split;
mod time_zone;
mod view;
mod view_page;
mod views;
mod webhooks;
mod widgets;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use fd_app::{App, AppError};

pub(crate) use auth::{Agent, Fields, Post};
pub(crate) use forms::form_result_page;
pub(crate) use html::frame_document;
pub(crate) use view::Chrome;

/// What every UI handler can reach.
#[derive(Clone)]
pub(crate) struct UiState {
    pub app: App,
    pub live: Arc<live::Live>,
    /// The chat widgets' streams, woken per conversation (`chat.rs`).
    pub widgets: Arc<chat::WidgetHub>,
}

/// The UI's routes, with their own state; merged into [`crate::router`].
pub(crate) fn router<S: Clone + Send + Sync + 'static>(app: App) -> Router<S> {
    let state = UiState {
        live: live::Live::new(app.clone()),
        widgets: Arc::default(),
        app,
    };
    Router::new()
        .route("/", get(home))
        .merge(chat::routes())
        .merge(bots::routes())
        .merge(automation::routes())
        .merge(calling::routes())
        .merge(webhooks::routes())
        .merge(routing::routes())
        .merge(csat::routes())
        .merge(slas::routes())
        .merge(reports::routes())
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route(
            "/login/code",
            get(auth::login_code_page).post(auth::login_code),
        )
        .route("/profile", get(profile::profile))
        .route("/profile/sessions/end", post(profile::end_session))
        .route("/profile/signature", post(profile::save_signature))
        .route("/profile/notifications", post(profile::set_notify_email))
        .route(
            "/profile/sessions/end-others",
            post(profile::end_other_sessions),
        )
        .route("/profile/totp/start", post(profile::totp_start))
        .route("/profile/totp/confirm", post(profile::totp_confirm))
        .route("/profile/totp/disable", post(profile::totp_disable))
        .route(
            "/profile/password",
            get(profile::password_form).post(profile::change_password),
        )
        .route(
            "/profile/settings",
            get(time_zone::settings_form).post(time_zone::save_settings),
        )
        .route("/ui/assets/{name}", get(assets::asset))
        .route("/ui/events", get(live::events))
        .route("/ui/presence", post(live::presence))
        .route("/helpdesk", get(helpdesk::list))
        .route("/helpdesk/views", post(helpdesk::save_view))
        // Shared views (issue 16 item 4).
        .route(
            "/helpdesk/views/new",
            get(views::new_form).post(views::create),
        )
        .route("/helpdesk/views/{id}", get(view_page::show))
        .route(
            "/helpdesk/views/{id}/edit",
            get(views::edit_form).post(views::update),
        )
        .route("/helpdesk/views/{id}/delete", post(views::delete))
        .route(
            "/helpdesk/new",
            get(helpdesk::new_ticket_form).post(helpdesk::create_ticket),
        )
        .route("/helpdesk/tickets/{id}", get(helpdesk::ticket_page))
        .route(
            "/helpdesk/tickets/{id}/merge",
            get(ticket_merge::merge_page).post(ticket_merge::merge),
        )
        .route(
            "/helpdesk/tickets/{id}/split",
            get(ticket_split::split_page).post(ticket_split::split),
        )
        .route(
            "/helpdesk/tickets/{id}/unmerge",
            post(ticket_split::unmerge),
        )
        .route("/helpdesk/bulk", post(ticket_bulk::bulk))
        .route(
            "/helpdesk/tickets/{id}/move",
            get(ticket_bulk::move_page).post(ticket_bulk::move_ticket),
        )
        .route("/tickets/{id}", get(records::ticket_record))
        .route(
            "/tickets/{id}/properties",
            post(helpdesk::update_properties),
        )
        .route("/tickets/{id}/follow", post(helpdesk::follow))
        .route("/tickets/{id}/trash", post(helpdesk::trash))
        .route("/tickets/{id}/restore", post(helpdesk::restore))
        .route("/tickets/{id}/associate", post(helpdesk::associate))
        .route("/tickets/{id}/contacts", post(helpdesk::add_contact))
        .route(
            "/tickets/{id}/start",
            post(host::start_conversation).layer(attach::upload_limit()),
        )
        .route("/tickets/{id}/comment", post(host::comment_on_ticket))
        .route(
            "/tickets/{id}/draft",
            post(editor::save_ticket_draft).layer(attach::upload_limit()),
        )
        .route("/tickets/{id}/suggestions", get(editor::suggestions))
        .route(
            "/conversations/{id}/reply",
            post(host::reply).layer(attach::upload_limit()),
        )
        .route(
            "/files/upload",
            post(attach::upload).layer(attach::upload_limit()),
        )
        .route("/messages/{id}/retry", post(host::retry_delivery))
        .route(
            "/conversations/{id}/comment",
            post(host::comment_on_conversation),
        )
        .route(
            "/conversations/{id}/draft",
            post(editor::save_draft).layer(attach::upload_limit()),
        )
        .route(
            "/conversations/{id}/draft/discard",
            post(editor::discard_draft).layer(attach::upload_limit()),
        )
        .route("/conversations/{id}/owner", post(inbox::set_owner))
        .route("/conversations/{id}/status", post(inbox::set_ticket_status))
        .route("/conversations/{id}/close", post(inbox::close))
        .route("/conversations/{id}/reopen", post(inbox::reopen))
        .route("/conversations/{id}/trash", post(inbox::trash))
        .route("/conversations/{id}/ticket", post(inbox::create_ticket))
        .route(
            "/conversations/{id}/visitor",
            post(inbox::associate_visitor),
        )
        .route("/inbox", get(inbox::list))
        .route("/inbox/conversations/{id}", get(inbox::conversation_page))
        .route("/inbox/panel", post(inbox::set_panel))
        .route(
            "/contacts",
            get(people::contacts).post(people::create_contact),
        )
        .route("/contacts/new", get(people::new_contact))
        .route(
            "/contacts/{id}",
            get(records::contact_page).post(people::update_contact),
        )
        .route("/contacts/{id}/edit", get(people::edit_contact))
        .route("/contacts/{id}/merge", post(people::merge_contact))
        .route(
            "/companies",
            get(people::companies).post(people::create_company),
        )
        .route("/companies/new", get(people::new_company))
        .route(
            "/companies/{id}",
            get(records::company_page).post(people::update_company),
        )
        .route("/companies/{id}/edit", get(people::edit_company))
        .route("/companies/{id}/merge", post(people::merge_company))
        .route("/ui/search/contacts", get(records::search_contacts))
        .route("/ui/search/companies", get(records::search_companies))
        .route("/notifications", get(notifications::list))
        .route("/notifications/read", post(notifications::mark_read))
        .route("/notifications/{id}", get(notifications::open))
        .route("/settings", get(admin::index))
        .route(
            "/settings/users",
            get(admin::users).post(admin::create_user),
        )
        .route("/settings/users/{id}", post(admin::update_user))
        .route(
            "/settings/teams",
            get(admin::teams).post(admin::create_team),
        )
        .route("/settings/teams/{id}", post(admin::update_team))
        .route(
            "/settings/pipelines",
            get(admin::pipelines).post(admin::create_pipeline),
        )
        .route("/settings/pipelines/{id}/stages", post(admin::create_stage))
        .route("/settings/stages/{id}", post(admin::update_stage))
        .route(
            "/settings/properties",
            get(admin::properties).post(admin::create_property),
        )
        .route(
            "/settings/form",
            get(admin::ticket_form).post(admin::save_ticket_form),
        )
        .route(
            "/settings/library",
            get(admin::library).post(admin::create_library_item),
        )
        .route("/settings/library/{id}", post(admin::update_library_item))
        .route(
            "/settings/account",
            get(admin::account).post(admin::save_account),
        )
        .route("/settings/forms", get(forms::list).post(forms::create))
        .route("/settings/forms/{id}", get(forms::edit).post(forms::save))
        .route("/forms/{id}", get(forms::hosted).post(forms::hosted_submit))
        .layer(axum::middleware::from_fn(flash::clear_shown))
        .with_state(state)
}

async fn home(agent: Agent) -> Response {
    if agent.actor.viewer.can_use_tickets() {
        Redirect::to("/helpdesk").into_response()
    } else {
        Redirect::to("/notifications").into_response()
    }
}

/// A page failed: an HTML error page with the right status (the API has its JSON errors).
/// Like the API's, every error page is logged with the request's id, which a server error's
/// page shows as its reference.
#[derive(Debug)]
pub(crate) struct UiError {
    status: StatusCode,
    message: String,
    category: &'static str,
    cause: Option<Box<str>>,
}

impl UiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        UiError {
            status,
            message: message.into(),
            category: "UI",
            cause: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "This page does not exist, or you may not see it.",
        )
    }
}

impl From<AppError> for UiError {
    fn from(e: AppError) -> Self {
        let api = crate::ApiError::from(e);
        let message = match api.status {
            StatusCode::NOT_FOUND => "This record does not exist, or you may not see it.".into(),
            _ => api.message,
        };
        UiError {
            status: api.status,
            message,
            category: api.category,
            cause: api.cause,
        }
    }
}

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> Self {
        UiError {
            cause: Some(format!("template failed: {}", crate::error::cause_chain(&e)).into()),
            ..UiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

#[derive(Template)]
#[template(path = "ui/error.html")]
struct ErrorPage<'a> {
    status: u16,
    reason: &'a str,
    message: &'a str,
    reference: Option<&'a str>,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let id = crate::request_id();
        crate::error::log_error(
            self.status,
            self.category,
            &self.message,
            &id,
            self.cause.as_deref(),
        );
        let page = ErrorPage {
            status: self.status.as_u16(),
            reason: self.status.canonical_reason().unwrap_or("Error"),
            message: &self.message,
            reference: self.status.is_server_error().then_some(id.as_str()),
        };
        let body = page
            .render()
            .unwrap_or_else(|_| "<!doctype html><title>Error</title>".into());
        with_security_headers((self.status, Html(body)).into_response())
    }
}

pub(crate) type UiResult = Result<Response, UiError>;

/// A record id in a UI path, written the one canonical way (`fd_domain::text::parse_id`):
/// `01`, `+1` or `1%20` name no record (Hardening finding 8).
pub(crate) struct Id(pub i64);

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        fd_app::domain::text::parse_id(&raw)
            .map(Id)
            .ok_or_else(|| serde::de::Error::custom(format!("{raw:?} is not a record id")))
    }
}

/// Renders a page with the UI's security headers.
pub(crate) fn page(t: &impl Template) -> UiResult {
    Ok(with_security_headers(Html(t.render()?).into_response()))
}

/// The page's policy: nothing but our own scripts and styles, no plug-ins, no framing by
/// others, forms only to us. Customers' mail is framed from our own `/mail/messages/{id}/html`
/// (hence `frame-src 'self'`), which carries its own stricter policy; agents' replies are
/// `srcdoc` frames, which inherit this one, so they cannot run script or load anything remote.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; frame-src 'self'; form-action 'self'; \
    base-uri 'none'; frame-ancestors 'none'; object-src 'none'";

pub(crate) fn with_security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// After a successful post: back to where the agent was (see-other, so reload does not repost).
/// The target must be a valid header value: axum's `Redirect` would panic on a CR, LF or NUL
/// (Hardening finding 6), so such a target is a bad request instead.
pub(crate) fn see_other(to: &str) -> UiResult {
    if HeaderValue::from_str(to).is_err() {
        return Err(UiError::bad_request(
            "That address holds characters a link cannot carry.",
        ));
    }
    Ok(Redirect::to(to).into_response())
}
