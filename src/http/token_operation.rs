//! The form shared by token revocation (RFC 7009) and introspection (RFC 7662): the token, an
//! optional `token_type_hint`, and the client's credentials when sent in the body.

use poem_openapi::Object;
use serde::Deserialize;

use super::client_auth::{self, BodyCredentials, ClientAuthorization};
use crate::context::Context;
use crate::oauth::client_auth::ClientCredentials;
use crate::oauth::token_operation::TokenOperation;

/// Revocation and introspection parameters (`application/x-www-form-urlencoded`).
// No `Debug`: it holds a token and the client secret.
#[derive(Deserialize, Object)]
pub struct TokenOperationForm {
    /// The token to revoke or introspect.
    pub token: Option<String>,
    /// `access_token` or `refresh_token`: where to look first (never trusted to exclude).
    pub token_type_hint: Option<String>,
    /// The client id, for `client_secret_post` and public clients.
    pub client_id: Option<String>,
    /// The client secret, for `client_secret_post`.
    pub client_secret: Option<String>,
    /// For `private_key_jwt`: `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`.
    pub client_assertion_type: Option<String>,
    /// For `private_key_jwt`: a JWT signed with one of the client's registered keys (RFC 7523
    /// section 3) — `iss` and `sub` the client id, `aud` the issuer, a short `exp`, a unique `jti`.
    pub client_assertion: Option<String>,
}

impl TokenOperationForm {
    /// The client's credentials (header or body) for the endpoint at `path`, and the
    /// operation's parameters.
    pub fn split(
        self,
        ctx: &Context,
        path: &str,
        auth: ClientAuthorization,
    ) -> (ClientCredentials, TokenOperation) {
        let body = BodyCredentials {
            client_id: self.client_id,
            client_secret: self.client_secret,
            client_assertion_type: self.client_assertion_type,
            client_assertion: self.client_assertion,
        };
        let credentials = client_auth::credentials(ctx, path, auth, body);
        (
            credentials,
            TokenOperation {
                token: self.token,
                token_type_hint: self.token_type_hint,
            },
        )
    }
}
