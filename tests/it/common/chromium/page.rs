//! One tab: navigate, evaluate JavaScript, wait for a condition or a selector, click, fill
//! inputs, read text; every wait with a deadline.

use std::sync::Arc;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::connection::Connection;
use super::{POLL, WAIT};

/// One tab of the browser.
pub struct Page {
    connection: Arc<Connection>,
    session: String,
    target_id: String,
}

/// `value` as a JavaScript string literal.
fn js(value: &str) -> String {
    serde_json::to_string(value).unwrap()
}

/// A JavaScript expression for the first element matching `selector` whose text contains
/// `text` (any, when `None`), or `null`.
fn element(selector: &str, text: Option<&str>) -> String {
    match text {
        None => format!("document.querySelector({})", js(selector)),
        Some(text) => format!(
            "([...document.querySelectorAll({})].find(e => (e.innerText || e.textContent).includes({})) ?? null)",
            js(selector),
            js(text)
        ),
    }
}

impl Page {
    pub(super) fn new(connection: Arc<Connection>, session: &str, target_id: &str) -> Self {
        Self {
            connection,
            session: session.to_owned(),
            target_id: target_id.to_owned(),
        }
    }

    pub(super) async fn call(&self, method: &str, params: Value) -> Value {
        self.connection
            .call(Some(&self.session), method, params)
            .await
            .unwrap_or_else(|err| panic!("{err}{}", self.connection.report()))
    }

    /// Evaluates `expression` (awaiting it if it is a promise, as if the user had just clicked,
    /// so popups are allowed) and returns its value as JSON; `Err` with the exception's text
    /// when it throws, or when the page is between documents.
    pub async fn try_eval(&self, expression: &str) -> Result<Value, String> {
        let answer = self
            .connection
            .call(
                Some(&self.session),
                "Runtime.evaluate",
                json!({
                    "expression": expression,
                    "returnByValue": true,
                    "awaitPromise": true,
                    "userGesture": true,
                }),
            )
            .await?;
        match answer.get("exceptionDetails") {
            Some(details) => Err(details["exception"]["description"]
                .as_str()
                .or(details["text"].as_str())
                .unwrap_or("exception")
                .to_owned()),
            None => Ok(answer["result"]["value"].clone()),
        }
    }

    /// Evaluates `expression` and returns its value; fails the test when it throws.
    pub async fn eval(&self, expression: &str) -> Value {
        match self.try_eval(expression).await {
            Ok(value) => value,
            Err(err) => panic!("`{expression}` failed: {err}{}", self.diagnostics().await),
        }
    }

    /// Navigates to `url` (without waiting for the new document: wait for what it shows).
    pub async fn goto(&self, url: &str) {
        let navigated = self.call("Page.navigate", json!({ "url": url })).await;
        if let Some(error) = navigated["errorText"].as_str().filter(|e| !e.is_empty()) {
            panic!("cannot open {url}: {error}{}", self.diagnostics().await);
        }
    }

    /// The URL of the document shown.
    pub async fn url(&self) -> String {
        self.eval("location.href")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits until `expression` is truthy, and returns its value. Evaluation errors (a page
    /// between two documents) count as "not yet".
    pub async fn wait_until(&self, what: &str, expression: &str) -> Value {
        let probe = format!(
            "(async () => {{ const v = await ({expression}); return v ? {{ v }} : null; }})()"
        );
        let deadline = Instant::now() + WAIT;
        let mut last_error = None;
        loop {
            match self.try_eval(&probe).await {
                Ok(Value::Object(found)) => return found.get("v").cloned().unwrap_or(Value::Null),
                Ok(_) => {}
                Err(err) => last_error = Some(err),
            }
            if Instant::now() >= deadline {
                panic!(
                    "waited {WAIT:?} for {what} (`{expression}`); last error: {last_error:?}{}",
                    self.diagnostics().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for an element matching `selector`.
    pub async fn wait_for(&self, selector: &str) {
        self.wait_until(selector, &format!("{} !== null", element(selector, None)))
            .await;
    }

    /// Waits for the element `element` (a JavaScript expression yielding an element or `null`)
    /// to be shown and enabled, then clicks it.
    pub async fn click_element(&self, what: &str, element: &str) {
        let click = format!(
            "(() => {{ const e = {element}; \
             if (!e || e.disabled || e.getClientRects().length === 0) return false; \
             e.scrollIntoView({{ block: 'center' }}); e.click(); return true; }})()"
        );
        self.wait_until(&format!("{what} to click"), &click).await;
    }

    /// Waits for the element matching `selector`, then clicks it.
    pub async fn click(&self, selector: &str) {
        self.click_element(selector, &element(selector, None)).await;
    }

    /// Waits for an element matching `selector` whose text contains `text`, then clicks it.
    pub async fn click_text(&self, selector: &str, text: &str) {
        self.click_element(
            &format!("{selector} \"{text}\""),
            &element(selector, Some(text)),
        )
        .await;
    }

    /// Waits for the input matching `selector`, then sets its value as typing would (through the
    /// native setter, then `input` and `change` events, so frameworks such as React see it).
    pub async fn fill(&self, selector: &str, value: &str) {
        let fill = format!(
            "(() => {{ const e = {}; if (!e) return false; e.focus(); \
             const proto = Object.getPrototypeOf(e); \
             Object.getOwnPropertyDescriptor(proto, 'value').set.call(e, {}); \
             e.dispatchEvent(new Event('input', {{ bubbles: true }})); \
             e.dispatchEvent(new Event('change', {{ bubbles: true }})); return true; }})()",
            element(selector, None),
            js(value)
        );
        self.wait_until(&format!("{selector} to fill"), &fill).await;
    }

    /// Waits for the element matching `selector` and returns its text.
    pub async fn text(&self, selector: &str) -> String {
        let text = format!(
            "(() => {{ const e = {}; return e && (e.innerText || e.textContent); }})()",
            element(selector, None)
        );
        let value = self
            .wait_until(&format!("the text of {selector}"), &text)
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Closes the tab.
    pub async fn close(self) {
        let _ = self
            .connection
            .call(
                None,
                "Target.closeTarget",
                json!({ "targetId": self.target_id }),
            )
            .await;
    }

    /// The page's URL and text, then the console and stderr tails: for failure messages.
    pub async fn diagnostics(&self) -> String {
        let state = self
            .try_eval("JSON.stringify([location.href, document.body ? document.body.innerText.slice(0, 3000) : ''])")
            .await;
        let state = match state {
            Ok(Value::String(state)) => {
                let (url, text): (String, String) =
                    serde_json::from_str(&state).unwrap_or_default();
                format!("\n--- page {url} ---\n{text}")
            }
            other => format!("\n--- page state unavailable: {other:?} ---"),
        };
        format!("{state}{}", self.connection.report())
    }
}
