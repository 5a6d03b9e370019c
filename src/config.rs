//! Settings from the environment (and an optional `.env`). A bad value stops
//! start-up with a message naming the variable. Secrets are never printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::cookie::Key;
use base64::Engine;
use lettre::message::Mailbox;

#[derive(Clone)]
pub struct Settings {
    pub database_url: String,
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    pub base_url: String,
    pub redis_url: Option<String>,
    pub smtp_url: Option<String>,
    pub session_key: Key,
    pub provisioning_delay: Duration,
    pub mail_from: Mailbox,
    pub mail_poll_interval: Duration,
    /// How long the mail worker's claim on a message lasts (renewed before each send).
    pub mail_lease: Duration,
    /// The longest one send may take; shorter than the lease.
    pub mail_send_timeout: Duration,
    /// Messages a mail worker claims at a time.
    pub mail_batch: i64,
    /// The longest a request may take before it answers 503 (a database that stopped answering).
    pub request_timeout: Duration,
    pub trust_forwarded_for: bool,
    pub db_pool_size: u32,
    /// Days after which a Not Assigned order's holding account gets a reminder.
    pub reminder_days: Vec<i64>,
    /// Operations staff must use two-step sign-in (`TWO_STEP_FOR_OPERATIONS`, default required).
    pub two_step_for_operations: bool,
    /// `MAIL_VIEWER`: `on`, `off`, or unset (on only when the portal listens on a loopback address).
    pub mail_viewer: Option<bool>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database", &redact_url(&self.database_url))
            .field("data_dir", &self.data_dir)
            .field("bind", &self.bind)
            .field("base_url", &self.base_url)
            .field("redis", &self.redis_url.as_deref().map(redact_url))
            .field("smtp", &self.smtp_url.as_deref().map(redact_url))
            .field("provisioning_delay", &self.provisioning_delay)
            .finish_non_exhaustive()
    }
}

/// A URL with any password replaced, fit for logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("****"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn bad(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { variable, message: message.into() }
}

/// "3,7,14": ascending whole days; empty or "off" turns reminders off.
fn parse_reminder_days(s: &str) -> Result<Vec<i64>, ConfigError> {
    let s = s.trim();
    if s.is_empty() || s == "off" {
        return Ok(Vec::new());
    }
    let days: Vec<i64> = s
        .split(',')
        .map(|d| d.trim().parse::<i64>().ok().filter(|d| (0..=3650).contains(d)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("REMINDER_DAYS", "expected days such as 3,7,14"))?;
    if days.windows(2).any(|w| w[0] >= w[1]) {
        return Err(bad("REMINDER_DAYS", "list the days in ascending order, such as 3,7,14"));
    }
    Ok(days)
}

impl Settings {
    /// Reads the process environment (after loading `.env` if present).
    pub fn from_env() -> Result<Settings, ConfigError> {
        let _ = dotenvy::dotenv();
        Settings::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = get("DATABASE_URL").unwrap_or_else(|| data_dir.join("portal.db").to_string_lossy().into_owned());
        if database_url.contains("://") && !["postgres://", "postgresql://", "sqlite://"].iter().any(|p| database_url.starts_with(p)) {
            return Err(bad("DATABASE_URL", "use postgres://…, sqlite://path or a file path"));
        }
        let bind: SocketAddr = get("BIND")
            .unwrap_or_else(|| "127.0.0.1:8080".into())
            .parse()
            .map_err(|_| bad("BIND", "expected an address such as 127.0.0.1:8080"))?;
        let base_url = match get("BASE_URL") {
            Some(u) => {
                let parsed = url::Url::parse(&u).map_err(|e| bad("BASE_URL", e.to_string()))?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(bad("BASE_URL", "expected an http:// or https:// address"));
                }
                u.trim_end_matches('/').to_string()
            }
            None => format!("http://{bind}"),
        };
        let redis_url = get("REDIS_URL");
        if let Some(r) = &redis_url {
            if !(r.starts_with("redis://") || r.starts_with("rediss://")) {
                return Err(bad("REDIS_URL", "expected redis://host:port"));
            }
        }
        let smtp_url = get("SMTP_URL");
        if let Some(s) = &smtp_url {
            if !(s.starts_with("smtp://") || s.starts_with("smtps://")) {
                return Err(bad("SMTP_URL", "expected smtp://host:port or smtps://user:password@host"));
            }
        }
        let session_key = match get("SESSION_KEY") {
            Some(k) => parse_key(&k).map_err(|m| bad("SESSION_KEY", m))?,
            None => load_or_create_key(&data_dir).map_err(|m| bad("SESSION_KEY", m))?,
        };
        let provisioning_delay = parse_duration("PROVISIONING_DELAY", get("PROVISIONING_DELAY").as_deref().unwrap_or("24h"))?;
        let mail_poll_interval = parse_duration("MAIL_POLL_INTERVAL", get("MAIL_POLL_INTERVAL").as_deref().unwrap_or("2s"))?;
        let mail_lease = parse_duration("MAIL_LEASE", get("MAIL_LEASE").as_deref().unwrap_or("30s"))?;
        let mail_send_timeout = parse_duration("MAIL_SEND_TIMEOUT", get("MAIL_SEND_TIMEOUT").as_deref().unwrap_or("15s"))?;
        if mail_send_timeout.is_zero() || mail_send_timeout >= mail_lease {
            return Err(bad("MAIL_SEND_TIMEOUT", "expected a duration shorter than MAIL_LEASE"));
        }
        let request_timeout = parse_duration("REQUEST_TIMEOUT", get("REQUEST_TIMEOUT").as_deref().unwrap_or("8s"))?;
        if request_timeout.is_zero() {
            return Err(bad("REQUEST_TIMEOUT", "expected a duration such as 8s"));
        }
        let mail_batch = match get("MAIL_BATCH") {
            Some(n) => n.parse().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| bad("MAIL_BATCH", "expected 1 to 100"))?,
            None => 5,
        };
        let mail_from: Mailbox = get("MAIL_FROM")
            .unwrap_or_else(|| "Smart Account Portal <no-reply@portal.example>".into())
            .parse()
            .map_err(|_| bad("MAIL_FROM", "expected an address such as Portal <no-reply@company.com>"))?;
        let trust_forwarded_for = match get("TRUST_FORWARDED_FOR").as_deref() {
            None | Some("0") | Some("false") => false,
            Some("1") | Some("true") => true,
            Some(_) => return Err(bad("TRUST_FORWARDED_FOR", "expected true or false")),
        };
        let db_pool_size = match get("DB_POOL_SIZE") {
            Some(n) => n.parse().ok().filter(|n| (1..=200).contains(n)).ok_or_else(|| bad("DB_POOL_SIZE", "expected 1 to 200"))?,
            None => 10,
        };
        let reminder_days = parse_reminder_days(get("REMINDER_DAYS").as_deref().unwrap_or("3,7,14"))?;
        let two_step_for_operations = match get("TWO_STEP_FOR_OPERATIONS").as_deref() {
            None | Some("required") => true,
            Some("optional") => false,
            Some(_) => return Err(bad("TWO_STEP_FOR_OPERATIONS", "expected required or optional")),
        };
        let mail_viewer = match get("MAIL_VIEWER").as_deref() {
            None | Some("") | Some("auto") => None,
            Some("on") | Some("true") | Some("1") => Some(true),
            Some("off") | Some("false") | Some("0") => Some(false),
            Some(_) => return Err(bad("MAIL_VIEWER", "expected on, off or auto")),
        };
        Ok(Settings {
            two_step_for_operations,
            mail_viewer,
            reminder_days,
            database_url,
            data_dir,
            bind,
            base_url,
            redis_url,
            smtp_url,
            session_key,
            provisioning_delay,
            mail_from,
            mail_poll_interval,
            mail_lease,
            mail_send_timeout,
            mail_batch,
            request_timeout,
            trust_forwarded_for,
            db_pool_size,
        })
    }

    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    pub fn is_sqlite(&self) -> bool {
        crate::db::Backend::of_url(&self.database_url) == crate::db::Backend::Sqlite
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }
}

fn parse_duration(variable: &'static str, value: &str) -> Result<Duration, ConfigError> {
    if let Ok(secs) = value.trim().parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(value.trim()).map_err(|_| bad(variable, "expected a duration such as 90s, 15m, 24h or 2days"))
}

fn parse_key(value: &str) -> Result<Key, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .or_else(|_| hex::decode(value.trim()))
        .map_err(|_| "expected 64 random bytes, base64- or hex-encoded".to_string())?;
    Key::try_from(bytes.as_slice()).map_err(|_| "expected at least 64 bytes".to_string())
}

/// The session key kept in the data folder, made on first start.
fn load_or_create_key(data_dir: &Path) -> Result<Key, String> {
    let path = data_dir.join("session.key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return parse_key(&existing).map_err(|m| format!("{} is damaged ({m}); delete it to make a new one", path.display()));
    }
    std::fs::create_dir_all(data_dir).map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let key = Key::generate();
    let encoded = base64::engine::general_purpose::STANDARD.encode(key.master());
    write_private(&path, &encoded).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(key)
}

/// Writes a file readable only by its owner.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options.open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let mut map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        map.entry("DATA_DIR".into()).or_insert_with(|| dir.path().to_string_lossy().into_owned());
        let r = Settings::from_lookup(|k| map.get(k).cloned());
        drop(dir);
        r
    }

    #[test]
    fn defaults_give_sqlite_in_the_data_folder_on_port_8080() {
        let s = settings(&[]).unwrap();
        assert!(s.is_sqlite());
        assert!(s.database_url.ends_with("portal.db"));
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.base_url, "http://127.0.0.1:8080");
        assert_eq!(s.provisioning_delay, Duration::from_secs(24 * 3600));
        assert!(!s.secure_cookies());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (var, value) in [
            ("BIND", "nowhere"),
            ("BASE_URL", "ftp://x"),
            ("REDIS_URL", "http://x"),
            ("SMTP_URL", "mail.example"),
            ("SESSION_KEY", "short"),
            ("PROVISIONING_DELAY", "soon"),
            ("DATABASE_URL", "mysql://x"),
        ] {
            let err = settings(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var);
            assert!(err.to_string().starts_with(var), "{err}");
        }
    }

    #[test]
    fn durations_accept_seconds_and_units() {
        assert_eq!(settings(&[("PROVISIONING_DELAY", "90")]).unwrap().provisioning_delay, Duration::from_secs(90));
        assert_eq!(settings(&[("PROVISIONING_DELAY", "15m")]).unwrap().provisioning_delay, Duration::from_secs(900));
        assert_eq!(settings(&[]).unwrap().reminder_days, vec![3, 7, 14]);
        assert_eq!(settings(&[("REMINDER_DAYS", "1, 2")]).unwrap().reminder_days, vec![1, 2]);
        assert_eq!(settings(&[("REMINDER_DAYS", "off")]).unwrap().reminder_days, Vec::<i64>::new());
        assert_eq!(settings(&[("REMINDER_DAYS", "7,3")]).unwrap_err().variable, "REMINDER_DAYS");
        assert_eq!(settings(&[("REMINDER_DAYS", "soon")]).unwrap_err().variable, "REMINDER_DAYS");
    }

    #[test]
    fn passwords_in_urls_are_redacted_in_debug_output() {
        let s = settings(&[("DATABASE_URL", "postgres://app:s3cret@db/portal")]).unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("****"));
    }

    #[test]
    fn the_generated_session_key_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_key(dir.path()).unwrap();
        let b = load_or_create_key(dir.path()).unwrap();
        assert_eq!(a.master(), b.master());
    }
}
