//! Extracts an access token from the `Authorization` header — RFC 6750 `Bearer` or RFC 9449
//! `DPoP` — and documents the `BearerToken` security scheme. poem-openapi's own Bearer check
//! answers 401 without the `WWW-Authenticate` header RFC 6750 requires, so ferrid reads the
//! header itself and lets the endpoint answer with the proper challenge.

use poem::{Request, RequestBody};
use poem_openapi::registry::{
    MetaOAuthFlow, MetaOAuthFlows, MetaOAuthScope, MetaSecurityScheme, Registry,
};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use crate::oauth::access_token::{Presented, Scheme};

/// Name of the security scheme in the OpenAPI document.
pub const SCHEME_NAME: &str = "BearerToken";
/// The OAuth 2.0 scheme Swagger UI's Authorize button logs in with (code flow + PKCE).
pub const OAUTH2_SCHEME_NAME: &str = "OAuth2";

/// The access token, if the header carried one; `Err` when the header is neither
/// `Bearer <token>` nor `DPoP <token>`.
pub struct BearerAuthorization(pub Result<Option<Presented>, &'static str>);

impl<'a> ApiExtractor<'a> for BearerAuthorization {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_bearer_scheme(registry);
        // Relative URLs: Swagger UI resolves them against the spec's server, the issuer.
        registry.create_security_scheme(
            OAUTH2_SCHEME_NAME,
            MetaSecurityScheme {
                ty: "oauth2",
                description: Some(
                    "Log in through ferrid (authorization code with PKCE) as the built-in public \
                     `swagger-ui` client, then try the endpoints that need a user's token.",
                ),
                name: None,
                key_in: None,
                scheme: None,
                bearer_format: None,
                flows: Some(MetaOAuthFlows {
                    implicit: None,
                    password: None,
                    client_credentials: None,
                    authorization_code: Some(MetaOAuthFlow {
                        authorization_url: Some("/authorize"),
                        token_url: Some("/token"),
                        refresh_url: None,
                        scopes: vec![
                            MetaOAuthScope {
                                name: "openid",
                                description: Some("Sign in"),
                            },
                            MetaOAuthScope {
                                name: "profile",
                                description: Some("Name and username"),
                            },
                            MetaOAuthScope {
                                name: "email",
                                description: Some("Email address"),
                            },
                        ],
                    }),
                }),
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![SCHEME_NAME, OAUTH2_SCHEME_NAME]
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

/// Registers the `BearerToken` scheme: an access token pasted into Swagger UI's Authorize.
pub(crate) fn register_bearer_scheme(registry: &mut Registry) {
    registry.create_security_scheme(
        SCHEME_NAME,
        MetaSecurityScheme {
            ty: "http",
            description: Some(
                "An access token issued by ferrid: `Bearer <token>` (RFC 6750), or, for a \
                 DPoP-bound token, `DPoP <token>` with a `DPoP` proof header (RFC 9449).",
            ),
            name: None,
            key_in: None,
            scheme: Some("bearer"),
            bearer_format: Some("JWT"),
            flows: None,
            openid_connect_url: None,
        },
    );
}

/// The token of an `Authorization: Bearer <token>` header value (the admin API takes bearer
/// tokens only).
pub(crate) fn parse_bearer(header: &str) -> Result<Option<String>, &'static str> {
    match parse(header)? {
        Some(presented) if presented.scheme == Scheme::Bearer => Ok(Some(presented.token)),
        _ => Err("the Authorization header must be `Bearer <access token>`"),
    }
}

/// The access token of an `Authorization: Bearer|DPoP <token>` header value.
pub(crate) fn parse(header: &str) -> Result<Option<Presented>, &'static str> {
    let (scheme, token) = header.trim().split_once(' ').unwrap_or_default();
    let token = token.trim();
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::DPoP
    } else {
        return Err(
            "the Authorization header must be `Bearer <access token>` or `DPoP <access token>`",
        );
    };
    if token.is_empty() {
        return Err("the Authorization header names a scheme but no access token");
    }
    Ok(Some(Presented {
        scheme,
        token: token.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presented(scheme: Scheme, token: &str) -> Result<Option<Presented>, &'static str> {
        Ok(Some(Presented {
            scheme,
            token: token.into(),
        }))
    }

    #[test]
    fn bearer_and_dpop_headers() {
        assert_eq!(parse("Bearer abc"), presented(Scheme::Bearer, "abc"));
        assert_eq!(parse("bearer  abc "), presented(Scheme::Bearer, "abc"));
        assert_eq!(parse("DPoP abc"), presented(Scheme::DPoP, "abc"));
        assert_eq!(parse("dpop abc"), presented(Scheme::DPoP, "abc"));
        assert!(parse("Basic abc").is_err());
        assert!(parse("Bearer").is_err());
        assert!(parse("DPoP ").is_err());
    }
}
