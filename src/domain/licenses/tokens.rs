//! Registration tokens per VA: a device presents one to register and lands
//! in its VA. Made only in an active customer account whose agreement is
//! accepted; stored as a sha256 hash and shown once, at creation.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::ids::ids_in;
use crate::db::schema::{registration_tokens, users};
use crate::db::DbConnection;
use crate::domain::accounts::{self, events};
use crate::domain::error::{DomainError, DomainResult, FieldErrors};
use crate::domain::policy::{self, Capability};
use crate::domain::Actor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Expired,
    UsedUp,
    Revoked,
}

impl TokenState {
    pub fn label(self) -> &'static str {
        match self {
            TokenState::Active => "Active",
            TokenState::Expired => "Expired",
            TokenState::UsedUp => "Used up",
            TokenState::Revoked => "Revoked",
        }
    }
    pub fn css(self) -> &'static str {
        match self {
            TokenState::Active => "badge-active",
            TokenState::Revoked => "badge-danger",
            _ => "badge-pending",
        }
    }
}

/// A token's state: revoked beats used up beats expired.
pub fn state(revoked: bool, max_uses: Option<i32>, uses: i32, expires_at: NaiveDateTime, now: NaiveDateTime) -> TokenState {
    if revoked {
        TokenState::Revoked
    } else if max_uses.is_some_and(|m| uses >= m) {
        TokenState::UsedUp
    } else if expires_at <= now {
        TokenState::Expired
    } else {
        TokenState::Active
    }
}

/// The token form as typed.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct TokenInput {
    #[serde(default)]
    pub description: String,
    #[serde(default = "default_days")]
    pub expires_days: String,
    /// Blank: unlimited.
    #[serde(default)]
    pub max_uses: String,
    #[serde(default)]
    pub export_controlled: Option<String>,
}

fn default_days() -> String {
    "30".into()
}

impl Default for TokenInput {
    fn default() -> Self {
        TokenInput { description: String::new(), expires_days: default_days(), max_uses: String::new(), export_controlled: None }
    }
}

/// Checked token settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    pub description: String,
    pub days: i64,
    pub max_uses: Option<i32>,
    pub export_controlled: bool,
}

pub fn parse(input: &TokenInput) -> Result<TokenSpec, FieldErrors> {
    let mut e = FieldErrors::new();
    let description = input.description.trim().to_string();
    if description.is_empty() {
        e.add("description", "Describe what the token is for (say, the site or the batch of devices).");
    } else if description.chars().count() > 200 {
        e.add("description", "Keep the description under 200 characters.");
    }
    let days = match input.expires_days.trim().parse::<i64>() {
        Ok(d) if (1..=365).contains(&d) => Some(d),
        _ => {
            e.add("expires_days", "Enter a number of days from 1 to 365.");
            None
        }
    };
    let max_uses = match input.max_uses.trim() {
        "" => Some(None),
        s => match s.parse::<i32>() {
            Ok(n) if (1..=1_000_000).contains(&n) => Some(Some(n)),
            _ => {
                e.add("max_uses", "Enter a whole number of uses from 1 to 1,000,000, or leave it empty for unlimited.");
                None
            }
        },
    };
    if !e.is_empty() {
        return Err(e);
    }
    Ok(TokenSpec {
        description,
        days: days.expect("checked"),
        max_uses: max_uses.expect("checked"),
        export_controlled: input.export_controlled.as_deref().is_some_and(|v| !v.is_empty() && v != "no"),
    })
}

/// A token just made: the only time its value is shown.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub id: i64,
    pub value: String,
    pub description: String,
    pub expires_at: NaiveDateTime,
}

/// Makes a token in a VA. Refused with the reason while the account is
/// pending, for a holding account, and before the agreement is accepted.
pub fn create(conn: &mut DbConnection, actor: &Actor, account_id: i64, va: i64, input: &TokenInput) -> DomainResult<CreatedToken> {
    crate::db::transaction(conn, |conn| {
        let ctx = accounts::load(conn, actor, account_id)?;
        let tab = super::va_in_account(conn, &ctx, va)?;
        if let Some(reason) = policy::token_refusal(ctx.account.kind, ctx.account.status, ctx.account.agreement_accepted()) {
            return Err(DomainError::Invalid(FieldErrors::single("token", reason)));
        }
        policy::account_permit(&ctx.access, Capability::ManageInstances(va))?;
        let spec = parse(input)?;
        let value = super::new_secret("srt_");
        let now = crate::db::now();
        let expires_at = now + Duration::days(spec.days);
        let hint: String = value.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
        diesel::insert_into(registration_tokens::table)
            .values((
                registration_tokens::smart_account_id.eq(account_id),
                registration_tokens::virtual_account_id.eq(va),
                registration_tokens::description.eq(&spec.description),
                registration_tokens::token_hash.eq(super::secret_hash(&value)),
                registration_tokens::token_hint.eq(hint),
                registration_tokens::export_controlled.eq(spec.export_controlled),
                registration_tokens::max_uses.eq(spec.max_uses),
                registration_tokens::uses.eq(0),
                registration_tokens::expires_at.eq(expires_at),
                registration_tokens::created_by.eq(Some(actor.user_id.0)),
                registration_tokens::created_at.eq(now),
            ))
            .execute(conn)?;
        let id: i64 = registration_tokens::table
            .filter(registration_tokens::token_hash.eq(super::secret_hash(&value)))
            .select(registration_tokens::id)
            .first(conn)?;
        let uses = spec.max_uses.map(|m| format!("{m} uses")).unwrap_or_else(|| "unlimited uses".into());
        events::record(
            conn,
            account_id,
            Some(va),
            Some(actor.user_id.0),
            "token_created",
            &format!(
                "Registration token \"{}\" for {}: expires {}, {uses}{}",
                spec.description,
                tab.name,
                expires_at.format("%Y-%m-%d"),
                if spec.export_controlled { ", export-controlled functionality allowed" } else { "" }
            ),
        )?;
        Ok(CreatedToken { id, value, description: spec.description, expires_at })
    })
}

/// A token as the list shows it.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: i64,
    pub virtual_account_id: i64,
    pub description: String,
    pub hint: String,
    pub export_controlled: bool,
    pub max_uses: Option<i32>,
    pub uses: i32,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub created_by: Option<String>,
    pub state: TokenState,
}

impl TokenRow {
    pub fn uses_label(&self) -> String {
        match self.max_uses {
            Some(m) => format!("{} of {m}", self.uses),
            None => format!("{} (unlimited)", self.uses),
        }
    }
}

/// The tokens of some VAs, newest first.
pub fn list(conn: &mut DbConnection, vas: &[i64]) -> DomainResult<Vec<TokenRow>> {
    type Row = (i64, i64, String, String, bool, Option<i32>, i32, NaiveDateTime, NaiveDateTime, Option<String>, Option<NaiveDateTime>);
    let rows: Vec<Row> = registration_tokens::table
        .left_join(users::table.on(users::id.nullable().eq(registration_tokens::created_by)))
        .filter(ids_in(registration_tokens::virtual_account_id, vas))
        .order((registration_tokens::created_at.desc(), registration_tokens::id.desc()))
        .limit(500)
        .select((
            registration_tokens::id,
            registration_tokens::virtual_account_id,
            registration_tokens::description,
            registration_tokens::token_hint,
            registration_tokens::export_controlled,
            registration_tokens::max_uses,
            registration_tokens::uses,
            registration_tokens::expires_at,
            registration_tokens::created_at,
            users::name.nullable(),
            registration_tokens::revoked_at,
        ))
        .load(conn)?;
    let now = crate::db::now();
    Ok(rows
        .into_iter()
        .map(|(id, va, description, hint, export_controlled, max_uses, uses, expires_at, created_at, by, revoked)| TokenRow {
            id,
            virtual_account_id: va,
            description,
            hint,
            export_controlled,
            max_uses,
            uses,
            expires_at,
            created_at,
            created_by: by,
            state: state(revoked.is_some(), max_uses, uses, expires_at, now),
        })
        .collect())
}

/// Revokes a token of the account: devices can no longer register with it.
pub fn revoke(conn: &mut DbConnection, actor: &Actor, account_id: i64, token_id: i64) -> DomainResult<(i64, String)> {
    crate::db::transaction(conn, |conn| {
        let ctx = accounts::load(conn, actor, account_id)?;
        let row: Option<(i64, String, Option<NaiveDateTime>)> = registration_tokens::table
            .filter(registration_tokens::id.eq(token_id))
            .filter(registration_tokens::smart_account_id.eq(account_id))
            .select((registration_tokens::virtual_account_id, registration_tokens::description, registration_tokens::revoked_at))
            .first(conn)
            .optional()?;
        let (va, description, revoked) = row.ok_or(DomainError::NotFound)?;
        let _ = super::va_in_account(conn, &ctx, va)?;
        policy::account_permit(&ctx.access, Capability::ManageInstances(va))?;
        if revoked.is_some() {
            return Ok((va, description));
        }
        diesel::update(registration_tokens::table.find(token_id))
            .set((registration_tokens::revoked_at.eq(crate::db::now()), registration_tokens::revoked_by.eq(Some(actor.user_id.0))))
            .execute(conn)?;
        events::record(
            conn,
            account_id,
            Some(va),
            Some(actor.user_id.0),
            "token_revoked",
            &format!("Registration token \"{description}\" revoked"),
        )?;
        Ok((va, description))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap().and_hms_opt(12, 0, 0).unwrap() + Duration::hours(h)
    }

    #[test]
    fn a_token_is_active_until_it_expires_is_used_up_or_revoked() {
        assert_eq!(state(false, None, 500, t(1), t(0)), TokenState::Active);
        assert_eq!(state(false, Some(3), 2, t(1), t(0)), TokenState::Active);
        assert_eq!(state(false, Some(3), 3, t(1), t(0)), TokenState::UsedUp);
        assert_eq!(state(false, None, 0, t(0), t(0)), TokenState::Expired, "expiry is exclusive");
        assert_eq!(state(false, Some(1), 1, t(-5), t(0)), TokenState::UsedUp);
        assert_eq!(state(true, Some(1), 0, t(5), t(0)), TokenState::Revoked);
    }

    #[test]
    fn token_settings_are_checked_field_by_field() {
        let ok = TokenInput {
            description: "Plant 2".into(),
            expires_days: "365".into(),
            max_uses: "".into(),
            export_controlled: Some("yes".into()),
        };
        assert_eq!(parse(&ok).unwrap(), TokenSpec { description: "Plant 2".into(), days: 365, max_uses: None, export_controlled: true });
        let bad = TokenInput { description: " ".into(), expires_days: "366".into(), max_uses: "0".into(), export_controlled: None };
        let e = parse(&bad).unwrap_err();
        assert!(e.get("description").is_some() && e.get("expires_days").is_some() && e.get("max_uses").is_some());
        let e = parse(&TokenInput { expires_days: "0".into(), ..ok.clone() }).unwrap_err();
        assert!(e.get("expires_days").is_some());
        assert_eq!(parse(&TokenInput { max_uses: "5".into(), ..ok }).unwrap().max_uses, Some(5));
    }
}
