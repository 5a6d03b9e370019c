//! Every route in one place, grouped by who uses it.

use actix_web::web;

use crate::web::{assets, auth, dev_mail, health, home, profile};

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
        .route("/orders", web::get().to(home::orders))
        .route(
            "/smart-account-orders",
            web::get().to(home::smart_account_orders),
        )
        .route("/accounts", web::get().to(home::accounts))
        .route("/licenses", web::get().to(home::licenses));

    // Operations staff
    cfg.route("/operations", web::get().to(home::operations));

    // Development only: mail written to files
    if mail_viewer {
        cfg.route("/dev/mail", web::get().to(dev_mail::mail_list))
            .route("/dev/mail/{id}", web::get().to(dev_mail::mail_detail));
    }
}
