//! `/admin/clients`: list, create, show, replace, delete clients and rotate their secrets. The
//! request body is RFC 7591 client metadata (plus ferrid's own fields); the answer is the client
//! as registered, with `client_secret` only when one was just issued.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::{admin_response, respond, AdminToken, NO_STORE};
use crate::admin::clients::{self, Registered, Removed};
use crate::admin::AdminError;
use crate::context::Context;
use crate::http::ApiTags;
use crate::oauth::clients::{Client, ClientMetadata};

/// Client metadata (RFC 7591 §2 names, and ferrid's own fields). Absent fields take the RFC 7591
/// defaults; unknown fields are refused.
#[derive(Debug, Clone, Default, Object)]
#[oai(rename = "ClientRequest", example, deny_unknown_fields)]
pub struct ClientRequest {
    /// The client id (create only): 1 to 255 printable ASCII characters without `{` or `}`;
    /// a random one when absent.
    pub client_id: Option<String>,
    /// Shown to people on the login and consent pages; the client id when absent.
    pub client_name: Option<String>,
    /// Where authorization responses may go: https, `http://127.0.0.1:<port>` /
    /// `http://[::1]:<port>` (native apps) or a private-use scheme such as
    /// `com.example.app:/cb`; never a fragment or a wildcard.
    #[oai(default)]
    pub redirect_uris: Vec<String>,
    /// Where people may be sent after logging out; the same rules.
    #[oai(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code` (default), `client_credentials`, `refresh_token`.
    pub grant_types: Option<Vec<String>>,
    /// `["code"]` with the authorization_code grant (the default then).
    pub response_types: Option<Vec<String>>,
    /// Space-separated scopes the client may request, from the scope catalog
    /// (`scopes_supported` in discovery).
    pub scope: Option<String>,
    /// `client_secret_basic` (default), `client_secret_post`, or `none` for a public client.
    pub token_endpoint_auth_method: Option<String>,
    /// The client's public keys (a JWK Set), stored for `private_key_jwt`; not with `jwks_uri`.
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes its JWK Set (https); not with `jwks`.
    pub jwks_uri: Option<String>,
    /// Browser origins allowed to call ferrid for this client, e.g. `https://app.example.com`.
    #[oai(default)]
    pub allowed_cors_origins: Vec<String>,
    /// ferrid: space-separated scopes granted when a request names none (default: `scope`).
    pub default_scope: Option<String>,
    /// ferrid: audiences the client may request tokens for (`resource` / `audience`).
    #[oai(default)]
    pub audiences: Vec<String>,
    /// ferrid: a first-party app whose users are not asked for consent.
    #[oai(default)]
    pub skip_consent: bool,
    /// ferrid: refresh tokens even without `offline_access`.
    #[oai(default)]
    pub issue_refresh_tokens: bool,
    /// ferrid: `rotate` (default) or `reuse` (confidential clients only).
    pub refresh_token_rotation: Option<String>,
    /// ferrid: a trusted resource server that may introspect any active token.
    #[oai(default)]
    pub introspect_any_token: bool,
}

impl poem_openapi::types::Example for ClientRequest {
    fn example() -> Self {
        Self {
            client_id: Some("photos-app".into()),
            client_name: Some("Photos".into()),
            redirect_uris: vec!["https://photos.example.com/callback".into()],
            post_logout_redirect_uris: vec!["https://photos.example.com/".into()],
            grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
            scope: Some("openid profile email offline_access".into()),
            allowed_cors_origins: vec!["https://photos.example.com".into()],
            ..Self::default()
        }
    }
}

impl ClientRequest {
    fn into_parts(self) -> (Option<String>, ClientMetadata) {
        let metadata = ClientMetadata {
            client_name: self.client_name,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            grant_types: self.grant_types,
            response_types: self.response_types,
            scope: self.scope,
            token_endpoint_auth_method: self.token_endpoint_auth_method,
            jwks: self.jwks,
            jwks_uri: self.jwks_uri,
            allowed_cors_origins: self.allowed_cors_origins,
            default_scope: self.default_scope,
            audiences: self.audiences,
            skip_consent: self.skip_consent,
            issue_refresh_tokens: self.issue_refresh_tokens,
            refresh_token_rotation: self.refresh_token_rotation,
            introspect_any_token: self.introspect_any_token,
        };
        (self.client_id, metadata)
    }
}

/// A registered client: its metadata with every default spelled out. `client_secret` appears
/// only in the answer that issued it — store it then, it is never shown again.
#[derive(Debug, Clone, Object)]
#[oai(rename = "Client")]
pub struct ClientView {
    pub client_id: String,
    /// The new secret, shown once (create, rotate, a public client made confidential).
    #[oai(skip_serializing_if_is_none)]
    pub client_secret: Option<String>,
    /// RFC 7591: 0, the secret does not expire; present with `client_secret`.
    #[oai(skip_serializing_if_is_none)]
    pub client_secret_expires_at: Option<u64>,
    /// When the client was registered (seconds since the epoch).
    pub client_id_issued_at: u64,
    /// Provisioned by `[[clients]]` in the config file: change it there, not here.
    pub from_config: bool,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub response_types: Vec<String>,
    pub scope: String,
    pub token_endpoint_auth_method: String,
    #[oai(skip_serializing_if_is_none)]
    pub jwks: Option<serde_json::Value>,
    #[oai(skip_serializing_if_is_none)]
    pub jwks_uri: Option<String>,
    pub allowed_cors_origins: Vec<String>,
    pub default_scope: String,
    pub audiences: Vec<String>,
    pub skip_consent: bool,
    pub issue_refresh_tokens: bool,
    pub refresh_token_rotation: String,
    pub introspect_any_token: bool,
}

impl ClientView {
    fn new(client: &Client, secret: Option<String>) -> Self {
        let metadata = client.metadata();
        Self {
            client_id: client.client_id.clone(),
            client_secret_expires_at: secret.as_ref().map(|_| 0),
            client_secret: secret,
            client_id_issued_at: client.created_at,
            from_config: client.from_config,
            client_name: client.name.clone(),
            redirect_uris: metadata.redirect_uris,
            post_logout_redirect_uris: metadata.post_logout_redirect_uris,
            grant_types: metadata.grant_types.unwrap_or_default(),
            response_types: metadata.response_types.unwrap_or_default(),
            scope: metadata.scope.unwrap_or_default(),
            token_endpoint_auth_method: metadata.token_endpoint_auth_method.unwrap_or_default(),
            jwks: metadata.jwks,
            jwks_uri: metadata.jwks_uri,
            allowed_cors_origins: metadata.allowed_cors_origins,
            default_scope: metadata.default_scope.unwrap_or_default(),
            audiences: metadata.audiences,
            skip_consent: metadata.skip_consent,
            issue_refresh_tokens: metadata.issue_refresh_tokens,
            refresh_token_rotation: metadata.refresh_token_rotation.unwrap_or_default(),
            introspect_any_token: metadata.introspect_any_token,
        }
    }
}

impl From<Registered> for ClientView {
    fn from(registered: Registered) -> Self {
        let secret = registered
            .client_secret
            .map(|secret| secret.expose().to_owned());
        Self::new(&registered.client, secret)
    }
}

/// A page of clients, in id order.
#[derive(Debug, Clone, Object)]
pub struct ClientList {
    pub items: Vec<ClientView>,
    /// Pass as `after` to get the next page; absent on the last page.
    #[oai(skip_serializing_if_is_none)]
    pub next: Option<String>,
}

/// What deleting a client ended.
#[derive(Debug, Clone, Object)]
pub struct ClientDeleted {
    pub client_id: String,
    /// Refresh-token families revoked (with the access tokens they issued).
    pub refresh_families_revoked: u64,
    /// Outstanding authorization codes revoked.
    pub codes_revoked: u64,
}

impl From<Removed> for ClientDeleted {
    fn from(removed: Removed) -> Self {
        Self {
            client_id: removed.client.client_id,
            refresh_families_revoked: removed.refresh_families as u64,
            codes_revoked: removed.codes as u64,
        }
    }
}

admin_response! {
    /// Answers carrying a client.
    pub enum ClientResponse {
        /// The client.
        #[oai(status = 200)]
        Ok(Json<ClientView>, #[oai(header = "Cache-Control")] String),
    }
}

admin_response! {
    /// Answers to a registration.
    pub enum CreatedResponse {
        /// The client, registered; `client_secret` is shown this once.
        #[oai(status = 201)]
        Created(Json<ClientView>, #[oai(header = "Cache-Control")] String),
    }
}

admin_response! {
    /// Answers to a listing.
    pub enum ClientListResponse {
        /// A page of clients.
        #[oai(status = 200)]
        Ok(Json<ClientList>, #[oai(header = "Cache-Control")] String),
    }
}

admin_response! {
    /// Answers to a deletion.
    pub enum ClientDeletedResponse {
        /// The client is deleted; its refresh tokens and codes are revoked.
        #[oai(status = 200)]
        Ok(Json<ClientDeleted>, #[oai(header = "Cache-Control")] String),
    }
}

fn client(view: ClientView) -> ClientResponse {
    ClientResponse::Ok(Json(view), NO_STORE.into())
}

/// The client administration endpoints.
pub struct AdminClientsApi;

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminClientsApi {
    /// List clients
    ///
    /// Every client — from the config or created at runtime — in id order, a page at a time.
    #[oai(
        path = "/admin/clients",
        method = "get",
        operation_id = "admin_list_clients"
    )]
    async fn list(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        /// Clients per page (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next` of the previous page.
        after: Query<Option<String>>,
    ) -> ClientListResponse {
        respond(
            async {
                token.authorize(&ctx).await?;
                let page =
                    clients::list(&ctx, after.0.as_deref(), limit.0.map(|l| l as usize)).await?;
                let list = ClientList {
                    items: page
                        .items
                        .iter()
                        .map(|c| ClientView::new(c, None))
                        .collect(),
                    next: page.next,
                };
                Ok(ClientListResponse::Ok(Json(list), NO_STORE.into()))
            }
            .await,
        )
    }

    /// Register a client
    ///
    /// Checks the metadata like a `[[clients]]` entry and registers the client. A confidential
    /// client gets a generated secret, returned in this answer only. A taken `client_id` is 409.
    #[oai(
        path = "/admin/clients",
        method = "post",
        operation_id = "admin_create_client"
    )]
    async fn create(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        body: Json<ClientRequest>,
    ) -> CreatedResponse {
        respond(
            async {
                let actor = token.authorize(&ctx).await?;
                let (client_id, metadata) = body.0.into_parts();
                let registered = clients::create(&ctx, &actor, client_id, &metadata).await?;
                Ok(CreatedResponse::Created(
                    Json(registered.into()),
                    NO_STORE.into(),
                ))
            }
            .await,
        )
    }

    /// Show a client
    #[oai(
        path = "/admin/clients/:id",
        method = "get",
        operation_id = "admin_get_client"
    )]
    async fn get(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        /// The client id.
        id: Path<String>,
    ) -> ClientResponse {
        respond(
            async {
                token.authorize(&ctx).await?;
                Ok(client(ClientView::new(
                    &clients::get(&ctx, &id).await?,
                    None,
                )))
            }
            .await,
        )
    }

    /// Replace a client
    ///
    /// Replaces the client's metadata as a whole (absent fields take their defaults). The
    /// secret stays; a public client made confidential gets one, returned in this answer only.
    /// A client from the config file is 409.
    #[oai(
        path = "/admin/clients/:id",
        method = "put",
        operation_id = "admin_replace_client"
    )]
    async fn replace(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        /// The client id.
        id: Path<String>,
        body: Json<ClientRequest>,
    ) -> ClientResponse {
        respond(
            async {
                let actor = token.authorize(&ctx).await?;
                let (client_id, metadata) = body.0.into_parts();
                if client_id.is_some_and(|given| given != id.0) {
                    return Err(AdminError::InvalidRequest(
                        "client_id: the id cannot change; it must be absent or equal the path"
                            .into(),
                    ));
                }
                Ok(client(
                    clients::replace(&ctx, &actor, &id, &metadata).await?.into(),
                ))
            }
            .await,
        )
    }

    /// Delete a client
    ///
    /// Deletes the client and revokes its refresh tokens (and the access tokens they issued)
    /// and outstanding authorization codes. A client from the config file is 409.
    #[oai(
        path = "/admin/clients/:id",
        method = "delete",
        operation_id = "admin_delete_client"
    )]
    async fn delete(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        /// The client id.
        id: Path<String>,
    ) -> ClientDeletedResponse {
        respond(
            async {
                let actor = token.authorize(&ctx).await?;
                let removed = clients::delete(&ctx, &actor, &id).await?;
                Ok(ClientDeletedResponse::Ok(
                    Json(removed.into()),
                    NO_STORE.into(),
                ))
            }
            .await,
        )
    }

    /// Rotate a client's secret
    ///
    /// Issues a new secret, returned in this answer only; the old one stops working at once.
    #[oai(
        path = "/admin/clients/:id/secret",
        method = "post",
        operation_id = "admin_rotate_client_secret"
    )]
    async fn rotate_secret(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        /// The client id.
        id: Path<String>,
    ) -> ClientResponse {
        respond(
            async {
                let actor = token.authorize(&ctx).await?;
                Ok(client(
                    clients::rotate_secret(&ctx, &actor, &id).await?.into(),
                ))
            }
            .await,
        )
    }
}
