//! `Form<T>`: a lenient form extractor. The first value of a repeated field
//! wins (a browser never repeats a single field; a hand-made request that
//! does is not worth a bare "duplicate field" error), and a form that still
//! cannot be read answers with the portal's HTML error page, not text.
//! Numbers typed by people are read as text and parsed in the domain, so
//! their errors show beside the field.

use std::collections::HashSet;
use std::ops::Deref;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::web::error::AppError;

pub struct Form<T>(pub T);

impl<T> Form<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Form<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The message for a form or query that cannot be read at all.
pub const UNREADABLE: &str = "Some fields of the form could not be read. Go back, check what you entered and send it again.";

/// Parses `body` (a url-encoded form or query string), the first value of each field winning.
pub fn parse_first<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let mut seen = HashSet::new();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().filter(|(k, _)| seen.insert(k.clone())).collect();
    let encoded = serde_urlencoded::to_string(&pairs).map_err(|_| AppError::BadRequest(UNREADABLE.into()))?;
    serde_urlencoded::from_str(&encoded).map_err(|e| {
        tracing::info!(error = %e, "form not readable");
        AppError::BadRequest(UNREADABLE.into())
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let body = body.await.map_err(|_| AppError::BadRequest("The form is too large.".into()))?;
            parse_first(&body).map(Form)
        })
    }
}

/// `Query<T>`: the same for query strings.
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Query<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_first(req.query_string().as_bytes()).map(Query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct F {
        #[serde(default)]
        name: String,
    }

    #[test]
    fn the_first_value_of_a_repeated_field_wins() {
        let f: F = parse_first(b"name=a&name=b").unwrap();
        assert_eq!(f.name, "a");
        let f: F = parse_first(b"").unwrap();
        assert_eq!(f.name, "");
    }
}
