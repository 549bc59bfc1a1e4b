//! The interactive part of the authorization code flow: from a validated request, through the
//! login and consent pages, to the redirect that carries the code. Each entry point — the
//! authorization request, showing a page, posting the login form, posting the consent form —
//! returns the next `Step` for the browser; `decide` is the one place that chooses it: it
//! gathers the facts (session, remembered consent, what this interaction already did), asks the
//! interaction `policy` (log in? consent? done?) and acts on the answer. Beside it: the pending
//! interactions between pages (`pending`), remembered consent (`consent`), login throttling
//! (`throttle`), and the client address that throttling and the bound on pending interactions
//! count per (`client_address`); browser sessions themselves are `session`.

pub mod client_address;
pub mod consent;
pub mod pending;
pub mod policy;
pub mod step;
pub mod throttle;

pub use self::step::{Browser, Outcome, Page, PageContext, Step};

use crate::context::Context;
use crate::error::browser::BrowserError;
use crate::error::{ErrorCode, OAuthError};
use crate::oauth::authorize::{self, AuthorizationRequest, AuthorizeParams};
use crate::oauth::clients::{self, Client};
use crate::oauth::codes::{self, AuthorizationCode};
use crate::oauth::response_mode::AuthorizationResponse;
use crate::oidc::claims;
use crate::secret::random_token;
use crate::session::{self, Session};
use crate::telemetry::{self, AuditEvent};
use crate::users;

use self::pending::Pending;
use self::policy::{Decision, Interaction, Situation};
use self::throttle::Admission;

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
    let progress = Progress {
        client: &client,
        request,
        pending: None,
        session: browser.session.zip(session),
        browser,
        consent_given: false,
    };
    decide(ctx, progress).await
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
    let context = page_context(id, &pending, &client);
    match (page, session::load(ctx, browser.session).await?) {
        (Page::Consent, Some(session)) => {
            Ok(consent_step(context, &session, &pending.request).into())
        }
        _ => Ok(login_step(context, &pending.request).into()),
    }
}

/// The login form's fields.
pub struct LoginForm<'a> {
    pub interaction: &'a str,
    pub csrf_token: Option<&'a str>,
    pub username: &'a str,
    pub password: String,
}

/// Handles a posted login form.
pub async fn login(
    ctx: &Context,
    form: LoginForm<'_>,
    browser: Browser<'_>,
) -> Result<Outcome, BrowserError> {
    let (client, mut pending) =
        checked_pending(ctx, form.interaction, form.csrf_token, browser).await?;
    let address = client_address::tag(ctx, browser.address);
    let attempt = match throttle::admit(ctx, &address, form.username).await? {
        Admission::Admitted(attempt) => attempt,
        Admission::Throttled(wait) => {
            telemetry::record(AuditEvent::LoginThrottled {
                client_id: &client.client_id,
            });
            let step = Step::Login {
                page: page_context(form.interaction, &pending, &client),
                login_hint: Some(form.username.to_owned()),
                failed: true,
                retry_after: Some(throttle::retry_after_secs(wait)),
            };
            return Ok(step.into());
        }
    };
    let user = users::find_for_login(ctx.store(), form.username).await?;
    let candidate = user.clone();
    let password = form.password;
    let valid = tokio::task::spawn_blocking(move || {
        users::check_credentials(candidate.as_ref(), &password)
    })
    .await
    .map_err(|err| BrowserError::server(OAuthError::server_error(err)))?;
    let known = user.as_ref().map(|user| user.id.clone());
    let Some(user) = user.filter(|_| valid) else {
        // The attempt stays counted: a failure.
        telemetry::record(AuditEvent::LoginFailed {
            client_id: &client.client_id,
            sub: known.as_deref(),
        });
        return Ok(Step::Login {
            page: page_context(form.interaction, &pending, &client),
            login_hint: Some(form.username.to_owned()),
            failed: true,
            retry_after: None,
        }
        .into());
    };
    if let Err(err) = attempt.succeeded(ctx).await {
        // Not worth refusing a correct password for: the attempt then counts as one failure.
        tracing::warn!(error = %err, "could not give back a successful login attempt");
    }
    let (cookie, session) = session::create(ctx, &user, &["pwd"])
        .await
        .map_err(BrowserError::server)?;
    telemetry::record(AuditEvent::LoginSucceeded {
        client_id: &client.client_id,
        sub: &user.id,
    });
    pending.logged_in = true;
    pending.save(ctx, form.interaction).await?;
    let progress = Progress {
        client: &client,
        request: pending.request.clone(),
        pending: Some((form.interaction, pending)),
        session: Some((&cookie, session)),
        browser,
        consent_given: false,
    };
    let mut outcome = decide(ctx, progress).await?;
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
        let context = page_context(form.interaction, &pending, &client);
        return Ok(login_step(context, &pending.request).into());
    };
    let request = pending.request.clone();
    if !form.allow {
        telemetry::record(AuditEvent::ConsentDenied {
            client_id: &client.client_id,
            sub: &session.user_id,
        });
        Pending::finish(ctx, form.interaction).await?;
        let error = OAuthError::new(
            ErrorCode::AccessDenied,
            "the person declined to authorize the application",
        );
        return Ok(redirect_error(ctx, &request, error).into());
    }
    consent::remember(ctx, &session.user_id, &client.client_id, &request.scopes).await?;
    telemetry::record(AuditEvent::ConsentGranted {
        client_id: &client.client_id,
        sub: &session.user_id,
        scope: &request.scopes.join(" "),
    });
    let progress = Progress {
        client: &client,
        request,
        pending: Some((form.interaction, pending)),
        session: Some((browser.session.unwrap_or_default(), session)),
        browser,
        consent_given: true,
    };
    decide(ctx, progress).await
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
        telemetry::record(AuditEvent::CsrfRejected {
            client_id: &pending.request.client_id,
        });
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

/// Where an authorization stands when the next step is chosen.
struct Progress<'a> {
    client: &'a Client,
    request: AuthorizationRequest,
    /// The interaction under way (its id and state), once a page was shown.
    pending: Option<(&'a str, Pending)>,
    /// The browser session: its cookie and its record.
    session: Option<(&'a str, Session)>,
    /// What the browser presented (its binding cookie, its address).
    browser: Browser<'a>,
    /// The person approved the consent page just now.
    consent_given: bool,
}

/// Chooses the next step: gathers the facts, asks the interaction policy, then shows the page
/// it requires, sends its `prompt=none` error to the client, or issues a code.
async fn decide(ctx: &Context, progress: Progress<'_>) -> Result<Outcome, BrowserError> {
    let situation = situation(ctx, &progress).await?;
    match policy::AUTHORIZATION.decide(&situation) {
        Decision::Proceed => issue_code(ctx, progress).await,
        Decision::Interact(required) => {
            tracing::debug!(reason = required.reason, client_id = %progress.client.client_id, "interaction required");
            show_page(ctx, progress, required.interaction).await
        }
        Decision::Refuse(required, error) => {
            tracing::debug!(reason = required.reason, client_id = %progress.client.client_id, "interaction required but prompt=none");
            Ok(redirect_error(ctx, &progress.request, error).into())
        }
    }
}

/// The facts the policy decides on. Remembered consent is that of the session's person, looked
/// up only when it can matter: a session exists, and neither `skip_consent`, consent given in
/// this interaction, nor `prompt=consent` (which asks again anyway) already decides the check —
/// so a first-party SSO login costs no consent read.
async fn situation(ctx: &Context, progress: &Progress<'_>) -> Result<Situation, BrowserError> {
    let (client, request) = (progress.client, &progress.request);
    let session = progress.session.as_ref().map(|(_, session)| session);
    let consent_decided = client.skip_consent || progress.consent_given || request.prompt.consent;
    let consent_remembered = match session {
        Some(session) if !consent_decided => {
            consent::covers(ctx, &session.user_id, &client.client_id, &request.scopes).await?
        }
        _ => false,
    };
    Ok(Situation {
        prompt: request.prompt,
        max_age: request.max_age,
        auth_time: session.map(|session| session.auth_time),
        logged_in_now: progress.pending.as_ref().is_some_and(|(_, p)| p.logged_in),
        consent_given_now: progress.consent_given,
        consent_remembered,
        skip_consent: client.skip_consent,
        now: ctx.clock().now_secs(),
    })
}

/// Shows the login or consent page, in the interaction under way or a new one.
async fn show_page(
    ctx: &Context,
    progress: Progress<'_>,
    required: Interaction,
) -> Result<Outcome, BrowserError> {
    let request = &progress.request;
    let (context, set_bind) = interaction(
        ctx,
        progress.client,
        request,
        progress.pending,
        progress.browser,
    )
    .await?;
    let step = match (required, &progress.session) {
        (Interaction::Consent, Some((_, session))) => consent_step(context, session, request),
        // Consent is given by a logged-in person: without a session, the login page first.
        _ => login_step(context, request),
    };
    Ok(Outcome {
        step,
        set_session: None,
        set_bind,
    })
}

/// Issues the code, records the client in the session and sends the browser back with it.
async fn issue_code(ctx: &Context, progress: Progress<'_>) -> Result<Outcome, BrowserError> {
    let (client, request) = (progress.client, &progress.request);
    let Some((cookie, mut session)) = progress.session else {
        return Err(BrowserError::page(EXPIRED));
    };
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
    let code = codes::issue(ctx, &grant)
        .await
        .map_err(BrowserError::server)?;
    session::add_client(ctx, cookie, &mut session, &client.client_id).await?;
    if let Some((id, _)) = progress.pending {
        Pending::finish(ctx, id).await?;
    }
    let mut params = vec![("code", code)];
    if let Some(state) = &request.state {
        params.push(("state", state.clone()));
    }
    params.push(("iss", ctx.settings().issuer().to_owned()));
    let response = AuthorizationResponse {
        redirect_uri: request.redirect_uri.clone(),
        mode: request.response_mode,
        params,
    };
    Ok(Step::Redirect(response).into())
}

/// The interaction to show a page for: the existing one, or a new one bound to this browser.
async fn interaction(
    ctx: &Context,
    client: &Client,
    request: &AuthorizationRequest,
    pending: Option<(&str, Pending)>,
    browser: Browser<'_>,
) -> Result<(PageContext, Option<String>), BrowserError> {
    if let Some((id, pending)) = pending {
        return Ok((page_context(id, &pending, client), None));
    }
    let (bind, set_bind) = match browser.bind {
        Some(bind) => (bind.to_owned(), None),
        None => {
            let fresh = random_token()
                .map_err(|err| BrowserError::server(OAuthError::server_error(err)))?;
            (fresh.clone(), Some(fresh))
        }
    };
    let address = client_address::tag(ctx, browser.address);
    let (id, pending) = Pending::start(ctx, request.clone(), &bind, &address)
        .await
        .map_err(BrowserError::server)?;
    Ok((page_context(&id, &pending, client), set_bind))
}

/// What every page of interaction `id` carries.
fn page_context(id: &str, pending: &Pending, client: &Client) -> PageContext {
    PageContext {
        interaction: id.to_owned(),
        csrf: pending.csrf.clone(),
        client_name: client.name.clone(),
    }
}

/// The login form, as first shown (nothing tried yet).
fn login_step(page: PageContext, request: &AuthorizationRequest) -> Step {
    Step::Login {
        page,
        login_hint: request.login_hint.clone(),
        failed: false,
        retry_after: None,
    }
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
    Step::Redirect(request.error(error).response(ctx.settings().issuer()))
}
