//! Shared views of the help desk list (issue 16 item 4, HD-04): who owns a view, who sees and
//! who manages it, what a view's definition may hold (status, property filters, relative date
//! ranges, SLA state, columns, sort) and how a relative range becomes two instants for a given
//! `now`. Pure: the caller passes the clock's reading and the zone; the store compiles the
//! filters with the same machinery as the HubSpot search (fd-store's `search.rs`).

use jiff::{Timestamp, ToSpan, tz::TimeZone};
use serde::{Deserialize, Serialize};

use crate::access::Viewer;
use crate::error::{DomainError, ErrorCode, FieldError};
use crate::model::{Millis, TeamId, UserId};

/// Who a view belongs to, which decides who sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewOwner {
    /// A personal view: only its owner sees it.
    User(UserId),
    /// A team's view: the team's members see it.
    Team(TeamId),
    /// Everyone with ticket access (HD-05) sees it.
    Everyone,
}

impl ViewOwner {
    /// The stored spelling of the kind (`saved_views.owner_kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            ViewOwner::User(_) => "user",
            ViewOwner::Team(_) => "team",
            ViewOwner::Everyone => "everyone",
        }
    }

    /// Reads a kind and its team back; a personal view belongs to `user`.
    pub fn parse(kind: &str, user: UserId, team: Option<TeamId>) -> Result<ViewOwner, DomainError> {
        match (kind, team) {
            ("user", _) => Ok(ViewOwner::User(user)),
            ("team", Some(t)) => Ok(ViewOwner::Team(t)),
            ("team", None) => Err(DomainError::field(
                "teamId",
                ErrorCode::Required,
                "a team view needs a team",
            )),
            ("everyone", _) => Ok(ViewOwner::Everyone),
            (other, _) => Err(DomainError::field(
                "ownerKind",
                ErrorCode::InvalidOption,
                format!("{other:?} is not an owner kind (user, team, everyone)"),
            )),
        }
    }
}

fn viewer_teams(viewer: &Viewer) -> &[TeamId] {
    match viewer {
        Viewer::System => &[],
        Viewer::User { teams, .. } => teams,
    }
}

/// Who sees a view: its owner; the members of its team and the administrators (who manage
/// every team's views); or everyone with ticket access (HD-05). The store's
/// `views_visible_to` selects exactly the views this accepts.
pub fn may_see(viewer: &Viewer, owner: ViewOwner) -> bool {
    if !viewer.can_use_tickets() {
        return false;
    }
    match owner {
        ViewOwner::User(u) => viewer.user_id() == Some(u),
        ViewOwner::Team(t) => viewer.is_account_admin() || viewer_teams(viewer).contains(&t),
        ViewOwner::Everyone => true,
    }
}

/// Who may create, change or delete a view of this owner (HD-04: always a Service Seat):
/// a personal view its owner; a team view a member of the team or an administrator; a view
/// for everyone an administrator. `Err` says why in words.
pub fn may_manage(viewer: &Viewer, owner: ViewOwner) -> Result<(), String> {
    if !viewer.has_service_seat() {
        return Err("creating and editing views requires a Service Seat (HD-04)".into());
    }
    if !viewer.can_use_tickets() {
        return Err("views need Service or Sales access (HD-05)".into());
    }
    let admin = viewer.is_account_admin();
    let ok = match owner {
        ViewOwner::User(u) => viewer.user_id() == Some(u) || matches!(viewer, Viewer::System),
        ViewOwner::Team(t) => admin || viewer_teams(viewer).contains(&t),
        ViewOwner::Everyone => admin,
    };
    if ok {
        Ok(())
    } else {
        Err(match owner {
            ViewOwner::User(_) => "a personal view is managed by its owner only".into(),
            ViewOwner::Team(_) => {
                "a team view is managed by the team's members and administrators".into()
            }
            ViewOwner::Everyone => "a view for everyone is managed by administrators".into(),
        })
    }
}

/// Which tickets a view starts from, before its filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ViewStatus {
    #[default]
    Open,
    Closed,
    /// Every live (not trashed) ticket.
    All,
}

/// One property filter, in the HubSpot search's terms (`propertyName`, `operator`, values);
/// the property and operator are checked against the property model when the view is saved.
/// `hubspot_owner_id` takes `me`: the viewer, when the view is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewFilter {
    pub property_name: String,
    pub operator: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_value: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// A date property within a range relative to when the view is read ("created in the last 7
/// days", "closed this week").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewDateFilter {
    /// A date or datetime property: `createdate`, `closed_date`, `hs_last_activity_date`…
    pub property_name: String,
    /// `today`, `yesterday`, `this_week`, `last_week`, `this_month`, `last_month` or
    /// `last_N_days` (1 ≤ N ≤ 366).
    pub range: String,
}

/// What a view shows: the stored definition (`saved_views.definition`, JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ViewDefinition {
    #[serde(default)]
    pub status: ViewStatus,
    #[serde(default)]
    pub filters: Vec<ViewFilter>,
    #[serde(default)]
    pub dates: Vec<ViewDateFilter>,
    /// The state of the clock a list shows, as the list's SLA filter (`at_risk`, `breached`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<String>,
    /// Free text, as the list's search box.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Columns of the list, in order (names of [`VIEW_COLUMNS`] or ticket property names).
    #[serde(default)]
    pub columns: Vec<String>,
    /// A key of [`VIEW_SORTS`].
    #[serde(default = "default_sort")]
    pub sort: String,
}

fn default_sort() -> String {
    "activity_desc".into()
}

/// The list's built-in columns (key, header). Any ticket property name is a column too.
pub const VIEW_COLUMNS: &[(&str, &str)] = &[
    ("subject", "Name"),
    ("stage", "Status"),
    ("priority", "Priority"),
    ("owner", "Owner"),
    ("team", "Team"),
    ("channel", "Channel"),
    ("contact", "Contact"),
    ("sla", "SLA"),
    ("created", "Created"),
    ("closed", "Closed"),
    ("last_activity", "Last activity"),
];

/// The columns a view without a choice shows (the list's usual ones).
pub const DEFAULT_COLUMNS: &[&str] = &["subject", "stage", "priority", "owner", "last_activity"];

/// The list's sorts a view may choose (the help desk list's keys).
pub const VIEW_SORTS: &[&str] = &[
    "activity_desc",
    "activity_asc",
    "created_desc",
    "created_asc",
    "subject_asc",
    "subject_desc",
    "priority_desc",
    "priority_asc",
    "sla_due_asc",
];

/// The list's SLA filter names (fd-store's `sla_filter_statuses`).
pub const VIEW_SLA_STATES: &[&str] = &[
    "at_risk", "breached", "due_soon", "running", "paused", "met", "met_late",
];

pub const MAX_VIEW_FILTERS: usize = 20;
pub const MAX_VIEW_COLUMNS: usize = 12;
/// Views counted in the left panel (one count query each).
pub const MAX_COUNTED_VIEWS: usize = 20;

impl ViewDefinition {
    /// The columns to draw: the chosen ones, or the usual ones.
    pub fn shown_columns(&self) -> Vec<String> {
        if self.columns.is_empty() {
            DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect()
        } else {
            self.columns.clone()
        }
    }

    /// Checks what the domain knows alone (sizes, ranges, sort, SLA state, columns that are
    /// not properties are built-in); `is_property` says whether a name is a ticket property,
    /// which the caller knows from the property model. Every problem at once.
    pub fn check(&self, is_property: &dyn Fn(&str) -> bool) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        if self.filters.len() + self.dates.len() > MAX_VIEW_FILTERS {
            errors.push(FieldError::new(
                "filters",
                ErrorCode::TooLarge,
                format!("at most {MAX_VIEW_FILTERS} filters"),
            ));
        }
        for d in &self.dates {
            if !is_property(&d.property_name) {
                errors.push(FieldError::new(
                    "dates",
                    ErrorCode::PropertyDoesntExist,
                    format!("{:?} is not a ticket property", d.property_name),
                ));
            }
            if let Err(e) = RelativeRange::parse(&d.range) {
                errors.push(e);
            }
        }
        if let Some(s) = &self.sla
            && !VIEW_SLA_STATES.contains(&s.as_str())
        {
            errors.push(FieldError::new(
                "sla",
                ErrorCode::InvalidOption,
                format!("{s:?} is not an SLA state ({})", VIEW_SLA_STATES.join(", ")),
            ));
        }
        if let Some(t) = &self.text
            && t.chars().count() > 200
        {
            errors.push(FieldError::new(
                "text",
                ErrorCode::TooLarge,
                "is longer than 200 characters",
            ));
        }
        if self.columns.len() > MAX_VIEW_COLUMNS {
            errors.push(FieldError::new(
                "columns",
                ErrorCode::TooLarge,
                format!("at most {MAX_VIEW_COLUMNS} columns"),
            ));
        }
        for c in &self.columns {
            if !VIEW_COLUMNS.iter().any(|(k, _)| k == c) && !is_property(c) {
                errors.push(FieldError::new(
                    "columns",
                    ErrorCode::InvalidOption,
                    format!("{c:?} is neither a column nor a ticket property"),
                ));
            }
        }
        if !VIEW_SORTS.contains(&self.sort.as_str()) {
            errors.push(FieldError::new(
                "sort",
                ErrorCode::InvalidOption,
                format!("{:?} is not a sort ({})", self.sort, VIEW_SORTS.join(", ")),
            ));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(errors))
        }
    }

    /// The definition of a personal view saved before views were shared: the list's query
    /// string (`view=…&priority=…&sort=…`), read as the same filters.
    pub fn from_list_query(query: &str) -> ViewDefinition {
        let mut d = ViewDefinition {
            sort: default_sort(),
            ..ViewDefinition::default()
        };
        let eq = |name: &str, v: &str| ViewFilter {
            property_name: name.into(),
            operator: "EQ".into(),
            value: Some(v.into()),
            high_value: None,
            values: Vec::new(),
        };
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v);
            if v.is_empty() {
                continue;
            }
            match k {
                "view" => match v.as_str() {
                    "closed" => d.status = ViewStatus::Closed,
                    "all" => d.status = ViewStatus::All,
                    "unassigned" => d.filters.push(ViewFilter {
                        operator: "NOT_HAS_PROPERTY".into(),
                        value: None,
                        ..eq("hubspot_owner_id", "")
                    }),
                    "mine" => d.filters.push(eq("hubspot_owner_id", "me")),
                    _ => {}
                },
                "pipeline" => d.filters.push(eq("hs_pipeline", &v)),
                "stage" => d.filters.push(eq("hs_pipeline_stage", &v)),
                "priority" => d.filters.push(eq("hs_ticket_priority", &v)),
                "sla" => d.sla = Some(v),
                "q" => d.text = Some(v),
                "sort" if VIEW_SORTS.contains(&v.as_str()) => d.sort = v,
                _ => {}
            }
        }
        d
    }

    /// The property filters with `me` read as `viewer` and each relative range turned into
    /// a `BETWEEN` of epoch milliseconds for `now` in `zone`.
    pub fn resolved_filters(
        &self,
        viewer: Option<UserId>,
        now: Millis,
        zone: &TimeZone,
    ) -> Result<Vec<ViewFilter>, DomainError> {
        let me = |v: &str| -> String {
            match (v, viewer) {
                ("me", Some(u)) => u.0.to_string(),
                // No user (the system): `me` matches no one.
                ("me", None) => "0".into(),
                _ => v.to_string(),
            }
        };
        let mut out = Vec::with_capacity(self.filters.len() + self.dates.len());
        for f in &self.filters {
            let mut f = f.clone();
            if f.property_name == "hubspot_owner_id" {
                f.value = f.value.as_deref().map(me);
                f.values = f.values.iter().map(|v| me(v)).collect();
            }
            out.push(f);
        }
        for d in &self.dates {
            let range =
                RelativeRange::parse(&d.range).map_err(|e| DomainError::Invalid(vec![e]))?;
            let (from, to) = range.bounds(now, zone);
            out.push(ViewFilter {
                property_name: d.property_name.clone(),
                operator: "BETWEEN".into(),
                value: Some(from.to_string()),
                high_value: Some(to.to_string()),
                values: Vec::new(),
            });
        }
        Ok(out)
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A range of time relative to the moment a view is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelativeRange {
    Today,
    Yesterday,
    /// Since Monday 00:00, local time.
    ThisWeek,
    LastWeek,
    ThisMonth,
    LastMonth,
    /// The last N × 24 hours up to now.
    LastDays(u32),
}

impl RelativeRange {
    pub fn parse(raw: &str) -> Result<RelativeRange, FieldError> {
        let bad = || {
            FieldError::new(
                "range",
                ErrorCode::InvalidOption,
                format!(
                    "{raw:?} is not a range (today, yesterday, this_week, last_week, this_month, \
                     last_month, last_N_days with N from 1 to 366)"
                ),
            )
        };
        Ok(match raw {
            "today" => RelativeRange::Today,
            "yesterday" => RelativeRange::Yesterday,
            "this_week" => RelativeRange::ThisWeek,
            "last_week" => RelativeRange::LastWeek,
            "this_month" => RelativeRange::ThisMonth,
            "last_month" => RelativeRange::LastMonth,
            other => {
                let n = other
                    .strip_prefix("last_")
                    .and_then(|r| r.strip_suffix("_days"))
                    .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|n| n.parse::<u32>().ok())
                    .filter(|n| (1..=366).contains(n))
                    .ok_or_else(bad)?;
                RelativeRange::LastDays(n)
            }
        })
    }

    /// The range as inclusive epoch milliseconds `[from, to]` for `now` in `zone`.
    pub fn bounds(self, now: Millis, zone: &TimeZone) -> (Millis, Millis) {
        const DAY: Millis = 86_400_000;
        let Ok(ts) = Timestamp::from_millisecond(now) else {
            return (now, now);
        };
        let local = ts.to_zoned(zone.clone());
        let ms = |z: Option<jiff::Zoned>| z.map(|z| z.timestamp().as_millisecond());
        let start_of_day = |days_back: i64| {
            ms(local
                .start_of_day()
                .ok()
                .and_then(|d| d.checked_sub(days_back.days()).ok()))
        };
        let weekday = i64::from(local.weekday().to_monday_zero_offset());
        let start_of_month = |months_back: i64| {
            ms(local
                .first_of_month()
                .ok()
                .and_then(|d| d.start_of_day().ok())
                .and_then(|d| d.checked_sub(months_back.months()).ok()))
        };
        let (from, to) = match self {
            RelativeRange::Today => (start_of_day(0), Some(now)),
            RelativeRange::Yesterday => (start_of_day(1), start_of_day(0).map(|t| t - 1)),
            RelativeRange::ThisWeek => (start_of_day(weekday), Some(now)),
            RelativeRange::LastWeek => (
                start_of_day(weekday + 7),
                start_of_day(weekday).map(|t| t - 1),
            ),
            RelativeRange::ThisMonth => (start_of_month(0), Some(now)),
            RelativeRange::LastMonth => (start_of_month(1), start_of_month(0).map(|t| t - 1)),
            RelativeRange::LastDays(n) => (Some(now - i64::from(n) * DAY), Some(now)),
        };
        (from.unwrap_or(now), to.unwrap_or(now))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::access::TicketAccess;
    use crate::model::{Role, Seat, TicketAccessLevel};

    fn user(id: i64, seat: Seat, admin: bool, teams: Vec<TeamId>) -> Viewer {
        Viewer::User {
            id: UserId(id),
            role: if admin { Role::SuperAdmin } else { Role::Agent },
            account_access: false,
            seat,
            access: TicketAccess {
                level: TicketAccessLevel::All,
                service_access: true,
                sales_access: false,
            },
            teams,
        }
    }

    #[test]
    fn hd_04_who_sees_and_manages_views() {
        let member = user(2, Seat::Service, false, vec![TeamId(7)]);
        let outsider = user(3, Seat::Service, false, vec![]);
        let admin = user(1, Seat::Service, true, vec![]);
        let seatless = user(4, Seat::None, false, vec![TeamId(7)]);
        assert!(may_see(&member, ViewOwner::Team(TeamId(7))));
        assert!(!may_see(&outsider, ViewOwner::Team(TeamId(7))));
        assert!(may_see(&admin, ViewOwner::Team(TeamId(7))));
        assert!(may_see(&seatless, ViewOwner::Team(TeamId(7))));
        assert!(may_see(&outsider, ViewOwner::Everyone));
        assert!(!may_see(&outsider, ViewOwner::User(UserId(2))));
        assert!(may_manage(&member, ViewOwner::Team(TeamId(7))).is_ok());
        assert!(may_manage(&outsider, ViewOwner::Team(TeamId(7))).is_err());
        assert!(may_manage(&admin, ViewOwner::Team(TeamId(7))).is_ok());
        assert!(may_manage(&member, ViewOwner::Everyone).is_err());
        assert!(may_manage(&admin, ViewOwner::Everyone).is_ok());
        assert!(may_manage(&seatless, ViewOwner::User(UserId(4))).is_err());
        assert!(may_manage(&outsider, ViewOwner::User(UserId(2))).is_err());
    }

    #[test]
    fn relative_ranges_in_a_zone() {
        // Wednesday 2026-12-09 15:00 UTC.
        let now = Timestamp::from_second(1_796_828_400)
            .unwrap()
            .as_millisecond();
        let utc = TimeZone::UTC;
        let day = 86_400_000;
        let midnight = now - 15 * 3_600_000;
        assert_eq!(RelativeRange::Today.bounds(now, &utc), (midnight, now));
        assert_eq!(
            RelativeRange::Yesterday.bounds(now, &utc),
            (midnight - day, midnight - 1)
        );
        assert_eq!(
            RelativeRange::ThisWeek.bounds(now, &utc),
            (midnight - 2 * day, now)
        );
        assert_eq!(
            RelativeRange::LastWeek.bounds(now, &utc),
            (midnight - 9 * day, midnight - 2 * day - 1)
        );
        assert_eq!(
            RelativeRange::ThisMonth.bounds(now, &utc),
            (midnight - 8 * day, now)
        );
        assert_eq!(
            RelativeRange::LastDays(7).bounds(now, &utc),
            (now - 7 * day, now)
        );
        assert_eq!(
            RelativeRange::parse("last_30_days").unwrap(),
            RelativeRange::LastDays(30)
        );
        assert!(RelativeRange::parse("last_0_days").is_err());
        assert!(RelativeRange::parse("next_week").is_err());
    }

    #[test]
    fn old_list_queries_become_definitions() {
        let d =
            ViewDefinition::from_list_query("view=mine&priority=HIGH&sort=created_desc&q=a%20b");
        assert_eq!(d.status, ViewStatus::Open);
        assert_eq!(d.filters.len(), 2);
        assert_eq!(d.filters[0].value.as_deref(), Some("me"));
        assert_eq!(d.sort, "created_desc");
        assert_eq!(d.text.as_deref(), Some("a b"));
    }
}
