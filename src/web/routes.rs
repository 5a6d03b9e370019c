//! Every route in one place, grouped by who uses it.

use actix_web::web;

use crate::web::{account_request, accounts, assets, auth, dev_mail, health, home, licenses, orders, profile, sa_orders};

pub fn configure(cfg: &mut web::ServiceConfig, mail_viewer: bool) {
    // Anyone
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/static/{path:.*}", web::get().to(assets::asset))
        .route("/", web::get().to(home::home))
        .route("/sign-in", web::get().to(auth::sign_in_form))
        .route("/sign-in", web::post().to(auth::sign_in))
        .route("/register", web::get().to(auth::register_form))
        .route("/register", web::post().to(auth::register));

    // Signed-in users
    cfg.route("/sign-out", web::post().to(auth::sign_out))
        .route("/profile", web::get().to(profile::profile_form))
        .route("/profile", web::post().to(profile::update_profile))
        .route("/orders", web::get().to(orders::list_orders))
        .route("/orders", web::post().to(orders::create_order))
        .route("/orders/new", web::get().to(orders::new_order_form))
        .route("/orders/{id}", web::get().to(orders::show_order))
        .route("/orders/{id}/lines", web::post().to(orders::add_item))
        .route("/orders/{id}/lines/{line}/remove", web::post().to(orders::remove_item))
        .route("/orders/{id}/lines/{line}/assignment/remove", web::post().to(orders::clear_line))
        .route("/orders/{id}/convert", web::post().to(orders::convert_quote))
        .route("/orders/{id}/submit", web::post().to(orders::submit_order))
        .route("/orders/{id}/assignment", web::get().to(orders::assignment_form))
        .route("/orders/{id}/assignment", web::post().to(orders::assign))
        .route("/orders/{id}/history", web::get().to(orders::history))
        .route("/orders/{id}/cases/new", web::get().to(orders::new_case))
        .route("/orders/{id}/cases", web::post().to(orders::open_case))
        .route("/smart-account-orders", web::get().to(sa_orders::list))
        .route("/smart-account-orders/export.csv", web::get().to(sa_orders::export))
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
        .route("/accounts/{id}/licenses", web::get().to(licenses::account_licenses))
        .route("/licenses", web::get().to(licenses::overview));

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
