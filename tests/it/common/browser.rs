//! A browser for tests: keeps cookies, follows no redirect by itself, and fills in ferrid's
//! login and consent forms the way a person would.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use oauth2::reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use super::{http, HttpClient, TestServer};

/// The redirect URI the test clients register.
pub const CALLBACK: &str = "https://app.example.com/callback";

/// A browser: keeps cookies, follows nothing by itself.
pub struct Browser {
    cookies: Mutex<HashMap<String, String>>,
    client: HttpClient,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: oauth2::reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_owned())
    }
}

impl Browser {
    pub fn new() -> Self {
        Self {
            cookies: Mutex::new(HashMap::new()),
            client: http(),
        }
    }

    /// A browser whose connections come from `address`, e.g. `127.0.0.2` (any 127.0.0.0/8
    /// address reaches a server on 127.0.0.1 on Linux): another client address, no proxy header.
    pub fn from_address(address: &str) -> Self {
        let address: IpAddr = address.parse().unwrap();
        let client = oauth2::reqwest::ClientBuilder::new()
            .redirect(oauth2::reqwest::redirect::Policy::none())
            .local_address(address)
            .build()
            .unwrap();
        Self {
            cookies: Mutex::new(HashMap::new()),
            client,
        }
    }

    /// Every cookie value the browser holds (session, browser binding, ...).
    pub fn cookie_values(&self) -> Vec<String> {
        self.cookies.lock().unwrap().values().cloned().collect()
    }

    pub fn cookie_header(&self) -> String {
        let cookies = self.cookies.lock().unwrap();
        cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(&self, request: oauth2::reqwest::RequestBuilder) -> Page {
        let response = request
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        let headers = response.headers().clone();
        for cookie in headers.get_all(SET_COOKIE) {
            let pair = cookie.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies
                .lock()
                .unwrap()
                .insert(name.into(), value.into());
        }
        Page {
            status: response.status().as_u16(),
            location: headers
                .get(LOCATION)
                .map(|l| l.to_str().unwrap().to_owned()),
            headers,
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&self, url: &str) -> Page {
        self.send(self.client.get(url)).await
    }

    pub async fn post(&self, url: &str, form: &[(&str, &str)]) -> Page {
        self.send(self.client.post(url).form(form)).await
    }
}

/// Logs in on the login page reached from `page` (a 303 to it).
pub async fn log_in(server: &TestServer, browser: &Browser, page: Page, password: &str) -> Page {
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.unwrap();
    assert!(location.starts_with("/login?interaction="), "{location}");
    let form = browser.get(&server.at(&location)).await;
    assert_eq!(form.status, 200);
    let interaction = form.hidden("interaction").unwrap();
    let csrf = form.hidden("csrf_token").unwrap();
    browser
        .post(
            &server.at("/login"),
            &[
                ("interaction", &interaction),
                ("csrf_token", &csrf),
                ("username", "alice"),
                ("password", password),
            ],
        )
        .await
}

/// Answers the consent page reached from `page` (a 303 to it).
pub async fn consent(server: &TestServer, browser: &Browser, page: Page, decision: &str) -> Page {
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.unwrap();
    assert!(location.starts_with("/consent?interaction="), "{location}");
    let form = browser.get(&server.at(&location)).await;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("name=\"decision\" value=\"allow\""));
    assert!(form.body.contains("name=\"decision\" value=\"deny\""));
    let interaction = form.hidden("interaction").unwrap();
    let csrf = form.hidden("csrf_token").unwrap();
    browser
        .post(
            &server.at("/consent"),
            &[
                ("interaction", &interaction),
                ("csrf_token", &csrf),
                ("decision", decision),
            ],
        )
        .await
}

/// The query of the redirect back to the client.
pub fn callback(page: &Page) -> HashMap<String, String> {
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.location.clone().unwrap();
    assert!(location.starts_with(CALLBACK), "{location}");
    url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}
