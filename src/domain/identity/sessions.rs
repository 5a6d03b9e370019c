//! Sessions that really end. Each signed-in browser has a row here; the
//! session (cookie or Redis) holds only a random token whose hash names the
//! row. Signing out, a password change, a reset or a deactivation ends rows,
//! and a copied cookie then opens nothing, on every instance and with either
//! session store.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::models::user::User;
use crate::db::schema::{companies, user_sessions, users};
use crate::db::union::Fixed;
use crate::db::DbConnection;
use crate::domain::identity::links::{hash_token, new_token};
use crate::domain::identity::{security, Person};
use crate::domain::moment::{self, Moment};
use crate::domain::Actor;

/// How stale `last_seen_at` may get before a request refreshes it (so that
/// most requests write nothing).
const TOUCH_AFTER_MINUTES: i64 = 5;

/// The browser a session was started from.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: String,
    pub user_agent: String,
}

/// Starts a session for a person: the token for the session store. A
/// sign-in from a browser the person has not used before is mailed to them.
pub fn start(conn: &mut DbConnection, user: &User, client: &Client, base_url: &str) -> QueryResult<String> {
    let (token, hash) = new_token();
    let now = crate::db::now();
    let agent: String = client.user_agent.chars().filter(|c| !c.is_control()).take(300).collect();
    crate::db::transaction(conn, |conn| {
        let earlier: Vec<String> = user_sessions::table
            .filter(user_sessions::user_id.eq(user.id))
            .order(user_sessions::id.desc())
            .limit(50)
            .select(user_sessions::user_agent)
            .load(conn)?;
        let label = browser_label(&agent);
        if !earlier.is_empty() && !earlier.iter().any(|a| browser_label(a) == label) {
            let reset = format!("{base_url}/password/forgot");
            crate::mail::enqueue(
                conn,
                &crate::mail::Email::notice(
                    &user.email,
                    "New sign-in to the Smart Account Portal",
                    "new_sign_in",
                    &[
                        format!("Hello {},", user.name),
                        format!(
                            "Someone signed in to your account from {label} at {} UTC (address {}).",
                            now.format("%Y-%m-%d %H:%M"),
                            client.ip
                        ),
                        "If this was you, there is nothing to do. If not, reset your password at once: that ends every session.".into(),
                    ],
                    Some(("Reset your password", &reset)),
                ),
            )?;
        }
        diesel::insert_into(user_sessions::table)
            .values((
                user_sessions::user_id.eq(user.id),
                user_sessions::token_hash.eq(&hash),
                user_sessions::created_at.eq(now),
                user_sessions::last_seen_at.eq(now),
                user_sessions::ip.eq(&client.ip),
                user_sessions::user_agent.eq(&agent),
            ))
            .execute(conn)?;
        diesel::update(users::table.find(user.id)).set(users::last_sign_in_at.eq(now)).execute(conn)?;
        security::own(conn, user.id, user.company_id, "signed_in", &browser_label(&agent), &client.ip)
    })?;
    Ok(token)
}

/// An open session's person, their actor when they are a member, and the
/// moment it was read.
pub struct Opened {
    pub person: Person,
    pub actor: Option<Actor>,
    pub began: Moment,
}

/// Who a session token belongs to, in one statement: the session's id and
/// what it opens, with the moment (asking about the transactions `asked`,
/// from `KeptCounts::watched`). `None` when the session has ended, the
/// person is deactivated or gone. Every few minutes it also records that
/// the session was seen.
pub fn lookup(conn: &mut DbConnection, token: &str, asked: Vec<u64>) -> QueryResult<Option<(i64, Opened)>> {
    match find(conn, token, asked)? {
        Found::Open(session_id, last_seen, opened) => {
            touch(conn, session_id, last_seen)?;
            Ok(Some((session_id, opened)))
        }
        Found::Closed => Ok(None),
    }
}

/// `lookup` for a caller that must not write (a page view answered on the
/// server's own threads): `Err(NeedsTouch)` when the session is due to be
/// recorded as seen, which `lookup` does.
pub fn lookup_without_writing(
    conn: &mut DbConnection,
    token: &str,
    asked: Vec<u64>,
) -> QueryResult<Result<Option<(i64, Opened)>, NeedsTouch>> {
    match find(conn, token, asked)? {
        Found::Open(_, last_seen, _) if touch_due(last_seen) => Ok(Err(NeedsTouch)),
        Found::Open(session_id, _, opened) => Ok(Ok(Some((session_id, opened)))),
        Found::Closed => Ok(Ok(None)),
    }
}

/// The session is due to be recorded as seen (a write).
#[derive(Debug)]
pub struct NeedsTouch;

enum Found {
    Open(i64, NaiveDateTime, Opened),
    Closed,
}

/// The columns a session's check reads: the session, the person, and their
/// company if they have one (not the password hash, second-factor secret or
/// dates the check does not look at).
type SessionRow = (
    i64,
    crate::db::stamp::Stamp,
    (i64, Option<i64>, String, String, bool, bool, bool, bool, bool),
    Option<(i64, String, String)>,
    moment::Row,
);

fn find(conn: &mut DbConnection, token: &str, asked: Vec<u64>) -> QueryResult<Found> {
    let began = moment::columns(conn, &asked);
    // The moment's SQL is literal text, fixed per backend: kept prepared
    // under this statement's own name.
    struct SessionCheck;
    let row: Option<SessionRow> = Fixed::<SessionCheck, _>::new(
        user_sessions::table
            .inner_join(users::table.left_join(companies::table))
            .filter(user_sessions::token_hash.eq(hash_token(token)))
            .filter(user_sessions::ended_at.is_null())
            .filter(users::deactivated_at.is_null())
            .select((
                user_sessions::id,
                user_sessions::last_seen_at,
                (
                    users::id,
                    users::company_id,
                    users::email,
                    users::name,
                    users::notify_orders,
                    users::notify_reminders,
                    users::is_company_admin,
                    users::email_confirmed_at.is_not_null(),
                    users::totp_enabled_at.is_not_null(),
                ),
                (companies::id, companies::name, companies::kind).nullable(),
                began,
            ))
            .limit(1),
    )
    .get_result(conn)
    .optional()?;
    let Some((session_id, last_seen, user, company, began)) = row else { return Ok(Found::Closed) };
    let began = Moment::read(conn, began, asked);
    let (user_id, company_id, email, name, notify_orders, notify_reminders, is_company_admin, confirmed, totp_enabled) = user;
    let person = Person { user_id, email: email.clone(), name: name.clone(), confirmed, company_id, totp_enabled };
    let actor = match company {
        Some(c) if confirmed => {
            let settings = crate::domain::actor::Settings { notify_orders, notify_reminders, is_company_admin };
            Some(Actor::from_parts(user_id, email, name, settings, c))
        }
        _ => None,
    };
    Ok(Found::Open(session_id, last_seen.0, Opened { person, actor, began }))
}

fn touch_due(last_seen: NaiveDateTime) -> bool {
    crate::db::now() - last_seen > Duration::minutes(TOUCH_AFTER_MINUTES)
}

fn touch(conn: &mut DbConnection, session_id: i64, last_seen: NaiveDateTime) -> QueryResult<()> {
    if touch_due(last_seen) {
        diesel::update(user_sessions::table.find(session_id)).set(user_sessions::last_seen_at.eq(crate::db::now())).execute(conn)?;
    }
    Ok(())
}

/// Ends one session (sign-out).
pub fn end(conn: &mut DbConnection, token: &str, client: &Client) -> QueryResult<()> {
    let now = crate::db::now();
    let row: Option<(i64, i64)> = user_sessions::table
        .filter(user_sessions::token_hash.eq(hash_token(token)))
        .filter(user_sessions::ended_at.is_null())
        .select((user_sessions::id, user_sessions::user_id))
        .first(conn)
        .optional()?;
    if let Some((id, user_id)) = row {
        crate::db::transaction(conn, |conn| {
            diesel::update(user_sessions::table.find(id)).set(user_sessions::ended_at.eq(now)).execute(conn)?;
            let company: Option<i64> = users::table.find(user_id).select(users::company_id).first(conn)?;
            security::own(conn, user_id, company, "signed_out", "", &client.ip)
        })?;
    }
    Ok(())
}

/// Ends every session of a person, except `keep` (the one making a change).
pub fn end_all(conn: &mut DbConnection, user_id: i64, keep: Option<i64>) -> QueryResult<usize> {
    let now = crate::db::now();
    let q = user_sessions::table.filter(user_sessions::user_id.eq(user_id)).filter(user_sessions::ended_at.is_null());
    match keep {
        Some(id) => diesel::update(q.filter(user_sessions::id.ne(id))).set(user_sessions::ended_at.eq(now)).execute(conn),
        None => diesel::update(q).set(user_sessions::ended_at.eq(now)).execute(conn),
    }
}

/// One line of the profile's "Recent sign-ins".
#[derive(Debug, Clone)]
pub struct SignIn {
    pub id: i64,
    pub at: chrono::NaiveDateTime,
    pub last_seen_at: chrono::NaiveDateTime,
    pub ip: String,
    pub browser: String,
    pub active: bool,
    pub current: bool,
}

pub fn recent(conn: &mut DbConnection, user_id: i64, current: i64, limit: i64) -> QueryResult<Vec<SignIn>> {
    let rows: Vec<(i64, chrono::NaiveDateTime, chrono::NaiveDateTime, String, String, Option<chrono::NaiveDateTime>)> =
        user_sessions::table
            .filter(user_sessions::user_id.eq(user_id))
            .order((user_sessions::created_at.desc(), user_sessions::id.desc()))
            .limit(limit)
            .select((
                user_sessions::id,
                user_sessions::created_at,
                user_sessions::last_seen_at,
                user_sessions::ip,
                user_sessions::user_agent,
                user_sessions::ended_at,
            ))
            .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, at, last_seen_at, ip, agent, ended)| SignIn {
            id,
            at,
            last_seen_at,
            ip,
            browser: browser_label(&agent),
            active: ended.is_none(),
            current: id == current,
        })
        .collect())
}

/// "Firefox on Linux" from a User-Agent header, for people to recognise.
pub fn browser_label(agent: &str) -> String {
    let browser = if agent.contains("Edg/") {
        "Edge"
    } else if agent.contains("Firefox/") {
        "Firefox"
    } else if agent.contains("Chrome/") || agent.contains("Chromium/") {
        "Chrome"
    } else if agent.contains("Safari/") {
        "Safari"
    } else if agent.is_empty() {
        return "Unknown browser".into();
    } else {
        let first = agent.split(['/', ' ']).next().unwrap_or("Unknown");
        return first.chars().take(40).collect();
    };
    let system = if agent.contains("Android") {
        Some("Android")
    } else if agent.contains("iPhone") || agent.contains("iPad") {
        Some("iOS")
    } else if agent.contains("Windows") {
        Some("Windows")
    } else if agent.contains("Mac OS X") || agent.contains("Macintosh") {
        Some("macOS")
    } else if agent.contains("Linux") {
        Some("Linux")
    } else {
        None
    };
    match system {
        Some(s) => format!("{browser} on {s}"),
        None => browser.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::browser_label;

    #[test]
    fn browsers_are_named_as_people_know_them() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(browser_label(chrome), "Chrome on Linux");
        assert_eq!(browser_label("Mozilla/5.0 (Windows NT 10.0; rv:130.0) Gecko/20100101 Firefox/130.0"), "Firefox on Windows");
        assert_eq!(browser_label("reqwest/0.13"), "reqwest");
        assert_eq!(browser_label(""), "Unknown browser");
    }
}
