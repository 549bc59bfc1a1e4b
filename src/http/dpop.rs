//! Extracts the `DPoP` proof headers of a request (RFC 9449 §4.1) and documents the header as
//! one optional string. poem-openapi's `Header<Option<String>>` would keep only the first of
//! several headers, and `Header<Vec<String>>` documents an array that Swagger UI cannot send;
//! RFC 9449 §4.3 demands exactly one, so every value is kept for the domain to judge.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaParamIn, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

/// Every value of the header the parameter names (`#[oai(name = "DPoP")]`), in order (normally
/// none or one).
pub struct DpopProofs(pub Vec<String>);

impl<'a> ApiExtractor<'a> for DpopProofs {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    const PARAM_IS_REQUIRED: bool = false;

    type ParamType = String;
    type ParamRawType = String;

    fn register(registry: &mut Registry) {
        <String as Type>::register(registry);
    }

    fn param_in() -> Option<MetaParamIn> {
        Some(MetaParamIn::Header)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(String::schema_ref())
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut RequestBody,
        param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        // A value that is not visible ASCII cannot be a JWS; it stays, as text, to be refused.
        let proofs = request
            .headers()
            .get_all(param_opts.name)
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect();
        Ok(Self(proofs))
    }
}
