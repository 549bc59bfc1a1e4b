//! Conformance with a stock OpenID Connect relying-party library: the `openidconnect` crate
//! discovers ferrid, runs the code flow with PKCE and a nonce, and validates the ID token (its
//! signature by `kid` from the JWKS, `iss`, `aud`, `azp`, `exp`, `nonce`, `at_hash`) and the
//! userinfo response exactly as a third-party app would.

use crate::common::browser::{callback, consent, log_in, Browser, CALLBACK};
use crate::common::{Backend, Options, TestServer};
use ferrid::config::{ClientConfig, UserConfig};
use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

async fn server(backend: Backend) -> TestServer {
    let client = ClientConfig {
        id: "rp".into(),
        name: Some("Relying Party".into()),
        secret: Some("rp-secret".to_owned().into()),
        grant_types: vec!["authorization_code".into()],
        scopes: ["openid", "profile", "email"].map(String::from).to_vec(),
        redirect_uris: vec![CALLBACK.into()],
        ..ClientConfig::default()
    };
    let user = UserConfig {
        username: "alice".into(),
        password_hash: Some(crate::common::cheap_password_hash("wonderland")),
        name: Some("Alice Liddell".into()),
        email: Some("alice@example.com".into()),
        ..UserConfig::default()
    };
    TestServer::start_with(Options::new(backend).clients(vec![client]), |settings| {
        settings.users = vec![user]
    })
    .await
}

fn http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn the_openidconnect_crate_logs_in_and_validates_everything(backend: Backend) {
    let server = server(backend).await;
    let provider =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.url.clone()).unwrap(), &http())
            .await
            .expect("discovery is valid OIDC metadata");
    let client = CoreClient::from_provider_metadata(
        provider,
        ClientId::new("rp".into()),
        Some(ClientSecret::new("rp-secret".into())),
    )
    .set_redirect_uri(RedirectUrl::new(CALLBACK.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = Browser::new();
    let page = log_in(
        &server,
        &browser,
        browser.get(url.as_str()).await,
        "wonderland",
    )
    .await;
    let params = callback(&consent(&server, &browser, page, "allow").await);
    assert_eq!(&params["state"], state.secret());

    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("token response accepted");
    let id_token = tokens.id_token().expect("ID token");
    let id_verifier = client.id_token_verifier();
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("ID token validates");
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&id_verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(&actual_hash, expected_hash);

    let userinfo: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .unwrap()
        .request_async(&http())
        .await
        .expect("userinfo accepted");
    assert_eq!(
        userinfo.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
    assert_eq!(
        userinfo.preferred_username().map(|u| u.as_str()),
        Some("alice")
    );
}

for_each_backend!(the_openidconnect_crate_logs_in_and_validates_everything);
