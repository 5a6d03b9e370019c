//! Extractors that declare in a handler's signature who may call it:
//! `Viewer` (anyone; the actor if signed in), `SignedIn` (a member of a
//! company, else a redirect to sign-in or to the welcome page) and
//! `SignedInPerson` (anyone signed in, member or not). All carry the layout.
//!
//! The session holds only a token; the session row it names must be open
//! and its person active, or nobody is signed in.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::domain::identity::sessions;
use crate::domain::identity::Person;
use crate::domain::moment::Moment;
use crate::domain::Actor;
use crate::startup::AppState;
use crate::web::error::AppError;
use crate::web::layout::Layout;
use crate::web::session::PortalSession;

pub struct Viewer {
    pub actor: Option<Actor>,
    /// Whoever is signed in, member or not, with their session row.
    pub person: Option<(i64, Person)>,
    pub layout: Layout,
    /// The moment the session was read, when one is open.
    pub began: Option<Moment>,
}

pub struct SignedIn {
    pub actor: Actor,
    /// The `user_sessions` row of this browser.
    pub session_id: i64,
    pub layout: Layout,
    /// The moment the session was read, before anything the page reads.
    pub began: Moment,
}

/// Anyone signed in, whether or not a company has admitted them yet.
pub struct SignedInPerson {
    pub person: Person,
    pub actor: Option<Actor>,
    pub session_id: i64,
    pub layout: Layout,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Nothing,
    Member,
    Person,
}

fn state(req: &HttpRequest) -> web::Data<AppState> {
    req.app_data::<web::Data<AppState>>().expect("AppState is registered").clone()
}

/// Loads the signed-in actor, if any, and the layout. With `require`, a
/// signed-out request fails before the flash messages are taken, so they
/// survive the redirect to sign-in.
async fn load_viewer(req: HttpRequest, need: Need) -> Result<Viewer, AppError> {
    let state = state(&req);
    let session = PortalSession::from_request(&req);
    // Full pages show the Not Assigned count in the navigation; htmx fragments do not.
    let with_count = !req.headers().contains_key("HX-Request");
    let safe = matches!(*req.method(), actix_web::http::Method::GET | actix_web::http::Method::HEAD);
    let mut not_assigned = None;
    let mut began = None;
    let (person, actor) = match session.token() {
        Some(token) => {
            // On SQLite a page view's signed-in check reads a few indexed
            // rows in this process: it runs here, on the server's thread,
            // when a pooled connection is free at once and the session is
            // not due a write, instead of handing them to a thread of the
            // blocking pool and waiting for it: two thread switches less.
            // Its reads and the page's are one read transaction
            // (`db::begin_page_reads`).
            let free = if safe && state.embedded_database() { state.pool.try_get() } else { None };
            let inline = match free {
                Some(mut conn) => {
                    let reading = crate::db::begin_page_reads(&mut conn);
                    let checked = signed_in(&mut conn, &state, &token, safe, with_count, false);
                    match checked {
                        Ok(Some((found, count, statements))) => Some((found, count, statements, conn, reading)),
                        // Due a write: this connection goes back out of its
                        // transaction, and the check runs again on the blocking pool.
                        Ok(None) => {
                            crate::db::end_page_reads(&mut conn);
                            None
                        }
                        Err(e) => {
                            crate::db::end_page_reads(&mut conn);
                            return Err(e);
                        }
                    }
                }
                None => None,
            };
            let (found, count, statements, conn, reading) = match inline {
                Some(done) => done,
                None => {
                    let st = state.clone();
                    let plan_stable = safe && req.app_data::<crate::web::routes::PlanStable>().is_some();
                    web::block(move || -> Result<_, AppError> {
                        let mut conn = st.page_pool(plan_stable).get()?;
                        let (found, count, statements) =
                            signed_in(&mut conn, &st, &token, safe, with_count, true)?.expect("a check that may write finishes");
                        Ok((found, count, statements, conn, false))
                    })
                    .await??
                }
            };
            crate::web::statements::add(statements);
            // A page view's work runs on the same connection.
            if safe {
                crate::web::statements::keep_connections();
            }
            crate::web::statements::keep_reading(conn, reading);
            not_assigned = count;
            match found {
                Some((session_id, person, actor, moment)) => {
                    began = Some(moment);
                    (Some((session_id, person)), actor)
                }
                None => {
                    // The session row ended (sign-out elsewhere, password change, deactivation).
                    session.sign_out();
                    (None, None)
                }
            }
        }
        None => (None, None),
    };
    if let Some((_, p)) = &person {
        tracing::Span::current().record("user_id", p.user_id);
    }
    let next = || match req.query_string() {
        "" => req.path().to_string(),
        q => format!("{}?{q}", req.path()),
    };
    match (need, &person, &actor) {
        (Need::Member, Some(_), None) => return Err(AppError::Redirect("/welcome".into())),
        (Need::Member | Need::Person, None, _) => return Err(AppError::Unauthenticated { next: next() }),
        _ => {}
    }
    let mut layout =
        Layout::new(actor.as_ref(), session.csrf_token(), session.take_flashes(), req.path().to_string(), state.mail_viewer_enabled());
    if let Some(u) = layout.user.as_mut() {
        u.not_assigned = not_assigned;
    }
    if actor.is_none() {
        layout.person = person.as_ref().map(|(_, p)| p.name.clone());
    }
    Ok(Viewer { actor, person, layout, began })
}

type Found = Option<(i64, Person, Option<Actor>, Moment)>;

/// The session's person and actor and, for a full page, the Not Assigned
/// count, with the statements it took. `None` when the session is due a
/// write and `may_write` is false.
fn signed_in(
    conn: &mut crate::db::PooledConnection,
    state: &AppState,
    token: &str,
    safe: bool,
    with_count: bool,
    may_write: bool,
) -> Result<Option<(Found, Option<i64>, u64)>, AppError> {
    let before = crate::db::statements_on(conn);
    // The transactions this session's kept count waits on, asked about in the same statement.
    let asked = if safe || with_count { state.kept_counts.watched(token) } else { Vec::new() };
    let found = if may_write {
        sessions::lookup(conn, token, asked)?
    } else {
        match sessions::lookup_without_writing(conn, token, asked)? {
            Ok(found) => found,
            Err(sessions::NeedsTouch) => return Ok(None),
        }
    };
    let Some((session_id, sessions::Opened { person, actor, began })) = found else {
        return Ok(Some((None, None, crate::db::statements_on(conn) - before)));
    };
    // A request that changes nothing judges by one load of the actor's roles:
    // the one kept with the count while it holds.
    let actor = match (actor, safe) {
        (Some(a), true) => Some(a.remember_audience()),
        (a, _) => a,
    };
    let (cap, now) = (crate::domain::orders::listing::NAV_COUNT_CAP, began.worklist.clone());
    let count = match (&actor, with_count, safe) {
        (Some(a), true, _) => state.kept_counts.not_assigned(conn, a, cap, now, token).ok(),
        (Some(a), false, true) => {
            let _ = state.kept_counts.reuse_audience(conn, a, cap, now, token);
            None
        }
        _ => None,
    };
    let statements = crate::db::statements_on(conn) - before;
    Ok(Some((Some((session_id, person, actor, began)), count, statements)))
}

impl FromRequest for Viewer {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(load_viewer(req, Need::Nothing))
    }
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let viewer = load_viewer(req, Need::Member).await?;
            let actor = viewer.actor.expect("load_viewer(Member) returns an actor");
            let session_id = viewer.person.map(|(id, _)| id).expect("a member has a session row");
            let began = viewer.began.expect("a member has a session row");
            Ok(SignedIn { actor, session_id, layout: viewer.layout, began })
        })
    }
}

impl FromRequest for SignedInPerson {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let viewer = load_viewer(req, Need::Person).await?;
            let (session_id, person) = viewer.person.expect("load_viewer(Person) returns a person");
            Ok(SignedInPerson { person, actor: viewer.actor, session_id, layout: viewer.layout })
        })
    }
}

/// The browser as the session rows record it.
pub fn client(req: &HttpRequest, trust_forwarded_for: bool) -> sessions::Client {
    let user_agent = req.headers().get(actix_web::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    sessions::Client { ip: client_address(req, trust_forwarded_for), user_agent }
}

/// The client's address for throttling: the peer, or the first forwarded
/// address when the portal runs behind a trusted proxy.
pub fn client_address(req: &HttpRequest, trust_forwarded_for: bool) -> String {
    let info = req.connection_info();
    let addr = if trust_forwarded_for { info.realip_remote_addr() } else { info.peer_addr() };
    match addr {
        Some(a) => a
            .parse::<std::net::SocketAddr>()
            .map(|s| s.ip().to_string())
            .or_else(|_| a.parse::<std::net::IpAddr>().map(|ip| ip.to_string()))
            .unwrap_or_else(|_| a.to_string()),
        None => "unknown".into(),
    }
}
