//! Form bodies poem-openapi's `Form` extractor cannot read the way OAuth needs, each documented
//! with the schema of its `T` like `Form<T>` would be:
//! - `FormPairs<T>`: the raw name/value pairs in order. `Form` fails the whole request on a
//!   repeated declared field ("duplicate field"), before ferrid can say which parameter was
//!   repeated or where the error should go (`/authorize` redirects most errors to the client).
//! - `OptionalForm<T>`: a form that may be left out altogether. `Form` demands the form content
//!   type even of a body-less POST, but RFC 6750 §2.1 lets `POST /userinfo` carry its token in
//!   the `Authorization` header alone, with no body and so no `Content-Type`.

use std::marker::PhantomData;

use poem::{FromRequest, Request, RequestBody, Result};
use poem_openapi::error::ContentTypeError;
use poem_openapi::payload::{Form, ParsePayload, Payload};
use poem_openapi::registry::{MetaMediaType, MetaRequest, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use serde::de::DeserializeOwned;

/// An `application/x-www-form-urlencoded` body as its decoded pairs, in order, repeats kept.
pub struct FormPairs<T> {
    pub pairs: Vec<(String, String)>,
    schema: PhantomData<fn() -> T>,
}

impl<T> FormPairs<T> {
    /// The pairs of a form or query string.
    pub fn parse(raw: &[u8]) -> Self {
        Self {
            pairs: pairs(raw),
            schema: PhantomData,
        }
    }
}

/// Decodes `name=value&…` (`+` and percent escapes; invalid UTF-8 becomes U+FFFD).
pub fn pairs(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// The names that occur more than once in `pairs`, each once, in order of first repeat. Linear
/// in the number of pairs: a body of thousands of tiny parameters costs no more than reading it.
pub fn repeated_names(pairs: &[(String, String)]) -> Vec<String> {
    use std::collections::HashSet;
    let mut seen = HashSet::with_capacity(pairs.len());
    let mut reported = HashSet::new();
    let mut repeated: Vec<String> = Vec::new();
    for (name, _) in pairs {
        if !seen.insert(name.as_str()) && reported.insert(name.as_str()) {
            repeated.push(name.clone());
        }
    }
    repeated
}

impl<T: Type> Payload for FormPairs<T> {
    const CONTENT_TYPE: &'static str = <Form<T> as Payload>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        <Form<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Send> ParsePayload for FormPairs<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> Result<Self> {
        let raw = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        Ok(Self::parse(&raw))
    }
}

poem_openapi::impl_apirequest_for_payload!(FormPairs<T>, T: Type);

/// A form body that may be absent: no body and no `Content-Type` give `T::default()`; a body
/// must be a form, as with `Form<T>`.
pub struct OptionalForm<T>(pub T);

impl<'a, T> ApiExtractor<'a> for OptionalForm<T>
where
    T: Type + DeserializeOwned + Default,
{
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: None,
            content: vec![MetaMediaType {
                content_type: <Form<T> as Payload>::CONTENT_TYPE,
                schema: T::schema_ref(),
            }],
            required: false,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> Result<Self> {
        match request.content_type() {
            Some(content_type) if <Form<T> as Payload>::check_content_type(content_type) => {
                let form = <Form<T> as ParsePayload>::from_request(request, body).await?;
                Ok(Self(form.0))
            }
            Some(content_type) => Err(ContentTypeError::NotSupported {
                content_type: content_type.to_owned(),
            }
            .into()),
            None if <Vec<u8> as FromRequest>::from_request(request, body)
                .await?
                .is_empty() =>
            {
                Ok(Self(T::default()))
            }
            None => Err(ContentTypeError::ExpectContentType.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_named_once_in_order() {
        let pairs = pairs(b"state=a&scope=x&state=b&scope=y&state=c&nonce=n");
        assert_eq!(repeated_names(&pairs), ["state", "scope"]);
        assert!(repeated_names(&super::pairs(b"a=1&b=2")).is_empty());
    }

    #[test]
    fn pairs_are_decoded() {
        assert_eq!(
            pairs(b"scope=openid+email&redirect_uri=https%3A%2F%2Fa%2Fcb&empty="),
            [
                ("scope".to_owned(), "openid email".to_owned()),
                ("redirect_uri".to_owned(), "https://a/cb".to_owned()),
                ("empty".to_owned(), String::new()),
            ]
        );
    }
}
