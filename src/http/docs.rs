//! ferrid's own Swagger UI page at `/docs`. poem-openapi's bundled page never calls
//! `initOAuth`, so Swagger UI would run the authorization-code login without PKCE, which ferrid
//! refuses for public clients; and it derives the OAuth redirect from the current URL, fragment
//! and all, which exact redirect-URI matching rejects. This page uses the same Swagger UI bundle,
//! enables PKCE for the built-in public `swagger-ui` client, and fixes the redirect URI to
//! `{issuer}/docs/oauth-receiver.html`, which that client registers.

use poem::endpoint::make_sync;
use poem::web::Html;
use poem::{Endpoint, Route};

use crate::oauth::clients::SWAGGER_UI_CLIENT_ID;

/// Swagger UI's OAuth receiver page (from swagger-ui, as bundled by poem-openapi).
const OAUTH_RECEIVER: &str = include_str!("../../templates/oauth-receiver.html");

/// The page with PKCE enabled, built from poem-openapi's Swagger UI page.
pub fn page(swagger_ui_html: &str) -> String {
    swagger_ui_html
        .replace(
            "oauth2RedirectUrl: oauth2RedirectUrl,",
            "oauth2RedirectUrl: window.location.origin + \"/docs/oauth-receiver.html\",",
        )
        .replace("    SwaggerUIBundle({", "    const ui = SwaggerUIBundle({")
        .replace(
            "        deepLinking: true,\n    })",
            &format!(
                "        deepLinking: true,\n    }});\n    ui.initOAuth({{ clientId: \"{SWAGGER_UI_CLIENT_ID}\", \
                 usePkceWithAuthorizationCodeGrant: true, scopes: \"openid profile email\" }});"
            ),
        )
}

/// `/docs` (the page) and `/docs/oauth-receiver.html`.
pub fn endpoint(swagger_ui_html: &str) -> impl Endpoint {
    let html = page(swagger_ui_html);
    Route::new()
        .at("/", make_sync(move |_| Html(html.clone())))
        .at("/oauth-receiver.html", make_sync(|_| Html(OAUTH_RECEIVER)))
}
