//! Usage over time: one figure per day, product and VA (owned and in use),
//! kept by the background worker. Safe on several instances: a day's row is
//! unique per (VA, product, day); each instance writes the same figures, an
//! insert that loses the race becomes an update.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;

use crate::db::ids::ids_in;
use crate::db::schema::{license_figures, license_usage_daily};
use crate::db::DbConnection;
use crate::domain::error::DomainResult;

/// Writes today's figures for every (VA, product) that owns or uses licenses.
pub fn record_day(conn: &mut DbConnection, day: NaiveDate) -> DomainResult<usize> {
    let figures: Vec<(i64, i64, String, i64, i64)> = license_figures::table
        .filter(license_figures::owned.ne(0).or(license_figures::in_use.ne(0)))
        .select((
            license_figures::smart_account_id,
            license_figures::virtual_account_id,
            license_figures::license_name,
            license_figures::owned,
            license_figures::in_use,
        ))
        .load(conn)?;
    let mut written = 0;
    for (account, va, name, owned, in_use) in figures {
        written += write(conn, account, va, &name, day, owned as i32, in_use as i32)?;
    }
    Ok(written)
}

/// Writes one day's figure (update, else insert; a lost insert race updates).
pub fn write(conn: &mut DbConnection, account: i64, va: i64, name: &str, day: NaiveDate, owned: i32, in_use: i32) -> DomainResult<usize> {
    let update = |conn: &mut DbConnection| {
        diesel::update(
            license_usage_daily::table
                .filter(license_usage_daily::virtual_account_id.eq(va))
                .filter(license_usage_daily::license_name.eq(name))
                .filter(license_usage_daily::day.eq(day)),
        )
        .set((license_usage_daily::owned.eq(owned), license_usage_daily::in_use.eq(in_use)))
        .execute(conn)
    };
    if update(conn)? > 0 {
        return Ok(1);
    }
    let inserted = crate::db::transaction(conn, |conn| {
        diesel::insert_into(license_usage_daily::table)
            .values((
                license_usage_daily::smart_account_id.eq(account),
                license_usage_daily::virtual_account_id.eq(va),
                license_usage_daily::license_name.eq(name),
                license_usage_daily::day.eq(day),
                license_usage_daily::owned.eq(owned),
                license_usage_daily::in_use.eq(in_use),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(n) => Ok(n),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => Ok(update(conn)?),
        Err(e) => Err(e.into()),
    }
}

/// One product's daily figures, summed over some VAs.
#[derive(Debug, Clone)]
pub struct Series {
    pub license_name: String,
    /// (day, owned, in use), oldest first, one per day of the window (gaps carry the last figure).
    pub points: Vec<(NaiveDate, i64, i64)>,
}

/// The last `days` days up to `today` for some VAs of an account.
pub fn series(conn: &mut DbConnection, account: i64, vas: &[i64], today: NaiveDate, days: i64) -> DomainResult<Vec<Series>> {
    let from = today - Duration::days(days - 1);
    let rows: Vec<(String, NaiveDate, i32, i32)> = license_usage_daily::table
        .filter(license_usage_daily::smart_account_id.eq(account))
        .filter(ids_in(license_usage_daily::virtual_account_id, vas))
        .filter(license_usage_daily::day.ge(from))
        .filter(license_usage_daily::day.le(today))
        .order((license_usage_daily::license_name, license_usage_daily::day))
        .select((license_usage_daily::license_name, license_usage_daily::day, license_usage_daily::owned, license_usage_daily::in_use))
        .load(conn)?;
    let mut by: std::collections::BTreeMap<String, std::collections::BTreeMap<NaiveDate, (i64, i64)>> = Default::default();
    for (name, day, owned, in_use) in rows {
        let e = by.entry(name).or_default().entry(day).or_default();
        e.0 += i64::from(owned);
        e.1 += i64::from(in_use);
    }
    Ok(by
        .into_iter()
        .map(|(license_name, days_map)| {
            let first = *days_map.keys().next().expect("non-empty");
            let mut points = Vec::new();
            let mut last = (0, 0);
            let mut d = first;
            while d <= today {
                if let Some(v) = days_map.get(&d) {
                    last = *v;
                }
                points.push((d, last.0, last.1));
                d += Duration::days(1);
            }
            Series { license_name, points }
        })
        .collect())
}

/// An SVG line chart of owned against in use, drawn by the portal.
#[derive(Debug, Clone)]
pub struct Chart {
    pub license_name: String,
    pub width: i64,
    pub height: i64,
    pub owned_points: String,
    pub in_use_points: String,
    pub max: i64,
    pub first_day: String,
    pub last_day: String,
    pub rows: Vec<(String, i64, i64)>,
}

pub fn chart(s: &Series) -> Chart {
    let (w, h, pad) = (600i64, 200i64, 30i64);
    let max = s.points.iter().map(|p| p.1.max(p.2)).max().unwrap_or(0).max(1);
    // A single day is drawn as a flat line across the chart.
    let drawn: Vec<(NaiveDate, i64, i64)> = if s.points.len() == 1 { vec![s.points[0], s.points[0]] } else { s.points.clone() };
    let n = drawn.len().max(2) as i64 - 1;
    let xy = |i: usize, v: i64| {
        let x = pad + (i as i64 * (w - 2 * pad)) / n.max(1);
        let y = h - pad - (v * (h - 2 * pad)) / max;
        format!("{x},{y}")
    };
    let owned_points = drawn.iter().enumerate().map(|(i, p)| xy(i, p.1)).collect::<Vec<_>>().join(" ");
    let in_use_points = drawn.iter().enumerate().map(|(i, p)| xy(i, p.2)).collect::<Vec<_>>().join(" ");
    Chart {
        license_name: s.license_name.clone(),
        width: w,
        height: h,
        owned_points,
        in_use_points,
        max,
        first_day: s.points.first().map(|p| p.0.to_string()).unwrap_or_default(),
        last_day: s.points.last().map(|p| p.0.to_string()).unwrap_or_default(),
        rows: s.points.iter().map(|p| (p.0.to_string(), p.1, p.2)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_scales_to_the_largest_figure() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let s = Series { license_name: "X".into(), points: vec![(d, 10, 0), (d + Duration::days(1), 10, 20)] };
        let c = chart(&s);
        assert_eq!(c.max, 20);
        assert_eq!(c.owned_points, "30,100 570,100");
        assert_eq!(c.in_use_points, "30,170 570,30");
        assert_eq!(c.rows.len(), 2);
        let one = chart(&Series { license_name: "X".into(), points: vec![(d, 10, 5)] });
        assert_eq!(one.owned_points, "30,30 570,30", "one day is a flat line");
        assert_eq!(one.rows.len(), 1);
    }
}
