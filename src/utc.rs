//! Civil UTC dates from Unix seconds and back, for the formats toll writes itself (SigV4's
//! `X-Amz-Date`, curl's HSTS and Alt-Svc cache files) and the loose ones curl reads (`-z`, a
//! cookie's `Expires`): proleptic Gregorian, no leap seconds, any year.

/// `(year, month, day, hour, minute, second)` of `unix` seconds (H. Hinnant's
/// `civil_from_days`).
pub fn civil(unix: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, secs / 3600, secs / 60 % 60, secs % 60)
}

/// The Unix seconds of a civil date and time (H. Hinnant's `days_from_civil`); the fields are
/// taken as given (the caller checks their ranges).
pub fn unix(y: i64, m: i64, d: i64, hour: i64, minute: i64, second: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * 86_400 + hour * 3600 + minute * 60 + second
}

/// A date in curl's cache files (`--hsts`, `--alt-svc`), `YYYYMMDD HH:MM:SS` UTC, as Unix
/// seconds; `None` for anything else (curl reads other forms too; toll only the one it writes).
pub fn parse_curl_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 17 || b[8] != b' ' || b[11] != b':' || b[14] != b':' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let (y, mo, d, h, mi, se) = (n(0..4)?, n(4..6)?, n(6..8)?, n(9..11)?, n(12..14)?, n(15..17)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    Some(unix(y, mo, d, h, mi, se))
}

/// The date forms curl_getdate takes besides HTTP's (for `-z` and a cookie's `Expires`), as
/// Unix seconds: a day, a month name and a year in any order ('Wed 01 Sep 2021 12:18:00',
/// '1994 Nov 6', '06-Nov-94', 'Wed, 21-Oct-2015 07:28:00 GMT', '20040912 15:05:58 -0700'), an
/// optional HH:MM[:SS], an optional zone (GMT/UTC or ±HHMM); no zone means GMT, as in curl.
/// A weekday name is skipped. Anything else (a file name) is not a date, nor is one before 1970.
pub fn parse_loose(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] =
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let (mut year, mut month, mut day, mut secs, mut offset) = (None, None, None, 0i64, 0i64);
    // A zone (`+0200`, `-0700`) stays whole; other words split at '-' and '.' too.
    let is_zone =
        |t: &str| t.len() == 5 && t.starts_with(['+', '-']) && t[1..].chars().all(|c| c.is_ascii_digit());
    let tokens = s.split([' ', ',', '/', '\t']).flat_map(|t| {
        let parts: Vec<&str> = if is_zone(t) { vec![t] } else { t.split(['-', '.']).collect() };
        parts
    });
    for tok in tokens.filter(|t| !t.is_empty()) {
        let lower = tok.to_ascii_lowercase();
        if let Some(m) = MONTHS.iter().position(|m| lower.starts_with(m) && lower.len() <= 9) {
            month = Some(m as i64 + 1);
        } else if DAYS.iter().any(|d| lower.starts_with(d) && lower.len() <= 9)
            || lower == "gmt"
            || lower == "utc"
        {
        } else if tok.contains(':') {
            let parts: Vec<i64> = tok.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
            let (h, m, sec) = match parts[..] {
                [h, m] => (h, m, 0),
                [h, m, sec] => (h, m, sec),
                _ => return None,
            };
            (h < 24 && m < 60 && sec < 61).then_some(())?;
            secs = h * 3600 + m * 60 + sec;
        } else if is_zone(tok) {
            let z: i64 = tok[1..].parse().ok()?;
            let sign = if tok.starts_with('-') { 1 } else { -1 };
            offset = sign * (z / 100 * 3600 + z % 100 * 60);
        } else if tok.len() == 8 && tok.chars().all(|c| c.is_ascii_digit()) && year.is_none() {
            let n: i64 = tok.parse().ok()?;
            (year, month, day) = (Some(n / 10000), Some(n / 100 % 100), Some(n % 100));
        } else if tok.chars().all(|c| c.is_ascii_digit()) && tok.len() <= 4 {
            let n: i64 = tok.parse().ok()?;
            match (tok.len(), day) {
                (3 | 4, _) => year = Some(n),
                (_, None) if (1..=31).contains(&n) => day = Some(n),
                (2, Some(_)) if year.is_none() => year = Some(if n >= 70 { 1900 + n } else { 2000 + n }),
                _ => return None,
            }
        } else {
            return None;
        }
    }
    let (y, m, d) = (year?, month?, day?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || y < 1970 {
        return None;
    }
    Some(unix(y, m, d, 0, 0, 0) + secs + offset)
}

/// Unix seconds as curl writes them in those files (`%d%02d%02d %02d:%02d:%02d`: a year past
/// 9999 has more digits, and reads back as no date).
pub fn curl_date(t: i64) -> String {
    // Beyond ±2^55 seconds the civil computation would overflow; no real date is there.
    let (y, m, d, hour, minute, second) = civil(t.clamp(-(1 << 55), 1 << 55));
    format!("{y:04}{m:02}{d:02} {hour:02}:{minute:02}:{second:02}")
}

/// The system clock, in Unix seconds (0 before 1970).
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_across_eras_and_leap_days() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(-1), (1969, 12, 31, 23, 59, 59));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        for t in [-62_135_596_800, -1, 0, 951_782_399, 1_800_000_000, 253_402_300_799] {
            let (y, m, d, h, mi, s) = civil(t);
            assert_eq!(unix(y, m, d, h, mi, s), t);
        }
    }
}
