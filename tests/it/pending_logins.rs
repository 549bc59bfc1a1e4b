//! The bound on pending sign-in requests per client address (issue 11.8): anyone can start
//! interactions without credentials, so one address keeps at most
//! `sessions.pending_logins_per_address`; a new one evicts its oldest, whose login page then
//! says the request expired, while the newest and other addresses' requests keep working; a
//! finished sign-in no longer counts.

use crate::common::browser::{callback, log_in, Browser, Page, CALLBACK};
use crate::common::grants::{server_with, CHALLENGE};
use crate::common::{Backend, TestServer};

/// Starts a sign-in for `app` in a browser of its own (no cookies), as a flood would.
async fn start_from(server: &TestServer, address: &str) -> (Browser, Page) {
    let browser = Browser::from_address(address);
    let url = format!(
        "{}?response_type=code&client_id=app&redirect_uri={CALLBACK}&scope=openid&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        server.at("/authorize")
    );
    let page = browser.get(&url).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(page
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with("/login?interaction=")));
    (browser, page)
}

async fn login_page(server: &TestServer, browser: &Browser, started: &Page) -> Page {
    browser
        .get(&server.at(started.location.as_deref().unwrap()))
        .await
}

async fn the_oldest_pending_logins_of_an_address_are_evicted(backend: Backend) {
    const BOUND: usize = 4;
    const EXTRA: usize = 3;
    let server = server_with(backend, None, |settings| {
        settings.sessions.pending_logins_per_address = BOUND;
    })
    .await;
    let other_address = start_from(&server, "127.0.0.9").await;
    let mut flood = Vec::new();
    for _ in 0..BOUND + EXTRA {
        flood.push(start_from(&server, "127.0.0.10").await);
    }

    for (browser, started) in &flood[..EXTRA] {
        let page = login_page(&server, browser, started).await;
        assert_eq!(page.status, 400, "an evicted request: {}", page.body);
        assert!(page.body.contains("expired"), "{}", page.body);
    }
    for (browser, started) in &flood[EXTRA..] {
        let page = login_page(&server, browser, started).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.hidden("csrf_token").is_some());
    }
    let (browser, started) = flood.pop().unwrap();
    let done = log_in(&server, &browser, started, "wonderland").await;
    assert!(callback(&done).contains_key("code"));

    let (browser, started) = other_address;
    let done = log_in(&server, &browser, started, "wonderland").await;
    assert!(
        callback(&done).contains_key("code"),
        "another address is unaffected"
    );
}

async fn finished_sign_ins_free_their_place(backend: Backend) {
    let server = server_with(backend, None, |settings| {
        settings.sessions.pending_logins_per_address = 2;
    })
    .await;
    let (slow_browser, slow) = start_from(&server, "127.0.0.11").await;
    let (browser, quick) = start_from(&server, "127.0.0.11").await;
    let done = log_in(&server, &browser, quick, "wonderland").await;
    assert!(callback(&done).contains_key("code"));
    // Two started, one finished: a third does not evict the one still in progress.
    let (_, _third) = start_from(&server, "127.0.0.11").await;
    let done = log_in(&server, &slow_browser, slow, "wonderland").await;
    assert!(callback(&done).contains_key("code"));
}

for_each_backend!(
    the_oldest_pending_logins_of_an_address_are_evicted,
    finished_sign_ins_free_their_place,
);

// Multi-key scripts: the keys of one client address share its slot.
on_cluster!(the_oldest_pending_logins_of_an_address_are_evicted,);
