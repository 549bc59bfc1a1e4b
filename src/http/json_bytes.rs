//! A JSON payload served from bytes serialised ahead of time (JWKS, discovery) while the OpenAPI
//! document still shows the schema of `T`: no per-request serialisation on hot read paths.

use std::marker::PhantomData;

use bytes::Bytes;
use poem::{IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;

/// Pre-serialised JSON documented as `T`.
pub struct JsonBytes<T> {
    bytes: Bytes,
    schema: PhantomData<fn() -> T>,
}

impl<T> JsonBytes<T> {
    /// Wraps bytes that are the JSON serialisation of a `T`.
    pub fn new(bytes: Bytes) -> Self {
        Self {
            bytes,
            schema: PhantomData,
        }
    }
}

impl<T: Type> Payload for JsonBytes<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type> IntoResponse for JsonBytes<T> {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            .body(self.bytes)
    }
}
