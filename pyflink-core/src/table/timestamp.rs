//! Timestamps of table rows (milliseconds since the epoch) written as Flink writes them: as
//! Java's `LocalDateTime` and `Instant` print in rows (`2020-04-15T08:05`,
//! `2020-04-15T08:05:00Z`), and in SQL's form in tables (`2020-04-15 08:05:00.000`).

/// The civil date and time of a timestamp.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
    millis: i64,
}

impl Civil {
    fn of(millis: i64) -> Civil {
        let days = millis.div_euclid(86_400_000);
        let of_day = millis.rem_euclid(86_400_000);
        let (year, month, day) = date_of_day(days);
        Civil {
            year,
            month,
            day,
            hour: of_day / 3_600_000,
            minute: of_day / 60_000 % 60,
            second: of_day / 1000 % 60,
            millis: of_day % 1000,
        }
    }

    fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01, by whole eras of 400 years
/// (146097 days), which repeat the calendar exactly.
fn date_of_day(days: i64) -> (i64, u32, u32) {
    // Count from 0000-03-01, so that the leap day ends each year of the count.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// As Java's `LocalDateTime.toString()`: seconds only when not zero, milliseconds only when
/// not zero (`2020-04-15T08:05`, `2020-04-15T08:05:30.500`).
pub fn local_date_time_string(millis: i64) -> String {
    let civil = Civil::of(millis);
    let mut text = format!("{}T{:02}:{:02}", civil.date(), civil.hour, civil.minute);
    if civil.second != 0 || civil.millis != 0 {
        text.push_str(&format!(":{:02}", civil.second));
    }
    if civil.millis != 0 {
        text.push_str(&format!(".{:03}", civil.millis));
    }
    text
}

/// As Java's `Instant.toString()`: always with seconds, milliseconds when not zero, and `Z`.
pub fn instant_string(millis: i64) -> String {
    let civil = Civil::of(millis);
    let mut text = format!("{}T{:02}:{:02}:{:02}", civil.date(), civil.hour, civil.minute, civil.second);
    if civil.millis != 0 {
        text.push_str(&format!(".{:03}", civil.millis));
    }
    text.push('Z');
    text
}

/// SQL's form with `fraction_digits` (0 to 3) of the second: `2020-04-15 08:05:00.000`.
pub fn sql_timestamp_string(millis: i64, fraction_digits: usize) -> String {
    let civil = Civil::of(millis);
    let mut text = format!("{} {:02}:{:02}:{:02}", civil.date(), civil.hour, civil.minute, civil.second);
    if fraction_digits > 0 {
        let fraction = format!("{:03}", civil.millis);
        text.push('.');
        text.push_str(&fraction[..fraction_digits.min(3)]);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_gregorian_calendar() {
        assert_eq!(sql_timestamp_string(0, 3), "1970-01-01 00:00:00.000");
        assert_eq!(sql_timestamp_string(-1, 3), "1969-12-31 23:59:59.999");
        // 2000 is a leap year, 1900 and 2100 are not.
        assert_eq!(sql_timestamp_string(951_782_400_000, 0), "2000-02-29 00:00:00");
        assert_eq!(sql_timestamp_string(4_107_542_400_000, 0), "2100-03-01 00:00:00");
        assert_eq!(sql_timestamp_string(-2_203_891_200_000, 0), "1900-03-01 00:00:00");
        assert_eq!(sql_timestamp_string(1_586_937_900_123, 1), "2020-04-15 08:05:00.1");
    }

    #[test]
    fn java_forms_leave_out_zero_seconds_and_millis() {
        assert_eq!(local_date_time_string(1_586_937_900_000), "2020-04-15T08:05");
        assert_eq!(local_date_time_string(1_586_937_930_000), "2020-04-15T08:05:30");
        assert_eq!(local_date_time_string(1_586_937_900_500), "2020-04-15T08:05:00.500");
        assert_eq!(instant_string(1_586_937_900_000), "2020-04-15T08:05:00Z");
        assert_eq!(instant_string(1_586_937_900_007), "2020-04-15T08:05:00.007Z");
    }
}
