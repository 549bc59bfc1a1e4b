//! A user removed from `[[users]]` is locked out at the next start: the password no longer
//! works, the browser session ends, the refresh tokens and the access tokens they issued are
//! revoked. Users created any other way than by the config are left alone. On Redis, where the
//! store outlives a ferrid restart (the domain test in `bootstrap::users` covers the memory
//! store).

use ferrid::config::UserConfig;
use ferrid::users;

use crate::common::browser::{log_in, Browser, CALLBACK};
use crate::common::grants::{alice, app_client, grant, introspect, refresh, text, CHALLENGE};
use crate::common::{cheap_password_hash, Backend, Options, RedisTarget, TestServer};

async fn start(target: RedisTarget, users: Vec<UserConfig>) -> TestServer {
    let options = Options {
        redis: Some(target),
        ..Options::new(Backend::Redis).clients(vec![app_client("app")])
    };
    TestServer::start_with(options, |settings| settings.users = users).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_removed_from_the_config_is_locked_out_at_the_next_start() {
    let target = RedisTarget::new();
    let first = start(target.same(), vec![alice()]).await;
    let browser = Browser::new();
    let tokens = grant(&first, &browser, "app", "openid offline_access").await;
    let refresh_token = text(&tokens, "refresh_token");
    let access_token = text(&tokens, "access_token");
    let other = UserConfig {
        username: "made-elsewhere".into(),
        password_hash: Some(cheap_password_hash("pw")),
        ..UserConfig::default()
    };
    // A user the config did not provision (an admin API would create it): never touched.
    let other = users::upsert_from_config(first.ctx.store(), &other)
        .await
        .unwrap();
    first.stop().await;

    let second = start(target.same(), Vec::new()).await;
    refresh(&second, "app", &refresh_token, None)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        introspect(&second, "app", &access_token).await["active"],
        false
    );
    let authorize = format!(
        "{}?response_type=code&client_id=app&redirect_uri={CALLBACK}&scope=openid&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        second.at("/authorize")
    );
    let page = browser.get(&authorize).await;
    assert!(
        page.location
            .as_deref()
            .is_some_and(|location| location.starts_with("/login")),
        "the session must have ended: {:?}",
        page.location
    );
    let after = log_in(&second, &browser, page, "wonderland").await;
    assert_eq!(after.status, 200, "{:?}", after.location);
    assert!(after.body.contains("Wrong username or password."));
    assert_eq!(
        users::find(second.ctx.store(), "made-elsewhere")
            .await
            .unwrap()
            .map(|user| user.id),
        Some(other.id)
    );
}
