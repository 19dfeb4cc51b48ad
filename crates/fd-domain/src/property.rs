//! Typed property definitions and the normalisation of raw values (HubSpot sends every value
//! as a string; we accept that and store one canonical text per type).

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError};
use crate::model::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PropertyType {
    String,
    Number,
    Date,
    Datetime,
    Enumeration,
    Bool,
}

impl PropertyType {
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyType::String => "string",
            PropertyType::Number => "number",
            PropertyType::Date => "date",
            PropertyType::Datetime => "datetime",
            PropertyType::Enumeration => "enumeration",
            PropertyType::Bool => "bool",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Ok(match s {
            "string" => PropertyType::String,
            "number" => PropertyType::Number,
            "date" => PropertyType::Date,
            "datetime" => PropertyType::Datetime,
            "enumeration" => PropertyType::Enumeration,
            "bool" | "booleancheckbox" => PropertyType::Bool,
            other => {
                return Err(FieldError::new(
                    "type",
                    ErrorCode::InvalidOption,
                    format!(
                        "{other:?} is not a property type (string, number, date, datetime, enumeration, bool)"
                    ),
                ));
            }
        })
    }

    /// HubSpot's default `fieldType` for a type.
    pub fn default_field_type(self) -> &'static str {
        match self {
            PropertyType::String => "text",
            PropertyType::Number => "number",
            PropertyType::Date => "date",
            PropertyType::Datetime => "date",
            PropertyType::Enumeration => "select",
            PropertyType::Bool => "booleancheckbox",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyOption {
    pub value: String,
    pub label: String,
    pub display_order: i32,
    pub hidden: bool,
}

/// Longest value any string property may hold (HubSpot's limit is 65,536 characters).
pub const MAX_STRING_VALUE: usize = 65_536;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyDefinition {
    pub name: String,
    pub label: String,
    pub kind: PropertyType,
    pub field_type: String,
    pub group_name: String,
    pub description: String,
    pub options: Vec<PropertyOption>,
    pub hubspot_defined: bool,
    /// Computed by the system (`createdate`, `hs_object_id`…): clients may not set them.
    pub read_only: bool,
    pub display_order: i32,
    pub form_field: bool,
    pub archived: bool,
}

impl PropertyDefinition {
    /// Turns a raw client value into the canonical stored text; `Ok(None)` clears the value.
    pub fn normalize(&self, raw: &str) -> Result<Option<String>, FieldError> {
        let err = |code: ErrorCode, m: String| FieldError::new(self.name.clone(), code, m);
        if raw.is_empty() {
            return Ok(None);
        }
        match self.kind {
            PropertyType::String => {
                if raw.chars().count() > MAX_STRING_VALUE {
                    return Err(err(
                        ErrorCode::TooLarge,
                        format!("is longer than {MAX_STRING_VALUE} characters"),
                    ));
                }
                if raw.contains('\0') {
                    return Err(err(
                        ErrorCode::InvalidValue,
                        "contains a NUL character".into(),
                    ));
                }
                Ok(Some(raw.to_string()))
            }
            PropertyType::Number => {
                let v: f64 = raw.trim().parse().map_err(|_| {
                    err(ErrorCode::InvalidNumber, format!("{raw:?} is not a number"))
                })?;
                if !v.is_finite() {
                    return Err(err(
                        ErrorCode::InvalidNumber,
                        format!("{raw:?} is not a finite number"),
                    ));
                }
                Ok(Some(canonical_number(v)))
            }
            PropertyType::Bool => match raw.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(Some("true".into())),
                "false" => Ok(Some("false".into())),
                _ => Err(err(
                    ErrorCode::InvalidValue,
                    format!("{raw:?} is not true or false"),
                )),
            },
            PropertyType::Date => {
                let ms = parse_time(raw).ok_or_else(|| {
                    err(
                        ErrorCode::InvalidDate,
                        format!("{raw:?} is not a date (YYYY-MM-DD or epoch milliseconds)"),
                    )
                })?;
                let day = ms.div_euclid(86_400_000) * 86_400_000;
                Ok(Some(day.to_string()))
            }
            PropertyType::Datetime => {
                let ms = parse_time(raw).ok_or_else(|| {
                    err(
                        ErrorCode::InvalidDate,
                        format!("{raw:?} is not a datetime (ISO-8601 or epoch milliseconds)"),
                    )
                })?;
                Ok(Some(ms.to_string()))
            }
            PropertyType::Enumeration => {
                // Checkbox properties hold several options separated by ';' (HubSpot's encoding).
                let parts: Vec<&str> = if self.field_type == "checkbox" {
                    raw.split(';')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .collect()
                } else {
                    vec![raw]
                };
                for part in &parts {
                    if !self.options.iter().any(|o| o.value == *part) {
                        let allowed: Vec<&str> =
                            self.options.iter().map(|o| o.value.as_str()).collect();
                        return Err(err(
                            ErrorCode::InvalidOption,
                            format!(
                                "{part:?} is not an allowed option (allowed: {})",
                                allowed.join(", ")
                            ),
                        ));
                    }
                }
                Ok(Some(parts.join(";")))
            }
        }
    }
}

fn canonical_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Epoch milliseconds, an ISO-8601 instant, or a calendar date (taken as midnight UTC).
pub fn parse_time(raw: &str) -> Option<Millis> {
    let s = raw.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Some(ms);
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond());
    }
    if let Ok(date) = s.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_millisecond());
    }
    None
}

/// HubSpot's wire form of an instant: ISO-8601 with milliseconds and `Z`.
pub fn format_time(ms: Millis) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => ms.to_string(),
    }
}
