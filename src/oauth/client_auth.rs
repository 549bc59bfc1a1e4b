//! Client authentication at the token, PAR, revocation and introspection endpoints (RFC 6749
//! §2.3): HTTP Basic (`client_secret_basic`), body parameters (`client_secret_post`), a signed
//! JWT (`private_key_jwt`, RFC 7523 §2.2 and OIDC Core §9) or `client_id` alone for public
//! clients (`none`). A client must use the one method it is registered for, and exactly one
//! method per request. Every failure says precisely what went wrong — a bare `invalid_client`
//! is the most common support question about authorization servers.
//!
//! An assertion is verified purely by `assertion`, with the client's keys from its registered
//! `jwks` or, through `jwks_uri`'s cache, from where it publishes them; its `jti` is then
//! written to the store only if new, so an assertion is accepted once.

pub mod assertion;
pub mod jwks;
pub mod jwks_uri;

use std::time::Duration;

use crate::context::Context;
use crate::error::OAuthError;
use crate::oauth::clients::{self, AuthMethod, Client};
use crate::oauth::profile::Profile;
use crate::secret::SecretString;
use crate::store::{keyspace, provisioned};

/// Credentials from the `Authorization: Basic` header, already percent-decoded.
#[derive(Debug, Clone)]
pub struct BasicCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

/// Everything a request offered to identify its client.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentials {
    /// From the `Authorization` header.
    pub basic: Option<BasicCredentials>,
    /// `client_id` body parameter.
    pub client_id: Option<String>,
    /// `client_secret` body parameter.
    pub client_secret: Option<SecretString>,
    /// `client_assertion_type` body parameter (RFC 7521 §4.2).
    pub client_assertion_type: Option<String>,
    /// `client_assertion` body parameter: the signed JWT.
    pub client_assertion: Option<SecretString>,
    /// The endpoint's own URL and the token endpoint's: accepted as an assertion's `aud` besides
    /// the issuer only with `private_key_jwt.accept_endpoint_audience`, never for `fapi2`.
    pub endpoint_urls: Vec<String>,
}

/// Authenticates the client behind `credentials`.
pub async fn authenticate(
    ctx: &Context,
    credentials: ClientCredentials,
) -> Result<Client, OAuthError> {
    let ClientCredentials {
        basic,
        client_id,
        client_secret,
        client_assertion_type,
        client_assertion,
        endpoint_urls,
    } = credentials;
    let client_id = client_id.filter(|id| !id.is_empty());
    let client_secret = client_secret.filter(|secret| !secret.is_empty());
    let client_assertion_type = client_assertion_type.filter(|kind| !kind.is_empty());
    let client_assertion = client_assertion.filter(|jwt| !jwt.is_empty());
    if client_assertion_type.is_some() || client_assertion.is_some() {
        if basic.is_some() || client_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "a client assertion and a client secret were both sent; use exactly one \
                 client authentication method",
            ));
        }
        let (Some(kind), Some(jwt)) = (client_assertion_type, client_assertion) else {
            return Err(OAuthError::invalid_request(
                "client_assertion and client_assertion_type go together (RFC 7521 section 4.2)",
            ));
        };
        if kind != assertion::JWT_BEARER {
            return Err(OAuthError::invalid_client(format!(
                "client_assertion_type `{kind}` is not supported; use `{}`",
                assertion::JWT_BEARER
            )));
        }
        return authenticate_assertion(ctx, client_id, jwt.expose(), &endpoint_urls).await;
    }
    let (client_id, secret, used) =
        match (basic, client_id, client_secret) {
            (Some(_), _, Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "client credentials were sent both in the Authorization header and in the \
                 request body; use exactly one method",
                ))
            }
            (Some(basic), Some(body_id), None) if body_id != basic.client_id => {
                return Err(OAuthError::invalid_request(
                    "client_id in the body differs from the client in the Authorization header",
                ))
            }
            (Some(basic), _, None) => (
                basic.client_id,
                Some(basic.client_secret),
                AuthMethod::ClientSecretBasic,
            ),
            (None, Some(id), Some(secret)) => (id, Some(secret), AuthMethod::ClientSecretPost),
            (None, Some(id), None) => (id, None, AuthMethod::None),
            (None, None, Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "client_secret was sent without client_id",
                ))
            }
            (None, None, None) => return Err(OAuthError::invalid_client(
                "client authentication is required: send HTTP Basic credentials, client_id and \
                 client_secret in the body, or a client_assertion",
            )),
        };
    let client = registered(ctx, &client_id).await?;
    check_method(&client, used)?;
    if let Some(secret) = secret {
        if !client.secret_matches(secret.expose()) {
            return Err(OAuthError::invalid_client(
                "client authentication failed: the client secret is wrong",
            ));
        }
    }
    Ok(client)
}

/// `private_key_jwt`: the assertion's `sub` names the client, whose keys must have signed it.
async fn authenticate_assertion(
    ctx: &Context,
    body_client_id: Option<String>,
    jwt: &str,
    endpoint_urls: &[String],
) -> Result<Client, OAuthError> {
    let unverified = assertion::parse(jwt)?;
    let client_id = unverified
        .subject()
        .filter(|sub| !sub.is_empty())
        .ok_or_else(|| {
            OAuthError::invalid_client(
                "client assertion iss/sub must be the client id: sub is missing",
            )
        })?
        .to_owned();
    // RFC 7523 §3: client_id is optional beside an assertion, and must match it when sent.
    if body_client_id.is_some_and(|id| id != client_id) {
        return Err(OAuthError::invalid_client(format!(
            "client assertion iss/sub must be the client id: client_id differs from the \
             assertion's sub `{client_id}`"
        )));
    }
    let client = registered(ctx, &client_id).await?;
    check_method(&client, AuthMethod::PrivateKeyJwt)?;
    let settings = &ctx.settings().private_key_jwt;
    let now_millis = ctx.clock().now_millis();
    let keys = match (&client.jwks, &client.jwks_uri) {
        (Some(jwks), _) => std::sync::Arc::new(jwks::ClientKeySet::parse(jwks).map_err(|err| {
            OAuthError::invalid_client(format!("the client's registered jwks is unusable: {err}"))
        })?),
        (None, Some(uri)) => ctx
            .client_jwks()
            .keys(settings, now_millis, &client_id, uri, unverified.kid())
            .await
            .map_err(OAuthError::invalid_client)?,
        (None, None) => {
            return Err(OAuthError::invalid_client(
                "the client has no registered keys (jwks or jwks_uri) to verify its assertion",
            ))
        }
    };
    // Endpoint URLs are what audience injection uses (see `assertion`): accepted only when the
    // operator opts in for legacy client libraries, and never for a FAPI 2.0 client.
    let endpoint_audiences =
        if settings.accept_endpoint_audience && client.profile != Profile::Fapi2 {
            endpoint_urls
        } else {
            &[]
        };
    let now = now_millis / 1000;
    let verified = unverified.verify(
        &keys,
        &assertion::Expected {
            client_id: &client_id,
            issuer: ctx.settings().issuer(),
            endpoint_audiences,
            now,
            max_lifetime_secs: settings.max_lifetime_secs,
            clock_skew_secs: settings.clock_skew_secs,
        },
    )?;
    // Remembered until the assertion could no longer be accepted anyway.
    let ttl = Duration::from_secs(
        verified
            .exp
            .saturating_add(settings.clock_skew_secs)
            .saturating_sub(now)
            .saturating_add(1),
    );
    let key = keyspace::client_assertion(&client_id, &verified.jti);
    if !ctx.store().put_new(&key, b"1".to_vec(), Some(ttl)).await? {
        return Err(OAuthError::invalid_client(
            "client assertion jti already used; make a fresh assertion for every request",
        ));
    }
    // A marker lost in a failover would let the assertion be replayed once.
    ctx.acknowledge_writes().await?;
    Ok(client)
}

/// The client registered as `client_id`.
async fn registered(ctx: &Context, client_id: &str) -> Result<Client, OAuthError> {
    let store = ctx.store();
    match clients::find(store, client_id).await? {
        Some(client) => Ok(client),
        None => {
            // Unless the store lost its data and the client is on its way back (then 503).
            provisioned::confirm_absent(store).await?;
            Err(OAuthError::invalid_client(format!(
                "client authentication failed: no client is registered as `{client_id}`"
            )))
        }
    }
}

/// Refuses a method other than the one `client` is registered for.
fn check_method(client: &Client, used: AuthMethod) -> Result<(), OAuthError> {
    if used == client.auth_method {
        return Ok(());
    }
    let client_id = &client.client_id;
    let description = match (used, client.auth_method) {
        (AuthMethod::None, AuthMethod::PrivateKeyJwt) => {
            "client authentication failed: no client assertion was sent but the client is \
             registered for private_key_jwt"
                .to_owned()
        }
        (AuthMethod::None, registered) => format!(
            "client authentication failed: no client secret was sent but the client is \
             registered for {}",
            registered.as_str()
        ),
        (_, AuthMethod::None) => format!(
            "client authentication failed: `{client_id}` is a public client and must not send \
             a secret or an assertion"
        ),
        (used, registered) => format!(
            "client authentication failed: {} was used but the client is registered for {}",
            used.as_str(),
            registered.as_str()
        ),
    };
    Err(OAuthError::invalid_client(description))
}

#[cfg(test)]
mod tests;
