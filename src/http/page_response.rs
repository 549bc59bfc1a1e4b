//! A browser-facing operation's response: built by `pages` (an HTML page, or a redirect with its
//! cookies) and documented in the spec by a `PageDoc` enum that lists what it can be. A request
//! poem-openapi cannot parse gets an HTML error page, never the default plain-text 400.

use std::marker::PhantomData;

use poem::{IntoResponse, Response};
use poem_openapi::registry::{MetaResponses, Registry};
use poem_openapi::ApiResponse;

use super::pages;

/// The documentation of a `PageResponse`.
pub trait PageDoc: ApiResponse + Send {
    /// What the request is called in the error page for a malformed one.
    const REQUEST: &'static str;
}

/// A response built by `pages`, documented as `D`.
pub struct PageResponse<D>(Response, PhantomData<D>);

impl<D> PageResponse<D> {
    /// Wraps a built response.
    pub fn new(response: Response) -> Self {
        Self(response, PhantomData)
    }
}

impl<D: PageDoc> ApiResponse for PageResponse<D> {
    const BAD_REQUEST_HANDLER: bool = true;

    fn meta() -> MetaResponses {
        D::meta()
    }

    fn register(registry: &mut Registry) {
        D::register(registry);
    }

    fn from_parse_request_error(err: poem::Error) -> Self {
        let message = format!("The {} is malformed: {err}.", D::REQUEST);
        Self::new(pages::error_page(
            400,
            &crate::error::sanitize_description(&message),
        ))
    }
}

impl<D: Send> IntoResponse for PageResponse<D> {
    fn into_response(self) -> Response {
        self.0
    }
}
