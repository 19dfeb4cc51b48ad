//! Web forms in the UI (HD-06): Settings → Forms (list, create, edit, archive and restore,
//! with the portal id, the hosted page's link and an embed snippet), and the public hosted
//! page `/forms/{formGuid}` — a plain HTML form that works without JavaScript and shows the
//! thank-you message after submitting. Both call fd-app's forms use cases; the hosted page's
//! submissions take the same road (`App::submit_form`) as the submissions API.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use fd_app::domain::forms::{
    CONTACT_FIELDS, FieldObject, Form, FormField, HONEYPOT_FIELD, PostSubmit, SubmissionError,
};
use fd_app::domain::{TeamId, Workspace};
use fd_app::{FormChanges, FormSubmission, NewForm, SubmitOutcome};

use super::view::Opt;
use super::{Agent, Chrome, Post, UiError, UiResult, UiState, page, with_security_headers};

fn require_admin(agent: &Agent) -> Result<(), UiError> {
    if agent.actor.viewer.is_account_admin() {
        Ok(())
    } else {
        Err(UiError::new(
            StatusCode::FORBIDDEN,
            "Settings need Super Admin or Account Access permissions.",
        ))
    }
}

/// Where this server is reached, as the browser that asked sees it (for the snippet).
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

pub(crate) struct FormRow {
    pub id: String,
    pub name: String,
    pub team: String,
    pub connected: &'static str,
    pub fields: usize,
}

#[derive(Template)]
#[template(path = "ui/forms/settings_forms.html")]
struct FormsPage {
    chrome: Chrome,
    portal_id: i64,
    live: Vec<FormRow>,
    archived: Vec<FormRow>,
    teams: Vec<Opt>,
}

fn connected_label(w: Workspace) -> &'static str {
    match w {
        Workspace::HelpDesk => "Help desk (a ticket per submission)",
        Workspace::Inbox => "Inbox (conversations only)",
    }
}

async fn rows(state: &UiState, agent: &Agent, archived: bool) -> Result<Vec<FormRow>, UiError> {
    let teams = state.app.teams().await?;
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let (page, more) = state.app.forms(&agent.actor, archived, offset, 500).await?;
        offset += page.len() as i64;
        out.extend(page.into_iter().map(|f| {
            FormRow {
                team: f
                    .team
                    .and_then(|t| teams.iter().find(|x| x.id == t))
                    .map(|t| t.name.clone())
                    .unwrap_or_else(|| "No team".into()),
                connected: connected_label(f.workspace),
                fields: f.fields.len(),
                name: f.name,
                id: f.id,
            }
        }));
        if !more {
            return Ok(out);
        }
    }
}

pub(crate) async fn list(State(state): State<UiState>, agent: Agent) -> UiResult {
    require_admin(&agent)?;
    let chrome = Chrome::load(&state.app, &agent, "settings", "Forms").await?;
    let teams = state
        .app
        .teams()
        .await?
        .into_iter()
        .map(|t| Opt::new(t.id.to_string(), t.name, false))
        .collect();
    page(&FormsPage {
        chrome,
        portal_id: state.app.portal_id().await?,
        live: rows(&state, &agent, false).await?,
        archived: rows(&state, &agent, true).await?,
        teams,
    })
}

fn team_field(post: &Post) -> Result<Option<TeamId>, UiError> {
    Ok(post.fields.checked_id("team")?.map(TeamId))
}

fn workspace_field(post: &Post) -> Workspace {
    match post.fields.get("connected") {
        Some("inbox") => Workspace::Inbox,
        _ => Workspace::HelpDesk,
    }
}

fn post_submit_field(post: &Post) -> PostSubmit {
    let value = post.fields.get("after_value").unwrap_or("").to_string();
    match post.fields.get("after") {
        Some("redirect_url") => PostSubmit::Redirect(value),
        _ => PostSubmit::ThankYou(value),
    }
}

pub(crate) async fn create(State(state): State<UiState>, post: Post) -> UiResult {
    require_admin(&post.agent)?;
    let f = state
        .app
        .create_form(
            &post.agent.actor,
            NewForm {
                name: post.fields.get("name").unwrap_or("").to_string(),
                fields: fd_app::domain::forms::default_fields(),
                post_submit: post_submit_field(&post),
                team: team_field(&post)?,
                workspace: workspace_field(&post),
            },
        )
        .await?;
    Ok(Redirect::to(&format!("/settings/forms/{}", f.id)).into_response())
}

pub(crate) struct FieldRow {
    pub index: usize,
    pub name: String,
    pub label: String,
    pub required: bool,
    pub is_ticket: bool,
}

#[derive(Template)]
#[template(path = "ui/forms/settings_form_edit.html")]
struct EditPage {
    chrome: Chrome,
    form: Form,
    portal_id: i64,
    hosted_url: String,
    snippet: String,
    submissions: i64,
    fields: Vec<FieldRow>,
    teams: Vec<Opt>,
    is_redirect: bool,
    is_inbox: bool,
    contact_fields: String,
}

/// A plain HTML `<form>` for any site: it posts the fields to the submissions API, with the
/// honeypot hidden from people (and from screen readers).
fn embed_snippet(base: &str, portal: i64, f: &Form) -> String {
    let mut s = format!(
        "<form method=\"post\" action=\"{base}/submissions/v3/integration/submit/{portal}/{}\">\n",
        f.id
    );
    for field in &f.fields {
        let id = format!("fd-{}", field.name);
        let required = if field.required { " required" } else { "" };
        s.push_str(&format!(
            "  <label for=\"{id}\">{}</label>\n",
            html_escape(&field.label)
        ));
        if field.field_type() == "multi_line_text" {
            s.push_str(&format!(
                "  <textarea id=\"{id}\" name=\"{}\"{required}></textarea>\n",
                field.name
            ));
        } else {
            let kind = match field.field_type() {
                "email" => "email",
                "phone" => "tel",
                _ => "text",
            };
            s.push_str(&format!(
                "  <input id=\"{id}\" name=\"{}\" type=\"{kind}\"{required}>\n",
                field.name
            ));
        }
    }
    s.push_str(&format!(
        "  <div style=\"position:absolute;left:-10000px\" aria-hidden=\"true\"><input name=\"{HONEYPOT_FIELD}\" tabindex=\"-1\" autocomplete=\"off\"></div>\n"
    ));
    s.push_str("  <button type=\"submit\">Submit</button>\n</form>");
    s
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub(crate) async fn edit(
    State(state): State<UiState>,
    agent: Agent,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> UiResult {
    require_admin(&agent)?;
    let form = match state.app.form(&agent.actor, &id, false).await {
        Ok(f) => f,
        Err(_) => state.app.form(&agent.actor, &id, true).await?,
    };
    let chrome = Chrome::load(&state.app, &agent, "settings", "Forms").await?;
    let portal_id = state.app.portal_id().await?;
    let base = base_url(&headers);
    let mut fields: Vec<FieldRow> = form
        .fields
        .iter()
        .enumerate()
        .map(|(index, f)| FieldRow {
            index,
            name: f.name.clone(),
            label: f.label.clone(),
            required: f.required,
            is_ticket: f.object == FieldObject::Ticket,
        })
        .collect();
    // Two empty rows to add fields without JavaScript.
    for _ in 0..2 {
        fields.push(FieldRow {
            index: fields.len(),
            name: String::new(),
            label: String::new(),
            required: false,
            is_ticket: false,
        });
    }
    let teams = state
        .app
        .teams()
        .await?
        .into_iter()
        .map(|t| Opt::new(t.id.to_string(), t.name, Some(t.id) == form.team))
        .collect();
    page(&EditPage {
        chrome,
        portal_id,
        hosted_url: format!("{base}/forms/{}", form.id),
        snippet: embed_snippet(&base, portal_id, &form),
        submissions: state
            .app
            .form_submission_count(&agent.actor, &form.id)
            .await?,
        fields,
        teams,
        is_redirect: matches!(form.post_submit, PostSubmit::Redirect(_)),
        is_inbox: form.workspace == Workspace::Inbox,
        contact_fields: CONTACT_FIELDS.join(", "),
        form,
    })
}

pub(crate) async fn save(
    State(state): State<UiState>,
    Path(id): Path<String>,
    post: Post,
) -> UiResult {
    require_admin(&post.agent)?;
    let f = &post.fields;
    let changes = match f.get("action") {
        Some("archive") => FormChanges {
            archived: Some(true),
            ..FormChanges::default()
        },
        Some("restore") => FormChanges {
            archived: Some(false),
            ..FormChanges::default()
        },
        _ => {
            let mut fields = Vec::new();
            for i in 0..fd_app::domain::forms::MAX_FIELDS + 2 {
                let Some(name) = f.text(&format!("field_name_{i}")) else {
                    continue;
                };
                fields.push(FormField {
                    object: match f.get(&format!("field_object_{i}")) {
                        Some("ticket") => FieldObject::Ticket,
                        _ => FieldObject::Contact,
                    },
                    name,
                    label: f.get(&format!("field_label_{i}")).unwrap_or("").into(),
                    required: f.get(&format!("field_required_{i}")).is_some(),
                });
            }
            FormChanges {
                name: Some(f.get("name").unwrap_or("").to_string()),
                fields: Some(fields),
                post_submit: Some(post_submit_field(&post)),
                team: Some(team_field(&post)?),
                workspace: Some(workspace_field(&post)),
                archived: None,
            }
        }
    };
    let form = state
        .app
        .update_form(&post.agent.actor, &id, changes)
        .await?;
    let to = if form.archived {
        "/settings/forms".to_string()
    } else {
        format!("/settings/forms/{}", form.id)
    };
    Ok(Redirect::to(&to).into_response())
}

// ---- The public hosted page ----

pub(crate) struct HostedField {
    pub name: String,
    pub label: String,
    pub required: bool,
    pub kind: &'static str,
    pub multiline: bool,
    pub value: String,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "ui/forms/hosted.html")]
struct HostedPage {
    title: String,
    action: String,
    fields: Vec<HostedField>,
    honeypot: &'static str,
    errors: Vec<String>,
}

fn hosted_fields(
    f: &Form,
    values: &[(String, String)],
    errors: &[SubmissionError],
) -> Vec<HostedField> {
    f.fields
        .iter()
        .map(|x| HostedField {
            name: x.name.clone(),
            label: x.label.clone(),
            required: x.required,
            kind: match x.field_type() {
                "email" => "email",
                "phone" => "tel",
                _ => "text",
            },
            multiline: x.field_type() == "multi_line_text",
            value: values
                .iter()
                .rev()
                .find(|(k, _)| *k == x.name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
            error: errors
                .iter()
                .find(|e| e.field == x.name)
                .map(|e| e.message.clone()),
        })
        .collect()
}

fn hosted_page(
    status: StatusCode,
    f: &Form,
    values: &[(String, String)],
    errors: &[SubmissionError],
) -> UiResult {
    let body = HostedPage {
        title: f.name.clone(),
        action: format!("/forms/{}", f.id),
        fields: hosted_fields(f, values, errors),
        honeypot: HONEYPOT_FIELD,
        errors: errors.iter().map(|e| e.message.clone()).collect(),
    }
    .render()?;
    Ok(with_security_headers((status, Html(body)).into_response()))
}

pub(crate) async fn hosted(State(state): State<UiState>, Path(id): Path<String>) -> UiResult {
    let Some(f) = state.app.public_form(&id).await? else {
        return Err(UiError::new(
            StatusCode::NOT_FOUND,
            "This form does not exist or is no longer available.",
        ));
    };
    hosted_page(StatusCode::OK, &f, &[], &[])
}

pub(crate) async fn hosted_submit(
    State(state): State<UiState>,
    Path(id): Path<String>,
    extensions: Extensions,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> UiResult {
    let Some(f) = state.app.public_form(&id).await? else {
        return Err(UiError::new(
            StatusCode::NOT_FOUND,
            "This form does not exist or is no longer available.",
        ));
    };
    let (values, honeypot, page_uri) = crate::api::form_values_from_pairs(pairs.clone());
    let outcome = state
        .app
        .submit_form(FormSubmission {
            portal_id: state.app.portal_id().await?,
            form_id: f.id.clone(),
            values,
            honeypot,
            client: crate::api::form_peer_ip(&extensions),
            page_uri,
        })
        .await?;
    match outcome {
        SubmitOutcome::Throttled { retry_after_ms } => Err(UiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many submissions from your address; try again in {} seconds.",
                (retry_after_ms + 999) / 1000
            ),
        )),
        SubmitOutcome::Rejected(errors) => {
            hosted_page(StatusCode::BAD_REQUEST, &f, &pairs, &errors)
        }
        SubmitOutcome::Accepted { post_submit, .. } | SubmitOutcome::Discarded { post_submit } => {
            match post_submit {
                PostSubmit::Redirect(u) => {
                    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, u)]).into_response())
                }
                PostSubmit::ThankYou(m) => Ok(form_result_page(StatusCode::OK, Some(&m), &[])),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "ui/forms/result.html")]
struct ResultPage<'a> {
    message: Option<&'a str>,
    errors: Vec<String>,
}

/// What a plain HTML form posted to the submissions API (or the hosted page) shows: the
/// thank-you message, or why the submission was refused.
pub(crate) fn form_result_page(
    status: StatusCode,
    message: Option<&str>,
    errors: &[SubmissionError],
) -> Response {
    let page = ResultPage {
        message,
        errors: errors.iter().map(|e| e.message.clone()).collect(),
    };
    let body = page
        .render()
        .unwrap_or_else(|_| "<!doctype html><title>Form</title>".into());
    with_security_headers((status, Html(body)).into_response())
}
