//! Email: messages are written to the outbox table inside the transaction of
//! the change that causes them; the worker sends them through lettre, to
//! files in development or to an SMTP server, with retries.

pub mod outbox;
pub mod transport;
pub mod viewer;
pub mod worker;

use askama::Template;

pub use outbox::enqueue;

use crate::domain::Actor;

/// A message ready for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body_text: String,
    /// What kind of message this is (`welcome`, `order_assignment_required`, …).
    pub kind: &'static str,
    /// When set, a second message with the same key is not queued.
    pub dedupe_key: Option<String>,
}

#[derive(Template)]
#[template(path = "email/welcome.txt", whitespace = "preserve")]
struct WelcomeEmail<'a> {
    name: &'a str,
    company: &'a str,
    kind: &'a str,
    sign_in_url: String,
    profile_url: String,
}

#[derive(Template)]
#[template(path = "email/notice.txt", whitespace = "preserve")]
struct NoticeEmail<'a> {
    paragraphs: &'a [String],
    link: Option<(&'a str, &'a str)>,
}

impl Email {
    /// A short message: paragraphs and at most one link to follow.
    pub fn notice(to: &str, subject: impl Into<String>, kind: &'static str, paragraphs: &[String], link: Option<(&str, &str)>) -> Email {
        let body = NoticeEmail { paragraphs, link };
        Email {
            to: to.to_string(),
            subject: subject.into(),
            body_text: body.render().unwrap_or_else(|_| paragraphs.join("\n\n")),
            kind,
            dedupe_key: None,
        }
    }

    pub fn welcome(actor: &Actor, base_url: &str) -> Email {
        let body = WelcomeEmail {
            name: &actor.name,
            company: &actor.company_name,
            kind: actor.company_kind.label(),
            sign_in_url: format!("{base_url}/sign-in"),
            profile_url: format!("{base_url}/profile"),
        };
        Email {
            to: actor.email.clone(),
            subject: "Welcome to the Smart Account Portal".into(),
            body_text: body.render().unwrap_or_else(|e| format!("Welcome, {}. ({e})", actor.name)),
            kind: "welcome",
            dedupe_key: Some(format!("welcome:{}", actor.user_id.0)),
        }
    }
}
