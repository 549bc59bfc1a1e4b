//! `/admin/clients`: list, create, show, replace, delete clients and rotate their secrets. The
//! request body is RFC 7591 client metadata (plus ferrid's own fields); the answer is the client
//! as registered, with `client_secret` only when one was just issued.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;

use super::client_body::{ClientDeleted, ClientList, ClientRequest, ClientView};
use super::{admin_response, respond, AdminToken, NO_STORE};
use crate::admin::clients;
use crate::admin::AdminError;
use crate::context::Context;
use crate::http::ApiTags;

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
