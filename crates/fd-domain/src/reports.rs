//! The arithmetic of the reports page (issue 16, item 5): a report's date range in the
//! viewer's time zone, tickets per local day, median and p90 of durations, and SLA
//! attainment. Storage aggregates (counts per quarter hour, durations per group); these
//! functions turn that into figures, so every road (page, CSV, API) shows the same numbers.
//!
//! Pure: no storage, no HTTP, no clock ("now" is passed in).

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::error::{DomainError, ErrorCode};
use crate::local_time::UserTimeZone;
use crate::model::Millis;

/// Days a report covers when no range is given.
pub const DEFAULT_DAYS: i64 = 30;
/// The longest range one report may cover (a year and a day: leap years).
pub const MAX_DAYS: i64 = 366;
/// The width of the slots storage counts tickets in. Every zone in use today is offset from
/// UTC by a multiple of 15 minutes, so a slot never straddles two local days.
pub const SLOT_MS: Millis = 15 * 60 * 1000;

/// A report's range: whole local days `first..=last` in a zone, and the instants
/// `[from, to)` they span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRange {
    pub first: Date,
    pub last: Date,
    pub from: Millis,
    pub to: Millis,
}

fn local_date(at: Millis, tz: &UserTimeZone) -> Option<Date> {
    Timestamp::from_millisecond(at)
        .ok()
        .map(|ts| ts.to_zoned(tz.zone().clone()).date())
}

fn start_of(day: Date, tz: &UserTimeZone) -> Option<Millis> {
    day.to_zoned(tz.zone().clone())
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

fn invalid(field: &str, message: &str) -> DomainError {
    DomainError::field(field, ErrorCode::InvalidValue, message)
}

fn parse_day(field: &str, raw: &str) -> Result<Date, DomainError> {
    let raw = raw.trim();
    let ok_shape = raw.len() == 10
        && raw.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    let bad = || {
        DomainError::field(
            field,
            ErrorCode::InvalidDate,
            "must be a date like 2026-12-07",
        )
    };
    if !ok_shape {
        return Err(bad());
    }
    raw.parse::<Date>().map_err(|_| bad())
}

impl ReportRange {
    /// Reads `from` and `to` (inclusive local days, `YYYY-MM-DD`; either may be empty). No
    /// `to` means today; no `from` means the [`DEFAULT_DAYS`] days ending with `to`.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        tz: &UserTimeZone,
        now: Millis,
    ) -> Result<ReportRange, DomainError> {
        let from = from.map(str::trim).filter(|s| !s.is_empty());
        let to = to.map(str::trim).filter(|s| !s.is_empty());
        let last = match to {
            Some(raw) => parse_day("to", raw)?,
            None => local_date(now, tz).ok_or_else(|| invalid("to", "out of range"))?,
        };
        let first = match from {
            Some(raw) => parse_day("from", raw)?,
            None => last
                .checked_sub(jiff::Span::new().days(DEFAULT_DAYS - 1))
                .map_err(|_| invalid("from", "out of range"))?,
        };
        if first > last {
            return Err(invalid("to", "must not be before from"));
        }
        let days = i64::from((last - first).get_days()) + 1;
        if days > MAX_DAYS {
            return Err(invalid(
                "from",
                &format!("a report covers at most {MAX_DAYS} days"),
            ));
        }
        let next = last.tomorrow().map_err(|_| invalid("to", "out of range"))?;
        let (Some(from_ms), Some(to_ms)) = (start_of(first, tz), start_of(next, tz)) else {
            return Err(invalid("from", "out of range"));
        };
        Ok(ReportRange {
            first,
            last,
            from: from_ms,
            to: to_ms,
        })
    }

    /// Every local day of the range, in order.
    pub fn days(&self) -> Vec<Date> {
        let mut out = Vec::new();
        let mut d = self.first;
        while d <= self.last {
            out.push(d);
            match d.tomorrow() {
                Ok(n) => d = n,
                Err(_) => break,
            }
        }
        out
    }
}

/// One local day's created and closed counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCounts {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub created: i64,
    pub closed: i64,
}

/// Sums counts per slot (`(slot number, n)`, a slot being `SLOT_MS` from the epoch) into
/// the local days of `range`; every day of the range appears, with zeros where nothing
/// happened. Slots outside the range are ignored.
pub fn per_day(
    range: &ReportRange,
    tz: &UserTimeZone,
    created: &[(i64, i64)],
    closed: &[(i64, i64)],
) -> Vec<DayCounts> {
    let mut by_day: BTreeMap<Date, (i64, i64)> =
        range.days().into_iter().map(|d| (d, (0, 0))).collect();
    let mut add = |slots: &[(i64, i64)], created: bool| {
        for &(slot, n) in slots {
            let Some(day) = slot.checked_mul(SLOT_MS).and_then(|at| local_date(at, tz)) else {
                continue;
            };
            if let Some(e) = by_day.get_mut(&day) {
                if created {
                    e.0 += n;
                } else {
                    e.1 += n;
                }
            }
        }
    };
    add(created, true);
    add(closed, false);
    by_day
        .into_iter()
        .map(|(d, (created, closed))| DayCounts {
            day: d.to_string(),
            created,
            closed,
        })
        .collect()
}

/// The `p`-th percentile (0 < p ≤ 100) of sorted values by the nearest-rank method: the
/// smallest value with at least `p`% of the values at or below it. Always one of the
/// values (a median of durations is a duration some ticket took). `None` when empty.
pub fn nearest_rank(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() || p == 0 || p > 100 {
        return None;
    }
    let n = sorted.len();
    let rank = (n * p as usize).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Median and p90 of one group's durations (milliseconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStats {
    /// The group: a team, agent or channel name as storage labelled it.
    pub key: String,
    pub count: usize,
    pub median: i64,
    pub p90: i64,
}

/// Groups `(key, duration)` rows and computes each group's median and p90; groups in key
/// order. Negative durations (clock skew between nodes) count as zero.
pub fn time_stats(rows: Vec<(String, i64)>) -> Vec<TimeStats> {
    let mut groups: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (k, v) in rows {
        groups.entry(k).or_default().push(v.max(0));
    }
    groups
        .into_iter()
        .filter_map(|(key, mut v)| {
            v.sort_unstable();
            Some(TimeStats {
                count: v.len(),
                median: nearest_rank(&v, 50)?,
                p90: nearest_rank(&v, 90)?,
                key,
            })
        })
        .collect()
}

/// One SLA clock's outcome over a range: clocks that stopped in time, clocks that were
/// breached (met late or still overdue), and clocks still running or paused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attainment {
    /// `first_response`, `next_response` or `time_to_close`.
    pub clock: &'static str,
    pub met: i64,
    pub breached: i64,
    pub open: i64,
}

impl Attainment {
    /// Share of decided clocks that were met, in percent with one decimal; `None` when no
    /// clock was decided yet.
    pub fn percent_met(&self) -> Option<f64> {
        percent_of(self.met, self.breached)
    }
}

/// `part` as a share of `part + rest`, in percent with one decimal; `None` when both are 0.
/// SLA attainment (met vs breached) and satisfaction (good vs bad ratings) both read it.
pub fn percent_of(part: i64, rest: i64) -> Option<f64> {
    let total = part + rest;
    (total > 0).then(|| (part as f64 * 1000.0 / total as f64).round() / 10.0)
}

/// The clocks attainment reports on, in the order shown.
pub const CLOCKS: [&str; 3] = ["first_response", "next_response", "time_to_close"];

/// Folds `(clock, status, n)` counts (statuses as `ticket_sla` stores them) into one
/// [`Attainment`] per clock of [`CLOCKS`].
pub fn attainment(rows: &[(String, String, i64)]) -> Vec<Attainment> {
    CLOCKS
        .iter()
        .map(|&clock| {
            let mut a = Attainment {
                clock,
                met: 0,
                breached: 0,
                open: 0,
            };
            for (c, status, n) in rows {
                if c != clock {
                    continue;
                }
                match status.as_str() {
                    "met" => a.met += n,
                    "met_late" | "breached" => a.breached += n,
                    _ => a.open += n,
                }
            }
            a
        })
        .collect()
}

/// A clock's label as the reports page shows it.
pub fn clock_label(clock: &str) -> &'static str {
    match clock {
        "first_response" => "First response",
        "next_response" => "Next response",
        _ => "Time to close",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const H: Millis = 3_600_000;

    fn tz(name: &str) -> UserTimeZone {
        UserTimeZone::parse(name).unwrap()
    }

    #[test]
    fn percent_of_rounds_to_one_decimal_and_is_none_without_any() {
        assert_eq!(percent_of(2, 1), Some(66.7));
        assert_eq!(percent_of(0, 3), Some(0.0));
        assert_eq!(percent_of(5, 0), Some(100.0));
        assert_eq!(percent_of(0, 0), None);
    }

    #[test]
    fn nearest_rank_median_and_p90_of_known_values() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&v, 50), Some(5));
        assert_eq!(nearest_rank(&v, 90), Some(9));
        assert_eq!(nearest_rank(&v, 100), Some(10));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[1, 2, 3], 50), Some(2));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    #[test]
    fn time_stats_groups_and_sorts() {
        let rows = vec![
            ("b".to_string(), 30),
            ("a".to_string(), 5),
            ("b".to_string(), 10),
            ("b".to_string(), 20),
            ("a".to_string(), -3),
        ];
        let s = time_stats(rows);
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].key.as_str(), s[0].count, s[0].median, s[0].p90),
            ("a", 2, 0, 5)
        );
        assert_eq!(
            (s[1].key.as_str(), s[1].count, s[1].median, s[1].p90),
            ("b", 3, 20, 30)
        );
    }

    #[test]
    fn range_defaults_to_thirty_local_days_ending_today() {
        // 2026-12-07 01:00 UTC is still 6 December in New York.
        let now = "2026-12-07T01:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        let r = ReportRange::parse(None, None, &tz("America/New_York"), now).unwrap();
        assert_eq!(r.last.to_string(), "2026-12-06");
        assert_eq!(r.first.to_string(), "2026-11-07");
        assert_eq!(r.days().len(), 30);
        let start = "2026-11-07T05:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        assert_eq!(r.from, start);
        let end = "2026-12-07T05:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        assert_eq!(r.to, end);
    }

    #[test]
    fn range_refuses_bad_input() {
        let z = tz("UTC");
        assert!(ReportRange::parse(Some("2026-12-08"), Some("2026-12-07"), &z, 0).is_err());
        assert!(ReportRange::parse(Some("yesterday"), None, &z, 0).is_err());
        assert!(ReportRange::parse(Some("2024-01-01"), Some("2026-01-01"), &z, 0).is_err());
        let r = ReportRange::parse(Some("2026-12-07"), Some("2026-12-07"), &z, 0).unwrap();
        assert_eq!(r.to - r.from, 24 * H);
    }

    #[test]
    fn per_day_buckets_slots_by_local_day() {
        let z = tz("Europe/Rome");
        let r = ReportRange::parse(Some("2026-12-01"), Some("2026-12-02"), &z, 0).unwrap();
        let at = |s: &str| s.parse::<Timestamp>().unwrap().as_millisecond() / SLOT_MS;
        // 23:30 UTC on 1 Dec is 00:30 on 2 Dec in Rome.
        let created = [
            (at("2026-12-01T10:00:00Z"), 2),
            (at("2026-12-01T23:30:00Z"), 3),
        ];
        let closed = [
            (at("2026-12-02T12:00:00Z"), 1),
            (at("2026-11-01T12:00:00Z"), 9),
        ];
        let d = per_day(&r, &z, &created, &closed);
        assert_eq!(
            d,
            vec![
                DayCounts {
                    day: "2026-12-01".into(),
                    created: 2,
                    closed: 0
                },
                DayCounts {
                    day: "2026-12-02".into(),
                    created: 3,
                    closed: 1
                },
            ]
        );
    }

    #[test]
    fn attainment_counts_met_late_as_breached() {
        let rows = vec![
            ("first_response".to_string(), "met".to_string(), 3),
            ("first_response".to_string(), "met_late".to_string(), 1),
            ("first_response".to_string(), "breached".to_string(), 1),
            ("first_response".to_string(), "running".to_string(), 4),
        ];
        let a = attainment(&rows);
        assert_eq!(a[0].met, 3);
        assert_eq!(a[0].breached, 2);
        assert_eq!(a[0].open, 4);
        assert_eq!(a[0].percent_met(), Some(60.0));
        assert_eq!(a[1].percent_met(), None);
    }
}
