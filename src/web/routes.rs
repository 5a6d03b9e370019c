//! Every route in one place, grouped by who uses it.

use actix_web::web;

use crate::web::{
    account_request, accounts, assets, auth, company, dev_mail, devices_api, home, identity, licenses, orders, profile, sa_orders,
};

/// Marks a page whose every statement has one plan whatever the values
/// bound to it: index ranges keyed by ids that each stop at a page. On
/// PostgreSQL its page views take their connection from the plan-stable
/// pool (`db::build_plan_stable_pool`), where nothing is planned per call.
/// A page that looks something up by a value many rows may share does not
/// belong here, unless that statement asks for its own plan
/// (`db::with_custom_plan`).
#[derive(Debug, Clone, Copy)]
pub struct PlanStable;

/// A GET route marked `PlanStable`; like `cfg.route(path, web::get())`, it
/// leaves the path's other methods to their own routes.
fn plan_stable(path: &str) -> actix_web::Resource {
    web::resource(path).guard(actix_web::guard::Get()).app_data(PlanStable)
}

pub fn configure(cfg: &mut web::ServiceConfig, mail_viewer: bool) {
    // Anyone
    cfg.route("/static/{path:.*}", web::get().to(assets::asset))
        .route("/", web::get().to(home::home))
        .route("/sign-in", web::get().to(auth::sign_in_form))
        .route("/sign-in", web::post().to(auth::sign_in))
        .route("/register", web::get().to(auth::register_form))
        .route("/register", web::post().to(auth::register))
        .route("/sign-in/two-step", web::get().to(auth::two_step_form))
        .route("/sign-in/two-step", web::post().to(auth::two_step))
        .route("/sign-in/two-step/enrol", web::get().to(auth::enrol_form))
        .route("/sign-in/two-step/enrol", web::post().to(auth::enrol))
        .route("/confirm-email/{token}", web::get().to(identity::confirm_email_form))
        .route("/confirm-email/{token}", web::post().to(identity::confirm_email))
        .route("/password/forgot", web::get().to(identity::forgot_form))
        .route("/password/forgot", web::post().to(identity::forgot))
        .route("/password/reset/{token}", web::get().to(identity::reset_form))
        .route("/password/reset/{token}", web::post().to(identity::reset))
        .route("/invitations/{token}", web::get().to(identity::invitation_form))
        .route("/invitations/{token}", web::post().to(identity::accept_invitation));

    // Signed-in people who are not (yet) members of a company
    cfg.route("/welcome", web::get().to(identity::welcome))
        .route("/welcome/resend", web::post().to(identity::resend_confirmation))
        .route("/welcome/join", web::post().to(identity::ask_to_join));

    // Devices (product instances), authenticated by registration token or device secret
    cfg.route("/api/v1/devices/register", web::post().to(devices_api::register))
        .route("/api/v1/devices/{id}/usage", web::post().to(devices_api::usage))
        .route("/api/v1/devices/{id}/deregister", web::post().to(devices_api::deregister));

    // Signed-in users
    cfg.route("/sign-out", web::post().to(auth::sign_out))
        .route("/profile", web::get().to(profile::profile_form))
        .route("/profile", web::post().to(profile::update_profile))
        .route("/profile/password", web::post().to(profile::change_password))
        .route("/profile/sign-out-everywhere", web::post().to(profile::sign_out_everywhere))
        .route("/profile/two-step", web::get().to(profile::two_step_form))
        .route("/profile/two-step", web::post().to(profile::enable_two_step))
        .route("/profile/two-step/{action}", web::post().to(profile::two_step_action))
        .route("/company", web::get().to(company::show))
        .route("/company/invitations", web::post().to(company::invite))
        .route("/company/invitations/{id}/{action}", web::post().to(company::invitation_action))
        .route("/company/requests/{id}/{decision}", web::post().to(company::decide_request))
        .route("/company/members/{id}/{action}", web::post().to(company::member_action))
        .route("/orders", web::get().to(orders::list_orders))
        .route("/orders", web::post().to(orders::create_order))
        .route("/orders/new", web::get().to(orders::new_order_form))
        .service(plan_stable("/orders/{id}").to(orders::show_order))
        .route("/orders/{id}/lines", web::post().to(orders::add_item))
        .route("/orders/{id}/lines/{line}/remove", web::post().to(orders::remove_item))
        .route("/orders/{id}/lines/{line}/assignment/remove", web::post().to(orders::clear_line))
        .route("/orders/{id}/convert", web::post().to(orders::convert_quote))
        .route("/orders/{id}/submit", web::post().to(orders::submit_order))
        .service(plan_stable("/orders/{id}/assignment").to(orders::assignment_form))
        .route("/orders/{id}/assignment", web::post().to(orders::assign))
        .route("/orders/{id}/history", web::get().to(orders::history))
        .route("/orders/{id}/cases/new", web::get().to(orders::new_case))
        .route("/orders/{id}/cases", web::post().to(orders::open_case))
        .service(plan_stable("/smart-account-orders").to(sa_orders::list))
        .route("/smart-account-orders/export.csv", web::get().to(sa_orders::export))
        .route("/smart-account-orders/holding-accounts", web::get().to(sa_orders::holding_suggestions))
        .route("/smart-account-orders/reassign", web::get().to(sa_orders::reassign_form))
        .route("/smart-account-orders/reassign", web::post().to(sa_orders::reassign))
        .route("/accounts", web::get().to(accounts::list_accounts))
        .route("/accounts/search", web::get().to(accounts::search_accounts))
        .route("/accounts/new", web::get().to(account_request::request_form))
        .route("/accounts/new", web::post().to(account_request::request_step))
        .route("/accounts/similar", web::get().to(account_request::similar_accounts))
        .route("/accounts/setup/{token}", web::get().to(account_request::setup_form))
        .route("/accounts/setup/{token}", web::post().to(account_request::setup_authority))
        .route("/accounts/setup/{token}/activate", web::post().to(account_request::activate))
        .route("/accounts/{id}", web::get().to(accounts::show_account))
        .route("/accounts/{id}", web::post().to(accounts::update_properties))
        .route("/accounts/{id}/access", web::post().to(accounts::request_access))
        .route("/accounts/{id}/virtual-accounts", web::get().to(accounts::list_virtual_accounts))
        .route("/accounts/{id}/virtual-accounts", web::post().to(accounts::create_virtual_account))
        .route("/accounts/{id}/virtual-accounts/{va}", web::post().to(accounts::update_virtual_account))
        .route("/accounts/{id}/virtual-accounts/{va}/delete", web::post().to(accounts::delete_virtual_account))
        .route("/accounts/{id}/users", web::get().to(accounts::list_users))
        .route("/accounts/{id}/users", web::post().to(accounts::add_user))
        .route("/accounts/{id}/users/{role}", web::post().to(accounts::change_role))
        .route("/accounts/{id}/users/{role}/remove", web::post().to(accounts::remove_user))
        .route("/accounts/{id}/agreement", web::get().to(accounts::show_agreement))
        .route("/accounts/{id}/agreement", web::post().to(accounts::accept_agreement))
        .route("/accounts/{id}/events", web::get().to(accounts::list_events))
        .route("/accounts/{id}/access-requests", web::get().to(accounts::list_access_requests))
        .route("/accounts/{id}/access-requests/{request}", web::post().to(accounts::decide_access_request))
        .service(plan_stable("/accounts/{id}/licenses").to(licenses::account_licenses))
        .route("/accounts/{id}/licenses/transfer", web::post().to(licenses::transfer_licenses))
        .route("/accounts/{id}/licenses/claims", web::post().to(licenses::claim_pak_code))
        .route("/accounts/{id}/licenses/claims/{license}", web::post().to(licenses::claim_pak))
        .route("/accounts/{id}/licenses/va/{va}/tokens", web::get().to(licenses::list_tokens))
        .route("/accounts/{id}/licenses/va/{va}/tokens", web::post().to(licenses::create_token))
        .route("/accounts/{id}/licenses/tokens/{token}/revoke", web::post().to(licenses::revoke_token))
        .service(plan_stable("/accounts/{id}/licenses/va/{va}/devices").to(licenses::list_devices))
        .route("/accounts/{id}/licenses/devices/{device}/move", web::post().to(licenses::move_device))
        .route("/accounts/{id}/licenses/devices/{device}/remove", web::post().to(licenses::remove_device))
        .route("/accounts/{id}/licenses/custody/{line}", web::get().to(licenses::show_custody))
        .route("/accounts/{id}/licenses/export/{which}", web::get().to(licenses::export))
        .service(plan_stable("/licenses").to(licenses::overview));

    // Operations staff
    cfg.route("/operations", web::get().to(home::operations))
        .route("/operations/orders", web::get().to(orders::fulfilment))
        .route("/operations/orders/{id}/{step}", web::post().to(orders::fulfil))
        .route("/operations/cases", web::get().to(orders::case_queue))
        .route("/operations/cases/{id}/{step}", web::post().to(orders::close_case))
        .route("/operations/domain-reviews", web::get().to(account_request::domain_reviews))
        .route("/operations/domain-reviews/{id}", web::post().to(account_request::decide_domain_review));

    // Development only: mail written to files
    if mail_viewer {
        cfg.route("/dev/mail", web::get().to(dev_mail::mail_list)).route("/dev/mail/{id}", web::get().to(dev_mail::mail_detail));
    }
}
