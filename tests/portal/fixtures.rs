//! The Metalworks story, built through the domain for tests: an active
//! customer account with VAs Production and Processing and a user in every
//! role, a reseller with partner access, operations, and a stranger.

use diesel::prelude::*;
use portal::domain::accounts::administration::{self as admin, RoleInput, VirtualAccountInput};
use portal::domain::accounts::request;
use portal::domain::company::CompanyKind;
use portal::domain::roles::AccountKind;
use portal::domain::users;

use crate::helpers::*;

pub struct World {
    pub metalworks: i64,
    pub production: i64,
    pub processing: i64,
    pub contoso_holding: i64,
}

fn actor(app: &TestApp, email: &str) -> portal::domain::Actor {
    let mut conn = app.conn();
    let id: i64 = portal::db::schema::users::table
        .filter(portal::db::schema::users::email.eq(email))
        .select(portal::db::schema::users::id)
        .first(&mut conn)
        .unwrap();
    portal::domain::Actor::load(&mut conn, id).unwrap().unwrap()
}

pub fn metalworks(app: &TestApp) -> World {
    for (email, name, company, kind) in [
        ("maya@metalworks.example", "Maya Stein", "Metalworks Inc.", CompanyKind::Customer),
        ("sam@metalworks.example", "Sam Okafor", "Metalworks Inc.", CompanyKind::Customer),
        ("priya@metalworks.example", "Priya Raman", "Metalworks Inc.", CompanyKind::Customer),
        ("victor@metalworks.example", "Victor Hale", "Metalworks Inc.", CompanyKind::Customer),
        ("vera@metalworks.example", "Vera Lund", "Metalworks Inc.", CompanyKind::Customer),
        ("carlos@contoso.example", "Carlos Ortega", "Contoso Resellers", CompanyKind::Reseller),
        ("olga@ops.example", "Olga Petrova", "Vendor Operations", CompanyKind::Operations),
        ("eve@elsewhere.example", "Eve Outsider", "Elsewhere Ltd", CompanyKind::Customer),
    ] {
        app.create_user(email, name, PASSWORD, company, kind);
    }
    let permit = users::console_permit();
    let maya = actor(app, "maya@metalworks.example");
    let carlos = actor(app, "carlos@contoso.example");
    let mut conn = app.conn();
    let metalworks =
        request::create_active(&mut conn, &permit, &maya, "Metalworks Inc.", "metalworks.example", AccountKind::Customer).unwrap();
    let contoso_holding =
        request::create_active(&mut conn, &permit, &carlos, "Contoso Holding", "contoso.example", AccountKind::Holding).unwrap();
    let va = |name: &str| VirtualAccountInput { name: name.into(), description: String::new(), visibility: "public".into() };
    let (production, _) = admin::create_virtual_account(&mut conn, &maya, metalworks, &va("Production")).unwrap();
    let (processing, _) = admin::create_virtual_account(&mut conn, &maya, metalworks, &va("Processing")).unwrap();
    let role = |email: &str, role: &str, vas: Vec<i64>| RoleInput {
        email: email.into(),
        role: role.into(),
        virtual_accounts: vas,
        acknowledged: true,
    };
    let base = &app.settings.base_url;
    admin::add_user(&mut conn, &maya, metalworks, &role("sam@metalworks.example", "sa_user", vec![]), false, base).unwrap();
    admin::add_user(&mut conn, &maya, metalworks, &role("priya@metalworks.example", "sa_approver", vec![]), false, base).unwrap();
    admin::add_user(&mut conn, &maya, metalworks, &role("victor@metalworks.example", "va_administrator", vec![production]), false, base)
        .unwrap();
    admin::add_user(&mut conn, &maya, metalworks, &role("vera@metalworks.example", "va_user", vec![processing]), false, base).unwrap();
    admin::add_user(&mut conn, &maya, metalworks, &role("carlos@contoso.example", "va_user", vec![processing]), true, base).unwrap();
    World { metalworks, production, processing, contoso_holding }
}

/// The newest set-up link emailed to `email`, as a path.
pub fn setup_link(app: &TestApp, email: &str) -> String {
    let mut conn = app.conn();
    let body: String = portal::db::schema::outbox::table
        .filter(portal::db::schema::outbox::recipient.eq(email))
        .filter(portal::db::schema::outbox::kind.eq("account_setup"))
        .order(portal::db::schema::outbox::id.desc())
        .select(portal::db::schema::outbox::body_text)
        .first(&mut conn)
        .expect("a set-up mail");
    let start = body.find("/accounts/setup/").unwrap();
    body[start..].split_whitespace().next().unwrap().to_string()
}

pub fn mails(app: &TestApp, email: &str, kind: &str) -> Vec<String> {
    let mut conn = app.conn();
    portal::db::schema::outbox::table
        .filter(portal::db::schema::outbox::recipient.eq(email))
        .filter(portal::db::schema::outbox::kind.eq(kind))
        .select(portal::db::schema::outbox::subject)
        .load(&mut conn)
        .unwrap()
}

pub fn account_status(app: &TestApp, id: i64) -> String {
    let mut conn = app.conn();
    portal::db::schema::smart_accounts::table.find(id).select(portal::db::schema::smart_accounts::status).first(&mut conn).unwrap()
}

pub fn role_of(app: &TestApp, account: i64, email: &str) -> Option<String> {
    use portal::db::schema::{account_roles, users};
    let mut conn = app.conn();
    account_roles::table
        .inner_join(users::table)
        .filter(account_roles::smart_account_id.eq(account))
        .filter(users::email.eq(email))
        .select(account_roles::role)
        .first(&mut conn)
        .optional()
        .unwrap()
}

/// An app with its own cookie jar, signed in as `email`.
pub async fn as_user(app: &TestApp, email: &str) -> TestApp {
    let other = TestApp { client: client(), ..app.clone_handle() };
    let resp = other.sign_in(email, PASSWORD).await;
    assert_eq!(resp.status().as_u16(), 303, "sign in as {email}");
    other
}

/// A company administrator approves the first pending request on the company page.
pub async fn approve_first_request(admin: &TestApp) {
    let company = admin.get_text("/company").await;
    let approve = scraper::Html::parse_document(&company)
        .select(&scraper::Selector::parse("#membership-requests form").unwrap())
        .next()
        .and_then(|f| f.value().attr("action").map(str::to_string))
        .expect("a request to approve");
    assert!(approve.ends_with("/approve"), "{approve}");
    assert_eq!(admin.post_form("/company", &approve, &[]).await.status().as_u16(), 303);
}
