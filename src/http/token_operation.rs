//! The form shared by token revocation (RFC 7009) and introspection (RFC 7662): the token, an
//! optional `token_type_hint`, and the client's credentials when sent in the body.

use poem_openapi::Object;
use serde::Deserialize;

use super::client_auth::ClientAuthorization;
use crate::oauth::client_auth::ClientCredentials;
use crate::oauth::token_operation::TokenOperation;
use crate::secret::SecretString;

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
}

impl TokenOperationForm {
    /// The client's credentials (header or body) and the operation's parameters.
    pub fn split(self, auth: ClientAuthorization) -> (ClientCredentials, TokenOperation) {
        let credentials = ClientCredentials {
            basic: auth.0,
            client_id: self.client_id,
            client_secret: self.client_secret.map(SecretString::new),
        };
        (
            credentials,
            TokenOperation {
                token: self.token,
                token_type_hint: self.token_type_hint,
            },
        )
    }
}
