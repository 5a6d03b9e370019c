//! Timestamps read without a format search. SQLite keeps a timestamp as text,
//! and diesel reads it by trying up to eighteen `strftime` formats with
//! `chrono`'s `parse_from_str`, each parsing its format string first: on a
//! page of fifty orders with eleven timestamp columns, and the list's merge
//! keys, that was a fifth of the Smart Account Orders page. The portal
//! writes one shape, `YYYY-MM-DD HH:MM:SS[.fraction]` (diesel's own, and
//! SQLite's `CURRENT_TIMESTAMP`), and `Stamp` reads that shape directly;
//! anything else goes to diesel's reader, so no stored value reads
//! differently. PostgreSQL's binary timestamps go to diesel unchanged.
//!
//! Use it where rows are read in bulk: `Stamp` / `MaybeStamp` as a tuple's
//! type, or as a field's `#[diesel(deserialize_as = …)]`.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::deserialize::{self, FromSql};
use diesel::sql_types::{Nullable, Timestamp};
use diesel::sqlite::SqliteType;

use super::multi_connection_impl::{MultiBackend, MultiRawValue};

/// A `Timestamp` column's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, diesel::deserialize::FromSqlRow)]
pub struct Stamp(pub NaiveDateTime);

/// A `Nullable<Timestamp>` column's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, diesel::deserialize::FromSqlRow)]
pub struct MaybeStamp(pub Option<NaiveDateTime>);

impl From<Stamp> for NaiveDateTime {
    fn from(s: Stamp) -> NaiveDateTime {
        s.0
    }
}

impl From<MaybeStamp> for Option<NaiveDateTime> {
    fn from(s: MaybeStamp) -> Option<NaiveDateTime> {
        s.0
    }
}

impl FromSql<Timestamp, MultiBackend> for Stamp {
    fn from_sql(value: MultiRawValue<'_>) -> deserialize::Result<Self> {
        match value {
            MultiRawValue::Sqlite(mut v) => {
                if v.value_type() == Some(SqliteType::Text) {
                    if let Some(t) = parse(v.read_text()) {
                        return Ok(Stamp(t));
                    }
                }
                <NaiveDateTime as FromSql<Timestamp, diesel::sqlite::Sqlite>>::from_sql(v).map(Stamp)
            }
            MultiRawValue::Postgresql(v) => <NaiveDateTime as FromSql<Timestamp, diesel::pg::Pg>>::from_sql(v).map(Stamp),
        }
    }
}

impl FromSql<Nullable<Timestamp>, MultiBackend> for MaybeStamp {
    fn from_sql(value: MultiRawValue<'_>) -> deserialize::Result<Self> {
        <Stamp as FromSql<Timestamp, MultiBackend>>::from_sql(value).map(|s| MaybeStamp(Some(s.0)))
    }

    fn from_nullable_sql(value: Option<MultiRawValue<'_>>) -> deserialize::Result<Self> {
        match value {
            None => Ok(MaybeStamp(None)),
            Some(v) => Self::from_sql(v),
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` with an optional fraction of 1 to 9 digits, or
/// nothing (the caller then asks diesel).
pub fn parse(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let nanos = match &b[19..] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => num(20, b.len())? * 10u32.pow(9 - digits.len() as u32),
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    date.and_hms_nano_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What diesel's own SQLite reader makes of the same text.
    fn diesel_reads(s: &str) -> Option<NaiveDateTime> {
        ["%F %T%.f", "%F %T"].iter().find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    }

    #[test]
    fn reads_what_the_portal_writes_as_diesel_does() {
        for s in [
            "2026-10-02 15:38:00",
            "2026-10-02 15:38:00.5",
            "2026-10-02 15:38:00.123",
            "2026-10-02 15:38:00.123456",
            "2026-10-02 15:38:00.123456789",
            "1999-12-31 23:59:59",
            "2024-02-29 00:00:00",
        ] {
            assert_eq!(parse(s), diesel_reads(s), "{s}");
            assert!(parse(s).is_some(), "{s}");
        }
        let written = chrono::Utc::now().naive_utc();
        assert_eq!(parse(&written.format("%F %T%.f").to_string()), Some(written));
    }

    #[test]
    fn leaves_every_other_shape_to_diesel() {
        for s in [
            "",
            "2026-10-02",
            "2026-10-02T15:38:00",
            "2026-10-02 15:38:00Z",
            "2026-10-02 15:38:00+00:00",
            "2026-10-02 15:38:00.",
            "2026-10-02 15:38:00.1234567890",
            "2026-13-02 15:38:00",
            "2023-02-29 15:38:00",
            "2026-10-02 24:38:00",
            "2026-10-02 15:60:00",
            "2026-1a-02 15:38:00",
            "2026-10-02 15:38",
            "+2026-10-02 15:38:00",
            "2459000.5",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }
}
