//! End-to-end tests in headless Chromium through chromedriver: the real
//! pages, clicked and typed into as a person would, with a screenshot of
//! each page under `target/screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use thirtyfour::prelude::*;

use crate::helpers::*;

fn find(binary: &str, candidates: &[&str]) -> Option<PathBuf> {
    candidates.iter().map(PathBuf::from).find(|p| p.exists()).or_else(|| {
        let out = Command::new("which").arg(binary).output().ok()?;
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (!p.is_empty()).then(|| PathBuf::from(p))
    })
}

/// A chromedriver process for one test, killed when dropped.
pub struct Browser {
    pub driver: WebDriver,
    child: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Chromium, or returns `None` (skip) when it is not installed,
/// unless `REQUIRE_BROWSER=1`, which fails instead.
pub async fn browser() -> Option<Browser> {
    let chromium = find("chromium", &["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
    let chromedriver = find("chromedriver", &["/usr/bin/chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        if std::env::var("REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!("REQUIRE_BROWSER=1 but chromium and chromedriver are not installed");
        }
        eprintln!("skipping browser test: chromium/chromedriver not installed (set REQUIRE_BROWSER=1 to fail instead)");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let profile = tempfile::tempdir().unwrap();
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(chromium.to_str().unwrap()).unwrap();
    for arg in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ] {
        caps.add_arg(arg).unwrap();
    }
    caps.add_arg(&format!("--user-data-dir={}", profile.path().display())).unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let mut last_error = None;
    for _ in 0..50 {
        match WebDriver::new(&url, caps.clone()).await {
            Ok(driver) => return Some(Browser { driver, child, _profile: profile }),
            Err(e) => last_error = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start: {last_error:?}");
}

impl Browser {
    /// Checks the page and saves its screenshots, at 1280×800 (`name.png`)
    /// and on a 390×844 phone (`name-phone.png`): no serious or critical axe
    /// violation at either size, no sideways scrolling on the phone, and the
    /// page's HTML kept for the HTML checker.
    pub async fn shot(&self, name: &str) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let url = self.driver.current_url().await.map(|u| u.path().to_string()).unwrap_or_default();
        let html: String = self
            .driver
            .execute("return (document.doctype ? '<!DOCTYPE html>\\n' : '') + document.documentElement.outerHTML;", vec![])
            .await
            .unwrap()
            .convert()
            .unwrap();
        record_html(&format!("browser {url} ({name})"), &html);
        let mut problems = Vec::new();
        for (width, height, file) in [(1280, 800, format!("{name}.png")), (390, 844, format!("{name}-phone.png"))] {
            self.resize(width, height).await;
            problems.extend(self.axe().await.into_iter().map(|v| format!("{width}px: {v}")));
            if width == 390 {
                let (scroll, inner): (i64, i64) = self
                    .driver
                    .execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![])
                    .await
                    .unwrap()
                    .convert()
                    .unwrap();
                if scroll > inner {
                    // The outermost elements that stick out, to say what to fix.
                    let culprits: Vec<String> = self
                        .driver
                        .execute(
                            "const w = window.innerWidth, out = [];\
                             for (const e of document.querySelectorAll('body *')) {\
                               const r = e.getBoundingClientRect();\
                               if (r.right > w + 1 && !(e.parentElement && e.parentElement.getBoundingClientRect().right > w + 1)) {\
                                 out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') + ' ' + Math.round(r.right) + 'px');\
                               }\
                             }\
                             return out.slice(0, 6);",
                            vec![],
                        )
                        .await
                        .unwrap()
                        .convert()
                        .unwrap();
                    problems
                        .push(format!("{width}px: the page is {scroll}px wide (wider than the {inner}px screen): {}", culprits.join(", ")));
                }
            }
            self.driver.screenshot(&dir.join(file)).await.unwrap();
        }
        self.resize(1280, 900).await;
        if !problems.is_empty() {
            let text = format!("{name} ({url}):\n  {}", problems.join("\n  "));
            if std::env::var("AXE_REPORT_ONLY").is_ok_and(|v| v == "1") {
                eprintln!("AXE {text}");
            } else {
                panic!("accessibility or reflow problems on {text}");
            }
        }
    }

    /// Resizes the window and waits for the layout to follow.
    async fn resize(&self, width: u32, height: u32) {
        self.driver.set_window_rect(0, 0, width, height).await.unwrap();
        let _ = self
            .driver
            .execute("return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))));", vec![])
            .await;
    }

    /// The serious and critical axe-core violations (WCAG 2.1 A/AA and best
    /// practice) on the page, one line each with the elements concerned.
    /// axe-core is vendored in tests/vendor/axe (not served by the portal).
    pub async fn axe(&self) -> Vec<String> {
        const AXE: &str = include_str!("../vendor/axe/axe.min.js");
        let loaded: bool = self.driver.execute("return typeof window.axe === 'object';", vec![]).await.unwrap().convert().unwrap();
        if !loaded {
            self.driver.execute(AXE, vec![]).await.unwrap();
        }
        let violations: Vec<serde_json::Value> = self
            .driver
            .execute(
                "return axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})\
                 .then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')\
                 .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))})));",
                vec![],
            )
            .await
            .unwrap()
            .convert()
            .unwrap();
        violations
            .iter()
            .map(|v| {
                let nodes: Vec<String> =
                    v["nodes"].as_array().into_iter().flatten().take(5).map(|n| n.as_str().unwrap_or_default().to_string()).collect();
                format!(
                    "{} ({}): {} — {}",
                    v["id"].as_str().unwrap_or_default(),
                    v["impact"].as_str().unwrap_or_default(),
                    v["help"].as_str().unwrap_or_default(),
                    nodes.join(", ")
                )
            })
            .collect()
    }

    /// Types into a field; found again if a page load replaced it meanwhile.
    pub async fn fill(&self, css: &str, text: &str) {
        let mut last = None;
        for _ in 0..30 {
            let el = self.driver.query(By::Css(css)).first().await.unwrap();
            match el.clear().await {
                Ok(()) => match el.send_keys(text).await {
                    Ok(()) => return,
                    Err(e) => last = Some(e),
                },
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot type into {css}: {last:?}");
    }

    /// Clicks an element; found again if a page load replaced it meanwhile.
    pub async fn click(&self, css: &str) {
        let mut last = None;
        for _ in 0..30 {
            let el = self.driver.query(By::Css(css)).first().await.unwrap();
            match el.click().await {
                Ok(()) => return,
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot click {css}: {last:?}");
    }

    /// Clicks something that loads a new page, and waits until it has.
    pub async fn click_and_wait(&self, css: &str) {
        let mut last = None;
        for _ in 0..30 {
            // The page as it is right before the click that goes through.
            let old = self.driver.find(By::Tag("html")).await.unwrap();
            let el = self.driver.query(By::Css(css)).first().await.unwrap();
            match el.click().await {
                Ok(()) => {
                    old.wait_until().stale().await.unwrap();
                    return;
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot click {css}: {last:?}");
    }

    /// The element's text; retried while a page load or htmx swap replaces it.
    pub async fn text(&self, css: &str) -> String {
        let mut last = None;
        for _ in 0..150 {
            match self.driver.find(By::Css(css)).await {
                Ok(el) => match el.text().await {
                    Ok(t) => return t,
                    Err(e) => last = Some(e),
                },
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no text for {css}: {last:?}");
    }

    /// Waits (up to 10 s) until the element's text contains `needle`, for htmx swaps.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(el) = self.driver.find(By::Css(css)).await {
                if let Ok(t) = el.text().await {
                    if t.contains(needle) {
                        return t;
                    }
                    last = t;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{css} never showed {needle:?}; last: {last:?}");
    }

    pub async fn quit(self) {
        let driver = self.driver.clone();
        let _ = driver.quit().await;
    }
}

#[tokio::test]
async fn a_new_person_registers_confirms_from_the_mail_viewer_asks_to_join_and_sees_contosos_orders_once_approved() {
    for backend in backends() {
        let Some(b) = browser().await else { return };
        let app = spawn_app(backend).await;
        app.create_user(
            "carlos@contoso.example",
            "Carlos Ortega",
            PASSWORD,
            "Contoso Resellers",
            portal::domain::company::CompanyKind::Reseller,
        );
        let tag = format!("{backend:?}").to_lowercase();

        // Register, first with mistakes: the messages show beside the fields.
        b.driver.goto(app.url("/register")).await.unwrap();
        b.shot(&format!("{tag}-id-01-register")).await;
        b.fill("#name", "Pia Meyer").await;
        b.fill("#email", "pia@contoso").await;
        b.fill("#password", "password123").await;
        b.click_and_wait("button[type=submit]").await;
        assert_eq!(b.text("#email-error").await, "The part after the @ is not a valid domain.");
        assert!(b.text("#password-error").await.contains("too easy to guess"));
        assert_eq!(b.driver.query(By::Css("#name")).first().await.unwrap().value().await.unwrap().as_deref(), Some("Pia Meyer"));
        b.shot(&format!("{tag}-id-02-register-errors")).await;

        b.fill("#email", "pia@contoso.example").await;
        b.fill("#password", PASSWORD).await;
        b.click_and_wait("button[type=submit]").await;
        assert_eq!(b.text("main h1").await, "Check your mail", "{backend:?}");
        b.shot(&format!("{tag}-id-03-check-your-mail")).await;

        // The confirmation mail in the development mail viewer, its link followed.
        b.driver.goto(app.url("/dev/mail")).await.unwrap();
        let mut found = false;
        for _ in 0..50 {
            if !b.driver.find_all(By::Css("td a")).await.unwrap().is_empty() {
                found = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            b.driver.refresh().await.unwrap();
        }
        assert!(found, "the confirmation mail shows in the viewer");
        b.click_and_wait("td a").await;
        assert_eq!(b.text("main h1").await, "Confirm your email");
        b.shot(&format!("{tag}-id-04-mail")).await;
        b.click_and_wait(".mail-body a").await;
        b.click_and_wait("main button[type=submit]").await;
        assert_eq!(b.text("main h1").await, "Ask to join Contoso Resellers");
        b.shot(&format!("{tag}-id-05-ask-to-join")).await;
        b.click_and_wait("main button[type=submit]").await;
        assert_eq!(b.text("main h1").await, "Waiting for Contoso Resellers");
        b.shot(&format!("{tag}-id-06-waiting")).await;
        // Nothing of Contoso before approval.
        b.driver.goto(app.url("/orders")).await.unwrap();
        assert_eq!(b.driver.current_url().await.unwrap().path(), "/welcome");

        // Carlos approves on his company page (his own browser).
        let Some(c) = browser().await else { return };
        c.driver.goto(app.url("/sign-in")).await.unwrap();
        c.fill("#email", "carlos@contoso.example").await;
        c.fill("#password", PASSWORD).await;
        c.click_and_wait("button[type=submit]").await;
        c.driver.goto(app.url("/company")).await.unwrap();
        assert!(c.text("#membership-requests").await.contains("pia@contoso.example"));
        c.shot(&format!("{tag}-id-07-company-request")).await;
        c.click_and_wait("#membership-requests button.primary").await;
        assert!(c.text(".flash-success").await.contains("Approved"));
        c.shot(&format!("{tag}-id-08-company-approved")).await;
        c.quit().await;

        // Pia, in the same session, now sees Contoso's orders.
        b.driver.goto(app.url("/orders")).await.unwrap();
        assert_eq!(b.driver.current_url().await.unwrap().path(), "/orders", "{backend:?}");
        assert_eq!(b.text(".who-company .badge").await, "Reseller");
        b.shot(&format!("{tag}-id-09-orders")).await;

        // Sign out; sign in again; the wrong password first.
        b.click_and_wait(".who button[type=submit]").await;
        assert_eq!(b.text(".flash-info").await, "You are signed out.");
        b.fill("#email", "pia@contoso.example").await;
        b.fill("#password", "wrong password").await;
        b.click_and_wait("button[type=submit]").await;
        assert_eq!(b.text("#sign-in-error").await, "That email and password do not match an account.");
        b.fill("#password", PASSWORD).await;
        b.click_and_wait("button[type=submit]").await;
        assert_eq!(b.text("main h1").await, "Welcome, Pia Meyer");
        b.quit().await;
    }
}

#[tokio::test]
async fn an_operations_user_enrols_two_step_sign_in_and_signs_in_with_a_code_and_resets_a_password() {
    let Some(b) = browser().await else { return };
    let app = spawn_app_with(Backend::Sqlite, AppOptions { two_step_for_operations: true, ..Default::default() }).await;
    app.create_user("olga@ops.example", "Olga Petrova", PASSWORD, "Vendor Operations", portal::domain::company::CompanyKind::Operations);
    b.driver.goto(app.url("/sign-in")).await.unwrap();
    b.fill("#email", "olga@ops.example").await;
    b.fill("#password", PASSWORD).await;
    b.click_and_wait("button[type=submit]").await;
    assert_eq!(b.text("main h1").await, "Set up two-step sign-in");
    b.shot("two-step-01-enrol").await;
    let secret = b.text("#totp-secret").await;
    let code = portal::domain::identity::two_step::code_at(&secret, chrono::Utc::now().timestamp() as u64).unwrap();
    b.fill("#code", &code).await;
    b.click_and_wait("main button[type=submit]").await;
    assert_eq!(b.text("main h1").await, "Your recovery codes");
    b.shot("two-step-02-recovery-codes").await;
    b.click_and_wait("main a.button").await;
    assert_eq!(b.text(".who-company .badge").await, "Operations");

    // Sign out and in again: the code is asked for (the next step's code, as one step is accepted once).
    b.click_and_wait(".who button[type=submit]").await;
    b.fill("#email", "olga@ops.example").await;
    b.fill("#password", PASSWORD).await;
    b.click_and_wait("button[type=submit]").await;
    assert_eq!(b.text("main h1").await, "Two-step sign-in");
    b.shot("two-step-03-code").await;
    let next_code = portal::domain::identity::two_step::code_at(&secret, chrono::Utc::now().timestamp() as u64 + 30).unwrap();
    b.fill("#code", &next_code).await;
    b.click_and_wait("main button[type=submit]").await;
    assert_eq!(b.text(".who-company .badge").await, "Operations");
    b.driver.goto(app.url("/profile")).await.unwrap();
    assert!(b.text("#security-events").await.contains("Two-step sign-in turned on"));
    b.shot("two-step-04-profile").await;

    // Forgot password, from the sign-in page, through the mail.
    b.click_and_wait(".who button[type=submit]").await;
    b.click_and_wait("a[href='/password/forgot']").await;
    b.fill("#email", "olga@ops.example").await;
    b.click_and_wait("main button[type=submit]").await;
    assert!(b.text("#reset-sent").await.contains("olga@ops.example"));
    b.shot("password-01-sent").await;
    let link = app.mailed_link("olga@ops.example", "password_reset");
    b.driver.goto(app.url(&link)).await.unwrap();
    b.fill("#password", "a brand new pass phrase").await;
    b.click_and_wait("main button[type=submit]").await;
    assert!(b.text(".flash-success").await.contains("every session has ended"));
    b.shot("password-02-reset").await;
    b.quit().await;
}

#[tokio::test]
async fn the_pages_fit_a_phone_screen() {
    let Some(b) = browser().await else { return };
    let app = spawn_app(Backend::Sqlite).await;
    app.create_user("maya@metalworks.example", "Maya Stein", PASSWORD, "Metalworks Inc.", portal::domain::company::CompanyKind::Customer);
    b.driver.set_window_rect(0, 0, 390, 844).await.unwrap();
    b.driver.goto(app.url("/sign-in")).await.unwrap();
    b.fill("#email", "maya@metalworks.example").await;
    b.fill("#password", PASSWORD).await;
    b.click_and_wait("button[type=submit]").await;
    assert_eq!(b.text("main h1").await, "Welcome, Maya Stein");
    let overflow: bool =
        b.driver.execute("return document.documentElement.scrollWidth > window.innerWidth + 1;", vec![]).await.unwrap().convert().unwrap();
    assert!(!overflow, "no sideways scrolling on a phone");
    b.shot("phone-home").await;
    for (path, name) in [("/company", "phone-company"), ("/profile", "phone-profile")] {
        b.driver.goto(app.url(path)).await.unwrap();
        let overflow: bool = b
            .driver
            .execute("return document.documentElement.scrollWidth > window.innerWidth + 1;", vec![])
            .await
            .unwrap()
            .convert()
            .unwrap();
        assert!(!overflow, "no sideways scrolling on a phone: {path}");
        b.shot(name).await;
    }
    b.quit().await;
}

/// The accounts story: a reseller requests a customer account on the
/// customer's behalf; the customer's approver follows the emailed link from
/// the mail viewer, registers, activates, accepts the agreement, adds a
/// virtual account and grants the reseller VA User access.
#[tokio::test]
async fn a_reseller_requests_an_account_for_a_customer_who_activates_and_grants_the_reseller_access() {
    for backend in backends() {
        let Some(b) = browser().await else { return };
        let app = spawn_app(backend).await;
        app.create_user(
            "carlos@contoso.example",
            "Carlos Ortega",
            PASSWORD,
            "Contoso Resellers",
            portal::domain::company::CompanyKind::Reseller,
        );
        let tag = format!("accounts-{backend:?}").to_lowercase();

        b.driver.goto(app.url("/sign-in")).await.unwrap();
        b.fill("#email", "carlos@contoso.example").await;
        b.fill("#password", PASSWORD).await;
        b.click_and_wait("button[type=submit]").await;
        b.click_and_wait(".main-nav a[href='/accounts']").await;
        b.shot(&format!("{tag}-01-accounts")).await;
        b.click_and_wait("a[href='/accounts/new']").await;

        // Step 1: a customer account, authorized by Acme's Adam.
        b.click("input[name=kind][value=customer]").await;
        b.click("input[name=authority][value=no]").await;
        b.fill("#approver_email", "adam@acme.example").await;
        b.shot(&format!("{tag}-02-request-authority")).await;
        b.click_and_wait("button[value=next]").await;
        // Step 2: the domain identifier is defaulted from Adam's email.
        let domain = b.driver.query(By::Css("#domain")).first().await.unwrap().value().await.unwrap();
        assert_eq!(domain.as_deref(), Some("acme.example"), "{backend:?}");
        b.fill("#name", "Acme Corp").await;
        b.shot(&format!("{tag}-03-request-account")).await;
        b.click_and_wait("button[value=next]").await;
        // Step 3: company information.
        b.fill("#company_name", "Acme Corp").await;
        b.driver.query(By::Css("#country option[value=US]")).first().await.unwrap().click().await.unwrap();
        b.fill("#address", "1 Industrial Way").await;
        b.fill("#state_province", "OH").await;
        b.fill("#postal_code", "44101").await;
        b.click_and_wait("button[value=next]").await;
        // Step 4: administrators; then the review.
        b.click_and_wait("button[value=next]").await;
        assert!(b.text("dl.facts").await.contains("adam@acme.example"));
        b.shot(&format!("{tag}-04-request-review")).await;
        b.click_and_wait("button[value=submit]").await;
        assert!(b.text(".flash-success").await.contains("pending"));
        assert_eq!(b.text(".account-head .badge").await, "Pending");
        b.shot(&format!("{tag}-05-pending-account")).await;
        b.click_and_wait(".who button[type=submit]").await;

        // Adam follows the link from the mail viewer, and registers on the way.
        let mut opened = false;
        for _ in 0..50 {
            b.driver.goto(app.url("/dev/mail")).await.unwrap();
            let links = b.driver.find_all(By::XPath("//a[starts-with(., 'Complete Smart Account Setup')]")).await.unwrap();
            if let Some(link) = links.first() {
                link.click().await.unwrap();
                opened = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(opened, "the set-up mail is in the viewer");
        b.shot(&format!("{tag}-06-setup-mail")).await;
        b.click_and_wait(".mail-body a").await;
        assert_eq!(b.text("main h1").await, "Sign in");
        b.click_and_wait("a[href^='/register']").await;
        b.fill("#name", "Adam Brooks").await;
        b.fill("#email", "adam@acme.example").await;
        b.fill("#password", PASSWORD).await;
        b.fill("#company_name", "Acme Corp").await;
        b.click_and_wait("main button[type=submit]").await;
        assert_eq!(b.text("main h1").await, "Check your mail");
        // He confirms his address from the mail viewer and is taken on to the set-up.
        let mut confirmed = false;
        for _ in 0..50 {
            b.driver.goto(app.url("/dev/mail")).await.unwrap();
            let links = b.driver.find_all(By::XPath("//a[starts-with(., 'Confirm your email')]")).await.unwrap();
            if let Some(link) = links.first() {
                link.click().await.unwrap();
                confirmed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(confirmed, "the confirmation mail is in the viewer");
        b.click_and_wait(".mail-body a").await;
        b.click_and_wait("main button[type=submit]").await;
        assert_eq!(b.text("main h1").await, "Complete Smart Account Setup");
        b.shot(&format!("{tag}-07-setup")).await;
        b.click_and_wait("main button[type=submit]").await;
        b.click_and_wait("main button[type=submit]").await;
        assert!(b.text(".flash-success").await.contains("SA Administrator"));
        assert_eq!(b.text(".account-head .badge").await, "Active");
        b.shot(&format!("{tag}-08-active")).await;

        // The agreement.
        b.click_and_wait(".tabs a[href$='/agreement']").await;
        b.click_and_wait("main form button[type=submit]").await;
        assert!(b.text("dl.facts").await.contains("Adam Brooks"));
        b.shot(&format!("{tag}-09-agreement")).await;

        // A virtual account.
        b.click_and_wait(".tabs a[href$='/virtual-accounts']").await;
        b.fill("#va-name", "Plant A").await;
        b.fill("#va-description", "Cleveland plant").await;
        b.click_and_wait("#va-form button[type=submit]").await;
        assert!(b.text("tbody").await.contains("Plant A"));
        b.shot(&format!("{tag}-10-virtual-accounts")).await;

        // Partner access for Contoso's Carlos, VA User of Plant A.
        b.click_and_wait(".tabs a[href$='/users']").await;
        b.fill("#partner-email", "carlos@contoso.example").await;
        b.driver.query(By::Css("#partner-role option[value=va_user]")).first().await.unwrap().click().await.unwrap();
        let plant =
            b.driver.query(By::XPath("//section[@id='partner-access']//label[contains(., 'Plant A')]/input")).first().await.unwrap();
        plant.click().await.unwrap();
        // Without the acknowledgment, the form says what is missing and keeps the input.
        b.click_and_wait("#partner-access button[type=submit]").await;
        assert!(b.text("#acknowledged-error").await.contains("partner access means"));
        assert_eq!(
            b.driver.query(By::Css("#partner-email")).first().await.unwrap().value().await.unwrap().as_deref(),
            Some("carlos@contoso.example")
        );
        b.shot(&format!("{tag}-11-partner-needs-acknowledgment")).await;
        b.click("#partner-access input[name=acknowledged]").await;
        b.click_and_wait("#partner-access button[type=submit]").await;
        assert!(b.text(".flash-success").await.contains("Partner access granted"));
        let table = b.text("tbody").await;
        assert!(table.contains("Carlos Ortega") && table.contains("partner") && table.contains("VA User"), "{table}");
        b.shot(&format!("{tag}-12-users")).await;
        b.quit().await;
    }
}

async fn sign_in_as(b: &Browser, app: &TestApp, email: &str) {
    b.driver.goto(app.url("/sign-in")).await.unwrap();
    b.fill("#email", email).await;
    b.fill("#password", PASSWORD).await;
    b.click_and_wait("button[type=submit]").await;
    b.shot(&format!("home-{}", email.split('@').next().unwrap_or_default())).await;
}

async fn sign_out(b: &Browser) {
    b.click_and_wait(".who button[type=submit]").await;
}

/// A reseller takes an order from quote to shipped: pre-assignment through the
/// live search, items with their markers, a refused submit naming the line,
/// "Assign Now", submit; operations book and ship; the licenses arrive.
#[tokio::test]
async fn a_reseller_takes_an_order_from_quote_to_shipped_in_the_browser() {
    for backend in backends() {
        let Some(b) = browser().await else { return };
        let app = spawn_app(backend).await;
        let w = crate::fixtures::metalworks(&app);
        portal::domain::catalogue::seed(&mut app.conn()).unwrap();
        let tag = format!("orders-{backend:?}").to_lowercase();

        sign_in_as(&b, &app, "carlos@contoso.example").await;
        b.click_and_wait(".main-nav a[href='/orders']").await;
        b.click_and_wait("a[href='/orders/new?quote=yes']").await;
        b.fill("#name", "Processing plant refresh").await;
        b.fill("#end_customer_name", "Metalworks Inc.").await;
        b.fill("#end_customer_domain", "metalworks.example").await;
        b.shot(&format!("{tag}-01-new-quote")).await;
        b.click_and_wait("main button[type=submit]").await;
        assert!(b.text("h1").await.contains("Quote"), "{backend:?}");

        // Pre-assign the customer account through the live search (htmx fills the results as one types).
        b.click_and_wait("#default-account a").await;
        b.fill("#q", "nothing-like-this").await;
        b.wait_text("#account-results", "matches").await;
        b.fill("#q", "metalw").await;
        b.wait_text("#account-results", "Metalworks Inc.").await;
        b.shot(&format!("{tag}-02-search")).await;
        b.driver
            .query(By::Css(&format!("#va-{} option[value='{}']", w.metalworks, w.processing)))
            .first()
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        b.click_and_wait("#account-results button[type=submit]").await;
        assert!(b.text("#default-account").await.contains("Metalworks Inc. (metalworks.example) / Processing"));

        // Items: the smart license gets the pre-assigned account; the PAK too; hardware none.
        for (sku, qty) in [("SL-DNA-ADV-3Y", "10"), ("HW-SW-48P", "2")] {
            let option =
                b.driver.query(By::XPath(&format!("//select[@id='product_id']/option[starts-with(., '{sku}')]"))).first().await.unwrap();
            option.click().await.unwrap();
            b.fill("#quantity", qty).await;
            b.click_and_wait("form.add-item button[type=submit]").await;
        }
        assert!(b.text("tbody").await.contains("Metalworks Inc. (metalworks.example) / Processing"));
        b.click_and_wait("form[action$='/convert'] button").await;
        assert!(b.text("h1").await.contains("Draft"));
        b.shot(&format!("{tag}-03-order")).await;

        // A smart license added without an account after removing the pre-assignment from its line.
        let option =
            b.driver.query(By::XPath("//select[@id='product_id']/option[starts-with(., 'SUB-CLOUD-MGMT')]")).first().await.unwrap();
        option.click().await.unwrap();
        b.click_and_wait("form.add-item button[type=submit]").await;
        let row = b.driver.query(By::XPath("//tbody/tr[contains(., 'SUB-CLOUD-MGMT')]")).first().await.unwrap();
        // The line's further actions are in its "More" menu.
        row.find(By::Css("details.row-menu summary")).await.unwrap().click().await.unwrap();
        row.find(By::XPath(".//form[contains(@action, '/assignment/remove')]//button")).await.unwrap().click().await.unwrap();
        b.wait_text("tbody", "Smart Account Required").await;
        b.click_and_wait("#ready button[type=submit]").await;
        assert!(b.text("#order-error").await.contains("requires a smart account"));
        assert!(b.text(".blockers").await.contains("SUB-CLOUD-MGMT"));
        b.shot(&format!("{tag}-04-submit-refused")).await;

        // Assign Now on that line, then submit.
        let row = b.driver.query(By::XPath("//tbody/tr[contains(., 'SUB-CLOUD-MGMT')]")).first().await.unwrap();
        let old = b.driver.find(By::Tag("html")).await.unwrap();
        row.find(By::PartialLinkText("Assign Now")).await.unwrap().click().await.unwrap();
        old.wait_until().stale().await.unwrap();
        b.driver.query(By::Css("#q")).first().await.unwrap();
        b.fill("#q", "metalworks.example").await;
        b.wait_text("#account-results", "Metalworks Inc.").await;
        b.click_and_wait("#account-results button[type=submit]").await;
        assert_eq!(b.driver.find_all(By::Css("tbody .marker-required")).await.unwrap().len(), 0);
        assert!(b.text("#ready").await.contains("Nothing blocks submission"));
        b.click_and_wait("#ready button[type=submit]").await;
        assert!(b.text("h1").await.contains("Submitted"));
        assert!(b.text("h1").await.contains("Assigned"));
        b.shot(&format!("{tag}-05-submitted")).await;
        b.click_and_wait("a[href$='/history']").await;
        let history = b.text("tbody").await;
        assert!(history.contains("Pre-assignment") && history.contains("Line"));
        b.shot(&format!("{tag}-06-history")).await;
        sign_out(&b).await;

        // Operations book and ship.
        sign_in_as(&b, &app, "olga@ops.example").await;
        b.driver.goto(app.url("/operations/orders")).await.unwrap();
        b.shot(&format!("{tag}-ops-queue")).await;
        b.click_and_wait("tbody button[type=submit]").await;
        b.click_and_wait("tbody button[type=submit]").await;
        assert!(b.text(".flash-success").await.contains("shipped"));
        sign_out(&b).await;

        // The licenses are in Metalworks' Processing VA (the provisioning delay is 0 in tests).
        sign_in_as(&b, &app, "carlos@contoso.example").await;
        b.driver.goto(app.url("/orders")).await.unwrap();
        b.click_and_wait("tbody a").await;
        let mut delivered = false;
        for _ in 0..50 {
            if b.text("tbody").await.contains("licenses deposited") {
                delivered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            b.driver.refresh().await.unwrap();
        }
        assert!(delivered, "licenses deposited");
        assert!(b.text(".timeline").await.contains("Licenses available"));
        b.shot(&format!("{tag}-07-shipped")).await;
        b.quit().await;
    }
}

/// The two-tier story: a distributor parks an order in its holding account,
/// moves it to a reseller's holding account from Smart Account Orders; the
/// reseller assigns the end customer's account; the distributor sees it
/// masked; after shipment the customer follows the delivery mail to its
/// licenses. Every message is in the mail viewer.
#[tokio::test]
async fn a_distributor_hands_an_order_to_a_reseller_who_assigns_the_customer_in_the_browser() {
    let Some(b) = browser().await else { return };
    let app = spawn_app(Backend::Sqlite).await;
    let shop = crate::orders::shop(&app);
    let w = &shop.world;
    sign_in_as(&b, &app, "nora@northwind.example").await;
    b.driver.goto(app.url("/orders/new")).await.unwrap();
    b.fill("#name", "Reseller to be named").await;
    b.fill("#end_customer_name", "To be confirmed").await;
    b.click_and_wait("main button[type=submit]").await;
    b.click_and_wait("#holding a").await;
    b.wait_text("#account-results", "Northwind Holding").await;
    b.shot("two-tier-01-holding-search").await;
    let old = b.driver.find(By::Tag("html")).await.unwrap();
    b.driver
        .find(By::XPath("//ul[contains(@class,'account-results')]/li[contains(., 'Northwind Holding')]//button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    old.wait_until().stale().await.unwrap();
    assert!(b.text("#holding").await.contains("Northwind Holding"));
    let option = b.driver.query(By::XPath("//select[@id='product_id']/option[starts-with(., 'SL-DNA-ADV-3Y')]")).first().await.unwrap();
    option.click().await.unwrap();
    b.fill("#quantity", "25").await;
    b.click_and_wait("form.add-item button[type=submit]").await;
    assert!(b.text("tbody").await.contains("In the holding account"));
    b.click_and_wait("#ready button[type=submit]").await;
    let heading = b.text("h1").await;
    assert!(heading.contains("Submitted") && heading.contains("Not Assigned"), "{heading}");
    assert!(b.text("#change-assignments").await.contains("View or change Smart Account Assignments"));
    b.shot("two-tier-02-submitted-not-assigned").await;

    // Smart Account Orders: the count in the navigation, Not Assigned, the web order id leads to the assignment.
    b.click_and_wait(".main-nav a[href='/smart-account-orders']").await;
    assert_eq!(b.text("#not-assigned-count").await.replace('\n', " "), "1 Not Assigned");
    assert!(b.text("table.sa-orders tbody").await.contains("Not Assigned"));
    // Select all: the count says how many, and "Reassign selected" waits for one.
    assert_eq!(b.text("#selected-count").await, "0 selected");
    assert!(!b.driver.find(By::Css("#reassign-selected")).await.unwrap().is_enabled().await.unwrap());
    b.click("#select-all").await;
    assert_eq!(b.text("#selected-count").await, "1 selected");
    assert!(b.driver.find(By::Css("#reassign-selected")).await.unwrap().is_enabled().await.unwrap());
    b.shot("two-tier-03-smart-account-orders").await;
    b.click_and_wait("table.sa-orders tbody td:nth-child(2) a").await;
    b.click_and_wait("nav.tabs a[href$='target=holding']").await;
    b.fill("#q", "contoso").await;
    b.wait_text("#account-results", "Contoso Holding").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    b.wait_text("#account-results", "Contoso Holding").await;
    b.shot("two-tier-04-move-to-reseller").await;
    b.click_and_wait("#account-results button[type=submit]").await;
    assert!(b.text("#holding").await.contains("Contoso Holding"));
    assert!(b.text("#handoff").await.contains("Contoso Resellers"));
    // Handed off: out of the distributor's Not Assigned count and bulk selection.
    b.click_and_wait(".main-nav a[href='/smart-account-orders']").await;
    assert!(b.driver.find_all(By::Css("#not-assigned-count")).await.unwrap().is_empty());
    assert!(b.driver.find_all(By::Css("table.sa-orders tbody input[type=checkbox]")).await.unwrap().is_empty());
    // "Days in holding" sorts on its own, with one arrow.
    b.click_and_wait("table.sa-orders th.num a").await;
    let sorted =
        b.driver.find_all(By::Css("table.sa-orders th[aria-sort='ascending'], table.sa-orders th[aria-sort='descending']")).await.unwrap();
    assert_eq!(sorted.len(), 1);
    assert_eq!(sorted[0].text().await.unwrap(), "Days in holding");
    b.shot("two-tier-04b-distributor-after-handoff").await;
    sign_out(&b).await;

    // The reseller finds it in its own list and assigns the end customer's account.
    sign_in_as(&b, &app, "carlos@contoso.example").await;
    b.click_and_wait(".main-nav a[href='/smart-account-orders']").await;
    assert!(b.text("table.sa-orders tbody").await.contains("Reseller to be named"));
    b.click_and_wait("table.sa-orders tbody td:nth-child(2) a").await;
    b.fill("#q", "metalworks").await;
    b.wait_text("#account-results", "Metalworks Inc.").await;
    // Let the searches for the shorter prefixes typed on the way settle before choosing.
    tokio::time::sleep(Duration::from_millis(700)).await;
    b.wait_text("#account-results", "Metalworks Inc.").await;
    let assigning = b.text("#assigning").await;
    assert!(
        assigning.contains("To be confirmed") && assigning.contains("Contoso Holding") && assigning.contains("SL-DNA-ADV-3Y"),
        "{assigning}"
    );
    assert!(b.driver.find(By::Css(&format!("label[for='va-{}']", w.metalworks))).await.unwrap().is_displayed().await.unwrap());
    b.shot("two-tier-05a-reseller-assigns").await;
    b.driver
        .query(By::Css(&format!("#va-{} option[value='{}']", w.metalworks, w.processing)))
        .first()
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.click_and_wait("#account-results button[type=submit]").await;
    assert!(b.text("tbody").await.contains("Metalworks Inc. (metalworks.example) / Processing"));
    assert!(b.text("h1").await.contains("Assigned"));
    b.shot("two-tier-05-reseller-assigned").await;
    sign_out(&b).await;

    // The distributor sees that it is assigned, not to whom.
    sign_in_as(&b, &app, "nora@northwind.example").await;
    b.click_and_wait(".main-nav a[href='/smart-account-orders']").await;
    assert!(b.text("table.sa-orders tbody").await.contains("Assigned by reseller"));
    b.click_and_wait("table.sa-orders tbody td:nth-child(2) a").await;
    let items = b.text("tbody").await;
    assert!(items.contains("Assigned by reseller") && !items.contains("Metalworks"), "{items}");
    b.shot("two-tier-06-distributor-masked").await;
    sign_out(&b).await;

    // Operations book and ship; the customer follows the delivery mail to its licenses.
    sign_in_as(&b, &app, "olga@ops.example").await;
    b.driver.goto(app.url("/operations/orders")).await.unwrap();
    b.shot("two-tier-ops-queue").await;
    b.click_and_wait("tbody button[type=submit]").await;
    b.click_and_wait("tbody button[type=submit]").await;
    assert!(b.text(".flash-success").await.contains("shipped"));
    sign_out(&b).await;
    sign_in_as(&b, &app, "maya@metalworks.example").await;
    let mut found = false;
    for _ in 0..60 {
        b.driver.goto(app.url("/dev/mail")).await.unwrap();
        if b.text("main").await.contains("Your licenses from") {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(found, "the delivery mail is in the viewer");
    let viewer = b.text("tbody").await;
    assert!(viewer.contains("Customer smart account assignment required"), "{viewer}");
    b.shot("two-tier-07-mail-viewer").await;
    let link = b
        .driver
        .find(By::XPath("//tbody/tr[contains(., 'maya@metalworks.example') and contains(., 'Your licenses from')]//a"))
        .await
        .unwrap();
    link.click().await.unwrap();
    b.wait_text("main", "View your smart licenses").await;
    b.shot("two-tier-08-delivery-mail").await;
    b.click_and_wait(".mail-body a[href*='/licenses']").await;
    let licenses = b.text("main").await;
    assert!(licenses.contains("DNA Advantage") && licenses.contains("Processing"), "{licenses}");
    b.shot("two-tier-09-customer-licenses").await;
    b.quit().await;
}

/// From an order's search, a reseller requests the customer's new account,
/// which comes back assigned, pending, and the order submits.
#[tokio::test]
async fn a_new_account_requested_from_an_orders_search_comes_back_assigned_in_the_browser() {
    let Some(b) = browser().await else { return };
    let app = spawn_app(Backend::Sqlite).await;
    app.create_user(
        "carlos@contoso.example",
        "Carlos Ortega",
        PASSWORD,
        "Contoso Resellers",
        portal::domain::company::CompanyKind::Reseller,
    );
    portal::domain::catalogue::seed(&mut app.conn()).unwrap();
    sign_in_as(&b, &app, "carlos@contoso.example").await;
    b.driver.goto(app.url("/orders/new")).await.unwrap();
    b.fill("#name", "Acme first order").await;
    b.fill("#end_customer_name", "Acme Corp").await;
    b.fill("#end_customer_domain", "acme.example").await;
    b.click_and_wait("main button[type=submit]").await;
    let option = b.driver.query(By::XPath("//select[@id='product_id']/option[starts-with(., 'SL-DNA-ADV-3Y')]")).first().await.unwrap();
    option.click().await.unwrap();
    b.click_and_wait("form.add-item button[type=submit]").await;
    b.click_and_wait("#default-account a").await;
    b.fill("#q", "acme").await;
    b.wait_text("#account-results", "No customer account").await;
    b.click_and_wait("a[href^='/accounts/new?order=']").await;
    b.shot("order-request-account-start").await;
    let notice = b.text("main .notice").await;
    assert!(notice.contains("assigned to it as soon as you submit"));
    assert!(notice.starts_with("For order WO-0000"), "named by its web order id: {notice}");
    b.fill("#approver_email", "adam@acme.example").await;
    b.click_and_wait("button[value=next]").await;
    b.fill("#name", "Acme Corp").await;
    b.click_and_wait("button[value=next]").await;
    b.click_and_wait("button[value=next]").await;
    b.click_and_wait("button[value=next]").await;
    b.shot("order-request-account-review").await;
    b.click_and_wait("button[value=submit]").await;
    assert!(b.text(".flash-success").await.contains("requested and assigned"));
    assert!(b.text("#default-account").await.contains("Acme Corp (acme.example)"));
    assert!(b.text("tbody").await.contains("pending"));
    b.click_and_wait("#ready button[type=submit]").await;
    assert!(b.text("h1").await.contains("Submitted"));
    b.shot("order-request-account-submitted").await;
    b.quit().await;
}

/// Every kind of page of the demo story, as each of its people: axe finds no
/// serious or critical violation and nothing is wider than a phone (checked
/// by `shot` at both sizes). The pages are found by following links over
/// HTTP; one page of each kind (ids and queries aside) is opened.
#[tokio::test]
async fn every_kind_of_page_is_accessible_and_fits_a_phone() {
    let Some(b) = browser().await else { return };
    let app = spawn_app(Backend::Sqlite).await;
    let logins = portal::demo::seed(&mut app.conn(), &app.settings.base_url).expect("demo data");
    let dir = tempfile::tempdir().unwrap();
    for login in &logins {
        let client = client();
        let signed = TestApp { client: client.clone(), ..app.clone_handle() };
        assert_eq!(signed.sign_in(&login.email, &login.password).await.status().as_u16(), 303);
        let mut crawl = crate::html_check::Crawl::new(&app, client, dir.path());
        crawl.run("/", 150).await;
        let mut kinds = std::collections::BTreeSet::new();
        let pages: Vec<String> = crawl
            .pages
            .iter()
            .filter(|p| {
                let kind: String = p
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .split('/')
                    .map(|s| {
                        let id = !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
                            || s.len() >= 16 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
                        if id {
                            "{id}"
                        } else {
                            s
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                kinds.insert(kind)
            })
            .cloned()
            .collect();
        b.driver.goto(app.url("/sign-in")).await.unwrap();
        b.fill("#email", &login.email).await;
        b.fill("#password", &login.password).await;
        b.click_and_wait("button[type=submit]").await;
        let who = login.email.split('@').next().unwrap_or_default().to_string();
        for page in &pages {
            b.driver.goto(app.url(page)).await.unwrap();
            let name: String = page.trim_matches('/').split('?').next().unwrap_or_default().replace('/', "-");
            b.shot(&format!("every-{who}-{}", if name.is_empty() { "home" } else { &name })).await;
        }
        println!("{}: {} kinds of page checked", login.email, pages.len());
        b.driver.delete_all_cookies().await.unwrap();
    }
    b.quit().await;
}

#[tokio::test]
async fn a_configurable_kit_numbers_its_minor_lines_under_it_in_the_browser() {
    let Some(b) = browser().await else { return };
    let app = spawn_app(Backend::Sqlite).await;
    let _shop = crate::orders::shop(&app);
    sign_in_as(&b, &app, "carlos@contoso.example").await;
    b.driver.goto(app.url("/orders/new")).await.unwrap();
    b.fill("#name", "Branch rollout").await;
    b.fill("#end_customer_name", "Metalworks Inc.").await;
    b.click_and_wait("main button[type=submit]").await;
    let option = b.driver.query(By::XPath("//select[@id='product_id']/option[starts-with(., 'CFG-BRANCH-KIT')]")).first().await.unwrap();
    option.click().await.unwrap();
    b.fill("#quantity", "1").await;
    b.click_and_wait("form.add-item button[type=submit]").await;
    let mut numbers = Vec::new();
    for cell in b.driver.find_all(By::Css("table.items tbody td:nth-child(2)")).await.unwrap() {
        numbers.push(cell.text().await.unwrap());
    }
    assert_eq!(numbers, ["1.0", "1.1", "1.2", "1.3"]);
    assert!(b.text("table.items tbody tr:first-child").await.contains("Smart Account Required (in a minor line)"));
    assert!(b.text(".blockers").await.contains("Line 1.2 in kit 1.0 (SL-DNA-ADV-3Y)"));
    b.shot("kit-01-numbered").await;
}

/// The element's top edge in the page, to compare where things sit.
async fn top_of(b: &Browser, css: &str) -> i64 {
    let script = format!("return Math.round(document.querySelector({css:?}).getBoundingClientRect().top);");
    b.driver.execute(&script, vec![]).await.unwrap().convert().unwrap()
}

/// Smart Account Orders in bulk: the buttons beside the selection, a filter
/// read out by a status line that stays in place, the move, and a summary
/// that names where the orders went with the navigation's count after it.
#[tokio::test]
async fn a_reseller_selects_orders_in_bulk_moves_them_and_reads_where_they_went_in_the_browser() {
    let Some(b) = browser().await else { return };
    let app = spawn_app(Backend::Sqlite).await;
    let shop = crate::orders::shop(&app);
    let w = &shop.world;
    crate::sa_orders::parked(&app, "carlos@contoso.example", w.contoso_holding, &["Acme Corp", "Bulkco", "Zeta Ltd"], 3);
    sign_in_as(&b, &app, "carlos@contoso.example").await;
    b.click_and_wait(".main-nav a[href='/smart-account-orders']").await;
    assert_eq!(b.text("#sa-status").await, "3 orders match.");
    assert_eq!(b.text("#selected-count").await, "0 selected");
    assert!(!b.driver.find(By::Css("#reassign-selected")).await.unwrap().is_enabled().await.unwrap(), "nothing selected yet");
    // The bulk buttons sit on the select-all line, above the table.
    let (select_all, button, table) =
        (top_of(&b, "label.select-all").await, top_of(&b, "#reassign-selected").await, top_of(&b, "table.sa-orders").await);
    assert!((select_all - button).abs() < 20 && button < table, "select-all {select_all}, button {button}, table {table}");

    // A filter: the results change under the status line, which stays the same element and says what changed.
    b.driver.execute("document.getElementById('sa-status').dataset.kept = 'yes';", vec![]).await.unwrap();
    b.fill("#q", "bulkco").await;
    b.wait_text("#sa-status", "1 order matches the filter.").await;
    let kept: Option<String> =
        b.driver.execute("return document.getElementById('sa-status').dataset.kept || null;", vec![]).await.unwrap().convert().unwrap();
    assert_eq!(kept.as_deref(), Some("yes"), "the live region was not replaced");
    assert_eq!(b.driver.find_all(By::Css("table.sa-orders tbody tr")).await.unwrap().len(), 1);
    b.shot("bulk-01-filtered").await;
    b.fill("#q", "").await;
    b.driver.find(By::Css("#q")).await.unwrap().send_keys(Key::Enter).await.unwrap();
    b.wait_text("#sa-status", "3 orders match.").await;

    // The holding-account filter: suggestions follow what is typed, Enter filters on it.
    b.fill("#holding", "contoso h").await;
    let mut suggested = Vec::new();
    for _ in 0..50 {
        suggested = b
            .driver
            .execute("return [...document.querySelectorAll('#holding-choices option')].map(o => o.value);", vec![])
            .await
            .unwrap()
            .convert::<Vec<String>>()
            .unwrap();
        if suggested == ["Contoso Holding"] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(suggested, ["Contoso Holding"], "suggestions for what was typed");
    b.driver.find(By::Css("#holding")).await.unwrap().send_keys(Key::Enter).await.unwrap();
    b.wait_text("#sa-status", "3 orders match the filter.").await;
    b.fill("#holding", "").await;
    b.driver.find(By::Css("#holding")).await.unwrap().send_keys(Key::Enter).await.unwrap();
    b.wait_text("#sa-status", "3 orders match.").await;

    // Select all, then leave one out: the count follows, and the buttons wake up.
    b.click("#select-all").await;
    assert_eq!(b.text("#selected-count").await, "3 selected");
    b.click("table.sa-orders tbody tr:last-child input[name=orders]").await;
    assert_eq!(b.text("#selected-count").await, "2 selected");
    assert!(b.driver.find(By::Css("#reassign-selected")).await.unwrap().is_enabled().await.unwrap());
    b.shot("bulk-02-selected").await;
    b.click_and_wait("#reassign-selected").await;
    assert!(b.text("main .lead").await.contains("2 selected orders"));
    b.fill("#q", "metal").await;
    b.wait_text("#account-results", "Metalworks Inc.").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    b.wait_text("#account-results", "Metalworks Inc.").await;
    b.driver
        .query(By::Css(&format!("#bulk-va-{} option[value='{}']", w.metalworks, w.processing)))
        .first()
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.click_and_wait("#account-results button[type=submit]").await;
    assert_eq!(b.text("#summary-heading").await, "2 moved, 0 refused");
    assert!(b.text("#bulk-destination").await.contains("Metalworks Inc. (metalworks.example) / Processing"));
    assert_eq!(b.text("#not-assigned-count").await.replace('\n', " "), "1 Not Assigned", "counted after the move");
    b.shot("bulk-03-summary").await;
    b.quit().await;
}

/// A kit collapsed on the order page keeps its marker and stays collapsed
/// after an item is added and the page reloads.
#[tokio::test]
async fn a_collapsed_kit_stays_collapsed_with_its_marker_after_an_action_in_the_browser() {
    let Some(b) = browser().await else { return };
    let app = spawn_app(Backend::Sqlite).await;
    let _shop = crate::orders::shop(&app);
    sign_in_as(&b, &app, "carlos@contoso.example").await;
    b.driver.goto(app.url("/orders/new")).await.unwrap();
    b.fill("#name", "Kit kept collapsed").await;
    b.fill("#end_customer_name", "Metalworks Inc.").await;
    b.click_and_wait("main button[type=submit]").await;
    for sku in ["CFG-BRANCH-KIT", "SL-DNA-ADV-3Y"] {
        let xpath = format!("//select[@id='product_id']/option[starts-with(., '{sku}')]");
        b.driver.query(By::XPath(&xpath)).first().await.unwrap().click().await.unwrap();
        b.fill("#quantity", "1").await;
        b.click_and_wait("form.add-item button[type=submit]").await;
    }
    b.click_and_wait("table.items tbody tr:first-child a.toggle").await;
    assert_eq!(b.driver.find_all(By::Css("table.items tbody tr")).await.unwrap().len(), 2, "the kit's minor lines hidden");
    assert!(b.text("table.items tbody tr:first-child .kit-marker").await.contains("Smart Account Required"));
    // Remove the second item from its row's menu (htmx), then reload: the kit stays collapsed.
    b.click("table.items tbody tr:last-child details.row-menu summary").await;
    // At 1280 px the items fit with the menu open: nothing is clipped or scrolled away.
    let (scroll, client): (i64, i64) = b
        .driver
        .execute("const w = document.querySelector('table.items').closest('.table-wrap'); return [w.scrollWidth, w.clientWidth];", vec![])
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert!(scroll <= client, "the items table is {scroll}px wide in {client}px");
    b.shot("kit-02-row-menu").await;
    b.click("table.items tbody tr:last-child details.row-menu button.danger-link").await;
    b.wait_text(".flash-success", "Item removed").await;
    assert_eq!(b.driver.find_all(By::Css("table.items tbody tr")).await.unwrap().len(), 1);
    b.driver.refresh().await.unwrap();
    assert_eq!(b.driver.find_all(By::Css("table.items tbody tr")).await.unwrap().len(), 1, "still collapsed after a reload");
    assert!(b.text("table.items tbody tr:first-child .kit-marker").await.contains("Smart Account Required"));
    assert!(b.text("#submit-order").await.contains("Submit order"));
    let class = b.driver.find(By::Css("#submit-order")).await.unwrap().attr("class").await.unwrap().unwrap_or_default();
    assert!(!class.contains("primary"), "Submit is secondary while a blocker stands: {class}");
    b.shot("kit-03-collapsed-kept").await;
    b.quit().await;
}

/// The domain identifier's review warning comes and goes as the field is edited.
#[tokio::test]
async fn the_domain_review_warning_follows_the_field_as_it_is_typed_in_the_browser() {
    let Some(b) = browser().await else { return };
    let app = spawn_app(Backend::Sqlite).await;
    let _world = crate::fixtures::metalworks(&app);
    sign_in_as(&b, &app, "maya@metalworks.example").await;
    b.driver.goto(app.url("/accounts/new")).await.unwrap();
    assert!(b.driver.find_all(By::Css("#own-account-hint")).await.unwrap().is_empty(), "not a partner");
    b.click("input[name=authority][value=yes]").await;
    b.click_and_wait("button[value=next]").await;
    assert!(b.driver.find_all(By::Css("#domain-edited")).await.unwrap().is_empty());
    b.fill("#name", "Metalworks Labs").await;
    b.fill("#domain", "labs.metalworks.example").await;
    b.wait_text("#domain-warning", "operations will review it").await;
    b.shot("domain-warning-01-edited").await;
    b.fill("#domain", "metalworks.example").await;
    for _ in 0..100 {
        if b.driver.find_all(By::Css("#domain-edited")).await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(b.driver.find_all(By::Css("#domain-edited")).await.unwrap().is_empty(), "gone once the default is back");
    b.quit().await;
}

/// A partner asking for its own customer account is told before typing
/// anything that it takes a prefixed identifier, which operations review.
#[tokio::test]
async fn a_partner_is_guided_to_a_prefixed_identifier_for_its_own_customer_account_in_the_browser() {
    let Some(b) = browser().await else { return };
    let app = spawn_app(Backend::Sqlite).await;
    let _world = crate::fixtures::metalworks(&app);
    sign_in_as(&b, &app, "carlos@contoso.example").await;
    b.driver.goto(app.url("/accounts/new")).await.unwrap();
    let hint = b.text("#own-account-hint").await;
    assert!(hint.contains("it.contoso.example") && hint.contains("reviewed by operations"), "{hint}");
    b.shot("own-account-01-hint").await;
    b.click("input[name=kind][value=customer]").await;
    b.click("input[name=authority][value=yes]").await;
    b.click_and_wait("button[value=next]").await;
    let domain = b.driver.query(By::Css("#domain")).first().await.unwrap().value().await.unwrap();
    assert_eq!(domain.as_deref(), Some("it.contoso.example"));
    assert!(b.text("#domain-warning").await.contains("operations will review it"));
    b.shot("own-account-02-prefixed").await;
    b.click_and_wait("button[value=next]").await;
    b.click_and_wait("button[value=next]").await;
    b.click_and_wait("button[value=next]").await;
    assert!(b.text("main dl").await.contains("needs operations review"));
    b.click_and_wait("button[value=submit]").await;
    assert!(b.text("main").await.contains("it.contoso.example"));
    b.quit().await;
}

/// Home is a worklist: a partner with orders waiting in its holding account,
/// drafts to finish and a quote, and operations with orders to book and
/// ship; then operations' queue. Each page at both sizes, checked by axe.
#[tokio::test]
async fn the_home_worklist_and_the_operations_queue_in_the_browser() {
    use crate::orders::{add, assign, new_order, submit};
    use diesel::prelude::*;
    let Some(b) = browser().await else { return };
    let app = spawn_app(Backend::Sqlite).await;
    let shop = crate::orders::shop(&app);
    let carlos = crate::fixtures::as_user(&app, "carlos@contoso.example").await;
    let mut parked = Vec::new();
    for (i, customer) in
        ["Metalworks Inc.", "Acme Corporation International Holdings", "Globex", "Initech", "Umbrella", "Hooli"].iter().enumerate()
    {
        let resp = carlos
            .post_form(
                "/orders/new",
                "/orders",
                &[("name", &format!("Site rollout {}", i + 1)), ("end_customer_name", customer), ("order_type", "standard")],
            )
            .await;
        let order: i64 = location(&resp).trim_start_matches("/orders/").parse().unwrap();
        assign(&carlos, &app, order, &[("target", "holding"), ("account_id", &shop.world.contoso_holding.to_string())]).await;
        add(&carlos, &app, order, "SL-DNA-ADV-3Y", "2").await;
        submit(&carlos, &app, order).await;
        parked.push(order);
    }
    // They have waited a while, the first the longest.
    for (i, order) in parked.iter().enumerate() {
        let then = portal::db::now() - chrono::Duration::days(12 - 2 * i as i64);
        diesel::update(portal::db::schema::orders::table.find(*order))
            .set((portal::db::schema::orders::waiting_since.eq(then), portal::db::schema::orders::submitted_at.eq(then)))
            .execute(&mut *app.conn())
            .unwrap();
    }
    let draft = new_order(&carlos, "Branch refresh").await;
    add(&carlos, &app, draft, "SL-DNA-ADV-3Y", "4").await;
    new_order(&carlos, "Empty draft").await;
    olga_books(&app, parked[0]).await;

    sign_in_as(&b, &app, "carlos@contoso.example").await;
    assert!(b.text("#not-assigned").await.contains("12 days in holding"));
    assert!(b.text("#not-assigned .work-more").await.contains("See all 6"));
    assert!(b.text(".work-clear").await.contains("Quotes to convert"), "what has nothing waiting is said, not hidden");
    b.driver.execute("document.querySelector('.work-clear').scrollIntoView();", vec![]).await.unwrap();
    b.shot("home-carlos-nothing-waiting").await;
    b.click_and_wait("#not-assigned .work-items a").await;
    assert!(b.driver.current_url().await.unwrap().path().ends_with("/assignment"));
    sign_out(&b).await;

    sign_in_as(&b, &app, "olga@ops.example").await;
    assert!(b.text("#to-book").await.contains("Contoso Resellers"));
    b.driver.goto(app.url("/operations/orders")).await.unwrap();
    b.shot("home-ops-queue").await;
    b.click_and_wait("#to-book tbody button[type=submit]").await;
    assert!(b.text(".flash-success").await.contains("booked"));
    b.quit().await;
}

/// Operations book one order over HTTP, so both queues have something.
async fn olga_books(app: &TestApp, order: i64) {
    let olga = crate::fixtures::as_user(app, "olga@ops.example").await;
    let resp = olga.post_form("/operations/orders", &format!("/operations/orders/{order}/book"), &[]).await;
    assert_eq!(resp.status().as_u16(), 303);
}
