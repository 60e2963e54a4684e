//! The business's time zone, in one place: Buenos Aires, UTC−3 all year (Argentina has
//! had no daylight saving since 2009). Everything stored is UTC; what people read, the
//! day prices and bookings go by, and the vets' weekly hours are local.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

/// The zone's IANA name, for PostgreSQL's `AT TIME ZONE`.
pub const ZONE: &str = "America/Argentina/Buenos_Aires";

/// Seconds west of UTC.
const OFFSET_WEST_SECS: i32 = 3 * 3600;

/// The zone's offset, UTC−3.
pub fn offset() -> FixedOffset {
    FixedOffset::west_opt(OFFSET_WEST_SECS)
        .unwrap_or_else(|| unreachable!("UTC−3 is a valid offset"))
}

/// `at` in local time.
pub fn local(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&offset())
}

/// The local date of `at`.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    local(at).date_naive()
}

/// A local date and time, as UTC.
pub fn to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    (local + chrono::Duration::seconds(i64::from(OFFSET_WEST_SECS))).and_utc()
}

/// `lunes 30/11/2026 a las 10:00` in Buenos Aires time.
pub fn local_long(at: DateTime<Utc>) -> String {
    const DAYS: [&str; 7] = [
        "lunes",
        "martes",
        "miércoles",
        "jueves",
        "viernes",
        "sábado",
        "domingo",
    ];
    let local = local(at);
    let day = DAYS[chrono::Datelike::weekday(&local).num_days_from_monday() as usize];
    format!("{day} {}", local.format("%d/%m/%Y a las %H:%M"))
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Timelike, Utc};

    use super::*;

    #[test]
    fn buenos_aires_is_three_hours_behind_utc_all_year() {
        for month in [1, 7] {
            let noon = Utc
                .with_ymd_and_hms(2026, month, 15, 12, 0, 0)
                .single()
                .expect("time");
            assert_eq!(local(noon).hour(), 9);
        }
        // 01:00 UTC is still the previous day there.
        let late = Utc
            .with_ymd_and_hms(2026, 12, 2, 1, 0, 0)
            .single()
            .expect("time");
        assert_eq!(
            local_date(late),
            NaiveDate::from_ymd_opt(2026, 12, 1).expect("date")
        );
        let ten = NaiveDate::from_ymd_opt(2026, 12, 1)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .expect("time");
        assert_eq!(to_utc(ten).hour(), 13);
    }
}
