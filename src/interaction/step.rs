//! What the interaction hands the HTTP layer: what the browser presented (`Browser`), and
//! the next step with the cookies to set (`Outcome`): a login page, a consent page, or a
//! redirect back to the client.

use std::net::IpAddr;

use crate::oauth::response_mode::AuthorizationResponse;

/// What the browser presented: its cookies and the address it connects from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Browser<'a> {
    /// The session cookie.
    pub session: Option<&'a str>,
    /// The browser-binding cookie of pending interactions.
    pub bind: Option<&'a str>,
    /// The peer address of the connection (throttling, the bound on pending interactions).
    pub address: Option<IpAddr>,
}

/// A page to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageContext {
    pub interaction: String,
    pub csrf: String,
    pub client_name: String,
}

/// What the browser does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Show the login form.
    Login {
        page: PageContext,
        login_hint: Option<String>,
        failed: bool,
        /// Too many failed attempts: the form is shown again, nothing was checked; try again
        /// after this many seconds.
        retry_after: Option<u64>,
    },
    /// Show the consent form: each scope with its description.
    Consent {
        page: PageContext,
        username: String,
        scopes: Vec<(String, String)>,
    },
    /// Back to the client's redirect URI with a code or an error, in the request's response
    /// mode.
    Redirect(AuthorizationResponse),
}

/// The next step and the cookies to set with it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub step: Step,
    /// A new session cookie value.
    pub set_session: Option<String>,
    /// A new browser-binding cookie value.
    pub set_bind: Option<String>,
}

impl From<Step> for Outcome {
    fn from(step: Step) -> Self {
        Self {
            step,
            set_session: None,
            set_bind: None,
        }
    }
}

/// Which page a GET of an interaction asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Login,
    Consent,
}
