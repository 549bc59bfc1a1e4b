//! Login throttling (issue 11.3): failed attempts are counted per username and client address
//! and per address, in the store (shared by every instance on Redis); a correct password from an
//! address without recent failures is never refused; a throttled attempt gets 429 with
//! `Retry-After` and a form that still works once the window has passed. Different client
//! addresses are real peer addresses: the test browsers connect from 127.0.0.x.

use std::time::Duration;

use crate::common::browser::{callback, Browser, Page, CALLBACK};
use crate::common::grants::{alice, app_client, now_clock, server_with, CHALLENGE};
use crate::common::{Backend, Options, TestServer};

/// A sign-in form for the `app` client (which skips consent) opened in `browser`.
struct LoginForm {
    interaction: String,
    csrf: String,
}

async fn open_login_form(server: &TestServer, browser: &Browser) -> LoginForm {
    let url = format!(
        "{}?response_type=code&client_id=app&redirect_uri={CALLBACK}&scope=openid&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let form = browser
        .get(&server.at(page.location.as_deref().unwrap()))
        .await;
    assert_eq!(form.status, 200, "{}", form.body);
    LoginForm {
        interaction: form.hidden("interaction").unwrap(),
        csrf: form.hidden("csrf_token").unwrap(),
    }
}

async fn submit(
    server: &TestServer,
    browser: &Browser,
    form: &LoginForm,
    username: &str,
    password: &str,
) -> Page {
    let fields = [
        ("interaction", form.interaction.as_str()),
        ("csrf_token", form.csrf.as_str()),
        ("username", username),
        ("password", password),
    ];
    browser.post(&server.at("/login"), &fields).await
}

/// Asserts a successful login: back to the client with a code.
fn assert_logged_in(page: &Page) {
    assert_eq!(page.status, 303, "refused: {} {}", page.status, page.body);
    assert!(callback(page).contains_key("code"));
}

/// Asserts a throttled attempt: 429, `Retry-After` in seconds, the form shown again.
fn assert_throttled(page: &Page) -> u64 {
    assert_eq!(page.status, 429, "{}", page.body);
    let retry_after: u64 = page.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert!(page.body.contains("Too many sign-in attempts"));
    assert!(page.hidden("interaction").is_some() && page.hidden("csrf_token").is_some());
    retry_after
}

async fn failures_from_one_address_do_not_lock_out_another(backend: Backend) {
    let server = server_with(backend, None, |_| {}).await;
    let attacker = Browser::from_address("127.0.0.2");
    let form = open_login_form(&server, &attacker).await;
    for _ in 0..12 {
        let page = submit(&server, &attacker, &form, "alice", "guess").await;
        assert!(matches!(page.status, 200 | 429), "{}", page.status);
    }

    let alice_elsewhere = Browser::from_address("127.0.0.3");
    let elsewhere = open_login_form(&server, &alice_elsewhere).await;
    assert_logged_in(&submit(&server, &alice_elsewhere, &elsewhere, "alice", "wonderland").await);
    // The address the guesses came from is throttled, even with the right password.
    assert_throttled(&submit(&server, &attacker, &form, "alice", "wonderland").await);
}

async fn a_throttled_address_may_try_again_once_the_window_has_passed(backend: Backend) {
    let clock = now_clock();
    let server = server_with(backend, Some(clock.clone()), |settings| {
        settings.sessions.login_attempts_per_minute = 3;
    })
    .await;
    let browser = Browser::from_address("127.0.0.4");
    let form = open_login_form(&server, &browser).await;
    for _ in 0..3 {
        let page = submit(&server, &browser, &form, "alice", "guess").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Wrong username or password."));
    }
    let retry_after =
        assert_throttled(&submit(&server, &browser, &form, "alice", "wonderland").await);
    assert_eq!(retry_after, 60);
    clock.advance(Duration::from_secs(59));
    assert_eq!(
        assert_throttled(&submit(&server, &browser, &form, "alice", "wonderland").await),
        1
    );
    assert!(
        !browser.cookie_header().contains("ferrid-session"),
        "a throttled attempt never logs in"
    );
    clock.advance(Duration::from_secs(1));
    // The same form, as the throttled page left it, now works.
    assert_logged_in(&submit(&server, &browser, &form, "alice", "wonderland").await);
}

async fn an_address_has_a_limit_across_usernames(backend: Backend) {
    let server = server_with(backend, None, |settings| {
        settings.sessions.login_attempts_per_minute = 2;
    })
    .await;
    let browser = Browser::from_address("127.0.0.5");
    let form = open_login_form(&server, &browser).await;
    // Five times the per-username limit, spread over usernames, uses up the address.
    for user in 0..5 {
        for _ in 0..2 {
            let page = submit(&server, &browser, &form, &format!("user{user}"), "guess").await;
            assert_eq!(page.status, 200);
        }
    }
    assert_throttled(&submit(&server, &browser, &form, "alice", "wonderland").await);
}

async fn successful_logins_are_never_refused(backend: Backend) {
    let server = server_with(backend, None, |settings| {
        settings.sessions.login_attempts_per_minute = 3;
    })
    .await;
    for _ in 0..20 {
        // A new browser each time (no session yet), all from one address.
        let browser = Browser::from_address("127.0.0.6");
        let form = open_login_form(&server, &browser).await;
        assert_logged_in(&submit(&server, &browser, &form, "alice", "wonderland").await);
    }
}

for_each_backend!(
    failures_from_one_address_do_not_lock_out_another,
    a_throttled_address_may_try_again_once_the_window_has_passed,
    an_address_has_a_limit_across_usernames,
    successful_logins_are_never_refused,
);

// Multi-key scripts: the keys of one client address share its slot.
on_cluster!(an_address_has_a_limit_across_usernames,);

/// Two ferrid instances on one Redis: failures counted by one throttle the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_redis_share_the_counts() {
    let first = server_with(Backend::Redis, None, |settings| {
        settings.sessions.login_attempts_per_minute = 3;
    })
    .await;
    // The same clients as the first instance, or provisioning would delete the others.
    let mut keeper = app_client("keeper");
    keeper.refresh_token_rotation = Some("reuse".into());
    let options = Options {
        redis: Some(first.redis.as_ref().unwrap().same()),
        seed_key: false,
        ..Options::new(Backend::Redis).clients(vec![app_client("app"), app_client("other"), keeper])
    };
    let second = TestServer::start_with(options, |settings| {
        settings.users = vec![alice()];
        settings.sessions.login_attempts_per_minute = 3;
    })
    .await;

    let browser = Browser::from_address("127.0.0.7");
    let on_first = open_login_form(&first, &browser).await;
    for _ in 0..3 {
        assert_eq!(
            submit(&first, &browser, &on_first, "alice", "guess")
                .await
                .status,
            200
        );
    }
    let on_second = open_login_form(&second, &browser).await;
    assert_throttled(&submit(&second, &browser, &on_second, "alice", "wonderland").await);

    // Another address is not affected on either instance.
    let elsewhere = Browser::from_address("127.0.0.8");
    let form = open_login_form(&second, &elsewhere).await;
    assert_logged_in(&submit(&second, &elsewhere, &form, "alice", "wonderland").await);
}
