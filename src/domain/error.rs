//! The errors domain operations return, named for the business. The web
//! layer turns each into one HTTP answer in exactly one place.

use std::collections::BTreeMap;

/// Messages keyed by form field, shown beside the field when a form is re-rendered.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }
    /// Keeps the parsed value, or records the message under `field`.
    pub fn check<T>(&mut self, field: &'static str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(m) => {
                self.add(field, m);
                None
            }
        }
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&&'static str, &String)> {
        self.0.iter()
    }
    /// All messages in one sentence, for answers that show no form fields.
    pub fn joined(&self) -> String {
        self.0.values().map(String::as_str).collect::<Vec<_>>().join(" ")
    }

    pub fn single(field: &'static str, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(field, message);
        e
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The input cannot be accepted; the form is shown again with these messages.
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// The thing does not exist, or the actor may not know it exists.
    #[error("not found")]
    NotFound,
    /// The actor knows the thing but may not do this to it.
    #[error("forbidden")]
    Forbidden,
    /// Someone else changed it first; nothing was written.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Too many attempts; try again later.
    #[error("too many attempts")]
    Throttled { retry_after_secs: i64 },
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<FieldErrors> for DomainError {
    fn from(e: FieldErrors) -> Self {
        DomainError::Invalid(e)
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
