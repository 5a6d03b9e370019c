//! The pages of a person on their way in: check your mail, confirm the
//! address, ask to join, accept an invitation, forgot and reset password.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::domain::identity::links::LinkProblem;
use crate::domain::identity::membership::{self, AcceptInput, Confirmed, InvitationView, JoinState};
use crate::domain::identity::passwords;
use crate::domain::identity::Standing;
use crate::domain::{DomainError, FieldErrors};
use crate::startup::AppState;
use crate::web::auth::complete_sign_in;
use crate::web::error::{human_wait, AppError};
use crate::web::extract::{client_address, SignedInPerson, Viewer};
use crate::web::layout::Layout;
use crate::web::session::PortalSession;
use crate::web::{render, run, see_other};

#[derive(Template)]
#[template(path = "identity/welcome.html")]
pub struct WelcomePage {
    pub layout: Layout,
    pub email: String,
    pub confirmed: bool,
    pub state: Option<JoinState>,
}

impl WelcomePage {
    pub fn waiting_since(&self) -> String {
        match &self.state {
            Some(JoinState::Waiting { since, .. }) => since.format("%-d %b %Y, %H:%M UTC").to_string(),
            _ => String::new(),
        }
    }
}

/// Where a signed-in person who is not (yet) a member stands.
pub async fn welcome(state: web::Data<AppState>, who: SignedInPerson) -> Result<HttpResponse, AppError> {
    if who.actor.is_some() {
        return Ok(see_other("/"));
    }
    let person = who.person.clone();
    let standing = crate::domain::identity::standing(person.confirmed, person.company_id);
    let join = match standing {
        Standing::Outsider => {
            let id = person.user_id;
            Some(run(&state, move |conn| membership::join_state(conn, id)).await??)
        }
        _ => None,
    };
    render(StatusCode::OK, &WelcomePage { layout: who.layout, email: person.email, confirmed: person.confirmed, state: join })
}

pub async fn resend_confirmation(
    state: web::Data<AppState>,
    who: SignedInPerson,
    session: PortalSession,
) -> Result<HttpResponse, AppError> {
    let (id, base) = (who.person.user_id, state.settings.base_url.clone());
    match run(&state, move |conn| membership::resend_confirmation(conn, id, &base)).await? {
        Ok(()) => {
            state.wake_mail_worker();
            session.flash("success", format!("We have sent a new link to {}.", who.person.email));
        }
        Err(DomainError::Throttled { retry_after_secs }) => {
            session.flash("error", format!("A link was sent a moment ago. You can ask for another in {}.", human_wait(retry_after_secs)));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(see_other("/welcome"))
}

pub async fn ask_to_join(
    req: HttpRequest,
    state: web::Data<AppState>,
    who: SignedInPerson,
    session: PortalSession,
) -> Result<HttpResponse, AppError> {
    let (id, base) = (who.person.user_id, state.settings.base_url.clone());
    let ip = client_address(&req, state.settings.trust_forwarded_for);
    match run(&state, move |conn| membership::ask_to_join(conn, id, &ip, &base)).await? {
        Ok(company) => {
            state.wake_mail_worker();
            session.flash("success", format!("Your request went to the company administrators of {company}."));
            Ok(see_other("/welcome"))
        }
        Err(DomainError::Conflict(m)) => {
            session.flash("error", m);
            Ok(see_other("/welcome"))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "identity/link.html")]
pub struct LinkPage {
    pub layout: Layout,
    pub title: &'static str,
    pub action: String,
    pub button: &'static str,
    pub text: String,
    pub problem: Option<&'static str>,
    pub retry: Option<(&'static str, &'static str)>,
}

fn link_problem(
    layout: Layout,
    title: &'static str,
    problem: LinkProblem,
    retry: Option<(&'static str, &'static str)>,
) -> Result<HttpResponse, AppError> {
    let status = match problem {
        LinkProblem::Unknown => StatusCode::NOT_FOUND,
        LinkProblem::Used | LinkProblem::Expired => StatusCode::GONE,
    };
    render(
        status,
        &LinkPage { layout, title, action: String::new(), button: "", text: String::new(), problem: Some(problem.message()), retry },
    )
}

/// The link in "Confirm your email" shows a button: a mail scanner that
/// fetches the link confirms nothing.
pub async fn confirm_email_form(viewer: Viewer, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    render(
        StatusCode::OK,
        &LinkPage {
            layout: viewer.layout,
            title: "Confirm your email",
            action: format!("/confirm-email/{token}"),
            button: "Confirm my email",
            text: "Confirm that this address is yours to continue.".into(),
            problem: None,
            retry: None,
        },
    )
}

pub async fn confirm_email(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    session: PortalSession,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let ip = client_address(&req, state.settings.trust_forwarded_for);
    let base = state.settings.base_url.clone();
    match run(&state, move |conn| membership::confirm_email(conn, &token, &ip, &base)).await? {
        Ok(Ok((user_id, outcome))) => {
            state.wake_mail_worker();
            let message = match &outcome {
                Confirmed::CreatedCompany(c) => format!("Your email is confirmed. You are the company administrator of {c}."),
                Confirmed::MayAskToJoin(c) => format!("Your email is confirmed. Ask to join {c} to see its orders and accounts."),
                Confirmed::Outsider => "Your email is confirmed.".into(),
            };
            session.flash("success", message);
            let same_person = viewer.person.as_ref().is_some_and(|(_, p)| p.user_id == user_id);
            let member = matches!(outcome, Confirmed::CreatedCompany(_));
            let after = session.take_after_confirm();
            Ok(see_other(match (same_person, member, after.as_deref()) {
                (true, true, Some(next)) => crate::web::safe_next(Some(next)),
                (true, _, _) => "/welcome",
                (false, _, _) => "/sign-in",
            }))
        }
        Ok(Err(problem)) => link_problem(viewer.layout, "Confirm your email", problem, Some(("/welcome", "Ask for a new link"))),
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "identity/forgot.html")]
pub struct ForgotPage {
    pub layout: Layout,
    pub email: String,
    pub sent: bool,
}

pub async fn forgot_form(viewer: Viewer) -> Result<HttpResponse, AppError> {
    render(StatusCode::OK, &ForgotPage { layout: viewer.layout, email: String::new(), sent: false })
}

#[derive(Debug, Default, Deserialize)]
pub struct EmailForm {
    #[serde(default)]
    pub email: String,
}

/// The same answer whether or not the address is known.
pub async fn forgot(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    form: crate::web::form::Form<EmailForm>,
) -> Result<HttpResponse, AppError> {
    let email = form.into_inner().email;
    let (e, base) = (email.clone(), state.settings.base_url.clone());
    let ip = client_address(&req, state.settings.trust_forwarded_for);
    run(&state, move |conn| passwords::forgot(conn, &e, &ip, &base)).await??;
    state.wake_mail_worker();
    render(StatusCode::OK, &ForgotPage { layout: viewer.layout, email, sent: true })
}

#[derive(Template)]
#[template(path = "identity/reset.html")]
pub struct ResetPage {
    pub layout: Layout,
    pub action: String,
    pub errors: FieldErrors,
}

pub async fn reset_form(state: web::Data<AppState>, viewer: Viewer, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let t = token.clone();
    match run(&state, move |conn| passwords::check_reset(conn, &t)).await?? {
        Ok(()) => render(
            StatusCode::OK,
            &ResetPage { layout: viewer.layout, action: format!("/password/reset/{token}"), errors: FieldErrors::new() },
        ),
        Err(p) => link_problem(viewer.layout, "Choose a new password", p, Some(("/password/forgot", "Ask for a new link"))),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub password: String,
}

/// Every session of the person ends; they sign in with the new password.
pub async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    session: PortalSession,
    path: web::Path<String>,
    form: crate::web::form::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let t = token.clone();
    let password = form.into_inner().password;
    let ip = client_address(&req, state.settings.trust_forwarded_for);
    // The new password is hashed with no connection held.
    let reset = match run(&state, move |conn| passwords::begin_reset(conn, &t, &password)).await? {
        Ok(Ok(prepared)) => match web::block(move || prepared.hash()).await? {
            Ok(hashed) => run(&state, move |conn| passwords::reset(conn, hashed, &ip)).await?,
            Err(e) => Err(e),
        },
        Ok(Err(problem)) => Ok(Err(problem)),
        Err(e) => Err(e),
    };
    match reset {
        Ok(Ok(_)) => {
            session.sign_out();
            session.flash("success", "Your password is changed and every session has ended. Sign in with the new password.");
            Ok(see_other("/sign-in"))
        }
        Ok(Err(p)) => link_problem(viewer.layout, "Choose a new password", p, Some(("/password/forgot", "Ask for a new link"))),
        Err(DomainError::Invalid(errors)) => {
            render(StatusCode::BAD_REQUEST, &ResetPage { layout: viewer.layout, action: format!("/password/reset/{token}"), errors })
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "identity/invitation.html")]
pub struct InvitationPage {
    pub layout: Layout,
    pub action: String,
    pub invitation: InvitationView,
    /// Signed in as the invited person already.
    pub signed_in_as_invitee: bool,
    pub name: String,
    pub errors: FieldErrors,
}

async fn invitation_page(
    state: &AppState,
    viewer: Viewer,
    token: String,
    name: String,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let t = token.clone();
    match run(state, move |conn| membership::view_invitation(conn, &t)).await?? {
        Ok(invitation) => {
            let signed_in_as_invitee = viewer.person.as_ref().is_some_and(|(_, p)| p.email == invitation.email);
            render(
                status,
                &InvitationPage {
                    layout: viewer.layout,
                    action: format!("/invitations/{token}"),
                    invitation,
                    signed_in_as_invitee,
                    name,
                    errors,
                },
            )
        }
        Err(p) => link_problem(viewer.layout, "Invitation", p, None),
    }
}

pub async fn invitation_form(state: web::Data<AppState>, viewer: Viewer, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    invitation_page(&state, viewer, path.into_inner(), String::new(), FieldErrors::new(), StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub password: String,
}

pub async fn accept_invitation(
    req: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    form: crate::web::form::Form<AcceptForm>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let form = form.into_inner();
    let t = token.clone();
    let signed_in_as = viewer.person.as_ref().map(|(_, p)| p.user_id);
    let input = AcceptInput { name: form.name.clone(), password: form.password };
    let ip = client_address(&req, state.settings.trust_forwarded_for);
    let base = state.settings.base_url.clone();
    // A new person's password is hashed with no connection held.
    let accepted = match run(&state, move |conn| membership::begin_invitation(conn, &t, &input)).await? {
        Ok(Ok(accepting)) => match web::block(move || accepting.hash()).await? {
            Ok(accepting) => run(&state, move |conn| membership::accept_invitation(conn, accepting, signed_in_as, &ip, &base)).await?,
            Err(e) => Err(e),
        },
        Ok(Err(problem)) => Ok(Err(problem)),
        Err(e) => Err(e),
    };
    match accepted {
        Ok(Ok(user)) => {
            state.wake_mail_worker();
            let session = PortalSession::from_request(&req);
            let response = if signed_in_as == Some(user.id) {
                // Already signed in as this person: the same session now sees the company.
                see_other("/")
            } else {
                complete_sign_in(&req, &state, user, "/").await?
            };
            session.flash("success", "Welcome: you have joined the company.");
            Ok(response)
        }
        Ok(Err(p)) => link_problem(viewer.layout, "Invitation", p, None),
        Err(DomainError::Invalid(errors)) => invitation_page(&state, viewer, token, form.name, errors, StatusCode::BAD_REQUEST).await,
        Err(DomainError::Forbidden) => {
            let mut errors = FieldErrors::new();
            errors.add("password", "Someone has this address already: sign in as them first, then follow the link again.");
            invitation_page(&state, viewer, token, form.name, errors, StatusCode::FORBIDDEN).await
        }
        Err(e) => Err(e.into()),
    }
}
