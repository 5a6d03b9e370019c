//! The company page: members, membership requests, invitations, company
//! administrators and the company's security events.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::identity::membership::{self, CompanyOverview, InvitationInput, INVITABLE_ROLES};
use crate::domain::{policy, DomainError, FieldErrors};
use crate::startup::AppState;
use crate::web::error::AppError;
use crate::web::extract::{client_address, SignedIn};
use crate::web::layout::Layout;
use crate::web::session::PortalSession;
use crate::web::{render, run, see_other};

#[derive(Template)]
#[template(path = "company/show.html")]
pub struct CompanyPage {
    pub layout: Layout,
    pub company: String,
    pub is_admin: bool,
    pub me: i64,
    pub overview: CompanyOverview,
    pub roles: Vec<(&'static str, &'static str)>,
    pub invite: InvitationInput,
    pub errors: FieldErrors,
}

async fn page(
    state: &AppState,
    user: SignedIn,
    invite: InvitationInput,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let actor = user.actor.clone();
    let overview = run(state, move |conn| membership::overview(conn, &actor)).await??;
    let roles = INVITABLE_ROLES.iter().map(|r| (r.as_str(), r.label())).collect();
    render(
        status,
        &CompanyPage {
            company: user.actor.company_name.clone(),
            is_admin: policy::may_administer_members(&user.actor).is_ok(),
            me: user.actor.user_id.0,
            overview,
            roles,
            invite,
            errors,
            layout: user.layout,
        },
    )
}

pub async fn show(state: web::Data<AppState>, user: SignedIn) -> Result<HttpResponse, AppError> {
    page(&state, user, InvitationInput::default(), FieldErrors::new(), StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub smart_account_id: String,
    #[serde(default)]
    pub role: String,
}

pub async fn invite(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    form: crate::web::form::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let permit = policy::may_administer_members(&user.actor)?;
    let form = form.into_inner();
    let input = InvitationInput { email: form.email, smart_account_id: form.smart_account_id, role: form.role };
    let (actor, i, base) = (user.actor.clone(), input.clone(), state.settings.base_url.clone());
    let ip = client_address(&req, state.settings.trust_forwarded_for);
    match run(&state, move |conn| membership::invite(conn, &permit, &actor, &i, &ip, &base)).await? {
        Ok(()) => {
            state.wake_mail_worker();
            session.flash("success", format!("We have emailed an invitation to {}.", input.email.trim()));
            Ok(see_other("/company"))
        }
        Err(DomainError::Invalid(errors)) => page(&state, user, input, errors, StatusCode::BAD_REQUEST).await,
        Err(e) => Err(e.into()),
    }
}

/// `resend` or `withdraw` an invitation.
pub async fn invitation_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let permit = policy::may_administer_members(&user.actor)?;
    let (id, action) = path.into_inner();
    let (actor, base) = (user.actor.clone(), state.settings.base_url.clone());
    let ip = client_address(&req, state.settings.trust_forwarded_for);
    let message = match action.as_str() {
        "resend" => {
            run(&state, move |conn| membership::resend_invitation(conn, &permit, &actor, id, &base)).await??;
            state.wake_mail_worker();
            "The invitation was sent again with a new link."
        }
        "withdraw" => {
            run(&state, move |conn| membership::withdraw_invitation(conn, &permit, &actor, id, &ip)).await??;
            "The invitation is withdrawn: its link no longer works."
        }
        _ => return Err(AppError::NotFound),
    };
    session.flash("success", message);
    Ok(see_other("/company"))
}

/// `approve` or `deny` a membership request.
pub async fn decide_request(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, AppError> {
    let permit = policy::may_administer_members(&user.actor)?;
    let (id, decision) = path.into_inner();
    let approve = match decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return Err(AppError::NotFound),
    };
    let (actor, base) = (user.actor.clone(), state.settings.base_url.clone());
    let ip = client_address(&req, state.settings.trust_forwarded_for);
    run(&state, move |conn| membership::decide_request(conn, &permit, &actor, id, approve, &ip, &base)).await??;
    state.wake_mail_worker();
    session
        .flash("success", if approve { "Approved: they are a member now, and we have told them." } else { "Denied: we have told them." });
    Ok(see_other("/company"))
}

#[derive(Debug, Default, Deserialize)]
pub struct AdminForm {
    #[serde(default)]
    pub admin: String,
}

/// `deactivate` a member, or set their company administrator flag (`admin`).
pub async fn member_action(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: SignedIn,
    session: PortalSession,
    path: web::Path<(i64, String)>,
    form: crate::web::form::Form<AdminForm>,
) -> Result<HttpResponse, AppError> {
    let permit = policy::may_administer_members(&user.actor)?;
    let (id, action) = path.into_inner();
    let actor = user.actor.clone();
    let ip = client_address(&req, state.settings.trust_forwarded_for);
    let outcome = match action.as_str() {
        "deactivate" => run(&state, move |conn| membership::deactivate(conn, &permit, &actor, id, &ip))
            .await?
            .map(|_| "Deactivated: every session of theirs has ended."),
        "admin" => {
            let admin = match form.admin.as_str() {
                "yes" => true,
                "no" => false,
                _ => return Err(AppError::BadRequest("Choose whether they are a company administrator.".into())),
            };
            run(&state, move |conn| membership::set_company_admin(conn, &permit, &actor, id, admin, &ip)).await?.map(|_| {
                if admin {
                    "They are a company administrator now."
                } else {
                    "They are no longer a company administrator."
                }
            })
        }
        _ => return Err(AppError::NotFound),
    };
    match outcome {
        Ok(m) => session.flash("success", m),
        Err(DomainError::Conflict(m)) => session.flash("error", m),
        Err(e) => return Err(e.into()),
    }
    Ok(see_other("/company"))
}
