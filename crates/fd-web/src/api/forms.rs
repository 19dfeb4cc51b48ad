//! Web forms on the wire (HUBSPOT-API-2.md §3): the account's details
//! (`/account-info/v3/details`, whose `portalId` embeds need), the forms v3 definitions
//! (`/marketing/v3/forms`, list, create, read, replace, update, archive) and the public
//! submission endpoint (`/submissions/v3/integration/submit/{portalId}/{formGuid}`: no
//! authentication, CORS for any origin, HubSpot's JSON body or a plain HTML form's fields).
//!
//! Handlers only translate: the rules are fd-domain's `forms`, the use cases fd-app's
//! `forms.rs` (`submit_form` is the one road of every submission, the hosted page's too).

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fd_app::domain::forms::{
    FieldObject, Form, FormField, HONEYPOT_FIELD, PostSubmit, SubmissionError, SubmittedValue,
};
use fd_app::domain::{TeamId, Workspace};
use fd_app::{FormChanges, FormSubmission, NewForm, SubmitOutcome};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{Auth, Body, Paging, Params, Time, body_id};
use crate::{ApiError, WebState};

pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(account_details))
        .routes(routes!(list, create))
        .routes(routes!(read, replace, update, archive))
        .routes(routes!(submit, submit_preflight))
}

/// `GET /account-info/v3/details`: this installation as a HubSpot account.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountDetails {
    /// Drawn once when the database was created, never changed (form and chat embeds).
    portal_id: i64,
    account_type: String,
    /// Times are stored in UTC; each agent picks their own zone in their profile.
    time_zone: String,
    company_currency: String,
    additional_currencies: Vec<String>,
    utc_offset: String,
    utc_offset_milliseconds: i64,
    /// The host this request reached: where the UI and the hosted forms are.
    ui_domain: String,
    data_hosting_location: String,
}

#[utoipa::path(
    get,
    path = "/account-info/v3/details",
    operation_id = "getAccountDetails",
    tag = "account",
    summary = "This installation's account id (portalId) and settings",
    responses((status = 200, description = "success", body = AccountDetails)),
)]
async fn account_details(
    State(s): State<WebState>,
    Auth(_actor): Auth,
    headers: HeaderMap,
) -> Result<Json<AccountDetails>, ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost")
        .to_string();
    Ok(Json(AccountDetails {
        portal_id: s.app.portal_id().await?,
        account_type: "STANDARD".into(),
        time_zone: "UTC".into(),
        company_currency: "USD".into(),
        additional_currencies: Vec::new(),
        utc_offset: "+00:00".into(),
        utc_offset_milliseconds: 0,
        ui_domain: host,
        data_hosting_location: "self-hosted".into(),
    }))
}

// ---- Definitions ----

/// A form definition (HubSpot's `HubSpotFormDefinition`), plus where its submissions go:
/// `teamId` and `connectedTo` (`help_desk`: a ticket per submission, HD-06; `inbox`: a
/// conversation only).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FormDefinition {
    id: String,
    name: String,
    form_type: String,
    created_at: Time,
    updated_at: Time,
    archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    archived_at: Option<Time>,
    field_groups: Vec<FieldGroup>,
    configuration: Configuration,
    display_options: DisplayOptions,
    legal_consent_options: LegalConsentNone,
    #[schema(nullable = true)]
    team_id: Option<String>,
    connected_to: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct FieldGroup {
    group_type: String,
    rich_text_type: String,
    rich_text: String,
    fields: Vec<FieldOut>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct FieldOut {
    object_type_id: String,
    name: String,
    label: String,
    field_type: String,
    required: bool,
    hidden: bool,
    #[schema(value_type = Vec<Object>)]
    dependent_fields: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, value_type = Option<Object>)]
    validation: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    use_country_code_select: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Configuration {
    language: String,
    cloneable: bool,
    editable: bool,
    archivable: bool,
    recaptcha_enabled: bool,
    notify_contact_owner: bool,
    notify_recipients: Vec<String>,
    create_new_contact_for_new_email: bool,
    pre_populate_known_values: bool,
    allow_link_to_reset_known_values: bool,
    #[schema(value_type = Vec<Object>)]
    lifecycle_stages: Vec<Value>,
    post_submit_action: PostSubmitAction,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
struct PostSubmitAction {
    /// `thank_you` or `redirect_url`.
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DisplayOptions {
    render_raw_html: bool,
    theme: String,
    submit_button_text: String,
    #[schema(value_type = Object)]
    style: Value,
}

#[derive(Serialize, ToSchema)]
struct LegalConsentNone {
    #[serde(rename = "type")]
    kind: String,
}

fn definition(f: &Form) -> FormDefinition {
    let fields = f
        .fields
        .iter()
        .map(|x| {
            let kind = x.field_type();
            FieldGroup {
                group_type: "default_group".into(),
                rich_text_type: "text".into(),
                rich_text: String::new(),
                fields: vec![FieldOut {
                    object_type_id: x.object.type_id().into(),
                    name: x.name.clone(),
                    label: x.label.clone(),
                    field_type: kind.into(),
                    required: x.required,
                    hidden: false,
                    dependent_fields: Vec::new(),
                    validation: match kind {
                        "email" => {
                            Some(json!({"blockedEmailDomains": [], "useDefaultBlockList": false}))
                        }
                        "phone" => Some(json!({"minAllowedDigits": 0, "maxAllowedDigits": 100})),
                        _ => None,
                    },
                    use_country_code_select: (kind == "phone").then_some(false),
                }],
            }
        })
        .collect();
    FormDefinition {
        id: f.id.clone(),
        name: f.name.clone(),
        form_type: "hubspot".into(),
        created_at: Time::at(f.created_at),
        updated_at: Time::at(f.updated_at),
        archived: f.archived,
        archived_at: f.archived_at.map(Time::at),
        field_groups: fields,
        configuration: Configuration {
            language: "en".into(),
            cloneable: true,
            editable: true,
            archivable: true,
            recaptcha_enabled: false,
            notify_contact_owner: false,
            notify_recipients: Vec::new(),
            // Submissions join the contact that has the address; none is duplicated.
            create_new_contact_for_new_email: false,
            pre_populate_known_values: false,
            allow_link_to_reset_known_values: false,
            lifecycle_stages: Vec::new(),
            post_submit_action: PostSubmitAction {
                kind: f.post_submit.type_str().into(),
                value: f.post_submit.value().into(),
            },
        },
        display_options: DisplayOptions {
            render_raw_html: false,
            theme: "default_style".into(),
            submit_button_text: "Submit".into(),
            style: json!({
                "fontFamily": "", "backgroundWidth": "", "labelTextColor": "",
                "labelTextSize": "", "helpTextColor": "", "helpTextSize": "",
                "legalConsentTextColor": "", "legalConsentTextSize": "", "submitColor": "",
                "submitAlignment": "left", "submitFontColor": "", "submitSize": ""
            }),
        },
        legal_consent_options: LegalConsentNone {
            kind: "none".into(),
        },
        team_id: f.team.map(|t| t.to_string()),
        connected_to: f.workspace.as_str().into(),
    }
}

/// A create, replace or update body; what is absent stays (PATCH) or is refused (PUT).
#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // `displayOptions` is accepted and not kept
pub(crate) struct FormInput {
    name: Option<String>,
    /// Only `hubspot` forms exist here.
    form_type: Option<String>,
    field_groups: Option<Vec<FieldGroupInput>>,
    configuration: Option<ConfigurationInput>,
    /// Accepted and not kept: hosted forms use the UI's own accessible styling.
    #[schema(value_type = Option<Object>)]
    display_options: Option<Value>,
    /// Only `{"type": "none"}`.
    #[schema(value_type = Option<Object>)]
    legal_consent_options: Option<Value>,
    archived: Option<bool>,
    /// The team whose conversations (and tickets) submissions start; null for none.
    #[schema(value_type = Option<String>)]
    team_id: Option<Value>,
    /// `help_desk` (the default) or `inbox`.
    connected_to: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct FieldGroupInput {
    #[serde(default)]
    fields: Vec<FieldInput>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct FieldInput {
    object_type_id: Option<String>,
    name: String,
    label: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    hidden: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ConfigurationInput {
    post_submit_action: Option<PostSubmitAction>,
}

fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(message).with_context(json!({"properties": [field]}))
}

/// The parts of a body that change the form, each checked for what only the wire can get
/// wrong (the rules of the definition are fd-domain's `check_form`).
fn changes(input: FormInput) -> Result<FormChanges, ApiError> {
    if let Some(t) = input.form_type.as_deref()
        && t != "hubspot"
    {
        return Err(bad(
            "formType",
            format!("formType {t:?} is not supported: only hubspot forms exist here"),
        ));
    }
    if let Some(l) = &input.legal_consent_options
        && l.get("type").and_then(Value::as_str) != Some("none")
    {
        return Err(bad(
            "legalConsentOptions",
            "only legalConsentOptions {\"type\": \"none\"} is supported",
        ));
    }
    let fields = match input.field_groups {
        None => None,
        Some(groups) => {
            let mut out = Vec::new();
            for f in groups.into_iter().flat_map(|g| g.fields) {
                let object = match f.object_type_id.as_deref() {
                    None => FieldObject::Contact,
                    Some(t) => FieldObject::parse(t).ok_or_else(|| {
                        bad(
                            &format!("fields.{}", f.name),
                            format!("objectTypeId {t:?} is not a contact (0-1) or ticket (0-5)"),
                        )
                    })?,
                };
                if f.hidden {
                    return Err(bad(
                        &format!("fields.{}", f.name),
                        format!("field {:?}: hidden fields are not supported", f.name),
                    ));
                }
                out.push(FormField {
                    object,
                    name: f.name,
                    label: f.label.unwrap_or_default(),
                    required: f.required,
                });
            }
            Some(out)
        }
    };
    let post_submit = match input.configuration.and_then(|c| c.post_submit_action) {
        None => None,
        Some(a) => Some(match a.kind.as_str() {
            "thank_you" => PostSubmit::ThankYou(a.value),
            "redirect_url" => PostSubmit::Redirect(a.value),
            other => {
                return Err(bad(
                    "postSubmitAction",
                    format!("postSubmitAction type {other:?} is not thank_you or redirect_url"),
                ));
            }
        }),
    };
    let team = match input.team_id {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.trim().is_empty() => Some(None),
        Some(v) => Some(Some(TeamId(body_id(&v).ok_or_else(|| {
            bad("teamId", format!("teamId {v} is not a team id"))
        })?))),
    };
    let workspace = match input.connected_to.as_deref() {
        None => None,
        Some("help_desk") => Some(Workspace::HelpDesk),
        Some("inbox") => Some(Workspace::Inbox),
        Some(other) => {
            return Err(bad(
                "connectedTo",
                format!("connectedTo {other:?} is not help_desk or inbox"),
            ));
        }
    };
    Ok(FormChanges {
        name: input.name,
        fields,
        post_submit,
        team,
        workspace,
        archived: input.archived,
    })
}

#[derive(Serialize, ToSchema)]
pub(crate) struct FormPage {
    results: Vec<FormDefinition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    paging: Option<Paging>,
}

#[utoipa::path(
    get,
    path = "/marketing/v3/forms",
    operation_id = "listForms",
    tag = "forms",
    summary = "Forms, oldest first (also at /marketing/v3/forms/)",
    params(
        ("after" = Option<String>, Query),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 500),
        ("archived" = Option<bool>, Query),
        ("formTypes" = Option<Vec<String>>, Query, description = "hubspot or all"),
    ),
    responses((status = 200, description = "success", body = FormPage)),
)]
async fn list(
    State(s): State<WebState>,
    Auth(actor): Auth,
    params: Params,
) -> Result<Json<FormPage>, ApiError> {
    let limit = params.int("limit", 20, 1, 500)?;
    let after = params.cursor("after")?;
    let archived = params.bool("archived", false)?;
    let types = params.list("formTypes");
    let hubspot = types.is_empty() || types.iter().any(|t| t == "hubspot" || t == "all");
    if let Some(t) = types.iter().find(|t| {
        !matches!(
            t.as_str(),
            "hubspot" | "captured" | "flow" | "blog_comment" | "all"
        )
    }) {
        return Err(ApiError::validation(format!(
            "formTypes {t:?} is not one of hubspot, captured, flow, blog_comment, all"
        )));
    }
    let (forms, more) = if hubspot {
        s.app.forms(&actor, archived, after, limit).await?
    } else {
        (Vec::new(), false)
    };
    let paging = more.then(|| Paging::after(after + forms.len() as i64));
    Ok(Json(FormPage {
        results: forms.iter().map(definition).collect(),
        paging,
    }))
}

#[utoipa::path(
    post,
    path = "/marketing/v3/forms",
    operation_id = "createForm",
    tag = "forms",
    summary = "Create a form (also at /marketing/v3/forms/)",
    request_body = FormInput,
    responses((status = 201, description = "created", body = FormDefinition)),
)]
async fn create(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Body(input): Body<FormInput>,
) -> Result<(StatusCode, Json<FormDefinition>), ApiError> {
    let c = changes(input)?;
    let f = s
        .app
        .create_form(
            &actor,
            NewForm {
                name: c.name.unwrap_or_default(),
                fields: c
                    .fields
                    .unwrap_or_else(fd_app::domain::forms::default_fields),
                post_submit: c
                    .post_submit
                    .unwrap_or_else(|| PostSubmit::ThankYou(String::new())),
                team: c.team.flatten(),
                workspace: c.workspace.unwrap_or(Workspace::HelpDesk),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(definition(&f))))
}

#[utoipa::path(
    get,
    path = "/marketing/v3/forms/{formId}",
    operation_id = "getForm",
    tag = "forms",
    summary = "A form by id",
    params(("formId" = String, Path), ("archived" = Option<bool>, Query)),
    responses((status = 200, description = "success", body = FormDefinition)),
)]
async fn read(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(form_id): Path<String>,
    params: Params,
) -> Result<Json<FormDefinition>, ApiError> {
    let archived = params.bool("archived", false)?;
    let f = s.app.form(&actor, &form_id, archived).await?;
    Ok(Json(definition(&f)))
}

#[utoipa::path(
    put,
    path = "/marketing/v3/forms/{formId}",
    operation_id = "replaceForm",
    tag = "forms",
    summary = "Replace a form's whole definition",
    params(("formId" = String, Path)),
    request_body = FormInput,
    responses((status = 200, description = "success", body = FormDefinition)),
)]
async fn replace(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(form_id): Path<String>,
    Body(input): Body<FormInput>,
) -> Result<Json<FormDefinition>, ApiError> {
    let missing: Vec<&str> = [
        ("name", input.name.is_none()),
        ("fieldGroups", input.field_groups.is_none()),
        ("configuration", input.configuration.is_none()),
    ]
    .into_iter()
    .filter_map(|(n, absent)| absent.then_some(n))
    .collect();
    if !missing.is_empty() {
        return Err(ApiError::validation(format!(
            "A full definition is needed to replace a form; missing: {}",
            missing.join(", ")
        ))
        .with_context(json!({"properties": missing})));
    }
    let mut c = changes(input)?;
    if c.post_submit.is_none() {
        c.post_submit = Some(PostSubmit::ThankYou(String::new()));
    }
    // Replacing the live definition: the form must be live.
    s.app.form(&actor, &form_id, false).await?;
    let f = s.app.update_form(&actor, &form_id, c).await?;
    Ok(Json(definition(&f)))
}

#[utoipa::path(
    patch,
    path = "/marketing/v3/forms/{formId}",
    operation_id = "updateForm",
    tag = "forms",
    summary = "Change some of a form (archived: false restores an archived form)",
    params(("formId" = String, Path)),
    request_body = FormInput,
    responses((status = 200, description = "success", body = FormDefinition)),
)]
async fn update(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(form_id): Path<String>,
    Body(input): Body<FormInput>,
) -> Result<Json<FormDefinition>, ApiError> {
    let c = changes(input)?;
    let f = s.app.update_form(&actor, &form_id, c).await?;
    Ok(Json(definition(&f)))
}

#[utoipa::path(
    delete,
    path = "/marketing/v3/forms/{formId}",
    operation_id = "archiveForm",
    tag = "forms",
    summary = "Archive a form: its hosted page and submissions answer 404 from then on",
    params(("formId" = String, Path)),
    responses((status = 204, description = "archived")),
)]
async fn archive(
    State(s): State<WebState>,
    Auth(actor): Auth,
    Path(form_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.app.archive_form(&actor, &form_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- Submissions ----

/// HubSpot's submission body. `submittedAt`, `legalConsentOptions`, `skipValidation` and the
/// context's tracking members are accepted and not used: every submission is validated and
/// stamped with the server's time.
#[derive(Deserialize, Default, ToSchema)]
#[allow(dead_code)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubmissionInput {
    #[serde(default)]
    fields: Vec<SubmittedField>,
    #[schema(value_type = Option<String>)]
    submitted_at: Option<Value>,
    context: Option<SubmissionContext>,
    #[schema(value_type = Option<Object>)]
    legal_consent_options: Option<Value>,
    skip_validation: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SubmittedField {
    /// `0-1` (contact, the default) or `0-5` (ticket).
    object_type_id: Option<String>,
    name: String,
    #[schema(value_type = String)]
    value: Value,
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct SubmissionContext {
    page_uri: Option<String>,
    page_name: Option<String>,
    hutk: Option<String>,
    ip_address: Option<String>,
}

/// The answer to an accepted submission: the form's `postSubmitAction`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubmissionAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    inline_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    redirect_uri: Option<String>,
}

/// A refused submission: HubSpot's error body with an `errorType` per problem.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SubmissionErrors {
    status: String,
    message: String,
    correlation_id: String,
    category: String,
    /// One entry per refused field. A body that cannot be read at all (not JSON, not a
    /// form) is answered with the API's plain error body, without `errors`.
    #[schema(required = false)]
    errors: Vec<SubmissionErrorOut>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct SubmissionErrorOut {
    message: String,
    error_type: String,
}

/// Values from a plain HTML form's fields (`application/x-www-form-urlencoded`): every
/// field is a value except the honeypot and `pageUri`; returns (values, honeypot, pageUri).
pub(crate) fn values_from_pairs(
    pairs: Vec<(String, String)>,
) -> (Vec<SubmittedValue>, Option<String>, Option<String>) {
    let mut values = Vec::new();
    let mut honeypot = None;
    let mut page = None;
    for (k, v) in pairs {
        match k.as_str() {
            HONEYPOT_FIELD => honeypot = Some(v),
            "pageUri" => page = Some(v),
            _ => values.push(SubmittedValue {
                object_type_id: None,
                name: k,
                value: v,
            }),
        }
    }
    (values, honeypot, page)
}

/// The TCP peer's address when the server runs with connection info (`frontdesk serve`).
pub(crate) fn peer_ip(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Any page may post a form here (HubSpot's unauthenticated endpoint is CORS-enabled); no
/// credentials are involved, so `*` is the honest answer.
fn cors(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    r
}

/// The 400 body of a refused submission.
pub(crate) fn rejection_body(errors: &[SubmissionError]) -> SubmissionErrors {
    let detail: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    let id = crate::request_id();
    crate::error::log_error(
        StatusCode::BAD_REQUEST,
        "VALIDATION_ERROR",
        "form submission refused",
        &id,
        None,
    );
    SubmissionErrors {
        status: "error".into(),
        message: format!("The form submission was not accepted: {}", detail.join(" ")),
        correlation_id: id,
        category: "VALIDATION_ERROR".into(),
        errors: errors
            .iter()
            .map(|e| SubmissionErrorOut {
                message: e.message.clone(),
                error_type: e.error_type.as_str().into(),
            })
            .collect(),
    }
}

/// The 429 of a client over its budget.
pub(crate) fn throttled(retry_after_ms: i64) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMITS",
        format!(
            "Too many form submissions from this address; try again in {} seconds",
            (retry_after_ms + 999) / 1000
        ),
    )
}

fn retry_after(mut r: Response, ms: i64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&((ms + 999) / 1000).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

#[utoipa::path(
    post,
    path = "/submissions/v3/integration/submit/{portalId}/{formGuid}",
    operation_id = "submitForm",
    tag = "forms",
    summary = "Submit a form (no authentication; CORS; JSON or a plain HTML form's fields)",
    security(()),
    params(("portalId" = String, Path), ("formGuid" = String, Path)),
    request_body(content(
        (SubmissionInput = "application/json"),
        (Object = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "accepted", body = SubmissionAnswer),
        (status = 400, description = "refused, with an errorType per problem", body = SubmissionErrors),
    ),
)]
async fn submit(
    State(s): State<WebState>,
    Path((portal, guid)): Path<(String, String)>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    cors(submit_inner(&s, &portal, &guid, &extensions, &headers, &body).await)
}

async fn submit_inner(
    s: &WebState,
    portal: &str,
    guid: &str,
    extensions: &Extensions,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let Some(portal_id) = fd_app::domain::text::parse_id(portal) else {
        return ApiError::not_found(format!("form {guid:?} not found")).into_response();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let form_encoded = content_type.starts_with("application/x-www-form-urlencoded");
    let html = form_encoded && wants_html(headers);
    let (values, honeypot, page_uri) = if form_encoded {
        match serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
            Ok(pairs) => values_from_pairs(pairs),
            Err(e) => {
                return ApiError::validation(format!("The form fields cannot be read: {e}"))
                    .into_response();
            }
        }
    } else {
        if !(content_type.is_empty()
            || content_type.starts_with("application/json")
            || content_type.contains("+json"))
        {
            return ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                format!(
                    "Expected JSON (application/json) or a form's fields \
                     (application/x-www-form-urlencoded), got {content_type:?}"
                ),
            )
            .into_response();
        }
        let input: SubmissionInput = match serde_json::from_slice(body) {
            Ok(i) => i,
            Err(e) => return ApiError::from(e).into_response(),
        };
        let mut values = Vec::new();
        let mut honeypot = None;
        for f in input.fields {
            let value = match f.value {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => String::new(),
                _ => {
                    return ApiError::validation(format!(
                        "fields.{}: a value is a string, a number or a boolean",
                        f.name
                    ))
                    .into_response();
                }
            };
            if f.name == HONEYPOT_FIELD {
                honeypot = Some(value);
                continue;
            }
            values.push(SubmittedValue {
                object_type_id: f.object_type_id,
                name: f.name,
                value,
            });
        }
        (values, honeypot, input.context.and_then(|c| c.page_uri))
    };
    let outcome = s
        .app
        .submit_form(FormSubmission {
            portal_id,
            form_id: guid.to_string(),
            values,
            honeypot,
            client: peer_ip(extensions),
            page_uri,
        })
        .await;
    match outcome {
        Err(e) => ApiError::from(e).into_response(),
        Ok(SubmitOutcome::Throttled { retry_after_ms }) => {
            retry_after(throttled(retry_after_ms).into_response(), retry_after_ms)
        }
        Ok(SubmitOutcome::Rejected(errors)) if html => {
            crate::ui::form_result_page(StatusCode::BAD_REQUEST, None, &errors)
        }
        Ok(SubmitOutcome::Rejected(errors)) => {
            (StatusCode::BAD_REQUEST, Json(rejection_body(&errors))).into_response()
        }
        Ok(
            SubmitOutcome::Accepted { post_submit, .. } | SubmitOutcome::Discarded { post_submit },
        ) => match post_submit {
            PostSubmit::Redirect(u) if html => {
                (StatusCode::SEE_OTHER, [(header::LOCATION, u)]).into_response()
            }
            PostSubmit::ThankYou(m) if html => {
                crate::ui::form_result_page(StatusCode::OK, Some(&m), &[])
            }
            PostSubmit::Redirect(u) => Json(SubmissionAnswer {
                inline_message: None,
                redirect_uri: Some(u),
            })
            .into_response(),
            PostSubmit::ThankYou(m) => Json(SubmissionAnswer {
                inline_message: Some(m),
                redirect_uri: None,
            })
            .into_response(),
        },
    }
}

#[utoipa::path(
    options,
    path = "/submissions/v3/integration/submit/{portalId}/{formGuid}",
    operation_id = "submitFormPreflight",
    tag = "forms",
    summary = "CORS preflight of a submission from another origin",
    security(()),
    params(("portalId" = String, Path), ("formGuid" = String, Path)),
    responses((status = 204, description = "any origin may post")),
)]
async fn submit_preflight(Path((_portal, _guid)): Path<(String, String)>) -> Response {
    cors(StatusCode::NO_CONTENT.into_response())
}
