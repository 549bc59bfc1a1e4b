//! The `Allow` header of 405 answers (RFC 9110 §15.5.6: a 405 MUST list the methods the target
//! resource supports). poem's router answers a known path with an unrouted method 405 without
//! it; `allow_header` adds it from `AllowedMethods`, a table of every routed path's methods
//! built from the OpenAPI operations and the HTML pages' routes — the same lists the router is
//! built from. A route that answers `GET` also answers `HEAD` (poem serves it through `GET`).

use std::collections::HashMap;
use std::sync::Arc;

use poem::http::{header, HeaderValue, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response, Result};
use poem_openapi::registry::MetaApi;

/// The order methods are listed in.
const ORDER: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

/// For each routed path, the value of its `Allow` header.
#[derive(Debug, Default)]
pub struct AllowedMethods(HashMap<String, Vec<Method>>);

impl AllowedMethods {
    /// The paths and methods of the OpenAPI operations in `apis`.
    pub fn from_api(apis: Vec<MetaApi>) -> Self {
        let mut table = Self::default();
        for path in apis.into_iter().flat_map(|api| api.paths) {
            let methods: Vec<Method> = path.operations.into_iter().map(|op| op.method).collect();
            table = table.with(&path.path, &methods);
        }
        table
    }

    /// Adds `methods` to those of `path`.
    pub fn with(mut self, path: &str, methods: &[Method]) -> Self {
        let entry = self.0.entry(path.to_owned()).or_default();
        entry.extend_from_slice(methods);
        if methods.contains(&Method::GET) {
            entry.push(Method::HEAD);
        }
        self
    }

    /// The `Allow` value for `path`, e.g. `GET, HEAD, POST`. A routed path with parameters
    /// (`/admin/clients/{id}`) stands for every path whose other segments are the same.
    pub fn allow(&self, path: &str) -> Option<String> {
        let methods = self.0.get(path).or_else(|| {
            self.0
                .iter()
                .find(|(template, _)| matches_template(template, path))
                .map(|(_, methods)| methods)
        })?;
        let listed: Vec<&str> = ORDER
            .iter()
            .filter(|method| methods.contains(method))
            .map(Method::as_str)
            .collect();
        Some(listed.join(", "))
    }
}

/// Whether `path` is an instance of `template`, whose `{name}` or `:name` segments match any one
/// segment.
fn matches_template(template: &str, path: &str) -> bool {
    let (mut template, mut path) = (template.split('/'), path.split('/'));
    loop {
        match (template.next(), path.next()) {
            (None, None) => return true,
            (Some(expected), Some(actual)) => {
                let parameter = expected.starts_with(':')
                    || (expected.starts_with('{') && expected.ends_with('}'));
                let matches = if parameter {
                    !actual.is_empty()
                } else {
                    expected == actual
                };
                if !matches {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Adds `Allow` to every 405 answer of a path in `allowed`.
pub async fn allow_header<E: Endpoint>(
    endpoint: Arc<E>,
    request: Request,
    allowed: Arc<AllowedMethods>,
) -> Result<Response> {
    let path = request.uri().path().to_owned();
    let mut response = match endpoint.call(request).await {
        Ok(response) => response.into_response(),
        Err(err) if err.status() == StatusCode::METHOD_NOT_ALLOWED => err.into_response(),
        Err(err) => return Err(err),
    };
    if response.status() == StatusCode::METHOD_NOT_ALLOWED {
        if let Some(value) = allowed
            .allow(&path)
            .and_then(|allow| HeaderValue::from_str(&allow).ok())
        {
            response.headers_mut().insert(header::ALLOW, value);
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_listed_in_order_and_get_brings_head() {
        let table = AllowedMethods::default()
            .with("/token", &[Method::POST])
            .with("/userinfo", &[Method::POST, Method::GET]);
        assert_eq!(table.allow("/token").as_deref(), Some("POST"));
        assert_eq!(table.allow("/userinfo").as_deref(), Some("GET, HEAD, POST"));
        assert_eq!(table.allow("/nowhere"), None);
        let table = table.with("/admin/clients/{id}", &[Method::GET, Method::DELETE]);
        assert_eq!(
            table.allow("/admin/clients/odd%20id").as_deref(),
            Some("GET, HEAD, DELETE")
        );
        assert_eq!(table.allow("/admin/clients/a/b"), None);
        assert_eq!(table.allow("/admin/clients/"), None);
    }
}
