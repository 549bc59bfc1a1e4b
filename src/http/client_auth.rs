//! Extracts `Authorization: Basic` client credentials for the token endpoint and documents them
//! as the optional `ClientBasic` security scheme. Unlike poem-openapi's own Basic extractor, a
//! malformed header (bad base64, no colon, another scheme) is an `invalid_client` error rather
//! than silently ignored, and both parts are percent-decoded after base64 because RFC 6749
//! §2.3.1 has clients form-urlencode them first (the `oauth2` crate does).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use poem::http::StatusCode;
use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use crate::context::Context;
use crate::oauth::client_auth::{BasicCredentials, ClientCredentials};
use crate::secret::SecretString;

/// Name of the security scheme in the OpenAPI document.
pub const SCHEME_NAME: &str = "ClientBasic";

/// Client credentials from the `Authorization` header, if any were sent.
pub struct ClientAuthorization(pub Option<BasicCredentials>);

/// An `Authorization` header that is present but unusable.
#[derive(Debug, thiserror::Error)]
#[error("client authentication failed: {0}")]
pub struct MalformedClientAuthorization(&'static str);

impl poem::error::ResponseError for MalformedClientAuthorization {
    fn status(&self) -> StatusCode {
        StatusCode::UNAUTHORIZED
    }
}

impl<'a> ApiExtractor<'a> for ClientAuthorization {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            SCHEME_NAME,
            MetaSecurityScheme {
                ty: "http",
                description: Some(
                    "client_secret_basic: client_id and client_secret, each form-urlencoded, as \
                     HTTP Basic credentials. Clients registered for client_secret_post send them \
                     in the body instead, private_key_jwt clients send client_assertion_type and \
                     client_assertion in the body, and public clients send client_id only.",
                ),
                name: None,
                key_in: None,
                scheme: Some("basic"),
                bearer_format: None,
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
            return Ok(Self(None));
        };
        let header = header
            .to_str()
            .map_err(|_| MalformedClientAuthorization("the Authorization header is not ASCII"))?;
        parse_basic(header)
            .map(|credentials| Self(Some(credentials)))
            .map_err(Into::into)
    }
}

/// What a request's body offers to identify its client, beside the `Authorization` header.
#[derive(Default)]
pub struct BodyCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion_type: Option<String>,
    pub client_assertion: Option<String>,
}

/// The credentials of a request to the endpoint at `path`: the header's, the body's, and the
/// URLs a client assertion's `aud` may name besides the issuer when
/// `private_key_jwt.accept_endpoint_audience` is on (this endpoint and the token endpoint, which
/// older client libraries use for every endpoint).
pub fn credentials(
    ctx: &Context,
    path: &str,
    auth: ClientAuthorization,
    body: BodyCredentials,
) -> ClientCredentials {
    let issuer = ctx.settings().issuer();
    let mut endpoint_urls = vec![format!("{issuer}{path}")];
    if path != super::paths::TOKEN {
        endpoint_urls.push(format!("{issuer}{}", super::paths::TOKEN));
    }
    ClientCredentials {
        basic: auth.0,
        client_id: body.client_id,
        client_secret: body.client_secret.map(SecretString::new),
        client_assertion_type: body.client_assertion_type,
        client_assertion: body.client_assertion.map(SecretString::new),
        endpoint_urls,
    }
}

/// Parses `Basic base64(urlencode(id):urlencode(secret))`.
pub fn parse_basic(header: &str) -> Result<BasicCredentials, MalformedClientAuthorization> {
    let (scheme, encoded) = header.trim().split_once(' ').unwrap_or((header, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(MalformedClientAuthorization(
            "the token endpoint accepts only the Basic scheme in the Authorization header",
        ));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| MalformedClientAuthorization("the Basic credentials are not valid base64"))?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| MalformedClientAuthorization("the Basic credentials are not UTF-8"))?;
    let (id, secret) = decoded.split_once(':').ok_or(MalformedClientAuthorization(
        "the Basic credentials have no `:` between client_id and client_secret",
    ))?;
    let client_id = form_decode(id)?;
    if client_id.is_empty() {
        return Err(MalformedClientAuthorization(
            "the Basic credentials have an empty client_id",
        ));
    }
    Ok(BasicCredentials {
        client_id,
        client_secret: SecretString::new(form_decode(secret)?),
    })
}

fn form_decode(part: &str) -> Result<String, MalformedClientAuthorization> {
    let spaced = part.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| {
            MalformedClientAuthorization("the Basic credentials are not UTF-8 once decoded")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(raw: &str) -> String {
        format!("Basic {}", STANDARD.encode(raw))
    }

    #[test]
    fn credentials_are_percent_decoded_after_base64() {
        let parsed = parse_basic(&header("my%20client:p%40ss+word%3A1")).unwrap();
        assert_eq!(parsed.client_id, "my client");
        assert_eq!(parsed.client_secret.expose(), "p@ss word:1");
        let parsed = parse_basic(&format!("basic  {}", STANDARD.encode("a:b"))).unwrap();
        assert_eq!(parsed.client_id, "a");
    }

    #[test]
    fn malformed_headers_are_errors() {
        for bad in [
            "Basic !!!",
            "Bearer abc",
            "Basic",
            &header("no-colon"),
            &header(":secret"),
            &header("%FF:x"),
        ] {
            assert!(parse_basic(bad).is_err(), "{bad}");
        }
    }
}
