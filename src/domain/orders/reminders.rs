//! Reminders while an order stays Not Assigned in a holding account, on a
//! schedule of days (e.g. 3, 7, 14). Runs on every instance: each stage of
//! each order is claimed by one conditional update in the transaction that
//! queues its messages, and the outbox's dedupe keys refuse a second copy.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::orders;
use crate::db::DbConnection;
use crate::domain::error::DomainResult;

use super::listing::RANK_NOT_ASSIGNED;
use super::OrderRow;

/// Which stage of the schedule is due for an order that waited since
/// `waiting_since` and got `sent` reminders: the latest stage passed, if it
/// is beyond those already sent (a worker that was down sends one, not all).
pub fn due_stage(schedule: &[i64], waiting_since: NaiveDateTime, sent: i32, now: NaiveDateTime) -> Option<usize> {
    let waited = now - waiting_since;
    let passed = schedule.iter().filter(|d| waited >= chrono::Duration::days(**d)).count();
    (passed > sent.max(0) as usize).then_some(passed)
}

/// Queues the reminders due now; returns how many messages were queued.
pub fn send_due(conn: &mut DbConnection, schedule: &[i64], now: NaiveDateTime, base_url: &str) -> DomainResult<usize> {
    let mut queued = 0;
    // Latest stage first, so an order past several thresholds gets one reminder.
    for (i, days) in schedule.iter().enumerate().rev() {
        let stage = i + 1;
        let cutoff = now - chrono::Duration::days(*days);
        let due: Vec<OrderRow> = orders::table
            .filter(orders::sa_rank.eq(RANK_NOT_ASSIGNED))
            .filter(orders::reminders_sent.lt(stage as i32))
            .filter(orders::waiting_since.le(cutoff))
            .order(orders::waiting_since)
            .limit(200)
            .select(OrderRow::as_select())
            .load(conn)?;
        for order in due {
            let Some(since) = order.waiting_since else { continue };
            let Some(stage) = due_stage(schedule, since, order.reminders_sent, now) else { continue };
            queued += crate::db::transaction(conn, |conn| -> DomainResult<usize> {
                let claimed = diesel::update(
                    orders::table
                        .find(order.id)
                        .filter(orders::reminders_sent.eq(order.reminders_sent))
                        .filter(orders::waiting_since.eq(since))
                        .filter(orders::sa_rank.eq(RANK_NOT_ASSIGNED)),
                )
                .set(orders::reminders_sent.eq(stage as i32))
                .execute(conn)?;
                if claimed == 0 {
                    return Ok(0);
                }
                super::notices::reminder(conn, &order, stage, (now - since).num_days(), base_url)
            })?;
        }
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: i64) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap().and_hms_opt(9, 0, 0).unwrap() + chrono::Duration::days(d)
    }

    #[test]
    fn each_stage_of_the_schedule_is_due_once() {
        let s = [3, 7, 14];
        assert_eq!(due_stage(&s, day(0), 0, day(2)), None);
        assert_eq!(due_stage(&s, day(0), 0, day(3)), Some(1));
        assert_eq!(due_stage(&s, day(0), 1, day(5)), None, "stage 1 went out already");
        assert_eq!(due_stage(&s, day(0), 1, day(7)), Some(2));
        assert_eq!(due_stage(&s, day(0), 3, day(40)), None, "the schedule is over");
    }

    #[test]
    fn a_worker_that_was_down_sends_the_latest_stage_only() {
        assert_eq!(due_stage(&[3, 7, 14], day(0), 0, day(20)), Some(3));
        assert_eq!(due_stage(&[], day(0), 0, day(20)), None);
    }
}
