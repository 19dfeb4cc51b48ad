//! How a moment is shown to a person: in their own IANA time zone (a per-user setting), in
//! one format ("7 Dec 2026, 14:05"), worded relative to now when it is recent ("5 min ago",
//! "yesterday, 09:10"). Every screen formats times through [`stamp`], so no two pages differ.
//!
//! Pure: the zone database is the copy bundled into the binary (jiff's `tzdb-bundle-always`),
//! not the host's `/usr/share/zoneinfo`, and "now" is passed in by the caller, never read.
//! Must not depend on storage, HTTP or a clock.

use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use jiff::tz::TimeZoneDatabase;

use crate::error::{DomainError, ErrorCode};
use crate::model::Millis;

/// The zone a user gets until they choose one.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// The one visible format of an absolute time.
const FORMAT: &str = "%-d %b %Y, %H:%M";

static ZONES: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// A user's time zone: a valid IANA name and the zone it names.
#[derive(Debug, Clone)]
pub struct UserTimeZone {
    name: String,
    zone: TimeZone,
}

impl UserTimeZone {
    /// Reads an IANA zone name (`Europe/Rome`). Case is forgiven and the stored name is the
    /// database's spelling; anything the bundled database does not know is refused.
    pub fn parse(raw: &str) -> Result<UserTimeZone, DomainError> {
        let raw = raw.trim();
        let invalid = || {
            DomainError::field(
                "time_zone",
                ErrorCode::InvalidOption,
                format!("{raw:?} is not a time zone name such as Europe/Rome or UTC"),
            )
        };
        if raw.is_empty() || raw.len() > 64 {
            return Err(invalid());
        }
        let zone = ZONES.get(raw).map_err(|_| invalid())?;
        let name = zone.iana_name().unwrap_or(raw).to_string();
        Ok(UserTimeZone { name, zone })
    }

    /// The zone stored for a user, read back: a name that no longer parses (the database
    /// dropped it) falls back to UTC rather than failing every page.
    pub fn or_utc(raw: &str) -> UserTimeZone {
        UserTimeZone::parse(raw).unwrap_or_else(|_| UserTimeZone::utc())
    }

    pub fn utc() -> UserTimeZone {
        UserTimeZone {
            name: DEFAULT_TIME_ZONE.to_string(),
            zone: TimeZone::UTC,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone itself, for local-time arithmetic (SLA business hours, automation's
    /// business-hours condition).
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }
}

/// Every zone name a user may choose, sorted.
pub fn time_zone_names() -> Vec<String> {
    let mut names: Vec<String> = ZONES.available().map(|n| n.to_string()).collect();
    names.sort();
    names.dedup();
    names
}

/// A moment as shown: `iso` for `<time datetime>`, `absolute` for its `title`, `text` for
/// the page (relative when recent), and whether `text` is the relative wording a page may
/// refresh as time passes (minutes and hours only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub iso: String,
    pub absolute: String,
    pub text: String,
    pub ticking: bool,
}

const MINUTE: Millis = 60_000;
const HOUR: Millis = 60 * MINUTE;

/// Formats `at` for a user in `tz` as seen at `now`:
/// under a minute ago "just now"; under an hour "N min ago"; under 12 hours "N h ago";
/// later the same day "today, 14:05"; the day before "yesterday, 14:05"; otherwise, and for
/// anything in the future, the absolute "7 Dec 2026, 14:05". Days are the user's days.
pub fn stamp(at: Millis, tz: &UserTimeZone, now: Millis) -> Stamp {
    let Ok(ts) = Timestamp::from_millisecond(at) else {
        let raw = at.to_string();
        return Stamp {
            iso: raw.clone(),
            absolute: raw.clone(),
            text: raw,
            ticking: false,
        };
    };
    let zoned = ts.to_zoned(tz.zone.clone());
    let absolute = zoned.strftime(FORMAT).to_string();
    let iso = zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
    let title = match zoned.strftime("%Z").to_string() {
        abbr if abbr.is_empty() => absolute.clone(),
        abbr => format!("{absolute} {abbr}"),
    };
    let age = now.saturating_sub(at);
    let clock = zoned.strftime("%H:%M").to_string();
    let (text, ticking) = if age < 0 {
        (absolute, false)
    } else if age < MINUTE {
        ("just now".to_string(), true)
    } else if age < HOUR {
        (format!("{} min ago", age / MINUTE), true)
    } else if age < 12 * HOUR {
        (format!("{} h ago", age / HOUR), true)
    } else {
        let today = Timestamp::from_millisecond(now)
            .map(|n| n.to_zoned(tz.zone.clone()).date())
            .ok();
        match today {
            Some(d) if d == zoned.date() => (format!("today, {clock}"), false),
            Some(d) if d.yesterday().ok() == Some(zoned.date()) => {
                (format!("yesterday, {clock}"), false)
            }
            _ => (absolute, false),
        }
    };
    Stamp {
        iso,
        absolute: title,
        text,
        ticking,
    }
}

/// One day in milliseconds.
const DAY: Millis = 24 * HOUR;

/// The day a date property holds, as an `<input type=date>` value ("2026-12-07"). HubSpot
/// stores a date as midnight UTC of that day, so the day is read in UTC whatever the user's
/// zone: a date is a calendar day, not a moment, and must not move with the reader.
pub fn date_input_value(at: Millis) -> Option<String> {
    let day = at.div_euclid(DAY) * DAY;
    Timestamp::from_millisecond(day)
        .ok()
        .map(|ts| ts.to_zoned(TimeZone::UTC).strftime("%Y-%m-%d").to_string())
}

/// Reads an `<input type=date>` value ("2026-12-07") as HubSpot stores a date: midnight UTC
/// of that day, in epoch milliseconds. `None` for anything else.
pub fn parse_date_input(raw: &str) -> Option<Millis> {
    let raw = raw.trim();
    // Exactly the day: jiff would also read a date-time here and drop its time.
    let shape = raw.len() == 10
        && raw.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return None;
    }
    let date: jiff::civil::Date = raw.parse().ok()?;
    date.to_zoned(TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// A moment as an `<input type=datetime-local>` value in the user's zone: "2026-12-07T14:05",
/// with seconds ("…T14:05:30") only when the moment has some, so a value shown and posted
/// back unchanged is the same value.
pub fn datetime_input_value(at: Millis, tz: &UserTimeZone) -> Option<String> {
    let zoned = Timestamp::from_millisecond(at)
        .ok()?
        .to_zoned(tz.zone.clone());
    let format = if zoned.second() == 0 {
        "%Y-%m-%dT%H:%M"
    } else {
        "%Y-%m-%dT%H:%M:%S"
    };
    Some(zoned.strftime(format).to_string())
}

/// Reads an `<input type=datetime-local>` value ("2026-12-07T14:05", seconds optional, a
/// space allowed for the `T`) as a wall-clock time in the user's zone, to epoch
/// milliseconds. A value with an offset or a zone is not a local time and is refused, as is
/// anything that is not a date and a time. A time the zone skips (the hour summer time
/// jumps over) is moved forward by the gap and a repeated one is the earlier of the two, as
/// browsers and calendars resolve them.
pub fn parse_datetime_input(raw: &str, tz: &UserTimeZone) -> Option<Millis> {
    let raw = raw.trim();
    // "2026-12-07T14:05": a date, a separator, a time; no offset, no zone, no fraction.
    let (date, time) = raw.split_once(['T', ' '])?;
    let time_ok = matches!(time.len(), 5 | 8)
        && time.chars().enumerate().all(|(i, c)| {
            if i == 2 || i == 5 {
                c == ':'
            } else {
                c.is_ascii_digit()
            }
        });
    if date.len() != 10 || !time_ok {
        return None;
    }
    let civil: jiff::civil::DateTime = format!("{date}T{time}").parse().ok()?;
    tz.zone
        .to_ambiguous_zoned(civil)
        .compatible()
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// 2026-12-07T13:05:00Z, a Monday: 14:05 in Rome (CET, +01:00).
    const AT: Millis = 1_796_648_700_000;

    fn rome() -> UserTimeZone {
        UserTimeZone::parse("europe/rome").unwrap()
    }

    #[test]
    fn absolute_times_are_in_the_users_zone_in_one_format() {
        let s = stamp(AT, &rome(), AT + 10 * 24 * HOUR);
        assert_eq!(s.text, "7 Dec 2026, 14:05");
        assert_eq!(s.iso, "2026-12-07T14:05:00+01:00");
        assert_eq!(s.absolute, "7 Dec 2026, 14:05 CET");
        assert!(!s.ticking);
        let utc = stamp(AT, &UserTimeZone::utc(), AT + 10 * 24 * HOUR);
        assert_eq!(utc.text, "7 Dec 2026, 13:05");
        assert_eq!(utc.iso, "2026-12-07T13:05:00+00:00");
        // Summer time is the zone's, not a fixed offset.
        let july = AT - 150 * 24 * HOUR;
        assert_eq!(stamp(july, &rome(), AT).iso, "2026-07-10T15:05:00+02:00");
    }

    #[test]
    fn recent_times_are_relative() {
        let tz = rome();
        assert_eq!(stamp(AT, &tz, AT + 30_000).text, "just now");
        assert_eq!(stamp(AT, &tz, AT + 5 * MINUTE).text, "5 min ago");
        assert!(stamp(AT, &tz, AT + 5 * MINUTE).ticking);
        assert_eq!(stamp(AT, &tz, AT + 3 * HOUR + 1).text, "3 h ago");
        // 14:05 seen at 09:00 the next day (Rome): yesterday, in the user's days.
        assert_eq!(stamp(AT, &tz, AT + 19 * HOUR).text, "yesterday, 14:05");
        // 00:30 seen at 23:00 the same day: today.
        let early = AT - 13 * HOUR - 35 * MINUTE; // 00:30 Rome
        assert_eq!(
            stamp(early, &tz, early + 22 * HOUR + 30 * MINUTE).text,
            "today, 00:30"
        );
        // In the future (another node's clock ahead): absolute.
        assert_eq!(stamp(AT, &tz, AT - HOUR).text, "7 Dec 2026, 14:05");
        // Every wording keeps the absolute time for its title.
        assert_eq!(
            stamp(AT, &tz, AT + 5 * MINUTE).absolute,
            "7 Dec 2026, 14:05 CET"
        );
    }

    #[test]
    fn yesterday_depends_on_the_zone() {
        // 23:30 UTC on 6 Dec is 00:30 on 7 Dec in Rome; seen at 13:05 UTC on 7 Dec.
        let at = AT - 13 * HOUR - 35 * MINUTE;
        assert_eq!(stamp(at, &UserTimeZone::utc(), AT).text, "yesterday, 23:30");
        assert_eq!(stamp(at, &rome(), AT).text, "today, 00:30");
    }

    #[test]
    fn unknown_zones_are_refused() {
        assert_eq!(rome().name(), "Europe/Rome");
        for bad in ["", "Mars/Olympus", "Europe/Rome; DROP", &"x".repeat(100)] {
            let e = UserTimeZone::parse(bad).unwrap_err();
            assert_eq!(e.codes(), vec![ErrorCode::InvalidOption], "{bad}");
        }
        assert_eq!(UserTimeZone::or_utc("Nowhere").name(), "UTC");
        let names = time_zone_names();
        assert!(names.iter().any(|n| n == "Europe/Rome"));
        assert!(names.iter().any(|n| n == "UTC"));
    }
    #[test]
    fn date_inputs_are_midnight_utc_in_every_zone() {
        // 7 Dec 2026 is 1_796_601_600_000 at 00:00 UTC (HubSpot's stored form of the day).
        let day = 1_796_601_600_000;
        assert_eq!(parse_date_input("2026-12-07"), Some(day));
        assert_eq!(parse_date_input(" 2026-12-07 "), Some(day));
        assert_eq!(date_input_value(day).as_deref(), Some("2026-12-07"));
        // Any moment of that UTC day shows that day, whoever reads it.
        assert_eq!(date_input_value(AT).as_deref(), Some("2026-12-07"));
        assert_eq!(date_input_value(day - 1).as_deref(), Some("2026-12-06"));
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30",
            "07/12/2026",
            "2026-12-07T10:00",
            "tomorrow",
        ] {
            assert_eq!(parse_date_input(bad), None, "{bad}");
        }
    }

    #[test]
    fn datetime_inputs_are_wall_clock_times_in_the_users_zone() {
        let tz = rome();
        // 14:05 in Rome on 7 Dec is 13:05 UTC.
        assert_eq!(parse_datetime_input("2026-12-07T14:05", &tz), Some(AT));
        assert_eq!(parse_datetime_input("2026-12-07 14:05", &tz), Some(AT));
        assert_eq!(
            parse_datetime_input("2026-12-07T14:05:30", &tz),
            Some(AT + 30_000)
        );
        assert_eq!(
            parse_datetime_input("2026-12-07T14:05", &UserTimeZone::utc()),
            Some(AT + HOUR)
        );
        // Shown back the same way; seconds only when there are some.
        assert_eq!(
            datetime_input_value(AT, &tz).as_deref(),
            Some("2026-12-07T14:05")
        );
        assert_eq!(
            datetime_input_value(AT + 30_000, &tz).as_deref(),
            Some("2026-12-07T14:05:30")
        );
        assert_eq!(
            datetime_input_value(AT, &UserTimeZone::utc()).as_deref(),
            Some("2026-12-07T13:05")
        );
        // Summer time: 10 July, 15:05 in Rome is 13:05 UTC.
        let july = parse_datetime_input("2026-07-10T15:05", &tz).unwrap();
        assert_eq!(july, AT - 150 * DAY);
        // 02:30 on 29 March 2026 does not exist in Rome: moved forward to 03:30 (+02:00).
        assert_eq!(
            parse_datetime_input("2026-03-29T02:30", &tz),
            parse_datetime_input("2026-03-29T03:30", &tz)
        );
        for bad in [
            "",
            "2026-12-07",
            "2026-12-07T14",
            "2026-12-07T25:00",
            "2026-12-07T14:05Z",
            "2026-12-07T14:05+01:00",
            "2026-12-07T14:05:00.5",
            "7 Dec 2026, 14:05",
            "1796648700000",
        ] {
            assert_eq!(parse_datetime_input(bad, &tz), None, "{bad}");
        }
    }
}
