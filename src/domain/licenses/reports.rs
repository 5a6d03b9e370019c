//! Reports of an account as CSV: licenses per VA and product, devices, and
//! the event log, each limited to what the actor may see.

use diesel::prelude::*;

use crate::db::schema::{devices, products};
use crate::db::DbConnection;
use crate::domain::accounts::{self, events};
use crate::domain::error::{DomainError, DomainResult};
use crate::domain::Actor;

fn finish(w: csv::Writer<Vec<u8>>) -> DomainResult<String> {
    let bytes = w.into_inner().map_err(|e| DomainError::Other(anyhow::anyhow!("csv: {e}")))?;
    String::from_utf8(bytes).map_err(|e| DomainError::Other(e.into()))
}

fn csv_err(e: csv::Error) -> DomainError {
    DomainError::Other(anyhow::anyhow!("csv: {e}"))
}

/// (file name, CSV text) of a report: `licenses`, `devices` or `events`.
pub fn report(conn: &mut DbConnection, actor: &Actor, account_id: i64, which: &str) -> DomainResult<(String, String)> {
    let ctx = accounts::load(conn, actor, account_id)?;
    let vas = super::visible_vas(conn, &ctx)?;
    let ids: Vec<i64> = vas.iter().map(|v| v.id).collect();
    let va_name = |id: i64| vas.iter().find(|v| v.id == id).map(|v| v.name.clone()).unwrap_or_default();
    let mut w = csv::Writer::from_writer(Vec::new());
    match which {
        "licenses" => {
            w.write_record(["virtual_account", "product", "kind", "owned", "in_use", "available", "shortage", "orders"])
                .map_err(csv_err)?;
            for r in super::figures(conn, &[account_id], &ids)? {
                let f = &r.figures;
                let orders: Vec<String> = f.orders.iter().map(|o| o.1.clone()).collect();
                w.write_record([
                    va_name(r.va_id),
                    f.license_name.clone(),
                    f.kind.label().to_string(),
                    f.owned.to_string(),
                    f.in_use.to_string(),
                    f.available.to_string(),
                    f.shortage.to_string(),
                    orders.join(" "),
                ])
                .map_err(csv_err)?;
            }
        }
        "devices" => {
            w.write_record(["instance_id", "name", "virtual_account", "product", "license", "in_use", "registered_at", "last_contact_at"])
                .map_err(csv_err)?;
            let rows: Vec<(i64, String, i64, String, String, i32, chrono::NaiveDateTime, chrono::NaiveDateTime)> = devices::table
                .inner_join(products::table)
                .filter(devices::virtual_account_id.eq_any(&ids))
                .filter(devices::removed_at.is_null())
                .order((devices::virtual_account_id, devices::name_key, devices::id))
                .select((
                    devices::id,
                    devices::name,
                    devices::virtual_account_id,
                    products::sku,
                    devices::license_name,
                    devices::licenses,
                    devices::registered_at,
                    devices::last_contact_at,
                ))
                .load(conn)?;
            for (id, name, va, sku, license, n, reg, last) in rows {
                w.write_record([id.to_string(), name, va_name(va), sku, license, n.to_string(), reg.to_string(), last.to_string()])
                    .map_err(csv_err)?;
            }
        }
        "events" => {
            w.write_record(["at", "event", "virtual_account", "who", "detail"]).map_err(csv_err)?;
            for e in events::list(conn, &ctx, &events::EventFilter::default(), 10_000)? {
                w.write_record([
                    e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    e.kind_label.to_string(),
                    e.virtual_account.unwrap_or_default(),
                    e.who,
                    e.detail,
                ])
                .map_err(csv_err)?;
            }
        }
        _ => return Err(DomainError::NotFound),
    }
    let slug: String = ctx.account.domain.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    Ok((format!("{slug}-{which}.csv"), finish(w)?))
}
