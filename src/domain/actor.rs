//! The signed-in user as every domain operation sees them: who, which
//! company, what kind of company.

use diesel::prelude::*;

use crate::db::models::company::Company;
use crate::db::models::user::User;
use crate::db::schema::{companies, users};
use crate::db::DbConnection;
use crate::domain::company::CompanyKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompanyId(pub i64);

#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub company_id: CompanyId,
    pub company_name: String,
    pub company_kind: CompanyKind,
    pub notify_orders: bool,
    pub notify_reminders: bool,
    /// May admit, invite and deactivate people of the company.
    pub is_company_admin: bool,
    /// What the actor holds that lets them see orders, loaded at most once
    /// while it is remembered (see `remember_audience`) and shared by clones.
    pub(crate) audience: Option<std::sync::Arc<std::sync::OnceLock<crate::domain::orders::visibility::Audience>>>,
}

/// A user's settings that an actor carries.
pub(crate) struct Settings {
    pub notify_orders: bool,
    pub notify_reminders: bool,
    pub is_company_admin: bool,
}

impl Actor {
    /// Loads a user as an actor; `None` unless they are a confirmed, active
    /// member of a company.
    pub fn load(conn: &mut DbConnection, user_id: i64) -> QueryResult<Option<Actor>> {
        let row: Option<(User, Company)> = users::table
            .inner_join(companies::table)
            .filter(users::id.eq(user_id))
            .filter(users::email_confirmed_at.is_not_null())
            .filter(users::deactivated_at.is_null())
            .select((User::as_select(), Company::as_select()))
            .first(conn)
            .optional()?;
        Ok(row.map(|(u, c)| Actor::from_rows(u, c)))
    }

    pub(crate) fn from_rows(u: User, c: Company) -> Actor {
        let settings =
            Settings { notify_orders: u.notify_orders, notify_reminders: u.notify_reminders, is_company_admin: u.is_company_admin };
        Actor::from_parts(u.id, u.email, u.name, settings, (c.id, c.name, c.kind))
    }

    /// An actor from the columns it is made of: the user's id, address and
    /// name, their settings, and their company's id, name and kind.
    pub(crate) fn from_parts(user_id: i64, email: String, name: String, settings: Settings, company: (i64, String, String)) -> Actor {
        let (company_id, company_name, kind) = company;
        Actor {
            user_id: UserId(user_id),
            email,
            name,
            company_id: CompanyId(company_id),
            company_name,
            company_kind: CompanyKind::parse(&kind).unwrap_or(CompanyKind::Customer),
            notify_orders: settings.notify_orders,
            notify_reminders: settings.notify_reminders,
            is_company_admin: settings.is_company_admin,
            audience: None,
        }
    }

    /// Remembers the actor's audience once loaded, for this actor and its
    /// clones: for a request that changes nothing (a GET), so the navigation
    /// count and the page judge by one load of the actor's roles.
    pub fn remember_audience(mut self) -> Actor {
        self.audience = Some(Default::default());
        self
    }

    pub fn is_operations(&self) -> bool {
        self.company_kind == CompanyKind::Operations
    }
}
