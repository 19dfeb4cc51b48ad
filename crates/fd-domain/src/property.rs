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

/// Longest internal name a property may have.
pub const MAX_INTERNAL_NAME: usize = 100;

/// The internal name HubSpot would make from a property's label: lower case, accents folded
/// (`Priorité client` → `priorite_client`), every run of other characters one `_`, none at
/// either end, at most [`MAX_INTERNAL_NAME`] characters. A name must start with a letter and
/// may not take HubSpot's reserved `hs_`/`hubspot_` prefixes, so such a name gets `p_` in
/// front (`2nd line` → `p_2nd_line`). `None` when the label has no letter or digit a–z/0–9
/// can spell (a label in another script): the admin then names the property themselves.
/// Uniqueness is the caller's to check (it needs the stored definitions).
pub fn internal_name_from_label(label: &str) -> Option<String> {
    let mut name = String::new();
    for c in crate::search::fold(label).chars() {
        let spelled = match c {
            'a'..='z' | '0'..='9' => Some(c.to_string()),
            // Letters NFKD does not decompose into a base letter and a mark.
            'ß' => Some("ss".into()),
            'æ' => Some("ae".into()),
            'œ' => Some("oe".into()),
            'ø' => Some("o".into()),
            'đ' | 'ð' => Some("d".into()),
            'ł' => Some("l".into()),
            'þ' => Some("th".into()),
            'ı' => Some("i".into()),
            _ => None,
        };
        match spelled {
            Some(s) => name.push_str(&s),
            None if !name.is_empty() && !name.ends_with('_') => name.push('_'),
            None => {}
        }
    }
    let mut name = name.trim_end_matches('_').to_string();
    if name.is_empty() {
        return None;
    }
    let needs_prefix = !name.starts_with(|c: char| c.is_ascii_lowercase())
        || name.starts_with("hs_")
        || name.starts_with("hubspot_");
    if needs_prefix {
        name.insert_str(0, "p_");
    }
    name.truncate(MAX_INTERNAL_NAME);
    Some(name.trim_end_matches('_').to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn derived(label: &str) -> Option<String> {
        internal_name_from_label(label)
    }

    #[test]
    fn internal_names_are_derived_from_labels_hubspot_style() {
        assert_eq!(derived("Customer tier").as_deref(), Some("customer_tier"));
        assert_eq!(
            derived("  Priorité   client!! ").as_deref(),
            Some("priorite_client")
        );
        assert_eq!(
            derived("Straße & Hausnummer").as_deref(),
            Some("strasse_hausnummer")
        );
        assert_eq!(derived("SLA (hours)").as_deref(), Some("sla_hours"));
        assert_eq!(
            derived("Ærø Ørsted-Łódź").as_deref(),
            Some("aero_orsted_lodz")
        );
        assert_eq!(derived("renewal_date").as_deref(), Some("renewal_date"));
        assert_eq!(derived("ﬁnal Ⅳ").as_deref(), Some("final_iv"));
    }

    #[test]
    fn derived_names_always_pass_the_name_rule() {
        // Starts with a letter, not a reserved prefix.
        assert_eq!(derived("2nd line").as_deref(), Some("p_2nd_line"));
        assert_eq!(derived("HS code").as_deref(), Some("p_hs_code"));
        assert_eq!(derived("HubSpot score").as_deref(), Some("p_hubspot_score"));
        assert_eq!(derived("hubspotter").as_deref(), Some("hubspotter"));
        // Nothing a–z/0–9 can spell: no name.
        assert_eq!(derived(""), None);
        assert_eq!(derived("!!! ???"), None);
        assert_eq!(derived("顧客"), None);
        // Long labels are cut, never ending in `_`.
        let long = format!("{} tail", "a".repeat(99));
        let name = derived(&long).unwrap_or_default();
        assert_eq!(name, "a".repeat(99));
        for label in ["x", "Ünïcödé", "9", "a-b_c d", &"word ".repeat(40)] {
            let n = derived(label).unwrap_or_default();
            assert!(n.len() <= MAX_INTERNAL_NAME, "{label}");
            assert!(
                n.starts_with(|c: char| c.is_ascii_lowercase()),
                "{label}: {n}"
            );
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{label}: {n}"
            );
            assert!(!n.ends_with('_') && !n.contains("__"), "{label}: {n}");
        }
    }
}
