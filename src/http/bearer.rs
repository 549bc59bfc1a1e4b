//! Extracts an RFC 6750 bearer token from the `Authorization` header and documents the
//! `BearerToken` security scheme. poem-openapi's own Bearer check answers 401 without the
//! `WWW-Authenticate` header RFC 6750 requires, so ferrid reads the header itself and lets the
//! endpoint answer with the proper challenge.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

/// Name of the security scheme in the OpenAPI document.
pub const SCHEME_NAME: &str = "BearerToken";

/// The bearer token, if the header carried one; `Err` when the header is not `Bearer <token>`.
pub struct BearerAuthorization(pub Result<Option<String>, &'static str>);

impl<'a> ApiExtractor<'a> for BearerAuthorization {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            SCHEME_NAME,
            MetaSecurityScheme {
                ty: "http",
                description: Some("An access token issued by ferrid (RFC 6750 bearer)."),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: Some("JWT"),
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![SCHEME_NAME]
    }

    fn has_security_fallback() -> bool {
        true
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let Some(header) = request.headers().get(poem::http::header::AUTHORIZATION) else {
            return Ok(Self(Ok(None)));
        };
        Ok(Self(parse(header.to_str().unwrap_or_default())))
    }
}

fn parse(header: &str) -> Result<Option<String>, &'static str> {
    match header.trim().split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err("the Authorization header must be `Bearer <access token>`"),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn bearer_headers() {
        assert_eq!(parse("Bearer abc"), Ok(Some("abc".into())));
        assert_eq!(parse("bearer  abc "), Ok(Some("abc".into())));
        assert!(parse("Basic abc").is_err());
        assert!(parse("Bearer").is_err());
    }
}
