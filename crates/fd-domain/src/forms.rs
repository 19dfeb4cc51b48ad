//! Web forms (HD-06): what a form definition may hold and what a submission must satisfy,
//! in HubSpot's vocabulary (forms v3 definitions, the submissions API's `errorType`s).
//!
//! Pure: no storage, no HTTP, no clock. The use case (fd-app `forms.rs`) loads the form,
//! asks [`check_submission`] what the submitted values mean, then stores them; the API, the
//! hosted page and the CLI reach the same checks through it.

use std::collections::BTreeMap;

use crate::{DomainError, EmailAddress, ErrorCode, FieldError, TeamId, Workspace};

/// The record a form field fills: HubSpot's object type ids `0-1` and `0-5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldObject {
    Contact,
    Ticket,
}

impl FieldObject {
    pub fn type_id(self) -> &'static str {
        match self {
            FieldObject::Contact => "0-1",
            FieldObject::Ticket => "0-5",
        }
    }

    /// `0-1`/`contact`/`contacts` and `0-5`/`ticket`/`tickets`.
    pub fn parse(raw: &str) -> Option<FieldObject> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "0-1" | "contact" | "contacts" => Some(FieldObject::Contact),
            "0-5" | "ticket" | "tickets" => Some(FieldObject::Ticket),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FieldObject::Contact => "contact",
            FieldObject::Ticket => "ticket",
        }
    }
}

/// Contact properties a form may fill: the ones a new contact is created with.
pub const CONTACT_FIELDS: [&str; 5] = ["email", "firstname", "lastname", "phone", "company"];

/// The name of the hidden field of every hosted form and embed snippet: people never see
/// it, so a value in it means a bot filled in every input it found.
pub const HONEYPOT_FIELD: &str = "fd_website";

/// HubSpot's limit on values per submission.
pub const MAX_SUBMITTED_VALUES: usize = 1000;
/// Fields one form may have.
pub const MAX_FIELDS: usize = 50;
/// The longest value of the ticket's `content` field (a message body)…
pub const MAX_CONTENT_CHARS: usize = 65_536;
/// …and of any other field.
pub const MAX_VALUE_CHARS: usize = 1000;

/// One input of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    pub object: FieldObject,
    pub name: String,
    pub label: String,
    pub required: bool,
}

impl FormField {
    /// HubSpot's `fieldType` for the field: what the hosted page renders.
    pub fn field_type(&self) -> &'static str {
        match (self.object, self.name.as_str()) {
            (FieldObject::Contact, "email") => "email",
            (FieldObject::Contact, "phone") => "phone",
            (FieldObject::Ticket, "content") => "multi_line_text",
            _ => "single_line_text",
        }
    }
}

/// What the submitter sees after submitting (`postSubmitAction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostSubmit {
    ThankYou(String),
    Redirect(String),
}

impl PostSubmit {
    pub fn type_str(&self) -> &'static str {
        match self {
            PostSubmit::ThankYou(_) => "thank_you",
            PostSubmit::Redirect(_) => "redirect_url",
        }
    }
    pub fn value(&self) -> &str {
        match self {
            PostSubmit::ThankYou(v) | PostSubmit::Redirect(v) => v,
        }
    }
}

/// A form as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// A UUID, as HubSpot's form GUIDs.
    pub id: String,
    pub name: String,
    pub fields: Vec<FormField>,
    pub post_submit: PostSubmit,
    pub team: Option<TeamId>,
    /// HD-06: the help desk (a ticket per submission) or the inbox (a conversation only).
    pub workspace: Workspace,
    pub archived: bool,
    pub archived_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The fields a form gets when none are given (the CLI's default).
pub fn default_fields() -> Vec<FormField> {
    [
        (FieldObject::Contact, "email", true),
        (FieldObject::Contact, "firstname", false),
        (FieldObject::Contact, "lastname", false),
        (FieldObject::Ticket, "subject", false),
        (FieldObject::Ticket, "content", false),
    ]
    .into_iter()
    .map(|(object, name, required)| FormField {
        object,
        name: name.to_string(),
        label: default_label(name),
        required,
    })
    .collect()
}

/// The label a field gets when none is given.
pub fn default_label(name: &str) -> String {
    match name {
        "email" => "Email".into(),
        "firstname" => "First name".into(),
        "lastname" => "Last name".into(),
        "phone" => "Phone number".into(),
        "company" => "Company name".into(),
        "subject" => "Subject".into(),
        "content" => "Message".into(),
        other => {
            let spaced = other.replace('_', " ");
            let mut chars = spaced.chars();
            match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        }
    }
}

/// HD-06/HD-15: checks and normalises a definition before it is stored. The submitter is
/// answered by email, so every form asks for a required contact `email`. Ticket fields must
/// name a ticket property (`ticket_property` says which exist and may be set by a form).
pub fn check_form(
    name: &str,
    fields: Vec<FormField>,
    post_submit: PostSubmit,
    ticket_property: impl Fn(&str) -> bool,
) -> Result<(String, Vec<FormField>, PostSubmit), DomainError> {
    let mut errors = Vec::new();
    let name = name.trim().to_string();
    if name.is_empty() {
        errors.push(FieldError::required("name"));
    } else if name.chars().count() > 200 {
        errors.push(FieldError::new(
            "name",
            ErrorCode::TooLarge,
            "is longer than 200 characters",
        ));
    }
    if fields.len() > MAX_FIELDS {
        errors.push(FieldError::new(
            "fields",
            ErrorCode::TooLarge,
            format!("a form has at most {MAX_FIELDS} fields"),
        ));
    }
    let mut out: Vec<FormField> = Vec::new();
    for mut f in fields {
        f.name = f.name.trim().to_ascii_lowercase();
        f.label = f.label.trim().to_string();
        if f.label.is_empty() {
            f.label = default_label(&f.name);
        }
        let known = match f.object {
            FieldObject::Contact => CONTACT_FIELDS.contains(&f.name.as_str()),
            FieldObject::Ticket => {
                matches!(f.name.as_str(), "subject" | "content") || ticket_property(&f.name)
            }
        };
        if !known {
            let allowed = match f.object {
                FieldObject::Contact => CONTACT_FIELDS.join(", "),
                FieldObject::Ticket => "subject, content or a ticket property".to_string(),
            };
            errors.push(FieldError::new(
                format!("fields.{}", f.name),
                ErrorCode::PropertyDoesntExist,
                format!(
                    "{:?} is not a {} property a form can fill ({allowed})",
                    f.name,
                    f.object.as_str()
                ),
            ));
            continue;
        }
        if f.label.chars().count() > 200 {
            errors.push(FieldError::new(
                format!("fields.{}", f.name),
                ErrorCode::TooLarge,
                "the label is longer than 200 characters",
            ));
        }
        if out.iter().any(|o| o.name == f.name) {
            errors.push(FieldError::new(
                format!("fields.{}", f.name),
                ErrorCode::InvalidValue,
                format!("the field {:?} is on the form twice", f.name),
            ));
            continue;
        }
        out.push(f);
    }
    match out
        .iter()
        .find(|f| f.object == FieldObject::Contact && f.name == "email")
    {
        Some(f) if f.required => {}
        _ => errors.push(FieldError::new(
            "fields.email",
            ErrorCode::Required,
            "a form needs a required contact field \"email\": the submitter is answered by email",
        )),
    }
    let post_submit = match post_submit {
        PostSubmit::ThankYou(m) => {
            let m = m.trim().to_string();
            if m.chars().count() > 2000 {
                errors.push(FieldError::new(
                    "postSubmitAction",
                    ErrorCode::TooLarge,
                    "the thank-you message is longer than 2000 characters",
                ));
            }
            PostSubmit::ThankYou(if m.is_empty() {
                "Thanks for submitting the form.".into()
            } else {
                m
            })
        }
        PostSubmit::Redirect(u) => {
            let u = u.trim().to_string();
            let lower = u.to_ascii_lowercase();
            let rest = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"));
            let ok = rest.is_some_and(|r| {
                !r.is_empty()
                    && !r.starts_with('/')
                    && u.len() <= 2000
                    && !u.chars().any(|c| c.is_whitespace() || c.is_control())
            });
            if !ok {
                errors.push(FieldError::new(
                    "postSubmitAction",
                    ErrorCode::InvalidValue,
                    format!("{u:?} is not an http(s) URL to redirect to"),
                ));
            }
            PostSubmit::Redirect(u)
        }
    };
    if errors.is_empty() {
        Ok((name, out, post_submit))
    } else {
        Err(DomainError::Invalid(errors))
    }
}

/// HubSpot's submission `errorType`s this server gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmissionErrorType {
    MaxNumberOfSubmittedValuesExceeded,
    InvalidEmail,
    RequiredField,
    InputTooLarge,
    FieldNotInFormDefinition,
    ValueNotInFieldDefinition,
}

impl SubmissionErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MaxNumberOfSubmittedValuesExceeded => "MAX_NUMBER_OF_SUBMITTED_VALUES_EXCEEDED",
            Self::InvalidEmail => "INVALID_EMAIL",
            Self::RequiredField => "REQUIRED_FIELD",
            Self::InputTooLarge => "INPUT_TOO_LARGE",
            Self::FieldNotInFormDefinition => "FIELD_NOT_IN_FORM_DEFINITION",
            Self::ValueNotInFieldDefinition => "VALUE_NOT_IN_FIELD_DEFINITION",
        }
    }
}

/// One refusal of a submission, worded as HubSpot words them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionError {
    /// The field's name (empty for the submission as a whole).
    pub field: String,
    pub error_type: SubmissionErrorType,
    pub message: String,
}

impl SubmissionError {
    pub fn new(field: &str, error_type: SubmissionErrorType, why: &str) -> Self {
        let message = if field.is_empty() {
            why.to_string()
        } else {
            format!("Error in 'fields.{field}'. {why}")
        };
        SubmissionError {
            field: field.to_string(),
            error_type,
            message,
        }
    }
}

/// A value as submitted: HubSpot's `{objectTypeId, name, value}` (a plain HTML form has no
/// object type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedValue {
    pub object_type_id: Option<String>,
    pub name: String,
    pub value: String,
}

/// A checked submission: the values by field, in the form's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    pub email: EmailAddress,
    /// Contact properties other than `email`, for a contact created by the submission.
    pub contact: BTreeMap<String, String>,
    pub subject: Option<String>,
    pub content: Option<String>,
    /// Other ticket properties, set on the ticket through the ticket rules.
    pub ticket: BTreeMap<String, String>,
    /// (label, value) of every non-empty field, in the form's order: the first message.
    pub lines: Vec<(String, String)>,
}

impl Submission {
    /// The first message of the conversation: the submitted fields, one per paragraph.
    pub fn message_text(&self) -> String {
        self.lines
            .iter()
            .map(|(label, value)| format!("{label}:\n{value}"))
            .collect::<Vec<_>>()
            .join("\n\n")
    }

    /// The contact's display name from the first and last name fields.
    pub fn display_name(&self) -> Option<String> {
        let name = [self.contact.get("firstname"), self.contact.get("lastname")]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        (!name.is_empty()).then_some(name)
    }
}

/// HD-06: what a submission of `form` says, or every reason it is refused. One value for a
/// field the form does not have refuses the whole submission, as HubSpot does.
pub fn check_submission(
    form: &Form,
    values: &[SubmittedValue],
) -> Result<Submission, Vec<SubmissionError>> {
    use SubmissionErrorType as E;
    if values.len() > MAX_SUBMITTED_VALUES {
        return Err(vec![SubmissionError::new(
            "",
            E::MaxNumberOfSubmittedValuesExceeded,
            &format!(
                "{} values were submitted; at most {MAX_SUBMITTED_VALUES} are accepted",
                values.len()
            ),
        )]);
    }
    let mut errors = Vec::new();
    let mut given: BTreeMap<usize, String> = BTreeMap::new();
    for v in values {
        let name = v.name.trim();
        let object = match v.object_type_id.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(t) => match FieldObject::parse(t) {
                Some(o) => Some(o),
                None => {
                    errors.push(SubmissionError::new(
                        name,
                        E::FieldNotInFormDefinition,
                        &format!("objectTypeId {t:?} is not a contact (0-1) or ticket (0-5)"),
                    ));
                    continue;
                }
            },
        };
        let found = form
            .fields
            .iter()
            .position(|f| f.name == name && object.is_none_or(|o| o == f.object));
        let Some(i) = found else {
            errors.push(SubmissionError::new(
                name,
                E::FieldNotInFormDefinition,
                "This field is not in the form definition.",
            ));
            continue;
        };
        let f = &form.fields[i];
        let limit = if f.object == FieldObject::Ticket && f.name == "content" {
            MAX_CONTENT_CHARS
        } else {
            MAX_VALUE_CHARS
        };
        let value = v.value.trim();
        if value.chars().count() > limit {
            errors.push(SubmissionError::new(
                name,
                E::InputTooLarge,
                &format!("The value is longer than {limit} characters."),
            ));
            continue;
        }
        if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            errors.push(SubmissionError::new(
                name,
                E::ValueNotInFieldDefinition,
                "The value contains control characters.",
            ));
            continue;
        }
        given.insert(i, value.replace("\r\n", "\n"));
    }
    let mut email = None;
    for (i, f) in form.fields.iter().enumerate() {
        let value = given.get(&i).map(String::as_str).unwrap_or("");
        if value.is_empty() {
            if f.required {
                errors.push(SubmissionError::new(
                    &f.name,
                    E::RequiredField,
                    "Required field is missing.",
                ));
            }
            continue;
        }
        if f.object == FieldObject::Contact && f.name == "email" {
            match EmailAddress::parse(value) {
                Ok(e) => email = Some(e),
                Err(_) => errors.push(SubmissionError::new(
                    &f.name,
                    E::InvalidEmail,
                    "Email address is invalid.",
                )),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let Some(email) = email else {
        // `check_form` makes email required, so only a form stored otherwise gets here.
        return Err(vec![SubmissionError::new(
            "email",
            E::RequiredField,
            "Required field is missing.",
        )]);
    };
    let mut s = Submission {
        email,
        contact: BTreeMap::new(),
        subject: None,
        content: None,
        ticket: BTreeMap::new(),
        lines: Vec::new(),
    };
    for (i, value) in given {
        if value.is_empty() {
            continue;
        }
        let f = &form.fields[i];
        s.lines.push((f.label.clone(), value.clone()));
        match (f.object, f.name.as_str()) {
            (FieldObject::Contact, "email") => {}
            (FieldObject::Contact, name) => {
                s.contact.insert(name.to_string(), value);
            }
            (FieldObject::Ticket, "subject") => s.subject = Some(value),
            (FieldObject::Ticket, "content") => s.content = Some(value),
            (FieldObject::Ticket, name) => {
                s.ticket.insert(name.to_string(), value);
            }
        }
    }
    Ok(s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn form() -> Form {
        Form {
            id: "f".into(),
            name: "Support".into(),
            fields: default_fields(),
            post_submit: PostSubmit::ThankYou("Thanks".into()),
            team: None,
            workspace: Workspace::HelpDesk,
            archived: false,
            archived_at: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn v(object: Option<&str>, name: &str, value: &str) -> SubmittedValue {
        SubmittedValue {
            object_type_id: object.map(str::to_string),
            name: name.into(),
            value: value.into(),
        }
    }

    fn types(e: Vec<SubmissionError>) -> Vec<&'static str> {
        e.iter().map(|e| e.error_type.as_str()).collect()
    }

    #[test]
    fn hd_06_submission_checks_use_hubspots_error_types() {
        let f = form();
        let ok = check_submission(
            &f,
            &[
                v(Some("0-1"), "email", " Ada@Example.com "),
                v(None, "firstname", "Ada"),
                v(Some("0-5"), "subject", "Printer on fire"),
            ],
        )
        .unwrap();
        assert_eq!(ok.email.as_str(), "ada@example.com");
        assert_eq!(ok.subject.as_deref(), Some("Printer on fire"));
        assert_eq!(ok.display_name().as_deref(), Some("Ada"));
        assert!(ok.message_text().contains("Subject:\nPrinter on fire"));
        assert_eq!(
            types(check_submission(&f, &[v(None, "email", "nope")]).unwrap_err()),
            ["INVALID_EMAIL"]
        );
        assert_eq!(
            types(check_submission(&f, &[v(None, "firstname", "Ada")]).unwrap_err()),
            ["REQUIRED_FIELD"]
        );
        let unknown = check_submission(
            &f,
            &[v(None, "email", "a@b.example"), v(None, "favourite", "x")],
        )
        .unwrap_err();
        assert_eq!(types(unknown.clone()), ["FIELD_NOT_IN_FORM_DEFINITION"]);
        assert_eq!(
            unknown[0].message,
            "Error in 'fields.favourite'. This field is not in the form definition."
        );
        // A contact field posted as a ticket field is not the form's field.
        assert_eq!(
            types(
                check_submission(
                    &f,
                    &[
                        v(None, "email", "a@b.example"),
                        v(Some("0-5"), "firstname", "x")
                    ]
                )
                .unwrap_err()
            ),
            ["FIELD_NOT_IN_FORM_DEFINITION"]
        );
        let long = "x".repeat(MAX_VALUE_CHARS + 1);
        assert_eq!(
            types(
                check_submission(
                    &f,
                    &[v(None, "email", "a@b.example"), v(None, "subject", &long)]
                )
                .unwrap_err()
            ),
            ["INPUT_TOO_LARGE"]
        );
        let many: Vec<SubmittedValue> = (0..=MAX_SUBMITTED_VALUES)
            .map(|_| v(None, "email", "a@b.example"))
            .collect();
        assert_eq!(
            types(check_submission(&f, &many).unwrap_err()),
            ["MAX_NUMBER_OF_SUBMITTED_VALUES_EXCEEDED"]
        );
    }

    #[test]
    fn hd_15_a_form_needs_a_required_email_and_known_properties() {
        let no_email = vec![FormField {
            object: FieldObject::Ticket,
            name: "subject".into(),
            label: String::new(),
            required: true,
        }];
        let e = check_form("F", no_email, PostSubmit::ThankYou(String::new()), |_| {
            false
        })
        .unwrap_err();
        assert_eq!(e.codes(), [ErrorCode::Required]);
        let mut fields = default_fields();
        fields.push(FormField {
            object: FieldObject::Contact,
            name: "shoe_size".into(),
            label: String::new(),
            required: false,
        });
        let e = check_form("F", fields, PostSubmit::Redirect("ftp://x".into()), |_| {
            false
        })
        .unwrap_err();
        assert_eq!(
            e.codes(),
            [ErrorCode::PropertyDoesntExist, ErrorCode::InvalidValue]
        );
        let (name, fields, after) = check_form(
            " Support ",
            default_fields(),
            PostSubmit::Redirect("https://example.com/thanks".into()),
            |_| false,
        )
        .unwrap();
        assert_eq!(name, "Support");
        assert_eq!(fields.len(), 5);
        assert_eq!(after.type_str(), "redirect_url");
    }
}
