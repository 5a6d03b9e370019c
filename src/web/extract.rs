//! Extractors that declare in a handler's signature who may call it:
//! `Viewer` (anyone; the actor if signed in) and `SignedIn` (a signed-in
//! user, else a redirect to sign-in). Both carry the page layout.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::domain::Actor;
use crate::startup::AppState;
use crate::web::error::AppError;
use crate::web::layout::Layout;
use crate::web::session::PortalSession;

pub struct Viewer {
    pub actor: Option<Actor>,
    pub layout: Layout,
}

pub struct SignedIn {
    pub actor: Actor,
    pub layout: Layout,
}

fn state(req: &HttpRequest) -> web::Data<AppState> {
    req.app_data::<web::Data<AppState>>().expect("AppState is registered").clone()
}

/// Loads the signed-in actor, if any, and the layout. With `require`, a
/// signed-out request fails before the flash messages are taken, so they
/// survive the redirect to sign-in.
async fn load_viewer(req: HttpRequest, require: bool) -> Result<Viewer, AppError> {
    let state = state(&req);
    let session = PortalSession::from_request(&req);
    // Full pages show the Not Assigned count in the navigation; htmx fragments do not.
    let with_count = !req.headers().contains_key("HX-Request");
    let mut not_assigned = None;
    let actor = match session.user_id() {
        Some(id) => {
            let pool = state.pool.clone();
            let (found, count) = web::block(move || -> Result<(Option<Actor>, Option<i64>), AppError> {
                let mut conn = pool.get()?;
                let actor = Actor::load(&mut conn, id)?;
                let count = match (&actor, with_count) {
                    (Some(a), true) => crate::domain::orders::listing::not_assigned_count(&mut conn, a, 1000).ok(),
                    _ => None,
                };
                Ok((actor, count))
            })
            .await??;
            not_assigned = count;
            if found.is_none() {
                session.sign_out();
            }
            found
        }
        None => None,
    };
    match &actor {
        Some(a) => {
            tracing::Span::current().record("user_id", a.user_id.0);
        }
        None if require => {
            let next = match req.query_string() {
                "" => req.path().to_string(),
                q => format!("{}?{q}", req.path()),
            };
            return Err(AppError::Unauthenticated { next });
        }
        None => {}
    }
    let layout =
        Layout::new(actor.as_ref(), session.csrf_token(), session.take_flashes(), req.path().to_string(), state.mail_viewer_enabled());
    let mut layout = layout;
    if let Some(u) = layout.user.as_mut() {
        u.not_assigned = not_assigned;
    }
    Ok(Viewer { actor, layout })
}

impl FromRequest for Viewer {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(load_viewer(req, false))
    }
}

impl FromRequest for SignedIn {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let viewer = load_viewer(req, true).await?;
            let actor = viewer.actor.expect("load_viewer(require) returns an actor");
            Ok(SignedIn { actor, layout: viewer.layout })
        })
    }
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
