//! Devices (product instances). A device registers with a token over the
//! JSON interface (name, product, licenses needed → instance id and secret),
//! lands in the token's VA and consumes its licenses; it reports usage with
//! its secret. Over-use is accepted and flagged (see `shortages`). People
//! list devices per VA (sorted and searched by name), move them to another
//! VA (the consumption moves) and remove them (the licenses are freed).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{devices, products, registration_tokens, smart_accounts, virtual_accounts};
use crate::db::DbConnection;
use crate::domain::accounts::{self, events};
use crate::domain::error::{DomainError, DomainResult, FieldErrors};
use crate::domain::policy::{self, Capability};
use crate::domain::roles::{AccountKind, AccountStatus};
use crate::domain::Actor;

use super::{shortages, MAX_DEVICE_LICENSES};

/// Why the device interface refused a request. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceRefusal {
    UnknownToken,
    ExpiredToken,
    RevokedToken,
    UsedUpToken,
    /// The token's account cannot register products now (the reason).
    AccountCannotRegister(&'static str),
    /// A field is missing or out of range (field, message).
    Invalid(&'static str, String),
    UnknownDevice,
    WrongSecret,
    Internal(String),
}

impl DeviceRefusal {
    /// A short machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            DeviceRefusal::UnknownToken => "unknown-token",
            DeviceRefusal::ExpiredToken => "expired-token",
            DeviceRefusal::RevokedToken => "revoked-token",
            DeviceRefusal::UsedUpToken => "used-up-token",
            DeviceRefusal::AccountCannotRegister(_) => "account-cannot-register",
            DeviceRefusal::Invalid(..) => "invalid-input",
            DeviceRefusal::UnknownDevice => "unknown-device",
            DeviceRefusal::WrongSecret => "wrong-secret",
            DeviceRefusal::Internal(_) => "internal",
        }
    }
    pub fn detail(&self) -> String {
        match self {
            DeviceRefusal::UnknownToken => "No registration token has this value.".into(),
            DeviceRefusal::ExpiredToken => "The registration token has expired; ask the account for a new one.".into(),
            DeviceRefusal::RevokedToken => "The registration token was revoked.".into(),
            DeviceRefusal::UsedUpToken => "The registration token has been used as many times as it allows.".into(),
            DeviceRefusal::AccountCannotRegister(r) => (*r).to_string(),
            DeviceRefusal::Invalid(field, m) => format!("{field}: {m}"),
            DeviceRefusal::UnknownDevice => "No registered device has this id.".into(),
            DeviceRefusal::WrongSecret => "The device secret does not match.".into(),
            DeviceRefusal::Internal(_) => "The portal hit an unexpected error; nothing was written.".into(),
        }
    }
}

impl From<diesel::result::Error> for DeviceRefusal {
    fn from(e: diesel::result::Error) -> Self {
        tracing::error!(error = %e, "device interface");
        DeviceRefusal::Internal(e.to_string())
    }
}

impl From<DomainError> for DeviceRefusal {
    fn from(e: DomainError) -> Self {
        tracing::error!(error = ?e, "device interface");
        DeviceRefusal::Internal(format!("{e:?}"))
    }
}

/// A device's registration request.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct RegisterRequest {
    pub token: String,
    pub name: String,
    /// The product's SKU.
    pub product: String,
    pub licenses: i64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Registered {
    pub instance_id: i64,
    pub secret: String,
    pub virtual_account: String,
    pub product: String,
    pub licenses: i64,
}

/// What a device learns after a report: its consumption and whether its VA is short.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct UsageReceipt {
    pub instance_id: i64,
    pub licenses: i64,
    pub owned: i64,
    pub in_use: i64,
    pub insufficient: bool,
}

pub fn check_licenses(n: i64) -> Result<i32, DeviceRefusal> {
    if !(0..=MAX_DEVICE_LICENSES).contains(&n) {
        return Err(DeviceRefusal::Invalid("licenses", format!("must be a whole number from 0 to {MAX_DEVICE_LICENSES}")));
    }
    Ok(n as i32)
}

pub fn check_name(name: &str) -> Result<String, DeviceRefusal> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 120 || name.chars().any(char::is_control) {
        return Err(DeviceRefusal::Invalid("name", "must be 1 to 120 printable characters".into()));
    }
    Ok(name.to_string())
}

/// Registers a device with a token. All checks come first; then, in one
/// transaction, the token's use is claimed (conditionally, so a token with
/// one use left registers one device), the device is written, the shortage
/// of its VA reconciled.
pub fn register(conn: &mut DbConnection, req: &RegisterRequest, base_url: &str) -> Result<Registered, DeviceRefusal> {
    let name = check_name(&req.name)?;
    let licenses = check_licenses(req.licenses)?;
    let product: Option<(i64, String, Option<String>)> = products::table
        .filter(products::sku.eq(req.product.trim()))
        .select((products::id, products::sku, products::license_name))
        .first(conn)
        .optional()?;
    let Some((product_id, sku, Some(license_name))) = product else {
        return Err(DeviceRefusal::Invalid("product", format!("\"{}\" is not a licensed product's SKU", req.product.trim())));
    };
    let hash = super::secret_hash(req.token.trim());
    crate::db::transaction(conn, |conn| -> Result<Registered, DeviceRefusal> {
        type TokenRow = (i64, i64, i64, Option<i32>, i32, NaiveDateTime, Option<NaiveDateTime>);
        let token: Option<TokenRow> = registration_tokens::table
            .filter(registration_tokens::token_hash.eq(&hash))
            .select((
                registration_tokens::id,
                registration_tokens::smart_account_id,
                registration_tokens::virtual_account_id,
                registration_tokens::max_uses,
                registration_tokens::uses,
                registration_tokens::expires_at,
                registration_tokens::revoked_at,
            ))
            .first(conn)
            .optional()?;
        let Some((token_id, account, va, max_uses, uses, expires_at, revoked_at)) = token else {
            return Err(DeviceRefusal::UnknownToken);
        };
        let now = crate::db::now();
        match super::tokens::state(revoked_at.is_some(), max_uses, uses, expires_at, now) {
            super::tokens::TokenState::Revoked => return Err(DeviceRefusal::RevokedToken),
            super::tokens::TokenState::UsedUp => return Err(DeviceRefusal::UsedUpToken),
            super::tokens::TokenState::Expired => return Err(DeviceRefusal::ExpiredToken),
            super::tokens::TokenState::Active => {}
        }
        let (kind, status, accepted): (String, String, Option<NaiveDateTime>) = smart_accounts::table
            .find(account)
            .select((smart_accounts::kind, smart_accounts::status, smart_accounts::agreement_accepted_at))
            .first(conn)?;
        let kind = AccountKind::parse(&kind).unwrap_or(AccountKind::Holding);
        let status = AccountStatus::parse(&status).unwrap_or(AccountStatus::Pending);
        if let Some(reason) = policy::token_refusal(kind, status, accepted.is_some()) {
            return Err(DeviceRefusal::AccountCannotRegister(reason));
        }
        // Claim one use; a concurrent registration that took the last one makes this miss.
        let mut claim = diesel::update(registration_tokens::table)
            .filter(registration_tokens::id.eq(token_id))
            .filter(registration_tokens::uses.eq(uses))
            .filter(registration_tokens::revoked_at.is_null())
            .into_boxed::<crate::db::MultiBackend>();
        if max_uses.is_some() {
            claim = claim.filter(registration_tokens::max_uses.gt(registration_tokens::uses.nullable()));
        }
        if claim.set(registration_tokens::uses.eq(uses + 1)).execute(conn)? != 1 {
            return Err(DeviceRefusal::UsedUpToken);
        }
        let secret = super::new_secret("dev_");
        diesel::insert_into(devices::table)
            .values((
                devices::smart_account_id.eq(account),
                devices::virtual_account_id.eq(va),
                devices::token_id.eq(Some(token_id)),
                devices::name.eq(&name),
                devices::name_key.eq(name.to_lowercase()),
                devices::product_id.eq(product_id),
                devices::license_name.eq(&license_name),
                devices::licenses.eq(licenses),
                devices::secret_hash.eq(super::secret_hash(&secret)),
                devices::registered_at.eq(now),
                devices::last_contact_at.eq(now),
            ))
            .execute(conn)?;
        let instance_id: i64 = devices::table
            .filter(devices::virtual_account_id.eq(va))
            .filter(devices::secret_hash.eq(super::secret_hash(&secret)))
            .select(devices::id)
            .first(conn)?;
        shortages::consume(conn, account, va, &license_name, i64::from(licenses))?;
        let va_name: String = virtual_accounts::table.find(va).select(virtual_accounts::name).first(conn)?;
        events::record(
            conn,
            account,
            Some(va),
            None,
            "device_registered",
            &format!("Device \"{name}\" ({sku}) registered in {va_name} with a token, using {licenses} × {license_name}"),
        )?;
        shortages::reconcile(conn, account, va, &license_name, None, base_url)?;
        Ok(Registered { instance_id, secret, virtual_account: va_name, product: sku.clone(), licenses: i64::from(licenses) })
    })
}

/// Loads a live device after checking its secret.
fn authenticate(conn: &mut DbConnection, id: i64, secret: &str) -> Result<(i64, i64, String, String, i32), DeviceRefusal> {
    let row: Option<(i64, i64, String, String, i32, String)> = devices::table
        .filter(devices::id.eq(id))
        .filter(devices::removed_at.is_null())
        .select((
            devices::smart_account_id,
            devices::virtual_account_id,
            devices::name,
            devices::license_name,
            devices::licenses,
            devices::secret_hash,
        ))
        .first(conn)
        .optional()?;
    let Some((account, va, name, license, licenses, hash)) = row else { return Err(DeviceRefusal::UnknownDevice) };
    let presented = super::secret_hash(secret.trim());
    let same = presented.len() == hash.len() && presented.bytes().zip(hash.bytes()).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0;
    if !same {
        return Err(DeviceRefusal::WrongSecret);
    }
    Ok((account, va, name, license, licenses))
}

/// A device reports how many licenses it uses now. Each report is its own
/// transaction; a change of consumption reconciles the VA's shortage.
pub fn report(conn: &mut DbConnection, id: i64, secret: &str, licenses: i64, base_url: &str) -> Result<UsageReceipt, DeviceRefusal> {
    let n = check_licenses(licenses)?;
    crate::db::transaction(conn, |conn| -> Result<UsageReceipt, DeviceRefusal> {
        // Conditional on the figure read: a concurrent report of the same
        // device makes the update miss, and the figure is read again.
        for _ in 0..5 {
            let (account, va, _name, license, before) = authenticate(conn, id, secret)?;
            let updated =
                diesel::update(devices::table.find(id).filter(devices::licenses.eq(before)).filter(devices::removed_at.is_null()))
                    .set((devices::licenses.eq(n), devices::last_contact_at.eq(crate::db::now())))
                    .execute(conn)?;
            if updated == 0 {
                continue;
            }
            if before != n {
                shortages::consume(conn, account, va, &license, i64::from(n) - i64::from(before))?;
                shortages::reconcile(conn, account, va, &license, None, base_url)?;
            }
            let (owned, in_use) = shortages::owned_and_in_use(conn, va, &license)?;
            return Ok(UsageReceipt { instance_id: id, licenses: i64::from(n), owned, in_use, insufficient: in_use > owned });
        }
        Err(DeviceRefusal::Internal("the device changed concurrently too often".into()))
    })
}

/// A device leaves: its licenses are freed.
pub fn deregister(conn: &mut DbConnection, id: i64, secret: &str, base_url: &str) -> Result<(), DeviceRefusal> {
    crate::db::transaction(conn, |conn| -> Result<(), DeviceRefusal> {
        let (account, va, name, license, licenses) = authenticate(conn, id, secret)?;
        let gone = diesel::update(devices::table.find(id).filter(devices::licenses.eq(licenses)).filter(devices::removed_at.is_null()))
            .set(devices::removed_at.eq(Some(crate::db::now())))
            .execute(conn)?;
        if gone == 0 {
            return Err(DeviceRefusal::Internal("the device changed meanwhile; try again".into()));
        }
        shortages::consume(conn, account, va, &license, -i64::from(licenses))?;
        events::record(
            conn,
            account,
            Some(va),
            None,
            "device_removed",
            &format!("Device \"{name}\" deregistered itself, freeing {licenses} × {license}"),
        )?;
        shortages::reconcile(conn, account, va, &license, None, base_url)?;
        Ok(())
    })
}

// ---------------------------------------------------------------- pages

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSort {
    Name,
    NameDesc,
    LastContact,
}

impl DeviceSort {
    pub fn parse(s: &str) -> DeviceSort {
        match s {
            "-name" => DeviceSort::NameDesc,
            "contact" => DeviceSort::LastContact,
            _ => DeviceSort::Name,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceSort::Name => "name",
            DeviceSort::NameDesc => "-name",
            DeviceSort::LastContact => "contact",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DeviceRow {
    pub id: i64,
    pub virtual_account_id: i64,
    pub name: String,
    pub name_key: String,
    pub sku: String,
    pub license_name: String,
    pub licenses: i32,
    pub registered_at: NaiveDateTime,
    pub last_contact_at: NaiveDateTime,
    /// Silent for 30 days or more.
    pub silent: bool,
    /// Its VA is short of its product.
    pub insufficient: bool,
}

#[derive(Debug, Clone)]
pub struct DevicePage {
    pub rows: Vec<DeviceRow>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
}

pub const PAGE_SIZE: i64 = 50;

/// One page of the devices of one VA, sorted by name (or last contact),
/// searched by name prefix; keyset pages on the (VA, name_key, id) index.
pub fn page(
    conn: &mut DbConnection,
    actor: &Actor,
    account_id: i64,
    va: i64,
    sort: DeviceSort,
    q: &str,
    after: Option<&str>,
) -> DomainResult<DevicePage> {
    let frame = super::frame(conn, actor, account_id)?;
    page_in(conn, &frame, va, sort, q, after)
}

/// [`page`] within a frame already read (404 for a VA it does not show).
pub fn page_in(
    conn: &mut DbConnection,
    frame: &super::LicensesFrame,
    va: i64,
    sort: DeviceSort,
    q: &str,
    after: Option<&str>,
) -> DomainResult<DevicePage> {
    frame.tab(va)?;
    page_of(conn, va, sort, q, after, PAGE_SIZE)
}

/// The page query itself, without permission checks (the bench times it).
pub fn page_of(conn: &mut DbConnection, va: i64, sort: DeviceSort, q: &str, after: Option<&str>, limit: i64) -> DomainResult<DevicePage> {
    type Row = (i64, i64, String, String, String, String, i32, NaiveDateTime, NaiveDateTime);
    let mut query = devices::table
        .inner_join(products::table)
        .filter(devices::virtual_account_id.eq(va))
        .filter(devices::removed_at.is_null())
        .select((
            devices::id,
            devices::virtual_account_id,
            devices::name,
            devices::name_key,
            products::sku,
            devices::license_name,
            devices::licenses,
            devices::registered_at,
            devices::last_contact_at,
        ))
        .limit(limit + 1)
        .into_boxed::<crate::db::MultiBackend>();
    let q = q.trim().to_lowercase();
    if !q.is_empty() {
        query = query.filter(devices::name_key.ge(q.clone())).filter(devices::name_key.lt(format!("{q}\u{10FFFF}")));
    }
    // Cursor: "<id>:<key>" where key is the name_key or the contact time.
    let cursor = after.and_then(|c| c.split_once(':')).and_then(|(id, key)| Some((id.parse::<i64>().ok()?, key.to_string())));
    query = match sort {
        DeviceSort::Name => {
            if let Some((id, key)) = &cursor {
                // The first term starts the index range; the second skips the rows up to the cursor.
                query = query.filter(devices::name_key.ge(key.clone())).filter(devices::name_key.gt(key.clone()).or(devices::id.gt(*id)));
            }
            query.order((devices::name_key, devices::id))
        }
        DeviceSort::NameDesc => {
            if let Some((id, key)) = &cursor {
                query = query.filter(devices::name_key.le(key.clone())).filter(devices::name_key.lt(key.clone()).or(devices::id.lt(*id)));
            }
            query.order((devices::name_key.desc(), devices::id.desc()))
        }
        DeviceSort::LastContact => {
            if let Some((id, key)) = &cursor {
                if let Ok(t) = NaiveDateTime::parse_from_str(key, "%Y-%m-%dT%H:%M:%S%.f") {
                    query = query.filter(devices::last_contact_at.ge(t)).filter(devices::last_contact_at.gt(t).or(devices::id.gt(*id)));
                }
            }
            query.order((devices::last_contact_at, devices::id))
        }
    };
    let mut rows: Vec<Row> = query.load(conn)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let short: Vec<String> = crate::db::schema::license_shortages::table
        .filter(crate::db::schema::license_shortages::virtual_account_id.eq(va))
        .filter(crate::db::schema::license_shortages::resolved_at.is_null())
        .select(crate::db::schema::license_shortages::license_name)
        .load(conn)?;
    let silent_before = crate::db::now() - chrono::Duration::days(super::SILENT_DAYS);
    let rows: Vec<DeviceRow> = rows
        .into_iter()
        .map(|(id, va, name, name_key, sku, license_name, licenses, registered_at, last_contact_at)| DeviceRow {
            silent: last_contact_at < silent_before,
            insufficient: short.contains(&license_name),
            id,
            virtual_account_id: va,
            name,
            name_key,
            sku,
            license_name,
            licenses,
            registered_at,
            last_contact_at,
        })
        .collect();
    let next = if more {
        rows.last().map(|r| match sort {
            DeviceSort::LastContact => format!("{}:{}", r.id, r.last_contact_at.format("%Y-%m-%dT%H:%M:%S%.f")),
            _ => format!("{}:{}", r.id, r.name_key),
        })
    } else {
        None
    };
    Ok(DevicePage { rows, next })
}

fn load_device(conn: &mut DbConnection, account_id: i64, id: i64) -> DomainResult<(i64, String, String, i32)> {
    devices::table
        .filter(devices::id.eq(id))
        .filter(devices::smart_account_id.eq(account_id))
        .filter(devices::removed_at.is_null())
        .select((devices::virtual_account_id, devices::name, devices::license_name, devices::licenses))
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)
}

/// Moves a device to another VA of the account: its consumption moves too.
pub fn move_to(conn: &mut DbConnection, actor: &Actor, account_id: i64, id: i64, to_raw: &str, base_url: &str) -> DomainResult<String> {
    crate::db::transaction(conn, |conn| {
        let ctx = accounts::load(conn, actor, account_id)?;
        let (from, name, license, licenses) = load_device(conn, account_id, id)?;
        let from_tab = super::va_in_account(conn, &ctx, from)?;
        policy::account_permit(&ctx.access, Capability::ManageInstances(from))?;
        let vas = super::visible_vas(conn, &ctx)?;
        let to = to_raw.trim().parse::<i64>().ok().and_then(|t| vas.into_iter().find(|v| v.id == t && v.can_manage_instances));
        let Some(to) = to else {
            return Err(DomainError::Invalid(FieldErrors::single("to", "Choose one of the virtual accounts you manage devices in.")));
        };
        if to.id == from {
            return Err(DomainError::Invalid(FieldErrors::single("to", "The device is in that virtual account already.")));
        }
        let moved =
            diesel::update(devices::table.find(id).filter(devices::licenses.eq(licenses)).filter(devices::virtual_account_id.eq(from)))
                .set(devices::virtual_account_id.eq(to.id))
                .execute(conn)?;
        if moved == 0 {
            return Err(DomainError::Conflict("The device reported or moved meanwhile; nothing was changed. Try again.".into()));
        }
        shortages::consume(conn, account_id, from, &license, -i64::from(licenses))?;
        shortages::consume(conn, account_id, to.id, &license, i64::from(licenses))?;
        let detail = format!("Device \"{name}\" moved from {} to {}, with its {licenses} × {license}", from_tab.name, to.name);
        events::record(conn, account_id, Some(from), Some(actor.user_id.0), "device_moved", &detail)?;
        events::record(conn, account_id, Some(to.id), Some(actor.user_id.0), "device_moved", &detail)?;
        shortages::reconcile(conn, account_id, from, &license, Some(actor.user_id.0), base_url)?;
        shortages::reconcile(conn, account_id, to.id, &license, Some(actor.user_id.0), base_url)?;
        Ok(format!("\"{name}\" moved to {}.", to.name))
    })
}

/// Removes a device: it stops consuming, its licenses are free again.
pub fn remove(conn: &mut DbConnection, actor: &Actor, account_id: i64, id: i64, base_url: &str) -> DomainResult<String> {
    crate::db::transaction(conn, |conn| {
        let ctx = accounts::load(conn, actor, account_id)?;
        let (va, name, license, licenses) = load_device(conn, account_id, id)?;
        let tab = super::va_in_account(conn, &ctx, va)?;
        policy::account_permit(&ctx.access, Capability::ManageInstances(va))?;
        let gone = diesel::update(devices::table.find(id).filter(devices::licenses.eq(licenses)).filter(devices::removed_at.is_null()))
            .set(devices::removed_at.eq(Some(crate::db::now())))
            .execute(conn)?;
        if gone == 0 {
            return Err(DomainError::Conflict("The device reported meanwhile; nothing was changed. Try again.".into()));
        }
        shortages::consume(conn, account_id, va, &license, -i64::from(licenses))?;
        events::record(
            conn,
            account_id,
            Some(va),
            Some(actor.user_id.0),
            "device_removed",
            &format!("Device \"{name}\" removed from {}, freeing {licenses} × {license}", tab.name),
        )?;
        shortages::reconcile(conn, account_id, va, &license, Some(actor.user_id.0), base_url)?;
        Ok(format!("\"{name}\" removed; its {licenses} licenses are free."))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_counts_and_names_are_refused() {
        assert!(check_licenses(-1).is_err());
        assert!(check_licenses(MAX_DEVICE_LICENSES + 1).is_err());
        assert_eq!(check_licenses(0), Ok(0));
        assert_eq!(check_licenses(20), Ok(20));
        assert!(check_name("  ").is_err());
        assert!(check_name("a\nb").is_err());
        assert!(check_name(&"x".repeat(121)).is_err());
        assert_eq!(check_name(" contoso-edge-01 ").unwrap(), "contoso-edge-01");
    }

    #[test]
    fn sort_names_round_trip() {
        for s in [DeviceSort::Name, DeviceSort::NameDesc, DeviceSort::LastContact] {
            assert_eq!(DeviceSort::parse(s.as_str()), s);
        }
        assert_eq!(DeviceSort::parse("bogus"), DeviceSort::Name);
    }
}
