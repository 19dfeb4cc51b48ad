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
}
