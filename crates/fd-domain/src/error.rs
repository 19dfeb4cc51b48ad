//! The typed refusals a domain rule can give. Pure: no I/O, no knowledge of HTTP — the web
//! layer maps these types (never their message text) onto status codes and error bodies.

use std::fmt;

/// What kind of problem a [`FieldError`] is, in HubSpot's vocabulary: the `error` of an
/// entry in "Property values were not valid" and the `code` of an `errors[]` entry. The rule
/// that refuses a value chooses it, so clients and scripts can rely on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The named property is not defined for the object type (or is archived).
    PropertyDoesntExist,
    /// An enumeration value outside the property's options.
    InvalidOption,
    /// A value for a property that only the system sets.
    ReadOnlyValue,
    /// A required value is missing or empty.
    Required,
    /// Not a whole number where one is needed (record ids, counts, limits).
    InvalidInteger,
    /// Not a (finite) number for a number property.
    InvalidNumber,
    /// Not a date or date-time.
    InvalidDate,
    /// Not an email address.
    InvalidEmail,
    /// Longer (or more numerous) than allowed.
    TooLarge,
    /// Any other invalid value: the message says what is wrong.
    InvalidValue,
}

impl ErrorCode {
    /// HubSpot's spelling of the code on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::PropertyDoesntExist => "PROPERTY_DOESNT_EXIST",
            ErrorCode::InvalidOption => "INVALID_OPTION",
            ErrorCode::ReadOnlyValue => "READ_ONLY_VALUE",
            ErrorCode::Required => "REQUIRED",
            ErrorCode::InvalidInteger => "INVALID_INTEGER",
            ErrorCode::InvalidNumber => "INVALID_NUMBER",
            ErrorCode::InvalidDate => "INVALID_DATE",
            ErrorCode::InvalidEmail => "INVALID_EMAIL",
            ErrorCode::TooLarge => "INPUT_TOO_LARGE",
            ErrorCode::InvalidValue => "INVALID_PROPERTY_VALUE",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one named input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub code: ErrorCode,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }

    /// A required value that is missing.
    pub fn required(field: impl Into<String>) -> Self {
        Self::new(field, ErrorCode::Required, "is required")
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a rule refused an input. Every variant names what was wrong so a caller can show it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("invalid input: {}", join(.0))]
    Invalid(Vec<FieldError>),
    /// HD-19: a conditional stage needs these properties before a ticket may enter it.
    #[error("stage {stage_label:?} requires properties: {}", .missing.join(", "))]
    MissingRequiredProperties {
        stage_label: String,
        missing: Vec<String>,
    },
    /// A rule of SPEC.md forbids the action; `rule` is its id (e.g. "INB-04").
    #[error("{rule}: {message}")]
    RuleViolation { rule: &'static str, message: String },
}

fn join(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl DomainError {
    pub fn field(field: impl Into<String>, code: ErrorCode, message: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldError::new(field, code, message)])
    }

    /// The codes of an `Invalid`'s field errors, in order (empty for other variants).
    pub fn codes(&self) -> Vec<ErrorCode> {
        match self {
            DomainError::Invalid(fields) => fields.iter().map(|f| f.code).collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::property::{PropertyDefinition, PropertyOption, PropertyType};
    use crate::{EmailAddress, TicketId, rules, text};

    fn def(kind: PropertyType, field_type: &str) -> PropertyDefinition {
        PropertyDefinition {
            name: "p".into(),
            label: "P".into(),
            kind,
            field_type: field_type.into(),
            group_name: "g".into(),
            description: String::new(),
            options: vec![PropertyOption {
                value: "A".into(),
                label: "A".into(),
                display_order: 0,
                hidden: false,
            }],
            hubspot_defined: false,
            read_only: false,
            display_order: 0,
            form_field: false,
            archived: false,
        }
    }

    fn code_of<T: fmt::Debug>(r: Result<T, DomainError>) -> ErrorCode {
        match r {
            Err(DomainError::Invalid(f)) if f.len() == 1 => f[0].code,
            other => panic!("expected one field error, got {other:?}"),
        }
    }

    /// Each kind of refusal carries its HubSpot code, chosen by the rule that refuses.
    #[test]
    fn field_errors_carry_the_code_of_their_case() {
        let norm = |kind, ft: &str, raw: &str| {
            def(kind, ft)
                .normalize(raw)
                .map_err(|e| DomainError::Invalid(vec![e]))
        };
        assert_eq!(
            code_of(norm(PropertyType::Enumeration, "select", "B")),
            ErrorCode::InvalidOption
        );
        assert_eq!(
            code_of(norm(PropertyType::Enumeration, "checkbox", "A;B")),
            ErrorCode::InvalidOption
        );
        assert_eq!(
            code_of(norm(PropertyType::Number, "number", "ten")),
            ErrorCode::InvalidNumber
        );
        assert_eq!(
            code_of(norm(PropertyType::Date, "date", "yesterday")),
            ErrorCode::InvalidDate
        );
        assert_eq!(
            code_of(norm(PropertyType::Datetime, "date", "noon")),
            ErrorCode::InvalidDate
        );
        assert_eq!(
            code_of(norm(PropertyType::Bool, "booleancheckbox", "maybe")),
            ErrorCode::InvalidValue
        );
        let long = "x".repeat(crate::property::MAX_STRING_VALUE + 1);
        assert_eq!(
            code_of(norm(PropertyType::String, "text", &long)),
            ErrorCode::TooLarge
        );
        assert_eq!(
            code_of(PropertyType::parse("blob").map_err(|e| DomainError::Invalid(vec![e]))),
            ErrorCode::InvalidOption
        );
        assert_eq!(
            code_of(EmailAddress::parse("no-at-sign")),
            ErrorCode::InvalidEmail
        );
        assert_eq!(
            code_of("12a".parse::<TicketId>()),
            ErrorCode::InvalidInteger
        );
        assert_eq!(code_of(text::name("name", "  ", 10)), ErrorCode::Required);
        assert_eq!(
            code_of(text::name("name", "eleven chars", 10)),
            ErrorCode::TooLarge
        );
        assert_eq!(
            code_of(text::name("name", "a\nb", 10)),
            ErrorCode::InvalidValue
        );
        assert_eq!(code_of(rules::ticket_subject(" ")), ErrorCode::Required);
        assert_eq!(FieldError::required("x").code, ErrorCode::Required);
    }

    #[test]
    fn codes_are_spelled_as_hubspot_does() {
        for (code, text) in [
            (ErrorCode::PropertyDoesntExist, "PROPERTY_DOESNT_EXIST"),
            (ErrorCode::InvalidOption, "INVALID_OPTION"),
            (ErrorCode::ReadOnlyValue, "READ_ONLY_VALUE"),
            (ErrorCode::Required, "REQUIRED"),
            (ErrorCode::InvalidInteger, "INVALID_INTEGER"),
        ] {
            assert_eq!(code.as_str(), text);
            assert_eq!(code.to_string(), text);
        }
    }
}
