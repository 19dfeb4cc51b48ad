//! HubSpot's users object (`/crm/v3/objects/users`, object type `0-115`; HUBSPOT-API-2.md §8):
//! which properties a user has, which of them may be written, what a written value must look
//! like (availability, working hours, out-of-office ranges, job title), and the in-memory
//! search over users' properties (there are few users, so they are filtered here rather
//! than in SQL).
//!
//! Pure: no I/O, no clock. The time zone is read by `local_time::UserTimeZone`, the one
//! parser of the agent's profile zone.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::local_time::UserTimeZone;
use crate::{DomainError, ErrorCode, FieldError};

pub const AVAILABILITY: &str = "hs_availability_status";
pub const TIME_ZONE: &str = "hs_standard_time_zone";
pub const WORKING_HOURS: &str = "hs_working_hours";
pub const OUT_OF_OFFICE: &str = "hs_out_of_office_hours";
pub const JOB_TITLE: &str = "hs_job_title";

/// Properties a PATCH may set.
pub const WRITABLE: &[&str] = &[
    AVAILABILITY,
    TIME_ZONE,
    WORKING_HOURS,
    OUT_OF_OFFICE,
    JOB_TITLE,
];

/// Properties the system derives from the account (Settings → Users): readable, never written
/// through the users object.
pub const READ_ONLY: &[&str] = &[
    "hs_object_id",
    "hs_createdate",
    "hs_lastmodifieddate",
    "hs_email",
    "hs_given_name",
    "hs_family_name",
    "hs_internal_user_id",
    "hubspot_owner_id",
    "hubspot_team_id",
];

/// Returned when a request names no properties.
pub const DEFAULT_PROPERTIES: &[&str] = &[
    "hs_email",
    AVAILABILITY,
    "hubspot_owner_id",
    "hs_createdate",
    "hs_lastmodifieddate",
    "hs_object_id",
];

/// Properties holding epoch milliseconds (rendered as ISO instants, compared as numbers).
pub const TIME_PROPERTIES: &[&str] = &["hs_createdate", "hs_lastmodifieddate"];

/// Whether `name` is a property of the users object.
pub fn is_user_property(name: &str) -> bool {
    WRITABLE.contains(&name) || READ_ONLY.contains(&name)
}

/// The longest job title.
pub const MAX_JOB_TITLE: usize = 200;
/// Working-hours entries per user (seven days with a break each fit easily).
pub const MAX_WORKING_HOURS: usize = 28;
/// Out-of-office ranges per user.
pub const MAX_OUT_OF_OFFICE: usize = 100;

/// `available` or `away` (HubSpot's spelling, lower case).
pub fn parse_availability(raw: &str) -> Result<bool, FieldError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "available" => Ok(true),
        "away" => Ok(false),
        "" => Err(FieldError::new(
            AVAILABILITY,
            ErrorCode::Required,
            "must be available or away (it cannot be cleared)",
        )),
        _ => Err(FieldError::new(
            AVAILABILITY,
            ErrorCode::InvalidOption,
            format!("{:?} is not one of: available, away", raw.trim()),
        )),
    }
}

pub fn availability_text(available: bool) -> &'static str {
    if available { "available" } else { "away" }
}

/// The `days` of a working-hours entry.
pub const WORKING_DAYS: &[&str] = &[
    "MONDAY_TO_FRIDAY",
    "SATURDAY_SUNDAY",
    "EVERY_DAY",
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

/// One entry of `hs_working_hours`: minutes from midnight in the user's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkingHours {
    pub days: String,
    pub start_minute: i64,
    pub end_minute: i64,
}

/// One entry of `hs_out_of_office_hours`: epoch milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutOfOffice {
    pub start_timestamp: i64,
    pub end_timestamp: i64,
}

fn invalid(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, ErrorCode::InvalidValue, message)
}

/// Reads `hs_working_hours` (a stringified JSON array of `{days, startMinute, endMinute}`)
/// and returns its canonical text. Every entry's `days` must be one of [`WORKING_DAYS`] and
/// its minutes `0 ≤ startMinute < endMinute ≤ 1440`.
pub fn parse_working_hours(raw: &str) -> Result<Vec<WorkingHours>, FieldError> {
    let entries: Vec<WorkingHours> = serde_json::from_str(raw.trim()).map_err(|e| {
        invalid(
            WORKING_HOURS,
            format!(
                "must be a JSON array of {{\"days\", \"startMinute\", \"endMinute\"}} objects: {e}"
            ),
        )
    })?;
    if entries.len() > MAX_WORKING_HOURS {
        return Err(FieldError::new(
            WORKING_HOURS,
            ErrorCode::TooLarge,
            format!("at most {MAX_WORKING_HOURS} entries are allowed"),
        ));
    }
    for (i, e) in entries.iter().enumerate() {
        if !WORKING_DAYS.contains(&e.days.as_str()) {
            return Err(FieldError::new(
                WORKING_HOURS,
                ErrorCode::InvalidOption,
                format!(
                    "entry {i}: days {:?} is not one of: {}",
                    e.days,
                    WORKING_DAYS.join(", ")
                ),
            ));
        }
        if !(0..=1440).contains(&e.start_minute)
            || !(0..=1440).contains(&e.end_minute)
            || e.start_minute >= e.end_minute
        {
            return Err(invalid(
                WORKING_HOURS,
                format!(
                    "entry {i}: startMinute and endMinute must be minutes of the day (0 to 1440) with startMinute before endMinute"
                ),
            ));
        }
    }
    Ok(entries)
}

/// Reads `hs_out_of_office_hours` (a stringified JSON array of
/// `{startTimestamp, endTimestamp}` in epoch milliseconds, start before end).
pub fn parse_out_of_office(raw: &str) -> Result<Vec<OutOfOffice>, FieldError> {
    let entries: Vec<OutOfOffice> = serde_json::from_str(raw.trim()).map_err(|e| {
        invalid(
            OUT_OF_OFFICE,
            format!(
                "must be a JSON array of {{\"startTimestamp\", \"endTimestamp\"}} objects (epoch milliseconds): {e}"
            ),
        )
    })?;
    if entries.len() > MAX_OUT_OF_OFFICE {
        return Err(FieldError::new(
            OUT_OF_OFFICE,
            ErrorCode::TooLarge,
            format!("at most {MAX_OUT_OF_OFFICE} ranges are allowed"),
        ));
    }
    for (i, e) in entries.iter().enumerate() {
        if e.start_timestamp < 0 || e.start_timestamp >= e.end_timestamp {
            return Err(invalid(
                OUT_OF_OFFICE,
                format!(
                    "entry {i}: startTimestamp must be before endTimestamp (epoch milliseconds)"
                ),
            ));
        }
    }
    Ok(entries)
}

fn canonical<T: Serialize>(v: &[T]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// A checked PATCH of a user: `None` leaves a property alone; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub available: Option<bool>,
    pub time_zone: Option<UserTimeZone>,
    pub working_hours: Option<Option<String>>,
    pub out_of_office: Option<Option<String>>,
    pub job_title: Option<Option<String>>,
}

impl UserPatch {
    /// Whether the patch changes anything kept in the user's profile row.
    pub fn touches_profile(&self) -> bool {
        self.working_hours.is_some() || self.out_of_office.is_some() || self.job_title.is_some()
    }
}

/// Checks the properties of a PATCH to a user (HubSpot's wire strings; an empty string
/// clears). Unknown names are `PROPERTY_DOESNT_EXIST`, the account's own properties
/// `READ_ONLY_VALUE`; every problem is reported at once. The time zone is never empty:
/// HubSpot wants it set before working hours, and here every user has one (UTC until
/// chosen), so it may be changed but not cleared.
pub fn check_user_patch(props: &BTreeMap<String, String>) -> Result<UserPatch, DomainError> {
    let mut patch = UserPatch::default();
    let mut errors = Vec::new();
    for (name, raw) in props {
        let value = raw.trim();
        match name.as_str() {
            AVAILABILITY => match parse_availability(value) {
                Ok(a) => patch.available = Some(a),
                Err(e) => errors.push(e),
            },
            TIME_ZONE => {
                if value.is_empty() {
                    errors.push(FieldError::new(
                        TIME_ZONE,
                        ErrorCode::Required,
                        "cannot be cleared: working hours are read in it",
                    ));
                } else {
                    match UserTimeZone::parse(value) {
                        Ok(tz) => patch.time_zone = Some(tz),
                        Err(_) => errors.push(FieldError::new(
                            TIME_ZONE,
                            ErrorCode::InvalidOption,
                            format!(
                                "{value:?} is not a time zone name such as America/New_York or UTC"
                            ),
                        )),
                    }
                }
            }
            WORKING_HOURS if value.is_empty() => patch.working_hours = Some(None),
            WORKING_HOURS => match parse_working_hours(value) {
                Ok(w) => patch.working_hours = Some(Some(canonical(&w))),
                Err(e) => errors.push(e),
            },
            OUT_OF_OFFICE if value.is_empty() => patch.out_of_office = Some(None),
            OUT_OF_OFFICE => match parse_out_of_office(value) {
                Ok(o) => patch.out_of_office = Some(Some(canonical(&o))),
                Err(e) => errors.push(e),
            },
            JOB_TITLE if value.is_empty() => patch.job_title = Some(None),
            JOB_TITLE => match crate::text::name(JOB_TITLE, value, MAX_JOB_TITLE) {
                Ok(t) => patch.job_title = Some(Some(t)),
                Err(DomainError::Invalid(e)) => errors.extend(e),
                Err(_) => errors.push(invalid(JOB_TITLE, "is not a valid job title")),
            },
            other if READ_ONLY.contains(&other) => errors.push(FieldError::new(
                other,
                ErrorCode::ReadOnlyValue,
                format!(
                    "{other} is read-only: it comes from the user's account (Settings → Users)"
                ),
            )),
            other => errors.push(FieldError::new(
                other,
                ErrorCode::PropertyDoesntExist,
                format!("Property \"{other}\" does not exist on users"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(patch)
    } else {
        Err(DomainError::Invalid(errors))
    }
}

/// A search filter's operator with its operands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Eq(String),
    Neq(String),
    Cmp(Ordering, bool, String),
    Between(String, String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Has,
    NotHas,
    ContainsToken(String),
    NotContainsToken(String),
}

/// One filter of a users search, checked; `matches` applies it to a user's properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFilter {
    property: String,
    op: Op,
}

impl UserFilter {
    /// Checks a filter as the CRM search takes it: a users property, one of HubSpot's
    /// operators, and the operands it needs.
    pub fn parse(
        property: &str,
        operator: &str,
        value: Option<&str>,
        high_value: Option<&str>,
        values: &[String],
    ) -> Result<UserFilter, FieldError> {
        let property = property.trim();
        if !is_user_property(property) {
            return Err(FieldError::new(
                property,
                ErrorCode::PropertyDoesntExist,
                format!("Property \"{property}\" does not exist on users"),
            ));
        }
        let need = |v: Option<&str>, what: &str| {
            v.map(str::to_string).ok_or_else(|| {
                FieldError::new(
                    property,
                    ErrorCode::Required,
                    format!("operator {operator} needs {what}"),
                )
            })
        };
        let list = || {
            if values.is_empty() {
                Err(FieldError::new(
                    property,
                    ErrorCode::Required,
                    format!("operator {operator} needs values"),
                ))
            } else {
                Ok(values.to_vec())
            }
        };
        let op = match operator.trim().to_ascii_uppercase().as_str() {
            "EQ" => Op::Eq(need(value, "a value")?),
            "NEQ" => Op::Neq(need(value, "a value")?),
            "LT" => Op::Cmp(Ordering::Less, false, need(value, "a value")?),
            "LTE" => Op::Cmp(Ordering::Less, true, need(value, "a value")?),
            "GT" => Op::Cmp(Ordering::Greater, false, need(value, "a value")?),
            "GTE" => Op::Cmp(Ordering::Greater, true, need(value, "a value")?),
            "BETWEEN" => Op::Between(need(value, "a value")?, need(high_value, "a highValue")?),
            "IN" => Op::In(list()?),
            "NOT_IN" => Op::NotIn(list()?),
            "HAS_PROPERTY" => Op::Has,
            "NOT_HAS_PROPERTY" => Op::NotHas,
            "CONTAINS_TOKEN" => Op::ContainsToken(need(value, "a value")?),
            "NOT_CONTAINS_TOKEN" => Op::NotContainsToken(need(value, "a value")?),
            other => {
                return Err(FieldError::new(
                    property,
                    ErrorCode::InvalidOption,
                    format!("operator {other:?} is not one of HubSpot's search operators"),
                ));
            }
        };
        Ok(UserFilter {
            property: property.to_string(),
            op,
        })
    }

    /// Whether a user whose properties are `props` (absent: unset) passes the filter.
    pub fn matches(&self, props: &BTreeMap<String, String>) -> bool {
        let v = props
            .get(&self.property)
            .map(String::as_str)
            .filter(|v| !v.is_empty());
        match (&self.op, v) {
            (Op::Has, v) => v.is_some(),
            (Op::NotHas, v) => v.is_none(),
            (Op::Neq(x), v) => v.is_none_or(|v| !v.eq_ignore_ascii_case(x.trim())),
            (Op::NotIn(xs), v) => {
                v.is_none_or(|v| !xs.iter().any(|x| v.eq_ignore_ascii_case(x.trim())))
            }
            (Op::NotContainsToken(x), v) => v.is_none_or(|v| !contains_token(v, x)),
            (_, None) => false,
            (Op::Eq(x), Some(v)) => v.eq_ignore_ascii_case(x.trim()),
            (Op::In(xs), Some(v)) => xs.iter().any(|x| v.eq_ignore_ascii_case(x.trim())),
            (Op::ContainsToken(x), Some(v)) => contains_token(v, x),
            (Op::Cmp(dir, or_equal, x), Some(v)) => {
                let o = compare_values(v, x);
                o == *dir || (*or_equal && o == Ordering::Equal)
            }
            (Op::Between(lo, hi), Some(v)) => {
                compare_values(v, lo) != Ordering::Less
                    && compare_values(v, hi) != Ordering::Greater
            }
        }
    }
}

/// Numbers (ids, epoch milliseconds) compare as numbers, anything else as case-folded text.
pub fn compare_values(a: &str, b: &str) -> Ordering {
    match (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

/// HubSpot's `CONTAINS_TOKEN`: the value, or one of its words, matches the pattern, where `*`
/// stands for any run of characters; case does not matter.
fn contains_token(value: &str, pattern: &str) -> bool {
    let pattern = pattern.trim().to_lowercase();
    let value = value.to_lowercase();
    std::iter::once(value.as_str())
        .chain(value.split(|c: char| c.is_whitespace() || c == ';' || c == ','))
        .any(|word| glob(word, &pattern))
}

fn glob(text: &str, pattern: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return text == pattern;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = rest.get(at + part.len()..).unwrap_or_default(),
                None => return false,
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn codes(r: Result<UserPatch, DomainError>) -> Vec<ErrorCode> {
        match r {
            Err(e) => e.codes(),
            Ok(p) => panic!("accepted: {p:?}"),
        }
    }

    /// Working hours are checked and stored in one canonical spelling.
    #[test]
    fn working_hours_are_checked_and_canonical() {
        let p = check_user_patch(&props(&[(
            WORKING_HOURS,
            r#"[ {"days":"MONDAY_TO_FRIDAY","startMinute":540,"endMinute":1020},{"endMinute":600,"startMinute":0,"days":"SUNDAY"}]"#,
        )]))
        .unwrap();
        assert_eq!(
            p.working_hours,
            Some(Some(
                r#"[{"days":"MONDAY_TO_FRIDAY","startMinute":540,"endMinute":1020},{"days":"SUNDAY","startMinute":0,"endMinute":600}]"#
                    .into()
            ))
        );
        assert!(p.touches_profile());
        for bad in [
            r#"[{"days":"WEEKDAYS","startMinute":540,"endMinute":1020}]"#,
            r#"[{"days":"MONDAY","startMinute":600,"endMinute":540}]"#,
            r#"[{"days":"MONDAY","startMinute":0,"endMinute":1441}]"#,
            r#"[{"days":"MONDAY","startMinute":0}]"#,
            r#"[{"days":"MONDAY","startMinute":0,"endMinute":60,"extra":1}]"#,
            r#"{"days":"MONDAY"}"#,
            "nine to five",
        ] {
            assert_eq!(
                codes(check_user_patch(&props(&[(WORKING_HOURS, bad)]))).len(),
                1,
                "{bad}"
            );
        }
        let many = format!(
            "[{}]",
            vec![r#"{"days":"MONDAY","startMinute":0,"endMinute":60}"#; MAX_WORKING_HOURS + 1]
                .join(",")
        );
        assert_eq!(
            codes(check_user_patch(&props(&[(WORKING_HOURS, &many)]))),
            vec![ErrorCode::TooLarge]
        );
        // An empty value clears.
        let p = check_user_patch(&props(&[(WORKING_HOURS, "")])).unwrap();
        assert_eq!(p.working_hours, Some(None));
    }

    /// Availability is available or away, and cannot be cleared.
    #[test]
    fn availability_is_available_or_away() {
        let p = check_user_patch(&props(&[(AVAILABILITY, "Away")])).unwrap();
        assert_eq!(p.available, Some(false));
        assert!(!p.touches_profile());
        assert_eq!(
            codes(check_user_patch(&props(&[(AVAILABILITY, "busy")]))),
            vec![ErrorCode::InvalidOption]
        );
        assert_eq!(
            codes(check_user_patch(&props(&[(AVAILABILITY, "")]))),
            vec![ErrorCode::Required]
        );
    }

    /// Unknown and account-derived properties are refused, all problems at once; the time
    /// zone is the profile's parser and cannot be cleared.
    #[test]
    fn unknown_and_read_only_properties_are_refused() {
        assert_eq!(
            codes(check_user_patch(&props(&[
                ("hs_email", "x@example.com"),
                ("no_such", "1"),
                (TIME_ZONE, "Mars/Olympus"),
            ]))),
            vec![
                ErrorCode::ReadOnlyValue,
                ErrorCode::InvalidOption,
                ErrorCode::PropertyDoesntExist
            ]
        );
        assert_eq!(
            codes(check_user_patch(&props(&[(TIME_ZONE, " ")]))),
            vec![ErrorCode::Required]
        );
        let p = check_user_patch(&props(&[
            (TIME_ZONE, "america/new_york"),
            (JOB_TITLE, " Support lead "),
            (OUT_OF_OFFICE, r#"[{"startTimestamp":1,"endTimestamp":2}]"#),
        ]))
        .unwrap();
        assert_eq!(p.time_zone.unwrap().name(), "America/New_York");
        assert_eq!(p.job_title, Some(Some("Support lead".into())));
        assert!(
            check_user_patch(&props(&[(
                OUT_OF_OFFICE,
                r#"[{"startTimestamp":5,"endTimestamp":2}]"#
            )]))
            .is_err()
        );
    }

    /// The users search follows the CRM search's operators on a user's properties.
    #[test]
    fn users_search_filters() {
        let u = props(&[
            ("hs_email", "Ann@Example.com"),
            (AVAILABILITY, "available"),
            ("hs_object_id", "12"),
        ]);
        let f = |p: &str, op: &str, v: Option<&str>, vs: &[&str]| {
            let vs: Vec<String> = vs.iter().map(|s| s.to_string()).collect();
            UserFilter::parse(p, op, v, Some("20"), &vs)
                .unwrap()
                .matches(&u)
        };
        assert!(f(AVAILABILITY, "EQ", Some("AVAILABLE"), &[]));
        assert!(!f(AVAILABILITY, "NEQ", Some("available"), &[]));
        assert!(f("hs_email", "CONTAINS_TOKEN", Some("*@example.com"), &[]));
        assert!(f("hs_object_id", "GT", Some("9"), &[]));
        assert!(f("hs_object_id", "BETWEEN", Some("12"), &[]));
        assert!(f(JOB_TITLE, "NOT_HAS_PROPERTY", None, &[]));
        assert!(f(JOB_TITLE, "NEQ", Some("x"), &[]));
        assert!(f(AVAILABILITY, "IN", None, &["away", "available"]));
        assert!(!f(AVAILABILITY, "NOT_IN", None, &["available"]));
        assert_eq!(
            UserFilter::parse("colour", "EQ", Some("x"), None, &[])
                .unwrap_err()
                .code,
            ErrorCode::PropertyDoesntExist
        );
        assert_eq!(
            UserFilter::parse("hs_email", "LIKE", Some("x"), None, &[])
                .unwrap_err()
                .code,
            ErrorCode::InvalidOption
        );
        assert_eq!(
            UserFilter::parse("hs_email", "IN", None, None, &[])
                .unwrap_err()
                .code,
            ErrorCode::Required
        );
    }
}
