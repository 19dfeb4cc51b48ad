//! Service level agreements (issue 16 item 1, HD-04): policies, business calendars and the
//! three clocks — first response, next response and time to close.
//!
//! A policy names its scope (pipeline, priorities, team: the most specific match applies), its
//! goals, its calendar (IANA zone, weekly hours, holidays) and the stages in which its clocks
//! pause (waiting on contact). [`compute`] turns a ticket's timeline — creation, stage history,
//! customer messages and agent replies — into each clock's due time and status at `now`.
//! Clocks stop while the ticket is closed and resume when it reopens, so a resolved ticket is
//! never "breached" by the time it spent resolved.
//!
//! Pure: the zone database is jiff's bundled copy and `now` is passed in. Must not depend on
//! storage, HTTP or a clock.

use std::collections::BTreeSet;

use jiff::civil::{Date, DateTime, Time};

use crate::error::{DomainError, ErrorCode, FieldError};
use crate::local_time::UserTimeZone;
use crate::model::{Millis, PipelineId, StageId, TeamId};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// The longest goal accepted: a year of counted time.
const MAX_GOAL: i64 = 365 * DAY;
/// How far a due time is searched for in a calendar before it counts as never: a goal of a
/// year in a calendar of one hour a week would need more, and is refused as meaningless.
const MAX_SEARCH_DAYS: i64 = 3 * 366;
/// A running clock is "due soon" when no more than this share of its goal is left.
const DUE_SOON_DIVISOR: i64 = 4;

/// Reads a goal: a positive number of minutes, hours or days (`30m`, `2h`, `3d`), or a sum of
/// them (`1h30m`). A day is 24 hours of counted time (business time when the policy has hours).
pub fn parse_duration(field: &str, raw: &str) -> Result<i64, DomainError> {
    let s = raw.trim().to_ascii_lowercase();
    let invalid = |why: &str| {
        DomainError::field(
            field,
            ErrorCode::InvalidValue,
            format!("{raw:?} is not a duration such as 30m, 2h or 3d: {why}"),
        )
    };
    if s.is_empty() {
        return Err(invalid("it is empty"));
    }
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'm' => MINUTE,
            'h' => HOUR,
            'd' => DAY,
            ' ' if digits.is_empty() => continue,
            other => return Err(invalid(&format!("unknown unit {other:?} (use m, h or d)"))),
        };
        if digits.is_empty() {
            return Err(invalid("a unit needs a number before it"));
        }
        let n: i64 = digits
            .parse()
            .map_err(|_| invalid("the number is too large"))?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| invalid("it is too long"))?;
    }
    if !digits.is_empty() {
        return Err(invalid("a number needs a unit after it (m, h or d)"));
    }
    if total <= 0 {
        return Err(invalid("it must be longer than zero"));
    }
    if total > MAX_GOAL {
        return Err(invalid("it must be at most 365d"));
    }
    Ok(total)
}

/// A duration as written back (`1d2h30m`), the inverse of [`parse_duration`].
pub fn format_duration(ms: i64) -> String {
    let mut out = String::new();
    let mut left = ms.max(0) / MINUTE;
    for (unit, len) in [("d", 24 * 60), ("h", 60), ("m", 1)] {
        if left >= len {
            out.push_str(&format!("{}{unit}", left / len));
            left %= len;
        }
    }
    if out.is_empty() {
        out.push_str("0m");
    }
    out
}

const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// Working hours per weekday (Monday first), as minutes of the local day, sorted and disjoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyHours {
    days: [Vec<(u32, u32)>; 7],
}

impl WeeklyHours {
    /// Reads `Mon-Fri 09:00-17:00`, several groups separated by `;`
    /// (`Mon-Fri 09:00-17:00; Sat 10:00-14:00`), days as ranges or comma lists (`Mon,Wed`),
    /// `24:00` as the end of a day. `None` for `24/7` (or an empty spec): the clock always runs.
    pub fn parse(raw: &str) -> Result<Option<WeeklyHours>, DomainError> {
        let s = raw.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("24/7") {
            return Ok(None);
        }
        let invalid = |why: String| {
            DomainError::field(
                "hours",
                ErrorCode::InvalidValue,
                format!("{raw:?} is not weekly hours such as \"Mon-Fri 09:00-17:00\": {why}"),
            )
        };
        let mut days: [Vec<(u32, u32)>; 7] = Default::default();
        for group in s.split(';').map(str::trim).filter(|g| !g.is_empty()) {
            let mut parts = group.split_whitespace();
            let (Some(day_part), Some(time_part), None) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(invalid(format!(
                    "{group:?} should be days then a time range"
                )));
            };
            let chosen = parse_days(day_part).map_err(&invalid)?;
            let (start, end) = parse_range(time_part).map_err(&invalid)?;
            for d in chosen {
                days[d].push((start, end));
            }
        }
        for (i, windows) in days.iter_mut().enumerate() {
            windows.sort_unstable();
            if windows.windows(2).any(|w| w[1].0 < w[0].1) {
                return Err(invalid(format!("the hours of {} overlap", DAY_NAMES[i])));
            }
        }
        if days.iter().all(Vec::is_empty) {
            return Err(invalid("no working hours".into()));
        }
        Ok(Some(WeeklyHours { days }))
    }

    /// The canonical spelling, one group per distinct set of hours (`Mon-Fri 09:00-17:00`).
    pub fn spec(&self) -> String {
        let mut groups: Vec<String> = Vec::new();
        let mut i = 0;
        while i < 7 {
            if self.days[i].is_empty() {
                i += 1;
                continue;
            }
            let mut j = i;
            while j + 1 < 7 && self.days[j + 1] == self.days[i] {
                j += 1;
            }
            let names = if j == i {
                DAY_NAMES[i].to_string()
            } else {
                format!("{}-{}", DAY_NAMES[i], DAY_NAMES[j])
            };
            for (s, e) in &self.days[i] {
                groups.push(format!("{names} {}-{}", hhmm(*s), hhmm(*e)));
            }
            i = j + 1;
        }
        groups.join("; ")
    }
}

fn hhmm(m: u32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn day_index(name: &str) -> Result<usize, String> {
    DAY_NAMES
        .iter()
        .position(|d| d.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| format!("{name:?} is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)"))
}

fn parse_days(raw: &str) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for item in raw.split(',').filter(|i| !i.is_empty()) {
        if let Some((a, b)) = item.split_once('-') {
            let (a, b) = (day_index(a)?, day_index(b)?);
            if b < a {
                return Err(format!("{item:?} runs backwards (write Mon-Fri)"));
            }
            out.extend(a..=b);
        } else {
            out.push(day_index(item)?);
        }
    }
    if out.is_empty() {
        return Err("no days given".into());
    }
    Ok(out)
}

fn parse_clock(raw: &str) -> Result<u32, String> {
    let bad = || format!("{raw:?} is not a time such as 09:00");
    let (h, m) = raw.split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m > 59 || h > 24 || (h == 24 && m != 0) || raw.len() > 5 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn parse_range(raw: &str) -> Result<(u32, u32), String> {
    let (a, b) = raw
        .split_once('-')
        .ok_or_else(|| format!("{raw:?} is not a time range such as 09:00-17:00"))?;
    let (a, b) = (parse_clock(a)?, parse_clock(b)?);
    if b <= a {
        return Err(format!("{raw:?} ends before it starts"));
    }
    Ok((a, b))
}

/// Reads a holiday, `YYYY-MM-DD`.
pub fn parse_holiday(raw: &str) -> Result<Date, DomainError> {
    raw.trim().parse::<Date>().map_err(|_| {
        DomainError::field(
            "holidays",
            ErrorCode::InvalidDate,
            format!("{raw:?} is not a date such as 2026-12-25"),
        )
    })
}

/// When a policy's clocks run: a zone, weekly hours (`None`: around the clock) and holidays
/// (whole local days on which they do not run).
#[derive(Debug, Clone)]
pub struct Calendar {
    pub zone: UserTimeZone,
    pub hours: Option<WeeklyHours>,
    pub holidays: BTreeSet<Date>,
}

impl Calendar {
    pub fn around_the_clock() -> Calendar {
        Calendar {
            zone: UserTimeZone::utc(),
            hours: None,
            holidays: BTreeSet::new(),
        }
    }

    fn local_date(&self, at: Millis) -> Option<Date> {
        let ts = jiff::Timestamp::from_millisecond(at).ok()?;
        Some(ts.to_zoned(self.zone.zone().clone()).date())
    }

    /// The moment a local date's minute `m` (0..=1440) happens; a time skipped by DST moves
    /// forward, a repeated one takes its first occurrence.
    fn moment(&self, date: Date, m: u32) -> Option<Millis> {
        let (date, m) = if m >= 24 * 60 {
            (date.tomorrow().ok()?, 0)
        } else {
            (date, m)
        };
        let time = Time::new((m / 60) as i8, (m % 60) as i8, 0, 0).ok()?;
        let zoned = self
            .zone
            .zone()
            .to_ambiguous_zoned(DateTime::from_parts(date, time))
            .compatible()
            .ok()?;
        Some(zoned.timestamp().as_millisecond())
    }

    /// The working windows of the local days from `from`'s date on, as absolute intervals.
    fn windows_from(&self, from: Millis) -> impl Iterator<Item = (Millis, Millis)> + '_ {
        let first = self.local_date(from);
        let hours = self.hours.as_ref();
        let mut date = first;
        let mut days = 0;
        std::iter::from_fn(move || {
            if days >= MAX_SEARCH_DAYS {
                return None;
            }
            days += 1;
            let d = date?;
            date = d.tomorrow().ok();
            let windows: Vec<(Millis, Millis)> = match hours {
                _ if self.holidays.contains(&d) => Vec::new(),
                None => self
                    .moment(d, 0)
                    .zip(self.moment(d, 24 * 60))
                    .into_iter()
                    .collect(),
                Some(h) => h.days[d.weekday().to_monday_zero_offset() as usize]
                    .iter()
                    .filter_map(|(s, e)| self.moment(d, *s).zip(self.moment(d, *e)))
                    .collect(),
            };
            Some(windows)
        })
        .flatten()
    }

    fn is_plain(&self) -> bool {
        self.hours.is_none() && self.holidays.is_empty()
    }

    /// Counted time between two moments (0 when `b <= a`).
    pub fn business_between(&self, a: Millis, b: Millis) -> i64 {
        if b <= a {
            return 0;
        }
        if self.is_plain() {
            return b - a;
        }
        let mut total = 0;
        for (ws, we) in self.windows_from(a) {
            if ws >= b {
                break;
            }
            total += (we.min(b) - ws.max(a)).max(0);
        }
        total
    }

    /// The moment `amount` of counted time after `from`; `None` when the calendar has no
    /// such moment within three years.
    pub fn add_business(&self, from: Millis, amount: i64) -> Option<Millis> {
        if amount <= 0 || self.is_plain() {
            return from.checked_add(amount.max(0));
        }
        let mut left = amount;
        for (ws, we) in self.windows_from(from) {
            if we <= from {
                continue;
            }
            let start = ws.max(from);
            let len = we - start;
            if left <= len {
                return Some(start + left);
            }
            left -= len;
        }
        None
    }
}

/// An SLA policy as stored and applied.
#[derive(Debug, Clone)]
pub struct SlaPolicy {
    pub id: i64,
    pub name: String,
    pub pipeline_id: Option<PipelineId>,
    /// Priority option values (`HIGH`); empty: any priority.
    pub priorities: Vec<String>,
    pub team_id: Option<TeamId>,
    pub first_response_ms: i64,
    pub next_response_ms: Option<i64>,
    pub time_to_close_ms: Option<i64>,
    pub calendar: Calendar,
    pub pause_stage_ids: Vec<StageId>,
}

impl SlaPolicy {
    fn matches(&self, pipeline: PipelineId, priority: Option<&str>, team: Option<TeamId>) -> bool {
        self.pipeline_id.is_none_or(|p| p == pipeline)
            && (self.priorities.is_empty()
                || priority.is_some_and(|p| self.priorities.iter().any(|q| q == p)))
            && self.team_id.is_none_or(|t| Some(t) == team)
    }

    fn specificity(&self) -> u8 {
        u8::from(self.pipeline_id.is_some())
            + u8::from(!self.priorities.is_empty())
            + u8::from(self.team_id.is_some())
    }
}

/// The policy that applies to a ticket: among those whose every criterion matches, the one
/// naming the most criteria; the oldest (lowest id) of equally specific ones.
pub fn select_policy<'a>(
    policies: &'a [SlaPolicy],
    pipeline: PipelineId,
    priority: Option<&str>,
    team: Option<TeamId>,
) -> Option<&'a SlaPolicy> {
    policies
        .iter()
        .filter(|p| p.matches(pipeline, priority, team))
        .max_by(|a, b| a.specificity().cmp(&b.specificity()).then(b.id.cmp(&a.id)))
}

/// A policy as an administrator writes it (CLI, Settings), before validation.
#[derive(Debug, Clone, Default)]
pub struct SlaPolicyInput {
    pub name: String,
    pub first_response: String,
    pub next_response: Option<String>,
    pub time_to_close: Option<String>,
    pub hours: Option<String>,
    pub time_zone: Option<String>,
    pub holidays: Vec<String>,
}

/// A validated policy's own values (scope and pause stages are resolved against the
/// configuration by the use case).
#[derive(Debug, Clone)]
pub struct SlaGoals {
    pub name: String,
    pub first_response_ms: i64,
    pub next_response_ms: Option<i64>,
    pub time_to_close_ms: Option<i64>,
    pub hours: Option<WeeklyHours>,
    pub zone: UserTimeZone,
    pub holidays: BTreeSet<Date>,
}

impl SlaPolicyInput {
    /// Checks every field and reports all problems together.
    pub fn validate(&self) -> Result<SlaGoals, DomainError> {
        let mut errors: Vec<FieldError> = Vec::new();
        let name = self.name.trim().to_string();
        let name_ok = if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new(
                "name",
                ErrorCode::Required,
                "a policy needs a name of 1 to 100 characters",
            ));
            false
        } else {
            true
        };
        let opt = |field: &str, v: &Option<String>| match v.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => parse_duration(field, s).map(Some),
        };
        let first = take(
            &mut errors,
            parse_duration("first_response", &self.first_response),
        );
        let next = take(&mut errors, opt("next_response", &self.next_response));
        let close = take(&mut errors, opt("time_to_close", &self.time_to_close));
        let hours = take(
            &mut errors,
            WeeklyHours::parse(self.hours.as_deref().unwrap_or("")),
        );
        let zone = take(
            &mut errors,
            UserTimeZone::parse(self.time_zone.as_deref().unwrap_or("UTC")),
        );
        let mut holidays = BTreeSet::new();
        for h in &self.holidays {
            if let Some(d) = take(&mut errors, parse_holiday(h)) {
                holidays.insert(d);
            }
        }
        match (first, next, close, hours, zone) {
            (Some(first), Some(next), Some(close), Some(hours), Some(zone))
                if name_ok && errors.is_empty() =>
            {
                Ok(SlaGoals {
                    name,
                    first_response_ms: first,
                    next_response_ms: next,
                    time_to_close_ms: close,
                    hours,
                    zone,
                    holidays,
                })
            }
            _ => Err(DomainError::Invalid(errors)),
        }
    }
}

/// Keeps a field's value, or its errors for the caller's list.
fn take<T>(errors: &mut Vec<FieldError>, r: Result<T, DomainError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(DomainError::Invalid(e)) => {
            errors.extend(e);
            None
        }
        Err(other) => {
            errors.push(FieldError::new(
                "",
                ErrorCode::InvalidValue,
                other.to_string(),
            ));
            None
        }
    }
}

/// A ticket's history as the clocks need it. Times are milliseconds; lists need not be sorted.
#[derive(Debug, Clone, Default)]
pub struct SlaTimeline {
    pub created_at: Millis,
    /// Stage history: (since, stage, whether the stage is CLOSED). The first entry is the stage
    /// at creation; later ones are moves.
    pub stages: Vec<(Millis, StageId, bool)>,
    /// Customer messages (any channel).
    pub customer_messages: Vec<Millis>,
    /// Agent replies to the customer (any channel).
    pub agent_replies: Vec<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    Paused,
    Closed,
}

/// Which goal a clock measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockKind {
    FirstResponse,
    NextResponse,
    TimeToClose,
}

impl ClockKind {
    pub fn label(self) -> &'static str {
        match self {
            ClockKind::FirstResponse => "First response",
            ClockKind::NextResponse => "Next response",
            ClockKind::TimeToClose => "Time to close",
        }
    }
}

/// A clock's state at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockStatus {
    Running,
    DueSoon,
    Breached,
    /// In a pause stage; `breached` when the goal had already passed.
    Paused,
    MetOnTime,
    MetLate,
}

impl ClockStatus {
    /// The stored name (lists filter on it).
    pub fn as_str(self) -> &'static str {
        match self {
            ClockStatus::Running => "running",
            ClockStatus::DueSoon => "due_soon",
            ClockStatus::Breached => "breached",
            ClockStatus::Paused => "paused",
            ClockStatus::MetOnTime => "met",
            ClockStatus::MetLate => "met_late",
        }
    }

    pub fn parse(s: &str) -> Option<ClockStatus> {
        Some(match s {
            "running" => ClockStatus::Running,
            "due_soon" => ClockStatus::DueSoon,
            "breached" => ClockStatus::Breached,
            "paused" => ClockStatus::Paused,
            "met" => ClockStatus::MetOnTime,
            "met_late" => ClockStatus::MetLate,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            ClockStatus::Running => "Running",
            ClockStatus::DueSoon => "Due soon",
            ClockStatus::Breached => "Breached",
            ClockStatus::Paused => "Paused",
            ClockStatus::MetOnTime => "Met",
            ClockStatus::MetLate => "Met late",
        }
    }

    /// Whether the clock still counts (it may still notify).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            ClockStatus::Running
                | ClockStatus::DueSoon
                | ClockStatus::Breached
                | ClockStatus::Paused
        )
    }
}

/// One clock's computed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub kind: ClockKind,
    pub status: ClockStatus,
    pub goal_ms: i64,
    /// Counted time so far (business time when the policy has hours).
    pub elapsed_ms: i64,
    /// When the goal is (or was) reached; `None` while paused before reaching it.
    pub due_at: Option<Millis>,
    pub started_at: Millis,
    /// When it stopped: the reply, or the close.
    pub stopped_at: Option<Millis>,
    pub paused_since: Option<Millis>,
    /// Whether more than the goal has been counted (a paused clock may be breached too).
    pub breached: bool,
}

impl Clock {
    /// HubSpot's `…_sla_status` code (HUBSPOT-API-2.md §7): "0" active, "1" overdue,
    /// "2" due soon, "3" completed on time, "4" completed late.
    pub fn hubspot_status(&self) -> &'static str {
        match self.status {
            ClockStatus::Running => "0",
            ClockStatus::Paused if self.breached => "1",
            ClockStatus::Paused => "0",
            ClockStatus::Breached => "1",
            ClockStatus::DueSoon => "2",
            ClockStatus::MetOnTime => "3",
            ClockStatus::MetLate => "4",
        }
    }

    /// The moment a clock next changes status by itself (running → due soon → breached),
    /// for the sweep that notifies; `None` when only activity can change it.
    pub fn next_change_at(&self, cal: &Calendar, now: Millis) -> Option<Millis> {
        match self.status {
            ClockStatus::Running => {
                let to_soon = self.goal_ms - self.goal_ms / DUE_SOON_DIVISOR - self.elapsed_ms;
                cal.add_business(now, to_soon.max(0))
            }
            ClockStatus::DueSoon => self.due_at,
            _ => None,
        }
    }
}

/// All of a ticket's clocks under one policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaClocks {
    pub first_response: Clock,
    pub next_response: Option<Clock>,
    pub time_to_close: Option<Clock>,
}

impl SlaClocks {
    pub fn all(&self) -> impl Iterator<Item = &Clock> {
        std::iter::once(&self.first_response)
            .chain(self.next_response.as_ref())
            .chain(self.time_to_close.as_ref())
    }

    /// The clock a list shows: an open one that is breached, else due soon, else the earliest
    /// due; else the last to stop.
    pub fn most_relevant(&self) -> &Clock {
        let rank = |c: &Clock| match c.status {
            ClockStatus::Breached => 0,
            ClockStatus::Paused if c.breached => 0,
            ClockStatus::DueSoon => 1,
            ClockStatus::Running => 2,
            ClockStatus::Paused => 3,
            ClockStatus::MetLate => 4,
            ClockStatus::MetOnTime => 5,
        };
        self.all()
            .min_by_key(|c| (rank(c), c.due_at.unwrap_or(i64::MAX)))
            .unwrap_or(&self.first_response)
    }
}

/// The first agent reply at or after creation.
pub fn first_agent_reply(tl: &SlaTimeline) -> Option<Millis> {
    tl.agent_replies
        .iter()
        .copied()
        .filter(|t| *t >= tl.created_at)
        .min()
}

/// The ticket's phases in time order, from creation: each stage is running, paused (one of
/// the policy's pause stages) or closed.
fn phases(policy: &SlaPolicy, tl: &SlaTimeline) -> Vec<(Millis, Phase)> {
    let mut stages = tl.stages.clone();
    stages.sort_by_key(|s| s.0);
    let mut out: Vec<(Millis, Phase)> = Vec::new();
    for (at, stage, closed) in stages {
        let phase = if closed {
            Phase::Closed
        } else if policy.pause_stage_ids.contains(&stage) {
            Phase::Paused
        } else {
            Phase::Running
        };
        let at = at.max(tl.created_at);
        if out.last().is_some_and(|l| l.1 == phase) {
            continue;
        }
        if out.last().is_some_and(|l| l.0 == at) {
            out.pop();
            if out.last().is_some_and(|l| l.1 == phase) {
                continue;
            }
        }
        out.push((at, phase));
    }
    if out.is_empty() {
        out.push((tl.created_at, Phase::Running));
    }
    out
}

/// One clock from `start` to its stop (`stop`, the reply; `None`: not answered yet) at `now`.
fn clock(
    kind: ClockKind,
    goal: i64,
    cal: &Calendar,
    phases: &[(Millis, Phase)],
    start: Millis,
    stop: Option<Millis>,
    now: Millis,
) -> Clock {
    let stop = stop.filter(|s| *s <= now);
    let end = stop.unwrap_or(now).max(start);
    // The phase intervals overlapping [start, end).
    let mut intervals: Vec<(Millis, Millis, Phase)> = Vec::new();
    for (i, (from, phase)) in phases.iter().enumerate() {
        let to = phases.get(i + 1).map_or(end, |n| n.0);
        let (a, b) = ((*from).max(start), to.min(end));
        if a < b || (i + 1 == phases.len() && a <= b) {
            intervals.push((a, b, *phase));
        }
    }
    let current = intervals.last().map_or(Phase::Running, |l| l.2);
    let current_since = intervals.last().map_or(start, |l| l.0);
    let mut elapsed = 0;
    let mut due = None;
    for (a, b, phase) in &intervals {
        if *phase != Phase::Running {
            continue;
        }
        let part = cal.business_between(*a, *b);
        if due.is_none() && elapsed + part >= goal {
            due = cal.add_business(*a, goal - elapsed);
        }
        elapsed += part;
    }
    let breached = elapsed > goal;
    let base = Clock {
        kind,
        status: ClockStatus::Running,
        goal_ms: goal,
        elapsed_ms: elapsed,
        due_at: due,
        started_at: start,
        stopped_at: None,
        paused_since: None,
        breached,
    };
    let stopped = |at: Millis| {
        let due = due.or_else(|| cal.add_business(at, goal - elapsed));
        Clock {
            status: if breached {
                ClockStatus::MetLate
            } else {
                ClockStatus::MetOnTime
            },
            due_at: due,
            stopped_at: Some(at),
            ..base.clone()
        }
    };
    if let Some(at) = stop {
        return stopped(at);
    }
    match current {
        Phase::Closed => stopped(current_since),
        Phase::Paused => Clock {
            status: ClockStatus::Paused,
            paused_since: Some(current_since),
            ..base.clone()
        },
        Phase::Running => {
            let due = due.or_else(|| cal.add_business(now, goal - elapsed));
            let status = if breached || due.is_some_and(|d| now >= d) {
                ClockStatus::Breached
            } else if goal - elapsed <= goal / DUE_SOON_DIVISOR {
                ClockStatus::DueSoon
            } else {
                ClockStatus::Running
            };
            Clock {
                status,
                due_at: due,
                breached: status == ClockStatus::Breached,
                ..base.clone()
            }
        }
    }
}

/// The clocks of a ticket under `policy` at `now`.
///
/// - First response runs from creation to the first agent reply.
/// - Next response runs, once the first reply was sent, from the first customer message that
///   no agent reply has answered yet to the reply that answers it; the latest such cycle is
///   the one shown.
/// - Time to close runs from creation to the close.
///
/// Every clock counts only the policy's business time, and not while the ticket is in a
/// pause stage or closed; a clock whose ticket is closed now has stopped at the close.
pub fn compute(policy: &SlaPolicy, tl: &SlaTimeline, now: Millis) -> SlaClocks {
    let cal = &policy.calendar;
    let phases = phases(policy, tl);
    let first_reply = first_agent_reply(tl);
    let first_response = clock(
        ClockKind::FirstResponse,
        policy.first_response_ms,
        cal,
        &phases,
        tl.created_at,
        first_reply,
        now,
    );
    let next_response = match (policy.next_response_ms, first_reply) {
        (Some(goal), Some(first)) => {
            let mut events: Vec<(Millis, bool)> = tl
                .customer_messages
                .iter()
                .filter(|t| **t > first && **t <= now)
                .map(|t| (*t, true))
                .chain(
                    tl.agent_replies
                        .iter()
                        .filter(|t| **t > first && **t <= now)
                        .map(|t| (*t, false)),
                )
                .collect();
            events.sort();
            let mut pending: Option<Millis> = None;
            let mut last: Option<(Millis, Option<Millis>)> = None;
            for (at, from_customer) in events {
                match (from_customer, pending) {
                    (true, None) => pending = Some(at),
                    (false, Some(s)) => {
                        last = Some((s, Some(at)));
                        pending = None;
                    }
                    _ => {}
                }
            }
            if let Some(s) = pending {
                last = Some((s, None));
            }
            last.map(|(s, e)| clock(ClockKind::NextResponse, goal, cal, &phases, s, e, now))
        }
        _ => None,
    };
    let time_to_close = policy.time_to_close_ms.map(|goal| {
        clock(
            ClockKind::TimeToClose,
            goal,
            cal,
            &phases,
            tl.created_at,
            None,
            now,
        )
    });
    SlaClocks {
        first_response,
        next_response,
        time_to_close,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// Milliseconds of a UTC or zoned local time, `2026-12-04T17:00` in `zone`.
    fn at(zone: &str, s: &str) -> Millis {
        let dt: DateTime = s.parse().unwrap();
        dt.to_zoned(
            jiff::tz::TimeZone::get(zone)
                .unwrap_or_else(|_| UserTimeZone::parse(zone).unwrap().zone().clone()),
        )
        .unwrap()
        .timestamp()
        .as_millisecond()
    }

    fn cal(zone: &str, hours: &str, holidays: &[&str]) -> Calendar {
        Calendar {
            zone: UserTimeZone::parse(zone).unwrap(),
            hours: WeeklyHours::parse(hours).unwrap(),
            holidays: holidays.iter().map(|h| parse_holiday(h).unwrap()).collect(),
        }
    }

    fn policy(
        first: &str,
        next: Option<&str>,
        close: Option<&str>,
        calendar: Calendar,
    ) -> SlaPolicy {
        SlaPolicy {
            id: 1,
            name: "Standard".into(),
            pipeline_id: None,
            priorities: vec![],
            team_id: None,
            first_response_ms: parse_duration("f", first).unwrap(),
            next_response_ms: next.map(|n| parse_duration("n", n).unwrap()),
            time_to_close_ms: close.map(|c| parse_duration("c", c).unwrap()),
            calendar,
            pause_stage_ids: vec![StageId(2)],
        }
    }

    fn timeline(created: Millis) -> SlaTimeline {
        SlaTimeline {
            created_at: created,
            stages: vec![(created, StageId(1), false)],
            customer_messages: vec![created],
            agent_replies: vec![],
        }
    }

    #[test]
    fn durations_parse_and_refuse_clearly() {
        assert_eq!(parse_duration("f", "2h").unwrap(), 2 * HOUR);
        assert_eq!(parse_duration("f", "30m").unwrap(), 30 * MINUTE);
        assert_eq!(parse_duration("f", "3d").unwrap(), 3 * DAY);
        assert_eq!(parse_duration("f", "1h30m").unwrap(), 90 * MINUTE);
        assert_eq!(format_duration(90 * MINUTE), "1h30m");
        for bad in [
            "",
            "2",
            "h",
            "2x",
            "0m",
            "-1h",
            "400d",
            "99999999999999999999m",
        ] {
            let e = parse_duration("first_response", bad)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("first_response") || e.contains("duration"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn hours_parse_and_refuse_clearly() {
        let h = WeeklyHours::parse("mon-fri 09:00-17:00; Sat 10:00-14:00")
            .unwrap()
            .unwrap();
        assert_eq!(h.spec(), "Mon-Fri 09:00-17:00; Sat 10:00-14:00");
        assert!(WeeklyHours::parse("24/7").unwrap().is_none());
        assert_eq!(
            WeeklyHours::parse("Mon,Wed 08:00-24:00")
                .unwrap()
                .unwrap()
                .spec(),
            "Mon 08:00-24:00; Wed 08:00-24:00"
        );
        for bad in [
            "Mon-Fri",
            "Fri-Mon 09:00-17:00",
            "Mon-Fri 17:00-09:00",
            "Mon-Fri 9-17",
            "Funday 09:00-17:00",
            "Mon 09:00-12:00; Mon 11:00-13:00",
            "Mon 25:00-26:00",
        ] {
            assert!(WeeklyHours::parse(bad).is_err(), "{bad}");
        }
    }

    /// Issue 16 item 1: business hours across a weekend and a holiday.
    #[test]
    fn first_response_due_skips_the_weekend_and_a_holiday() {
        // Friday 4 Dec 2026, 16:00 in Rome; Monday 7 Dec is a holiday.
        let c = cal("Europe/Rome", "Mon-Fri 09:00-17:00", &["2026-12-07"]);
        let p = policy("2h", None, None, c);
        let created = at("Europe/Rome", "2026-12-04T16:00");
        let tl = timeline(created);
        let clocks = compute(&p, &tl, created + MINUTE);
        // One hour on Friday, the second on Tuesday from 09:00.
        assert_eq!(
            clocks.first_response.due_at,
            Some(at("Europe/Rome", "2026-12-08T10:00"))
        );
        assert_eq!(clocks.first_response.status, ClockStatus::Running);
        // Saturday noon: still one hour counted.
        let sat = compute(&p, &tl, at("Europe/Rome", "2026-12-05T12:00"));
        assert_eq!(sat.first_response.elapsed_ms, HOUR);
        assert_eq!(sat.first_response.status, ClockStatus::Running);
        // Tuesday 09:45: a quarter of the goal is left.
        let soon = compute(&p, &tl, at("Europe/Rome", "2026-12-08T09:45"));
        assert_eq!(soon.first_response.status, ClockStatus::DueSoon);
        assert_eq!(soon.first_response.hubspot_status(), "2");
        // Tuesday 10:01: breached.
        let late = compute(&p, &tl, at("Europe/Rome", "2026-12-08T10:01"));
        assert_eq!(late.first_response.status, ClockStatus::Breached);
        assert_eq!(late.first_response.hubspot_status(), "1");
        // A reply on Tuesday 09:30 met it.
        let mut answered = tl.clone();
        answered
            .agent_replies
            .push(at("Europe/Rome", "2026-12-08T09:30"));
        let met = compute(&p, &answered, at("Europe/Rome", "2026-12-09T12:00"));
        assert_eq!(met.first_response.status, ClockStatus::MetOnTime);
        assert_eq!(met.first_response.hubspot_status(), "3");
        assert_eq!(met.first_response.elapsed_ms, 90 * MINUTE);
    }

    /// Issue 16 item 1: DST. The night of 29 Mar 2026 Rome skips 02:00–03:00, so a 24/7
    /// calendar in Rome still counts real time, and 09:00–17:00 is eight hours either side.
    #[test]
    fn business_time_follows_daylight_saving_time() {
        let c = cal("Europe/Rome", "Mon-Sun 00:00-24:00", &[]);
        let a = at("Europe/Rome", "2026-03-28T12:00");
        let b = at("Europe/Rome", "2026-03-29T12:00");
        assert_eq!(c.business_between(a, b), 23 * HOUR);
        assert_eq!(c.add_business(a, 23 * HOUR), Some(b));
        let office = cal("Europe/Rome", "Mon-Sun 09:00-17:00", &[]);
        let fri = at("Europe/Rome", "2026-03-27T16:00");
        assert_eq!(
            office.add_business(fri, 10 * HOUR),
            Some(at("Europe/Rome", "2026-03-29T10:00"))
        );
        // In UTC terms the Sunday window starts an hour earlier than Saturday's.
        assert_eq!(
            at("Europe/Rome", "2026-03-29T09:00") - at("Europe/Rome", "2026-03-28T09:00"),
            23 * HOUR
        );
    }

    /// Issue 16 item 1: the clock pauses in a pause stage and resumes when the ticket leaves it.
    #[test]
    fn clock_pauses_in_waiting_stage_and_resumes() {
        let p = policy("4h", None, Some("8h"), Calendar::around_the_clock());
        let t0 = at("UTC", "2026-12-01T08:00");
        let mut tl = timeline(t0);
        tl.stages.push((t0 + HOUR, StageId(2), false)); // waiting on contact
        let paused = compute(&p, &tl, t0 + 5 * HOUR);
        assert_eq!(paused.first_response.status, ClockStatus::Paused);
        assert_eq!(paused.first_response.paused_since, Some(t0 + HOUR));
        assert_eq!(paused.first_response.elapsed_ms, HOUR);
        assert_eq!(paused.first_response.hubspot_status(), "0");
        tl.stages.push((t0 + 10 * HOUR, StageId(3), false)); // back to us
        let resumed = compute(&p, &tl, t0 + 11 * HOUR);
        assert_eq!(resumed.first_response.status, ClockStatus::Running);
        assert_eq!(resumed.first_response.elapsed_ms, 2 * HOUR);
        assert_eq!(resumed.first_response.due_at, Some(t0 + 13 * HOUR));
        let ttc = resumed.time_to_close.unwrap();
        assert_eq!(ttc.due_at, Some(t0 + 17 * HOUR));
    }

    /// Issue 16 item 1: the clock stops at resolve and resumes on reopen.
    #[test]
    fn clock_stops_when_closed_and_resumes_on_reopen() {
        let p = policy("1h", None, Some("4h"), Calendar::around_the_clock());
        let t0 = at("UTC", "2026-12-01T08:00");
        let mut tl = timeline(t0);
        tl.agent_replies.push(t0 + 30 * MINUTE);
        tl.stages.push((t0 + 2 * HOUR, StageId(4), true));
        let closed = compute(&p, &tl, t0 + 100 * HOUR);
        let ttc = closed.time_to_close.clone().unwrap();
        assert_eq!(ttc.status, ClockStatus::MetOnTime);
        assert_eq!(ttc.stopped_at, Some(t0 + 2 * HOUR));
        assert_eq!(ttc.elapsed_ms, 2 * HOUR);
        tl.stages.push((t0 + 50 * HOUR, StageId(1), false));
        let reopened = compute(&p, &tl, t0 + 51 * HOUR);
        let ttc = reopened.time_to_close.unwrap();
        assert_eq!(ttc.status, ClockStatus::DueSoon);
        assert_eq!(ttc.elapsed_ms, 3 * HOUR);
        assert_eq!(ttc.due_at, Some(t0 + 52 * HOUR));
        let late = compute(&p, &tl, t0 + 53 * HOUR);
        assert_eq!(late.time_to_close.unwrap().status, ClockStatus::Breached);
    }

    /// Issue 16 item 1: next response restarts after each customer message.
    #[test]
    fn next_response_runs_after_each_customer_message() {
        let p = policy("1h", Some("2h"), None, Calendar::around_the_clock());
        let t0 = at("UTC", "2026-12-01T08:00");
        let mut tl = timeline(t0);
        assert!(compute(&p, &tl, t0 + MINUTE).next_response.is_none());
        tl.agent_replies.push(t0 + 10 * MINUTE);
        assert!(compute(&p, &tl, t0 + HOUR).next_response.is_none());
        // The customer writes twice; the clock runs from the first unanswered message.
        tl.customer_messages.push(t0 + HOUR);
        tl.customer_messages.push(t0 + 90 * MINUTE);
        let c = compute(&p, &tl, t0 + 2 * HOUR).next_response.unwrap();
        assert_eq!(c.started_at, t0 + HOUR);
        assert_eq!(c.due_at, Some(t0 + 3 * HOUR));
        assert_eq!(c.status, ClockStatus::Running);
        tl.agent_replies.push(t0 + 4 * HOUR);
        let c = compute(&p, &tl, t0 + 5 * HOUR).next_response.unwrap();
        assert_eq!(c.status, ClockStatus::MetLate);
        assert_eq!(c.hubspot_status(), "4");
        // A new message starts a new cycle.
        tl.customer_messages.push(t0 + 6 * HOUR);
        let c = compute(&p, &tl, t0 + 6 * HOUR + MINUTE)
            .next_response
            .unwrap();
        assert_eq!(c.started_at, t0 + 6 * HOUR);
        assert_eq!(c.due_at, Some(t0 + 8 * HOUR));
        assert_eq!(c.status, ClockStatus::Running);
    }

    #[test]
    fn the_most_specific_matching_policy_applies() {
        let base = policy("1h", None, None, Calendar::around_the_clock());
        let all = SlaPolicy {
            id: 1,
            ..base.clone()
        };
        let pipeline = SlaPolicy {
            id: 2,
            pipeline_id: Some(PipelineId(0)),
            ..base.clone()
        };
        let urgent = SlaPolicy {
            id: 3,
            pipeline_id: Some(PipelineId(0)),
            priorities: vec!["URGENT".into(), "HIGH".into()],
            ..base.clone()
        };
        let team = SlaPolicy {
            id: 4,
            team_id: Some(TeamId(7)),
            ..base.clone()
        };
        let ps = vec![all, pipeline, urgent, team];
        let pick = |pl, pr, tm| select_policy(&ps, PipelineId(pl), pr, tm).map(|p| p.id);
        assert_eq!(pick(0, Some("HIGH"), None), Some(3));
        assert_eq!(pick(0, Some("LOW"), None), Some(2));
        assert_eq!(pick(5, None, None), Some(1));
        assert_eq!(pick(5, None, Some(TeamId(7))), Some(4));
        // Equally specific: the older policy wins.
        assert_eq!(pick(0, None, Some(TeamId(7))), Some(2));
        assert_eq!(
            select_policy(&ps[2..3], PipelineId(0), None, None).map(|p| p.id),
            None
        );
    }

    #[test]
    fn policy_input_reports_every_problem() {
        let input = SlaPolicyInput {
            name: " ".into(),
            first_response: "soon".into(),
            next_response: Some("2x".into()),
            time_to_close: None,
            hours: Some("Mon-Fri 9-5".into()),
            time_zone: Some("Mars/Base".into()),
            holidays: vec!["2026-13-01".into()],
        };
        let DomainError::Invalid(errors) = input.validate().unwrap_err() else {
            panic!("not invalid")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "name",
            "first_response",
            "next_response",
            "hours",
            "time_zone",
            "holidays",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
        let ok = SlaPolicyInput {
            name: "Gold".into(),
            first_response: "2h".into(),
            hours: Some("Mon-Fri 09:00-17:00".into()),
            time_zone: Some("europe/rome".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(ok.zone.name(), "Europe/Rome");
    }
}
