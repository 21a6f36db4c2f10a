//! `weekdayRange`, `dateRange` and `timeRange` on an injected clock. Semantics follow Chrome and
//! Firefox: a range whose start is after its end wraps around (the week, the year, the month, the
//! day); a last argument `"GMT"` means UTC instead of local time; names are upper case (`"MON"`,
//! `"JAN"`); numbers may be given as strings. Where the browsers' shared JavaScript has accidents
//! (a month-only end bound `dateRange("JAN","FEB")` runs into early March because it sets the
//! month on "December 31"; a two-hour `timeRange(22, 6)` never matches in Firefox), toll does what
//! the range says: the end of the month, and a range that wraps past midnight.

use crate::env::{days_in_month, Now, Tm};

/// A PAC argument, as far as the date functions care.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Num(f64),
    Str(String),
    Other,
}

impl Arg {
    fn is_gmt(&self) -> bool {
        matches!(self, Arg::Str(s) if s == "GMT")
    }

    /// JavaScript's `parseInt`: leading white space, a sign, digits.
    fn parse_int(&self) -> Option<i64> {
        match self {
            Arg::Num(n) if n.is_finite() => Some(n.trunc() as i64),
            Arg::Str(s) => {
                let t = s.trim_start();
                let (neg, digits) = match t.strip_prefix('-') {
                    Some(r) => (true, r),
                    None => (false, t.strip_prefix('+').unwrap_or(t)),
                };
                let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
                let n: i64 = digits[..end.min(12)].parse().ok()?;
                Some(if neg { -n } else { n })
            }
            _ => None,
        }
    }

    /// JavaScript's `Number()` for the values PACs pass (numbers and numeric strings).
    fn number(&self) -> Option<f64> {
        match self {
            Arg::Num(n) => Some(*n),
            Arg::Str(s) if s.trim().is_empty() => Some(0.0),
            Arg::Str(s) => s.trim().parse().ok(),
            Arg::Other => None,
        }
    }
}

const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTHS: [&str; 12] =
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

fn name_index(names: &[&str], arg: &Arg) -> Option<u8> {
    match arg {
        Arg::Str(s) => names.iter().position(|n| n == s).map(|i| i as u8),
        _ => None,
    }
}

/// Splits off a trailing `"GMT"` and picks the clock.
fn clock<'a>(args: &'a [Arg], now: &Now) -> (&'a [Arg], Tm) {
    match args.split_last() {
        Some((last, rest)) if last.is_gmt() => (rest, now.utc),
        _ => (args, now.local),
    }
}

/// Whether `x` lies in `[lo, hi]`, or outside `(hi, lo)` when the range wraps.
fn in_range<T: PartialOrd>(lo: T, x: T, hi: T) -> bool {
    if lo <= hi {
        lo <= x && x <= hi
    } else {
        x >= lo || x <= hi
    }
}

/// `weekdayRange(wd1 [, wd2] [, "GMT"])`.
pub fn weekday_range(args: &[Arg], now: &Now) -> bool {
    let (args, t) = clock(args, now);
    let (Some(first), rest) = (args.first(), args.get(1..).unwrap_or_default()) else {
        return false;
    };
    let Some(wd1) = name_index(&DAYS, first) else { return false };
    let wd2 = match rest {
        [] => wd1,
        [second] => match name_index(&DAYS, second) {
            Some(d) => d,
            None => return false,
        },
        _ => return false,
    };
    in_range(wd1, t.weekday, wd2)
}

/// `timeRange(h1 [, h2])`, `timeRange(h1, m1, h2, m2)`, `timeRange(h1, m1, s1, h2, m2, s2)`, each
/// optionally followed by `"GMT"`. An hour-only range includes its whole last hour.
pub fn time_range(args: &[Arg], now: &Now) -> bool {
    let (args, t) = clock(args, now);
    let mut n = Vec::with_capacity(args.len());
    for a in args {
        match a.number() {
            Some(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < 60.0 => n.push(v as u32),
            _ => return false,
        }
    }
    let x = (u32::from(t.hour), u32::from(t.minute), u32::from(t.second));
    let (lo, hi) = match n[..] {
        [h] => ((h, 0, 0), (h, 59, 59)),
        [h1, h2] => ((h1, 0, 0), (h2, 59, 59)),
        [h1, m1, h2, m2] => ((h1, m1, 0), (h2, m2, 59)),
        [h1, m1, s1, h2, m2, s2] => ((h1, m1, s1), (h2, m2, s2)),
        _ => return false,
    };
    in_range(lo, x, hi)
}

/// `dateRange(…)`: one value (a day 1–31, a month name or a year), or two bounds of one to three
/// fields each (day, month, year in that order), optionally followed by `"GMT"`.
pub fn date_range(args: &[Arg], now: &Now) -> bool {
    let (args, t) = clock(args, now);
    if args.is_empty() || args.len() > 6 {
        return false;
    }
    if let [only] = args {
        return match field(only) {
            Some(Field::Day(d)) => i64::from(t.day) == d,
            Some(Field::Month(m)) => t.month == m,
            Some(Field::Year(y)) => i64::from(t.year) == y,
            None => false,
        };
    }
    // A bound is (year, month, day, hh, mm, ss); fields not given come from the current year,
    // January 1 00:00:00 for the start and December 31 23:59:59 for the end.
    let mid = args.len() / 2;
    let (Some(first), Some(second)) = (fields(&args[..mid]), fields(&args[mid..])) else {
        return false;
    };
    let day_only =
        first.month.is_none() && first.year.is_none() && second.month.is_none() && second.year.is_none();
    let year = i64::from(t.year);
    let (lo_month, hi_month) =
        if day_only { (t.month, t.month) } else { (first.month.unwrap_or(1), second.month.unwrap_or(12)) };
    let lo_year = first.year.unwrap_or(year);
    let hi_year = second.year.unwrap_or(year);
    let lo = (lo_year, lo_month, first.day.unwrap_or(1), 0u8, 0u8, 0u8);
    let hi_day = second.day.unwrap_or_else(|| i64::from(days_in_month(hi_year as i32, hi_month)));
    let hi = (hi_year, hi_month, hi_day, 23u8, 59u8, 59u8);
    let x = (year, t.month, i64::from(t.day), t.hour, t.minute, t.second);
    in_range(lo, x, hi)
}

enum Field {
    Day(i64),
    Month(u8),
    Year(i64),
}

/// As the browsers read a `dateRange` argument: not a number → a month name; below 32 → a day;
/// else a year.
fn field(arg: &Arg) -> Option<Field> {
    match arg.parse_int() {
        None => name_index(&MONTHS, arg).map(|m| Field::Month(m + 1)),
        Some(n) if (1..32).contains(&n) => Some(Field::Day(n)),
        Some(n) if n >= 32 => Some(Field::Year(n)),
        Some(_) => None,
    }
}

#[derive(Default)]
struct Fields {
    day: Option<i64>,
    month: Option<u8>,
    year: Option<i64>,
}

fn fields(args: &[Arg]) -> Option<Fields> {
    let mut f = Fields::default();
    for a in args {
        match field(a)? {
            Field::Day(d) if f.day.is_none() => f.day = Some(d),
            Field::Month(m) if f.month.is_none() => f.month = Some(m),
            Field::Year(y) if f.year.is_none() => f.year = Some(y),
            _ => return None,
        }
    }
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(local: &str, utc: &str) -> Now {
        Now { local: Tm::parse(local).unwrap(), utc: Tm::parse(utc).unwrap() }
    }

    fn s(v: &str) -> Arg {
        Arg::Str(v.into())
    }

    fn n(v: f64) -> Arg {
        Arg::Num(v)
    }

    // 2026-12-01 is a Tuesday.
    const TUE: &str = "2026-12-01T10:30:00";

    #[test]
    fn weekdays() {
        let now = at(TUE, TUE);
        assert!(weekday_range(&[s("TUE")], &now));
        assert!(!weekday_range(&[s("MON")], &now));
        assert!(weekday_range(&[s("MON"), s("FRI")], &now));
        assert!(!weekday_range(&[s("WED"), s("FRI")], &now));
        // Wrapping around the week.
        assert!(weekday_range(&[s("FRI"), s("TUE")], &now));
        assert!(!weekday_range(&[s("WED"), s("MON")], &now));
        assert!(!weekday_range(&[s("tue")], &now), "names are upper case");
        assert!(!weekday_range(&[], &now));
        assert!(!weekday_range(&[s("GMT")], &now));
    }

    #[test]
    fn gmt_picks_utc() {
        // Local Monday 23:00, UTC Tuesday 04:00.
        let now = at("2026-11-30T23:00:00", "2026-12-01T04:00:00");
        assert!(weekday_range(&[s("MON")], &now));
        assert!(weekday_range(&[s("TUE"), s("GMT")], &now));
        assert!(time_range(&[n(23.0)], &now));
        assert!(time_range(&[n(4.0), s("GMT")], &now));
        assert!(date_range(&[s("NOV")], &now));
        assert!(date_range(&[s("DEC"), s("GMT")], &now));
    }

    #[test]
    fn times() {
        let now = at(TUE, TUE);
        assert!(time_range(&[n(10.0)], &now));
        assert!(time_range(&[n(9.0), n(17.0)], &now));
        assert!(time_range(&[s("9"), s("10")], &now), "numeric strings");
        assert!(!time_range(&[n(11.0), n(17.0)], &now));
        assert!(time_range(&[n(22.0), n(10.0)], &now), "wraps past midnight");
        assert!(!time_range(&[n(22.0), n(9.0)], &now));
        assert!(time_range(&[n(10.0), n(30.0), n(11.0), n(0.0)], &now));
        assert!(!time_range(&[n(10.0), n(31.0), n(11.0), n(0.0)], &now));
        assert!(time_range(&[n(10.0), n(30.0), n(0.0), n(10.0), n(30.0), n(0.0)], &now));
        assert!(!time_range(&[n(10.0), n(30.0), n(1.0), n(10.0), n(30.0), n(59.0)], &now));
        assert!(!time_range(&[n(1.0), n(2.0), n(3.0)], &now));
        assert!(!time_range(&[s("x")], &now));
    }

    #[test]
    fn dates() {
        let now = at(TUE, TUE); // 2026-12-01
        assert!(date_range(&[n(1.0)], &now));
        assert!(date_range(&[s("DEC")], &now));
        assert!(date_range(&[n(2026.0)], &now));
        assert!(!date_range(&[n(2025.0)], &now));
        assert!(date_range(&[s("NOV"), s("DEC")], &now));
        assert!(date_range(&[s("DEC"), s("JAN")], &now), "wraps around the year");
        assert!(!date_range(&[s("JAN"), s("NOV")], &now));
        assert!(date_range(&[n(1.0), n(15.0)], &now));
        assert!(date_range(&[n(25.0), n(5.0)], &now), "wraps around the month");
        assert!(!date_range(&[n(2.0), n(30.0)], &now));
        assert!(date_range(&[n(1.0), s("DEC"), n(31.0), s("DEC")], &now));
        assert!(!date_range(&[n(2.0), s("DEC"), n(31.0), s("DEC")], &now));
        assert!(date_range(&[s("JUN"), n(2026.0), s("JAN"), n(2027.0)], &now));
        assert!(date_range(&[n(1.0), s("DEC"), n(2026.0), n(1.0), s("DEC"), n(2026.0)], &now));
        assert!(!date_range(&[n(2.0), s("DEC"), n(2026.0), n(1.0), s("JAN"), n(2027.0)], &now));
        assert!(date_range(&[n(2020.0), n(2030.0)], &now));
        assert!(!date_range(&[s("XYZ")], &now));
        assert!(!date_range(&[s("JAN"), s("XYZ")], &now));
    }

    #[test]
    fn month_end_bound_is_the_last_day_of_that_month() {
        let now = at("2026-03-02T12:00:00", "2026-03-02T12:00:00");
        assert!(!date_range(&[s("JAN"), s("FEB")], &now));
        let now = at("2024-02-29T12:00:00", "2024-02-29T12:00:00");
        assert!(date_range(&[s("JAN"), s("FEB")], &now));
    }
}
