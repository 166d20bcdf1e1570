//! Report periods: the whole range, and calendar months, ISO weeks (Monday first) and days in the
//! report's time zone.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeriodKind {
    All,
    Month,
    Week,
    Day,
}

impl PeriodKind {
    pub const ALL: [PeriodKind; 4] =
        [PeriodKind::All, PeriodKind::Month, PeriodKind::Week, PeriodKind::Day];

    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::All => "all",
            PeriodKind::Month => "month",
            PeriodKind::Week => "week",
            PeriodKind::Day => "day",
        }
    }

    /// First day of the period holding `day` (for `All`, `range_start`).
    pub fn start(self, day: NaiveDate, range_start: NaiveDate) -> NaiveDate {
        match self {
            PeriodKind::All => range_start,
            PeriodKind::Month => day.with_day(1).expect("day 1 exists"),
            PeriodKind::Week => {
                day - chrono::Days::new(u64::from(day.weekday().num_days_from_monday()))
            }
            PeriodKind::Day => day,
        }
    }

    /// First day of the period before the one starting at `start` (None for `All`).
    pub fn previous(self, start: NaiveDate) -> Option<NaiveDate> {
        match self {
            PeriodKind::All => None,
            PeriodKind::Month => start.checked_sub_months(chrono::Months::new(1)),
            PeriodKind::Week => start.checked_sub_days(chrono::Days::new(7)),
            PeriodKind::Day => start.checked_sub_days(chrono::Days::new(1)),
        }
    }
}

/// The local calendar day of an instant in the report's time zone.
pub fn local_day(t: DateTime<Utc>, tz: Tz) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2026-11-26 is a Thursday
        assert_eq!(PeriodKind::Week.start(d("2026-11-26"), d("2026-01-01")), d("2026-11-23"));
        assert_eq!(PeriodKind::Week.start(d("2026-11-23"), d("2026-01-01")), d("2026-11-23"));
        assert_eq!(PeriodKind::Month.start(d("2026-11-26"), d("2026-01-01")), d("2026-11-01"));
        assert_eq!(PeriodKind::All.start(d("2026-11-26"), d("2026-11-02")), d("2026-11-02"));
        assert_eq!(PeriodKind::Month.previous(d("2026-03-01")), Some(d("2026-02-01")));
        assert_eq!(PeriodKind::Week.previous(d("2026-11-23")), Some(d("2026-11-16")));
    }

    #[test]
    fn the_day_is_the_local_day_of_the_report_time_zone() {
        let t: DateTime<Utc> = "2026-11-01T17:30:00Z".parse().unwrap();
        assert_eq!(local_day(t, Tz::UTC), d("2026-11-01"));
        assert_eq!(local_day(t, chrono_tz::Asia::Shanghai), d("2026-11-02"));
        assert_eq!(local_day(t, chrono_tz::America::New_York), d("2026-11-01"));
    }
}
