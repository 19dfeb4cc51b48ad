//! The typed refusals a domain rule can give.

use std::fmt;

/// One problem with one named input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
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
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldError::new(field, message)])
    }
}
