//! Settings → Webhooks (issue 17, item 4; administrators only): developer apps (created here
//! or with `frontdesk admin create-app`; the developer key and client secret are shown in the
//! answer to the creating post only), each app's settings and subscriptions (the same use
//! cases as HubSpot's webhooks v3 API), and its delivery log — recent requests and events
//! with their status, attempts and error — with a Replay button for an event or a request.
//!
//! Only translates forms into `fd_app::App`'s webhook use cases; must not contain SQL.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use fd_app::domain::Millis;
use fd_app::domain::webhooks::{EventType, MIN_CONCURRENT};
use fd_app::{AppError, WebhookAccess, WebhookApp};

use super::chat::require_admin;
use super::flash::{Flash, see_other_flash};
use super::widgets::field_errors;
use super::{Agent, Chrome, Id, Post, UiResult, UiState, page};

pub(crate) fn routes() -> Router<UiState> {
    Router::new()
        .route("/settings/webhooks", get(apps).post(create_app))
        .route("/settings/webhooks/{id}", get(app_page))
        .route("/settings/webhooks/{id}/settings", post(save_settings))
        .route(
            "/settings/webhooks/{id}/settings/clear",
            post(clear_settings),
        )
        .route("/settings/webhooks/{id}/subscriptions", post(subscribe))
        .route(
            "/settings/webhooks/{id}/subscriptions/{sub}/toggle",
            post(toggle),
        )
        .route(
            "/settings/webhooks/{id}/subscriptions/{sub}/delete",
            post(unsubscribe),
        )
        .route(
            "/settings/webhooks/{id}/events/{event}/replay",
            post(replay_event),
        )
        .route(
            "/settings/webhooks/{id}/deliveries/{delivery}/replay",
            post(replay_delivery),
        )
}

/// A new app's credentials: shown in the answer to the creating post only.
pub(crate) struct Revealed {
    pub app_id: i64,
    pub name: String,
    pub developer_key: String,
    pub client_secret: String,
}

#[derive(Template)]
#[template(path = "ui/settings_webhooks.html")]
struct AppsPage {
    chrome: Chrome,
    apps: Vec<WebhookApp>,
    revealed: Option<Revealed>,
    name: String,
    name_error: Option<String>,
}

async fn render_apps(
    st: &UiState,
    agent: &Agent,
    revealed: Option<Revealed>,
    name: String,
    name_error: Option<String>,
) -> UiResult {
    require_admin(agent)?;
    let chrome = Chrome::load(&st.app, agent, "settings", "Webhooks").await?;
    let apps = st.app.webhook_apps(&agent.actor).await?;
    page(&AppsPage {
        chrome,
        apps,
        revealed,
        name,
        name_error,
    })
}

async fn apps(State(st): State<UiState>, agent: Agent) -> UiResult {
    render_apps(&st, &agent, None, String::new(), None).await
}

async fn create_app(State(st): State<UiState>, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    let name = post.fields.get("name").unwrap_or("").to_string();
    match st.app.create_webhook_app(&post.agent.actor, &name).await {
        Ok(a) => {
            let revealed = Revealed {
                app_id: a.app.id,
                name: a.app.name,
                developer_key: a.developer_key,
                client_secret: a.client_secret,
            };
            render_apps(&st, &post.agent, Some(revealed), String::new(), None).await
        }
        Err(e @ AppError::Domain(_)) => {
            let (mut at, rest) = field_errors(&e, "name");
            let error = at.remove("name").or(rest);
            let mut r = render_apps(&st, &post.agent, None, name, error).await?;
            *r.status_mut() = StatusCode::BAD_REQUEST;
            Ok(r)
        }
        Err(e) => Err(e.into()),
    }
}

/// One subscription as the page lists it.
pub(crate) struct SubRow {
    pub id: i64,
    pub event_type: String,
    pub property_name: Option<String>,
    pub active: bool,
}

/// One logged request.
pub(crate) struct DeliveryRow {
    pub id: i64,
    pub at: Millis,
    pub events: usize,
    pub attempt: i64,
    pub status: String,
    pub outcome: String,
    pub error: String,
    pub duration_ms: i64,
}

/// One event of the outbox.
pub(crate) struct EventRow {
    pub id: i64,
    pub event_type: String,
    pub object_id: i64,
    pub occurred_at: Millis,
    pub state: String,
    pub attempts: i64,
    pub last: String,
    pub next_attempt_at: Option<Millis>,
}

/// The settings form as typed, and its errors.
#[derive(Default)]
pub(crate) struct SettingsForm {
    pub target_url: String,
    pub max_concurrent: String,
    pub url_error: Option<String>,
    pub max_error: Option<String>,
}

/// The subscription form as typed, and its errors.
#[derive(Default)]
pub(crate) struct SubForm {
    pub event_type: String,
    pub property_name: String,
    pub type_error: Option<String>,
    pub property_error: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/settings_webhook_app.html")]
struct AppPage {
    chrome: Chrome,
    app: WebhookApp,
    has_settings: bool,
    settings: SettingsForm,
    subscriptions: Vec<SubRow>,
    event_types: Vec<String>,
    sub: SubForm,
    deliveries: Vec<DeliveryRow>,
    events: Vec<EventRow>,
}

async fn access(st: &UiState, agent: &Agent, id: i64) -> Result<WebhookAccess, AppError> {
    st.app.webhook_app_for_admin(&agent.actor, id).await
}

async fn render_app(
    st: &UiState,
    agent: &Agent,
    id: i64,
    form: Option<SettingsForm>,
    sub: SubForm,
) -> UiResult {
    require_admin(agent)?;
    let a = access(st, agent, id).await?;
    let chrome = Chrome::load(&st.app, agent, "settings", "Webhooks").await?;
    let current = st.app.webhook_settings(&a).await?;
    let settings = form.unwrap_or_else(|| match &current {
        Some(s) => SettingsForm {
            target_url: s.target_url.clone(),
            max_concurrent: s.max_concurrent.to_string(),
            ..SettingsForm::default()
        },
        None => SettingsForm {
            max_concurrent: (MIN_CONCURRENT * 2).to_string(),
            ..SettingsForm::default()
        },
    });
    let subscriptions = st
        .app
        .webhook_subscriptions(&a)
        .await?
        .into_iter()
        .map(|s| SubRow {
            id: s.id,
            event_type: s.event_type,
            property_name: s.property_name,
            active: s.active,
        })
        .collect();
    let log = st.app.webhook_log(&a).await?;
    let deliveries = log
        .deliveries
        .into_iter()
        .map(|d| DeliveryRow {
            id: d.id,
            at: d.started_at,
            events: d.event_ids.len(),
            attempt: d.attempt_number,
            status: d
                .status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "—".into()),
            outcome: match d.outcome.as_str() {
                "delivered" => "Delivered".into(),
                "retry" => "Will retry".into(),
                _ => "Failed".into(),
            },
            error: d.error.unwrap_or_default(),
            duration_ms: d.duration_ms,
        })
        .collect();
    let events = log
        .events
        .into_iter()
        .map(|e| EventRow {
            id: e.id,
            event_type: e.event_type,
            object_id: e.object_id,
            occurred_at: e.occurred_at,
            next_attempt_at: (e.state == "pending").then_some(e.next_attempt_at),
            state: match e.state.as_str() {
                "pending" => "Waiting".into(),
                "delivered" => "Delivered".into(),
                _ => "Failed".into(),
            },
            attempts: e.attempts,
            last: match (e.last_status, e.last_error) {
                (Some(s), _) => format!("HTTP {s}"),
                (None, Some(err)) => err,
                (None, None) => String::new(),
            },
        })
        .collect();
    page(&AppPage {
        chrome,
        app: a.app().clone(),
        has_settings: current.is_some(),
        settings,
        subscriptions,
        event_types: EventType::all().iter().map(ToString::to_string).collect(),
        sub,
        deliveries,
        events,
    })
}

async fn app_page(State(st): State<UiState>, Path(Id(id)): Path<Id>, agent: Agent) -> UiResult {
    render_app(&st, &agent, id, None, SubForm::default()).await
}

fn here(id: i64) -> String {
    format!("/settings/webhooks/{id}")
}

async fn save_settings(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    let a = access(&st, &post.agent, id).await?;
    let mut form = SettingsForm {
        target_url: post.fields.get("target_url").unwrap_or("").to_string(),
        max_concurrent: post.fields.get("max_concurrent").unwrap_or("").to_string(),
        ..SettingsForm::default()
    };
    let Ok(max) = form.max_concurrent.trim().parse::<i64>() else {
        form.max_error = Some("A whole number.".into());
        return refused(&st, &post.agent, id, Some(form), SubForm::default()).await;
    };
    match st.app.put_webhook_settings(&a, &form.target_url, max).await {
        Ok(_) => see_other_flash(&here(id), Flash::SettingsSaved),
        Err(e @ AppError::Domain(_)) => {
            let (mut at, rest) = field_errors(&e, "targetUrl");
            form.url_error = at.remove("targetUrl").or(rest);
            form.max_error = at.remove("throttling.maxConcurrentRequests");
            refused(&st, &post.agent, id, Some(form), SubForm::default()).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The app's page again with what was typed and its errors, answered 400.
async fn refused(
    st: &UiState,
    agent: &Agent,
    id: i64,
    form: Option<SettingsForm>,
    sub: SubForm,
) -> UiResult {
    let mut r = render_app(st, agent, id, form, sub).await?;
    *r.status_mut() = StatusCode::BAD_REQUEST;
    Ok(r)
}

async fn clear_settings(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    let a = access(&st, &post.agent, id).await?;
    st.app.clear_webhook_settings(&a).await?;
    see_other_flash(&here(id), Flash::SettingsSaved)
}

async fn subscribe(State(st): State<UiState>, Path(Id(id)): Path<Id>, post: Post) -> UiResult {
    let a = access(&st, &post.agent, id).await?;
    let mut sub = SubForm {
        event_type: post.fields.get("event_type").unwrap_or("").to_string(),
        property_name: post.fields.get("property_name").unwrap_or("").to_string(),
        ..SubForm::default()
    };
    let property = Some(sub.property_name.trim()).filter(|p| !p.is_empty());
    let active = post.fields.flag("active");
    match st
        .app
        .create_webhook_subscription(&a, &sub.event_type, property, active)
        .await
    {
        Ok(_) => see_other_flash(&here(id), Flash::SettingsSaved),
        Err(e @ AppError::Domain(_)) => {
            let (mut at, rest) = field_errors(&e, "eventType");
            sub.type_error = at.remove("eventType").or(rest);
            sub.property_error = at.remove("propertyName");
            refused(&st, &post.agent, id, None, sub).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn toggle(
    State(st): State<UiState>,
    Path((Id(id), Id(sub))): Path<(Id, Id)>,
    post: Post,
) -> UiResult {
    let a = access(&st, &post.agent, id).await?;
    let current = st.app.webhook_subscription(&a, sub).await?;
    st.app
        .set_webhook_subscription_active(&a, sub, !current.active)
        .await?;
    see_other_flash(&here(id), Flash::SettingsSaved)
}

async fn unsubscribe(
    State(st): State<UiState>,
    Path((Id(id), Id(sub))): Path<(Id, Id)>,
    post: Post,
) -> UiResult {
    let a = access(&st, &post.agent, id).await?;
    st.app.delete_webhook_subscription(&a, sub).await?;
    see_other_flash(&here(id), Flash::SettingsSaved)
}

async fn replay_event(
    State(st): State<UiState>,
    Path((Id(id), Id(event))): Path<(Id, Id)>,
    post: Post,
) -> UiResult {
    let a = access(&st, &post.agent, id).await?;
    st.app.replay_webhook_event(&a, event).await?;
    see_other_flash(&here(id), Flash::ReplayQueued)
}

async fn replay_delivery(
    State(st): State<UiState>,
    Path((Id(id), Id(delivery))): Path<(Id, Id)>,
    post: Post,
) -> UiResult {
    let a = access(&st, &post.agent, id).await?;
    st.app.replay_webhook_delivery(&a, delivery).await?;
    see_other_flash(&here(id), Flash::ReplayQueued)
}
