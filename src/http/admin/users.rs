//! `/admin/users`: list, create, show, replace and delete users, set a password, list and end a
//! user's browser sessions. Users are addressed by their stable id (the `sub` of their tokens);
//! a password goes in only, hashed with Argon2id, and never comes out.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;

use super::user_body::{Ended, NewPassword, NewUser, SessionView, UserList, UserProfile, UserView};
use super::{admin_response, respond, AdminToken, NO_STORE};
use crate::admin::users;
use crate::context::Context;
use crate::http::ApiTags;
use crate::secret::SecretString;
use crate::users::Profile;

admin_response! {
    /// Answers carrying a user.
    pub enum UserResponse {
        /// The user.
        #[oai(status = 200)]
        Ok(Json<UserView>, #[oai(header = "Cache-Control")] String),
    }
}

admin_response! {
    /// Answers to a creation.
    pub enum UserCreatedResponse {
        /// The user, created.
        #[oai(status = 201)]
        Created(Json<UserView>, #[oai(header = "Cache-Control")] String),
    }
}

admin_response! {
    /// Answers to a listing.
    pub enum UserListResponse {
        /// A page of users.
        #[oai(status = 200)]
        Ok(Json<UserList>, #[oai(header = "Cache-Control")] String),
    }
}

admin_response! {
    /// Answers to a listing of sessions.
    pub enum SessionsResponse {
        /// The user's live sessions, oldest login first.
        #[oai(status = 200)]
        Ok(Json<Vec<SessionView>>, #[oai(header = "Cache-Control")] String),
    }
}

admin_response! {
    /// Answers to an operation that ends sessions.
    pub enum EndedResponse {
        /// What was ended.
        #[oai(status = 200)]
        Ok(Json<Ended>, #[oai(header = "Cache-Control")] String),
    }
}

fn ended(sessions: usize, families: Option<usize>) -> EndedResponse {
    let body = Ended {
        sessions_ended: sessions as u64,
        refresh_families_revoked: families.map(|n| n as u64),
    };
    EndedResponse::Ok(Json(body), NO_STORE.into())
}

/// The user administration endpoints.
pub struct AdminUsersApi;

#[OpenApi(tag = "ApiTags::Admin")]
impl AdminUsersApi {
    /// List users
    ///
    /// Every user — from the config or created at runtime — in id order, a page at a time.
    #[oai(
        path = "/admin/users",
        method = "get",
        operation_id = "admin_list_users"
    )]
    async fn list(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        /// Users per page (1 to 200, default 50).
        #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
        limit: Query<Option<u32>>,
        /// The `next` of the previous page.
        after: Query<Option<String>>,
    ) -> UserListResponse {
        respond(
            async {
                token.authorize(&ctx).await?;
                let page =
                    users::list(&ctx, after.0.as_deref(), limit.0.map(|l| l as usize)).await?;
                let list = UserList {
                    items: page.items.iter().map(UserView::from).collect(),
                    next: page.next,
                };
                Ok(UserListResponse::Ok(Json(list), NO_STORE.into()))
            }
            .await,
        )
    }

    /// Create a user
    ///
    /// A taken username is 409.
    #[oai(
        path = "/admin/users",
        method = "post",
        operation_id = "admin_create_user"
    )]
    async fn create(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        body: Json<NewUser>,
    ) -> UserCreatedResponse {
        respond(
            async {
                let actor = token.authorize(&ctx).await?;
                let NewUser {
                    username,
                    password,
                    name,
                    email,
                    roles,
                } = body.0;
                let profile = Profile {
                    username,
                    name,
                    email,
                    roles,
                };
                let password = SecretString::new(password);
                let user = users::create(&ctx, &actor, profile, &password).await?;
                Ok(UserCreatedResponse::Created(
                    Json((&user).into()),
                    NO_STORE.into(),
                ))
            }
            .await,
        )
    }

    /// Show a user
    #[oai(
        path = "/admin/users/:id",
        method = "get",
        operation_id = "admin_get_user"
    )]
    async fn get(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        /// The user's id.
        id: Path<String>,
    ) -> UserResponse {
        respond(
            async {
                token.authorize(&ctx).await?;
                let user = users::get(&ctx, &id).await?;
                Ok(UserResponse::Ok(Json((&user).into()), NO_STORE.into()))
            }
            .await,
        )
    }

    /// Replace a user's profile
    ///
    /// Everything but the password, as a whole. A taken username is 409, and so is a user from
    /// the config file.
    #[oai(
        path = "/admin/users/:id",
        method = "put",
        operation_id = "admin_replace_user"
    )]
    async fn replace(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        /// The user's id.
        id: Path<String>,
        body: Json<UserProfile>,
    ) -> UserResponse {
        respond(
            async {
                let actor = token.authorize(&ctx).await?;
                let user = users::replace(&ctx, &actor, &id, body.0.into()).await?;
                Ok(UserResponse::Ok(Json((&user).into()), NO_STORE.into()))
            }
            .await,
        )
    }

    /// Delete a user
    ///
    /// Ends the user's browser sessions and revokes their refresh tokens (and the access tokens
    /// those issued). A user from the config file is 409.
    #[oai(
        path = "/admin/users/:id",
        method = "delete",
        operation_id = "admin_delete_user"
    )]
    async fn delete(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        /// The user's id.
        id: Path<String>,
    ) -> EndedResponse {
        respond(
            async {
                let actor = token.authorize(&ctx).await?;
                let removed = users::delete(&ctx, &actor, &id).await?;
                Ok(ended(removed.sessions, Some(removed.refresh_families)))
            }
            .await,
        )
    }

    /// Set a user's password
    ///
    /// Ends every browser session of the user. A user from the config file is 409.
    #[oai(
        path = "/admin/users/:id/password",
        method = "put",
        operation_id = "admin_set_user_password"
    )]
    async fn set_password(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        /// The user's id.
        id: Path<String>,
        body: Json<NewPassword>,
    ) -> EndedResponse {
        respond(
            async {
                let actor = token.authorize(&ctx).await?;
                let password = SecretString::new(body.0.password);
                let sessions = users::set_password(&ctx, &actor, &id, &password).await?;
                Ok(ended(sessions, None))
            }
            .await,
        )
    }

    /// List a user's sessions
    #[oai(
        path = "/admin/users/:id/sessions",
        method = "get",
        operation_id = "admin_list_user_sessions"
    )]
    async fn sessions(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        /// The user's id.
        id: Path<String>,
    ) -> SessionsResponse {
        respond(
            async {
                token.authorize(&ctx).await?;
                let sessions = users::sessions(&ctx, &id).await?;
                let views = sessions.into_iter().map(SessionView::from).collect();
                Ok(SessionsResponse::Ok(Json(views), NO_STORE.into()))
            }
            .await,
        )
    }

    /// End a user's sessions
    ///
    /// Logs the user out everywhere: every browser session ends, and the refresh tokens started
    /// in them are revoked as a logout would (`sessions.logout_revokes`).
    #[oai(
        path = "/admin/users/:id/sessions",
        method = "delete",
        operation_id = "admin_end_user_sessions"
    )]
    async fn end_sessions(
        &self,
        ctx: Data<&Arc<Context>>,
        token: AdminToken,
        /// The user's id.
        id: Path<String>,
    ) -> EndedResponse {
        respond(
            async {
                let actor = token.authorize(&ctx).await?;
                Ok(ended(users::end_sessions(&ctx, &actor, &id).await?, None))
            }
            .await,
        )
    }
}
