//! The interactive part of the authorization code flow: from a validated request, through the
//! login and consent pages, to the redirect that carries the code. Each entry point — the
//! authorization request, showing a page, posting the login form, posting the consent form —
//! returns the next `Step` for the browser; `decide` is the one place that chooses it (log in?
//! consent? done?), honouring SSO, `prompt`, `max_age`, remembered consent and `skip_consent`.
//! Beside it: the pending interactions between pages (`pending`), remembered consent
//! (`consent`) and login throttling (`throttle`); browser sessions themselves are `session`.

pub mod consent;
pub mod pending;
pub mod throttle;

use crate::context::Context;
use crate::error::browser::BrowserError;
use crate::error::{ErrorCode, OAuthError};
use crate::oauth::authorize::{self, AuthorizationRequest, AuthorizeParams};
use crate::oauth::clients::{self, Client};
use crate::oauth::codes::{self, AuthorizationCode};
use crate::oauth::redirect_uri;
use crate::oidc::claims;
use crate::secret::random_token;
use crate::session::{self, Session};
use crate::users;

use self::pending::Pending;

/// The cookies the browser presented.
#[derive(Debug, Clone, Copy, Default)]
pub struct Browser<'a> {
    /// The session cookie.
    pub session: Option<&'a str>,
    /// The browser-binding cookie of pending interactions.
    pub bind: Option<&'a str>,
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
        /// Too many attempts: the form is shown again, nothing was checked.
        throttled: bool,
    },
    /// Show the consent form: each scope with its description.
    Consent {
        page: PageContext,
        username: String,
        scopes: Vec<(String, String)>,
    },
    /// Go to this URL (the client's redirect URI, with a code or an error).
    Redirect(String),
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

const EXPIRED: &str = "This sign-in request has expired or was already completed. Go back to the application and start again.";
const FORGED: &str = "This form could not be verified (its security token is missing or belongs to another browser). Go back to the application and start again.";

/// Handles an authorization request.
pub async fn authorize(
    ctx: &Context,
    params: AuthorizeParams,
    browser: Browser<'_>,
) -> Result<Outcome, BrowserError> {
    let (client, request) = authorize::validate(ctx, params).await?;
    let session = session::load(ctx, browser.session).await?;
    let session = browser.session.zip(session);
    decide(ctx, &client, request, None, session, browser.bind, false).await
}

/// Shows the page of interaction `id` again (e.g. after a reload).
pub async fn show(
    ctx: &Context,
    id: &str,
    page: Page,
    browser: Browser<'_>,
) -> Result<Outcome, BrowserError> {
    let pending = Pending::find(ctx, id)
        .await?
        .ok_or_else(|| BrowserError::page(EXPIRED))?;
    if !pending.same_browser(browser.bind) {
        return Err(BrowserError::page(FORGED));
    }
    let client = find_client(ctx, &pending.request.client_id).await?;
    let context = PageContext {
        interaction: id.to_owned(),
        csrf: pending.csrf.clone(),
        client_name: client.name.clone(),
    };
    match (page, session::load(ctx, browser.session).await?) {
        (Page::Consent, Some(session)) => {
            Ok(consent_step(context, &session, &pending.request).into())
        }
        _ => Ok(Step::Login {
            page: context,
            login_hint: pending.request.login_hint.clone(),
            failed: false,
            throttled: false,
        }
        .into()),
    }
}

/// The login form's fields.
pub struct LoginForm<'a> {
    pub interaction: &'a str,
    pub csrf_token: Option<&'a str>,
    pub username: &'a str,
    pub password: String,
    /// The client's network address, for throttling.
    pub client_address: Option<&'a str>,
}

/// Handles a posted login form.
pub async fn login(
    ctx: &Context,
    form: LoginForm<'_>,
    browser: Browser<'_>,
) -> Result<Outcome, BrowserError> {
    let (client, mut pending) =
        checked_pending(ctx, form.interaction, form.csrf_token, browser).await?;
    if !ctx
        .login_throttle()
        .allow(form.username, form.client_address)
    {
        tracing::warn!(target: "ferrid::audit", event = "login", outcome = "throttled", client_id = %client.client_id, "too many login attempts");
        let context = PageContext {
            interaction: form.interaction.to_owned(),
            csrf: pending.csrf,
            client_name: client.name,
        };
        let step = Step::Login {
            page: context,
            login_hint: Some(form.username.to_owned()),
            failed: true,
            throttled: true,
        };
        return Ok(step.into());
    }
    let user = users::find(ctx.store(), form.username).await?;
    let candidate = user.clone();
    let password = form.password;
    let valid = tokio::task::spawn_blocking(move || {
        users::check_credentials(candidate.as_ref(), &password)
    })
    .await
    .map_err(|err| BrowserError::server(OAuthError::server_error(err)))?;
    let Some(user) = user.filter(|_| valid) else {
        tracing::info!(target: "ferrid::audit", event = "login", outcome = "failure", client_id = %client.client_id, "wrong username or password");
        let context = PageContext {
            interaction: form.interaction.to_owned(),
            csrf: pending.csrf,
            client_name: client.name,
        };
        return Ok(Step::Login {
            page: context,
            login_hint: Some(form.username.to_owned()),
            failed: true,
            throttled: false,
        }
        .into());
    };
    let (cookie, session) = session::create(ctx, &user, &["pwd"])
        .await
        .map_err(BrowserError::server)?;
    pending.logged_in = true;
    pending.save(ctx, form.interaction).await?;
    let request = pending.request.clone();
    let mut outcome = decide(
        ctx,
        &client,
        request,
        Some((form.interaction, pending)),
        Some((&cookie, session)),
        browser.bind,
        false,
    )
    .await?;
    outcome.set_session = Some(cookie);
    Ok(outcome)
}

/// The consent form's fields.
pub struct ConsentForm<'a> {
    pub interaction: &'a str,
    pub csrf_token: Option<&'a str>,
    pub allow: bool,
}

/// Handles a posted consent form.
pub async fn consent(
    ctx: &Context,
    form: ConsentForm<'_>,
    browser: Browser<'_>,
) -> Result<Outcome, BrowserError> {
    let (client, pending) =
        checked_pending(ctx, form.interaction, form.csrf_token, browser).await?;
    let Some(session) = session::load(ctx, browser.session).await? else {
        let context = PageContext {
            interaction: form.interaction.to_owned(),
            csrf: pending.csrf.clone(),
            client_name: client.name,
        };
        return Ok(Step::Login {
            page: context,
            login_hint: pending.request.login_hint.clone(),
            failed: false,
            throttled: false,
        }
        .into());
    };
    let request = pending.request.clone();
    if !form.allow {
        Pending::finish(ctx, form.interaction).await?;
        let error = OAuthError::new(
            ErrorCode::AccessDenied,
            "the person declined to authorize the application",
        );
        return Ok(redirect_error(ctx, &request, error).into());
    }
    consent::remember(ctx, &session.user_id, &client.client_id, &request.scopes).await?;
    let cookie = browser.session.unwrap_or_default();
    decide(
        ctx,
        &client,
        request,
        Some((form.interaction, pending)),
        Some((cookie, session)),
        browser.bind,
        true,
    )
    .await
}

async fn checked_pending(
    ctx: &Context,
    id: &str,
    csrf_token: Option<&str>,
    browser: Browser<'_>,
) -> Result<(Client, Pending), BrowserError> {
    let pending = Pending::find(ctx, id)
        .await?
        .ok_or_else(|| BrowserError::page(EXPIRED))?;
    if !pending.csrf_matches(csrf_token) || !pending.same_browser(browser.bind) {
        tracing::warn!(target: "ferrid::audit", event = "csrf_rejected", "form rejected: CSRF token or browser binding mismatch");
        return Err(BrowserError::page(FORGED));
    }
    let client = find_client(ctx, &pending.request.client_id).await?;
    Ok((client, pending))
}

async fn find_client(ctx: &Context, client_id: &str) -> Result<Client, BrowserError> {
    clients::find(ctx.store(), client_id).await?.ok_or_else(|| {
        BrowserError::page("The application of this sign-in request is no longer registered.")
    })
}

/// Chooses the next step: login, consent, or a code for the client.
async fn decide(
    ctx: &Context,
    client: &Client,
    request: AuthorizationRequest,
    pending: Option<(&str, Pending)>,
    session: Option<(&str, Session)>,
    bind: Option<&str>,
    consent_given: bool,
) -> Result<Outcome, BrowserError> {
    let logged_in_now = pending.as_ref().is_some_and(|(_, p)| p.logged_in);
    let now = ctx.clock().now_secs();
    let needs_login = match &session {
        None => true,
        Some((_, session)) => {
            let too_old = request
                .max_age
                .is_some_and(|max_age| now.saturating_sub(session.auth_time) > max_age);
            !logged_in_now && (request.prompt.login || too_old)
        }
    };
    if needs_login {
        if request.prompt.none {
            return Ok(redirect_error(
                ctx,
                &request,
                OAuthError::new(ErrorCode::LoginRequired, "the person must log in"),
            )
            .into());
        }
        let login_hint = request.login_hint.clone();
        let (context, set_bind) = interaction(ctx, client, request, pending, bind).await?;
        return Ok(Outcome {
            step: Step::Login {
                page: context,
                login_hint,
                failed: false,
                throttled: false,
            },
            set_session: None,
            set_bind,
        });
    }
    let Some((cookie, mut session)) = session.map(|(cookie, session)| (cookie.to_owned(), session))
    else {
        return Err(BrowserError::page(EXPIRED));
    };
    let needs_consent = !client.skip_consent
        && !consent_given
        && (request.prompt.consent
            || !consent::covers(ctx, &session.user_id, &client.client_id, &request.scopes).await?);
    if needs_consent {
        if request.prompt.none {
            return Ok(redirect_error(
                ctx,
                &request,
                OAuthError::new(
                    ErrorCode::ConsentRequired,
                    "the person must approve the requested scopes",
                ),
            )
            .into());
        }
        let scopes = request.scopes.clone();
        let (context, set_bind) = interaction(ctx, client, request, pending, bind).await?;
        let step = Step::Consent {
            page: context,
            username: session.username.clone(),
            scopes: describe(&scopes),
        };
        return Ok(Outcome {
            step,
            set_session: None,
            set_bind,
        });
    }
    let grant = AuthorizationCode {
        client_id: client.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        code_challenge: request.code_challenge.clone(),
        scopes: request.scopes.clone(),
        nonce: request.nonce.clone(),
        user_id: session.user_id.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        sid: session.sid.clone(),
    };
    let code = codes::issue(ctx.store(), &grant)
        .await
        .map_err(BrowserError::server)?;
    session::add_client(ctx, &cookie, &mut session, &client.client_id).await?;
    if let Some((id, _)) = pending {
        Pending::finish(ctx, id).await?;
    }
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    params.push(("iss", ctx.settings().issuer()));
    Ok(Step::Redirect(redirect_uri::with_params(&request.redirect_uri, &params)).into())
}

/// The interaction to show a page for: the existing one, or a new one bound to this browser.
async fn interaction(
    ctx: &Context,
    client: &Client,
    request: AuthorizationRequest,
    pending: Option<(&str, Pending)>,
    bind: Option<&str>,
) -> Result<(PageContext, Option<String>), BrowserError> {
    if let Some((id, pending)) = pending {
        let context = PageContext {
            interaction: id.to_owned(),
            csrf: pending.csrf,
            client_name: client.name.clone(),
        };
        return Ok((context, None));
    }
    let (bind, set_bind) = match bind {
        Some(bind) => (bind.to_owned(), None),
        None => {
            let fresh = random_token()
                .map_err(|err| BrowserError::server(OAuthError::server_error(err)))?;
            (fresh.clone(), Some(fresh))
        }
    };
    let (id, pending) = Pending::start(ctx, request, &bind)
        .await
        .map_err(BrowserError::server)?;
    Ok((
        PageContext {
            interaction: id,
            csrf: pending.csrf,
            client_name: client.name.clone(),
        },
        set_bind,
    ))
}

fn consent_step(page: PageContext, session: &Session, request: &AuthorizationRequest) -> Step {
    Step::Consent {
        page,
        username: session.username.clone(),
        scopes: describe(&request.scopes),
    }
}

fn describe(scopes: &[String]) -> Vec<(String, String)> {
    scopes
        .iter()
        .map(|scope| (scope.clone(), claims::describe(scope)))
        .collect()
}

fn redirect_error(ctx: &Context, request: &AuthorizationRequest, error: OAuthError) -> Step {
    match request.error(error) {
        BrowserError::Redirect(redirect) => {
            Step::Redirect(redirect.location(ctx.settings().issuer()))
        }
        BrowserError::Page { .. } => Step::Redirect(request.redirect_uri.clone()),
    }
}
