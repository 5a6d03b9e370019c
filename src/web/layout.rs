//! What every page's frame shows: who is signed in, the navigation, flash
//! messages and the CSRF token for forms and htmx requests.

use crate::domain::{policy, Actor};
use crate::web::session::Flash;

#[derive(Debug, Clone)]
pub struct LayoutUser {
    pub name: String,
    pub email: String,
    pub company: String,
    pub company_kind: String,
    pub is_operations: bool,
    pub is_company_admin: bool,
    /// Not Assigned orders the user sees (counted up to 1,000), for the navigation.
    pub not_assigned: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Layout {
    pub user: Option<LayoutUser>,
    pub csrf_token: String,
    pub flashes: Vec<Flash>,
    /// The request path, to mark the current navigation entry.
    pub path: String,
    pub mail_viewer: bool,
    /// Someone signed in who is not (yet) a member of a company: their name.
    pub person: Option<String>,
}

impl Layout {
    /// For pages rendered outside a request's context (error pages).
    pub fn bare() -> Layout {
        Layout { user: None, csrf_token: String::new(), flashes: Vec::new(), path: String::new(), mail_viewer: false, person: None }
    }

    pub fn new(actor: Option<&Actor>, csrf_token: String, flashes: Vec<Flash>, path: String, mail_viewer: bool) -> Layout {
        Layout {
            user: actor.map(|a| LayoutUser {
                name: a.name.clone(),
                email: a.email.clone(),
                company: a.company_name.clone(),
                company_kind: a.company_kind.label().to_string(),
                is_operations: policy::sees_operations_section(a),
                is_company_admin: a.is_company_admin,
                not_assigned: None,
            }),
            csrf_token,
            flashes,
            path,
            mail_viewer,
            person: None,
        }
    }

    /// The layout with the navigation's Not Assigned count as it is now
    /// (after a change the page reports on).
    pub fn with_not_assigned(mut self, count: i64) -> Layout {
        if let Some(u) = self.user.as_mut() {
            u.not_assigned = Some(count);
        }
        self
    }

    /// Whether the development mail viewer is linked: only for someone
    /// signed in (a new person follows their confirmation mail there).
    pub fn shows_mail_viewer(&self) -> bool {
        self.mail_viewer && (self.user.is_some() || self.person.is_some())
    }

    /// `aria-current="page"` for the navigation entry of `prefix`.
    pub fn current(&self, prefix: &str) -> &'static str {
        // An account's licenses belong to the Licenses section.
        let account_licenses =
            self.path.starts_with("/accounts/") && (self.path.ends_with("/licenses") || self.path.contains("/licenses/"));
        let here = match prefix {
            "/licenses" if account_licenses => true,
            "/accounts" if account_licenses => false,
            _ => self.path == prefix || (prefix != "/" && self.path.starts_with(prefix) && self.path[prefix.len()..].starts_with('/')),
        };
        if here {
            "page"
        } else {
            "false"
        }
    }
}

/// The value for an `<input type="date">`: the text if it is a date
/// (YYYY-MM-DD), else empty, since a date input holds nothing else (the
/// field's error message says what was wrong).
pub fn date_value(text: &str) -> &str {
    if chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() {
        text
    } else {
        ""
    }
}
