//! The web layer: routes, handlers by area, extractors, CSRF, session and
//! errors. Handlers parse input, make one domain call and render.

pub mod account_request;
pub mod accounts;
pub mod assets;
pub mod auth;
pub mod company;
pub mod csrf;
pub mod dev_mail;
pub mod devices_api;
pub mod error;
pub mod extract;
pub mod form;
pub mod health;
pub mod home;
pub mod identity;
pub mod layout;
pub mod licenses;
pub mod orders;
pub mod profile;
pub mod routes;
pub mod sa_orders;
pub mod session;
pub mod statements;
pub mod timeout;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use askama::Template;

use crate::web::error::AppError;

/// Runs a domain call on a pooled connection off the async threads. The
/// outer error is infrastructure (pool, thread); the inner is the domain's.
pub async fn run<T, F>(state: &crate::startup::AppState, f: F) -> Result<crate::domain::error::DomainResult<T>, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConnection) -> crate::domain::error::DomainResult<T> + Send + 'static,
{
    let pool = state.pool.clone();
    let held = statements::take_held();
    let (result, n, conn) = actix_web::web::block(move || -> Result<_, AppError> {
        let mut conn = match held {
            Some(c) => c,
            None => pool.get()?,
        };
        let before = crate::db::statements_on(&mut conn);
        let result = f(&mut conn);
        let n = crate::db::statements_on(&mut conn) - before;
        Ok((result, n, conn))
    })
    .await??;
    statements::add(n);
    statements::keep(conn);
    Ok(result)
}

/// `run` for the bounded reads of a page view (one page of a list, an
/// order, a search's first results; never an export). On SQLite, with the
/// connection the signed-in check took on the server's thread, the reads
/// run right here: an embedded database answers them in a fraction of a
/// millisecond, while handing them to the blocking pool and back costs two
/// thread switches, the largest kernel cost in the server's profile under
/// load. Otherwise (PostgreSQL, a request that holds no connection) it is
/// `run`.
pub async fn read_page<T, F>(state: &crate::startup::AppState, f: F) -> Result<crate::domain::error::DomainResult<T>, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::db::DbConnection) -> crate::domain::error::DomainResult<T> + Send + 'static,
{
    let held = if state.embedded_database() { statements::take_held_reading() } else { None };
    let Some((mut conn, reading)) = held else {
        return run(state, f).await;
    };
    let before = crate::db::statements_on(&mut conn);
    // A panic is answered as `run` answers one; the connection is not
    // reused by this request (the pool ends its read transaction).
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut conn)))
        .map_err(|_| AppError::internal(anyhow::anyhow!("a page's reads panicked")))?;
    statements::add(crate::db::statements_on(&mut conn) - before);
    statements::keep_reading(conn, reading);
    Ok(result)
}

/// Form fields as pairs, for forms with repeated names (checkbox lists).
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

/// The ids given under `name`. A value that is not an id is kept as -1, an
/// id nothing has, so the domain refuses it ("not one of this order's
/// lines") instead of the request silently meaning fewer ids.
pub fn fields_i64(pairs: &[(String, String)], name: &str) -> Vec<i64> {
    pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.trim().parse().ok().filter(|id: &i64| *id > 0).unwrap_or(-1)).collect()
}

/// A day as `YYYY-MM-DD`, written directly: `chrono`'s `format` parses its
/// pattern on every call, and a list writes one per row.
pub fn day(t: chrono::NaiveDateTime) -> String {
    let mut s = String::with_capacity(10);
    push_day(&mut s, &t);
    s
}

/// A moment as `YYYY-MM-DD HH:MM UTC`, written directly as `day` is.
pub fn minute(t: &chrono::NaiveDateTime) -> String {
    use chrono::Timelike;
    let mut s = String::with_capacity(20);
    push_day(&mut s, t);
    s.push(' ');
    push_digits(&mut s, t.hour(), 2);
    s.push(':');
    push_digits(&mut s, t.minute(), 2);
    s.push_str(" UTC");
    s
}

fn push_day(s: &mut String, t: &chrono::NaiveDateTime) {
    use chrono::Datelike;
    match u32::try_from(t.year()) {
        Ok(y) if y <= 9999 => push_digits(s, y, 4),
        _ => s.push_str(&format!("{:04}", t.year())),
    }
    s.push('-');
    push_digits(s, t.month(), 2);
    s.push('-');
    push_digits(s, t.day(), 2);
}

/// `n` in decimal, left-padded with zeros to `width` digits (`n` has no more).
fn push_digits(s: &mut String, n: u32, width: u32) {
    for p in (0..width).rev() {
        s.push(char::from(b'0' + (n / 10u32.pow(p) % 10) as u8));
    }
}

/// A web order id is letters, a dash and digits: nothing to escape.
impl askama::filters::HtmlSafe for crate::domain::orders::WebOrderId {}

/// Renders a page with a status (400 for a form shown again with errors).
/// The buffer starts big enough for the longest lists, so a page is written
/// without growing (and copying) it on the way.
pub fn render(status: StatusCode, page: &impl Template) -> Result<HttpResponse, AppError> {
    let mut body = String::with_capacity(48 * 1024);
    page.render_into(&mut body).map_err(AppError::internal)?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

/// A 303 to `location` (post → redirect → get).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, location.to_string())).finish()
}

/// Only paths of the portal are followed after sign-in, never another site:
/// one leading slash, then no second slash or backslash, no whitespace or
/// control character anywhere (browsers drop tabs and newlines, so
/// `/\t/evil.example` would become `//evil.example`), no backslash at all
/// and no scheme.
pub fn safe_next(next: Option<&str>) -> &str {
    let ok = |n: &str| {
        let b = n.as_bytes();
        b.first() == Some(&b'/')
            && !matches!(b.get(1), Some(b'/') | Some(b'\\'))
            && !n.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\' || c == '\u{feff}')
            && !n.contains("://")
            && n.len() <= 2000
    };
    match next {
        Some(n) if ok(n) => n,
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn days_and_minutes_are_written_as_chrono_writes_them() {
        for s in ["2026-11-26 10:36:15", "0999-01-02 00:00:00", "2024-02-29 23:59:59.999", "0001-12-31 09:05:00", "9999-10-10 20:50:59"] {
            let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap();
            assert_eq!(super::day(t), t.format("%Y-%m-%d").to_string(), "{s}");
            assert_eq!(super::minute(&t), t.format("%Y-%m-%d %H:%M UTC").to_string(), "{s}");
        }
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/profile?x=1")), "/profile?x=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "profile",
            "/x?u=http://e",
            "/\t/evil.example/",
            "/\n/evil.example",
            "/\r//evil.example",
            "/ /evil.example",
            "\\/evil.example",
            "/\\/evil.example",
            "/\u{0}//evil.example",
            "/\u{3000}/evil.example",
            "\u{feff}//evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

/// `s` as one query-string value.
pub fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
