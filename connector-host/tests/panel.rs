//! The panel in a real headless Chromium, driven over WebDriver (chromedriver and fantoccini):
//! the seed's story. Sign in to the panel with the printed link; Create connection with a name
//! and two scopes picked through Fetch data and >; Save and authorize; in the pop-up, Accept at
//! the mock; the pop-up closes and the panel shows Connected with the granted scopes. A cancelled
//! consent shows access_denied's message; an administrator grants admin consent; a blocked
//! pop-up falls back to the same window; a field error shows beside its field; a connection that
//! meets Authorization_RequestDenied shows the three roles. Screenshots go to target/ui/.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Server;
use fantoccini::{Client, ClientBuilder, Locator};

/// chromedriver on a free port; stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (make test installs Debian's chromium and chromium-driver)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1280,1000", format!("--user-data-dir={}", profile.display())],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

fn ui_dir() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("target/ui");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(ui_dir().join(format!("{name}.png")), png).unwrap();
}

/// Waits until `locator` is there and its text satisfies `ok`; its text.
async fn wait_text(c: &Client, locator: Locator<'_>, ok: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        if let Ok(e) = c.find(locator).await {
            if let Ok(t) = e.text().await {
                if ok(&t) {
                    return t;
                }
            }
        }
        if started.elapsed() > Duration::from_secs(20) {
            let page = c.source().await.unwrap_or_default();
            panic!("{locator:?} did not show the expected text; page: {}", &page[..page.len().min(3000)]);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The window that is not `main` (the sign-in pop-up), once it is there.
async fn popup(c: &Client, main: &fantoccini::wd::WindowHandle) -> fantoccini::wd::WindowHandle {
    let started = Instant::now();
    loop {
        let windows = c.windows().await.unwrap();
        if let Some(w) = windows.into_iter().find(|w| w != main) {
            return w;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no sign-in window opened");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the sign-in window has closed itself.
async fn until_one_window(c: &Client) {
    let started = Instant::now();
    while c.windows().await.unwrap().len() > 1 {
        assert!(started.elapsed() < Duration::from_secs(20), "the sign-in window did not close");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// On the mock's consent page: sign in as `user` (a user id; None keeps the default) and click
/// `decision` ("accept" or "cancel").
async fn decide(c: &Client, user: Option<&str>, decision: &str) {
    let button = format!("button[value='{decision}']");
    wait_text(c, Locator::Css(&button), |t| !t.is_empty()).await;
    if let Some(id) = user {
        c.find(Locator::Css(&format!("select[name='user'] option[value='{id}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    c.find(Locator::Css(&button)).await.unwrap().click().await.unwrap();
}

/// Makes this page's pop-ups fail, as a blocker does (window.open answers null).
async fn block_popups(c: &Client) {
    c.execute("window.open = function () { return null; };", vec![]).await.unwrap();
}

/// Create connection: a name, the default scope and one more picked with Fetch data and >.
async fn fill_create_form(c: &Client, base: &str, name: &str) {
    c.goto(&format!("{base}/connections/new")).await.unwrap();
    c.find(Locator::Id("setting-name")).await.unwrap().send_keys(name).await.unwrap();
    c.find(Locator::Css(".picker .fetch")).await.unwrap().click().await.unwrap();
    wait_text(c, Locator::Css(".picker .source"), |t| t.contains("catalog") || t.contains("Live")).await;
    c.find(Locator::Css(".picker .filter")).await.unwrap().send_keys("User.ReadBasic").await.unwrap();
    c.find(Locator::Css(".picker .available option[value='User.ReadBasic.All']")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css(".picker .add")).await.unwrap().click().await.unwrap();
    let chosen = c.find(Locator::Css(".picker .chosen")).await.unwrap().text().await.unwrap();
    assert!(chosen.contains("User.Read") && chosen.contains("User.ReadBasic.All"), "{chosen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_story_in_a_real_browser() {
    let server = Server::start(&[]);
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    let base = server.signin.split("/signin").next().unwrap().to_string();

    // Without the link, no page.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_text(&c, Locator::Css("h1"), |t| t == "Sign in").await;
    c.goto(&server.signin).await.unwrap();
    wait_text(&c, Locator::Css("h1"), |t| t == "Connections").await;
    // The link works once.
    let again = Server::agent().get(&server.signin).call().unwrap();
    assert_eq!(again.status().as_u16(), 401);

    fill_create_form(&c, &base, "HR directory").await;
    shot(&c, "create-connection").await;
    let main = c.window().await.unwrap();
    c.find(Locator::Id("save-and-authorize")).await.unwrap().click().await.unwrap();
    let signin = popup(&c, &main).await;
    c.switch_to_window(signin).await.unwrap();
    let accept = Locator::Css("button[value='accept']");
    wait_text(&c, accept, |t| t == "Accept").await;
    shot(&c, "sign-in").await;
    c.find(accept).await.unwrap().click().await.unwrap();
    // The callback page tells the panel and closes itself.
    until_one_window(&c).await;
    c.switch_to_window(main.clone()).await.unwrap();
    wait_text(&c, Locator::Id("status"), |t| t == "Connected").await;
    let summary = wait_text(&c, Locator::Id("test-summary"), |t| !t.is_empty()).await;
    assert!(summary.starts_with("Connected as adele.vance@contoso.onmicrosoft.com in Contoso"), "{summary}");
    let scopes = wait_text(&c, Locator::Id("scopes"), |t| t.contains("granted")).await;
    assert!(scopes.contains("User.Read: granted") && scopes.contains("User.ReadBasic.All: granted"), "{scopes}");
    wait_text(&c, Locator::Id("who"), |t| t.contains("adele.vance")).await;
    shot(&c, "connected").await;

    // Grant admin consent: an administrator (Megan Bowen) accepts for the tenant in the pop-up.
    c.find(Locator::Id("admin-consent")).await.unwrap().click().await.unwrap();
    let consent = popup(&c, &main).await;
    c.switch_to_window(consent).await.unwrap();
    wait_text(&c, Locator::Css("h1"), |t| t.contains("Accept for your organization")).await;
    decide(&c, Some(mock_entra::ADMIN_USER_ID), "accept").await;
    until_one_window(&c).await;
    c.switch_to_window(main.clone()).await.unwrap();
    let said = wait_text(&c, Locator::Id("signin-result"), |t| !t.is_empty()).await;
    assert!(said.contains("An administrator granted this connection's permissions for tenant"), "{said}");

    // Reauthorize with pop-ups blocked: the sign-in runs in this window and comes back to it.
    block_popups(&c).await;
    c.find(Locator::Id("reauthorize")).await.unwrap().click().await.unwrap();
    decide(&c, None, "accept").await;
    wait_text(&c, Locator::Css("h1"), |t| t == "HR directory").await;
    wait_text(&c, Locator::Id("test-summary"), |t| t.starts_with("Connected as adele.vance")).await;
    assert_eq!(c.windows().await.unwrap().len(), 1, "no window was opened");

    // A cancelled consent shows access_denied's message on the form.
    fill_create_form(&c, &base, "Cancelled").await;
    let main = c.window().await.unwrap();
    c.find(Locator::Id("save-and-authorize")).await.unwrap().click().await.unwrap();
    let signin = popup(&c, &main).await;
    c.switch_to_window(signin).await.unwrap();
    decide(&c, None, "cancel").await;
    until_one_window(&c).await;
    c.switch_to_window(main).await.unwrap();
    let error = wait_text(&c, Locator::Id("form-error"), |t| !t.is_empty()).await;
    assert!(error.contains("declined") && error.contains("click Accept"), "{error}");
    shot(&c, "cancelled").await;

    // The Connections page lists both, and a name with markup stays text.
    c.goto(&format!("{base}/")).await.unwrap();
    let table = wait_text(&c, Locator::Id("connections"), |t| t.contains("HR directory")).await;
    assert!(table.contains("Connected") && table.contains("Waiting for sign-in"), "{table}");
    shot(&c, "connections").await;
    c.close().await.unwrap();
}

/// A panel whose mock answers every Graph call with 403 Authorization_RequestDenied, signed in
/// by a link made with `connector-host panel-link` (the one `serve` printed is left unused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_errors_a_blocked_popup_and_the_role_remedy() {
    let server = Server::start(&["--mock-fault", "graph always status:403"]);
    let base = server.base.replace("127.0.0.1", "localhost");
    let out = common::bin().args(["panel-link", "--store", &server.store, "--url", &base, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let link: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    c.goto(link["link"].as_str().unwrap()).await.unwrap();
    wait_text(&c, Locator::Css("h1"), |t| t == "Connections").await;

    // A field error shows beside its field, and the window the click opened is closed again.
    c.goto(&format!("{base}/connections/new")).await.unwrap();
    c.find(Locator::Id("save-and-authorize")).await.unwrap().click().await.unwrap();
    let error = wait_text(&c, Locator::Id("error-name"), |t| !t.is_empty()).await;
    assert!(error.to_lowercase().contains("name"), "{error}");
    until_one_window(&c).await;
    shot(&c, "field-error").await;

    // A blocked pop-up is named, and the same window is offered instead.
    fill_create_form(&c, &base, "Directory admin").await;
    block_popups(&c).await;
    c.find(Locator::Id("save-and-authorize")).await.unwrap().click().await.unwrap();
    let blocked = wait_text(&c, Locator::Id("popup-blocked"), |t| !t.is_empty()).await;
    assert!(blocked.contains("blocked"), "{blocked}");
    let same = c.find(Locator::Id("same-window")).await.unwrap();
    let started = Instant::now();
    while !same.attr("href").await.unwrap().unwrap_or_default().contains("/oauth2/v2.0/authorize") {
        assert!(started.elapsed() < Duration::from_secs(20), "the same-window link never got the sign-in URL");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shot(&c, "popup-blocked").await;
    same.click().await.unwrap();
    decide(&c, None, "accept").await;

    // Signed in, but Graph refuses: the classification's message and the three roles.
    let said = wait_text(&c, Locator::Id("outcome"), |t| !t.is_empty()).await;
    for role in [
        "Authorization_RequestDenied",
        "Global administrator (maximum permissions)",
        "Privileged authentication administrator",
        "Authentication administrator (minimum permissions)",
    ] {
        assert!(said.contains(role), "{role} in {said}");
    }
    c.goto(&format!("{base}/connections/Directory%20admin")).await.unwrap();
    wait_text(&c, Locator::Id("status"), |t| t == "Needs attention").await;
    let remedy = wait_text(&c, Locator::Css("#failure .remedy"), |t| !t.is_empty()).await;
    assert!(remedy.contains("Global administrator (maximum permissions)"), "{remedy}");
    let support = wait_text(&c, Locator::Css("#failure .support"), |t| !t.is_empty()).await;
    assert!(support.contains("client-request-id"), "support ids to copy: {support}");
    shot(&c, "role-remedy").await;

    // Sign out: the session ends; the panel asks for a link again.
    c.find(Locator::Id("sign-out")).await.unwrap().click().await.unwrap();
    wait_text(&c, Locator::Css("h1"), |t| t == "Sign in").await;
    c.goto(&format!("{base}/")).await.unwrap();
    wait_text(&c, Locator::Css("h1"), |t| t == "Sign in").await;
    c.close().await.unwrap();
}

#[test]
fn state_changes_need_the_csrf_token_and_this_origin() {
    let server = Server::start(&[]);
    // A session, as the browser gets it from the link.
    let agent: ureq::Agent = ureq::Agent::config_builder().max_redirects(0).http_status_as_error(false).build().into();
    let r = agent.get(&server.signin).call().unwrap();
    let cookie = r.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_string();
    let mut page = agent.get(format!("{}/connections/new", server.base)).header("Cookie", &session).call().unwrap();
    let html = page.body_mut().read_to_string().unwrap();
    let csrf = html.split("name=\"csrf-token\" content=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert!(!html.contains("<script>"), "no inline script");
    let host = server.base.trim_start_matches("http://").to_string();
    let post = |token: Option<&str>, origin: Option<&str>| {
        let mut req = agent
            .post(format!("{}/panel/api/connections", server.base))
            .header("Cookie", &session)
            .header("Content-Type", "application/json");
        if let Some(t) = token {
            req = req.header("X-CSRF-Token", t);
        }
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        req.send(r#"{"settings":{"name":"Forged","scopes":["User.Read"]}}"#).unwrap().status().as_u16()
    };
    assert_eq!(post(None, Some(&format!("http://{host}"))), 403, "no CSRF token");
    assert_eq!(post(Some("forged"), Some(&format!("http://{host}"))), 403, "a wrong token");
    assert_eq!(post(Some(&csrf), Some("http://evil.example")), 403, "a foreign origin");
    assert_eq!(post(Some(&csrf), None), 403, "no origin at all");
    assert_eq!(post(Some(&csrf), Some(&format!("http://{host}"))), 200, "the page's own request");
    // Without the session cookie, no page and no route.
    assert_eq!(agent.get(format!("{}/", server.base)).call().unwrap().status().as_u16(), 401);
}

/// A browser signed in to a fresh panel with the link `serve` printed, and the panel's address.
struct Panel {
    c: Client,
    base: String,
    _profile: tempfile::TempDir,
    _driver: Driver,
    _server: Server,
}

async fn signed_in_panel() -> Panel {
    let server = Server::start(&[]);
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    let base = server.signin.split("/signin").next().unwrap().to_string();
    c.goto(&server.signin).await.unwrap();
    wait_text(&c, Locator::Css("h1"), |t| t == "Connections").await;
    Panel { c, base, _profile: profile, _driver: driver, _server: server }
}

/// Create connection with a name and, in the Advanced settings, the client ID of an own app.
async fn create_with_own_app(c: &Client, base: &str, name: &str, client_id: &str) {
    c.goto(&format!("{base}/connections/new")).await.unwrap();
    c.find(Locator::Id("setting-name")).await.unwrap().send_keys(name).await.unwrap();
    c.find(Locator::Css("details summary")).await.unwrap().click().await.unwrap();
    c.find(Locator::Id("setting-client_id")).await.unwrap().send_keys(client_id).await.unwrap();
}

/// Save and authorize, Accept in the sign-in window, and the refusal the form then shows.
async fn save_accept_and_read_the_form_error(c: &Client) -> String {
    let main = c.window().await.unwrap();
    c.find(Locator::Id("save-and-authorize")).await.unwrap().click().await.unwrap();
    let signin = popup(c, &main).await;
    c.switch_to_window(signin).await.unwrap();
    decide(c, None, "accept").await;
    until_one_window(c).await;
    c.switch_to_window(main).await.unwrap();
    wait_text(c, Locator::Id("form-error"), |t| !t.is_empty()).await
}

/// Device code sign-in from the panel: Save and sign in with a code shows the address, the code
/// and the time left; the person enters the code on the mock's code page in another window; the
/// panel shows Connected. A second sign-in is cancelled from the page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_sign_in_in_a_real_browser() {
    let panel = signed_in_panel().await;
    let (c, base) = (&panel.c, panel.base.as_str());
    // A public client app: device code sign-in needs public client flows.
    create_with_own_app(c, base, "Laptop", mock_entra::PUBLIC_CLIENT_ID).await;
    c.find(Locator::Id("save-device")).await.unwrap().click().await.unwrap();
    let code = wait_text(c, Locator::Id("device-user-code"), |t| t.len() == 9).await;
    let uri = c.find(Locator::Id("device-uri")).await.unwrap().attr("href").await.unwrap().unwrap();
    assert!(uri.ends_with("/devicelogin"), "{uri}");
    wait_text(c, Locator::Id("device-left"), |t| t.contains("left")).await;
    shot(c, "device-code").await;

    // The person, on another device: the code page in a window of its own.
    let main = c.window().await.unwrap();
    let other = c.new_window(false).await.unwrap();
    c.switch_to_window(other.handle).await.unwrap();
    c.goto(&uri).await.unwrap();
    c.find(Locator::Id("code")).await.unwrap().send_keys(&code).await.unwrap();
    c.find(Locator::Id("next")).await.unwrap().click().await.unwrap();
    wait_text(c, Locator::Id("done"), |t| t.contains("You have signed in")).await;
    c.close_window().await.unwrap();
    c.switch_to_window(main).await.unwrap();
    wait_text(c, Locator::Id("status"), |t| t == "Connected").await;
    let summary = wait_text(c, Locator::Id("test-summary"), |t| !t.is_empty()).await;
    assert!(summary.starts_with("Connected as adele.vance@contoso.onmicrosoft.com"), "{summary}");
    shot(c, "device-connected").await;

    // Another sign-in, cancelled from the page: the wait stops and says so.
    c.find(Locator::Id("device-sign-in")).await.unwrap().click().await.unwrap();
    wait_text(c, Locator::Id("device-left"), |t| t.contains("left")).await;
    c.find(Locator::Id("device-cancel")).await.unwrap().click().await.unwrap();
    wait_text(c, Locator::Id("device-message"), |t| t.contains("cancelled")).await;
    c.clone().close().await.unwrap();
}

/// A connection's own app with a certificate, from the panel: the certificate and key pasted in
/// the Advanced settings' text areas; the mock's app has no certificate uploaded, so after Accept
/// the panel shows Entra's refusal with the SHA-1 thumbprint to look for in the admin center.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_the_panel_and_the_thumbprint_to_upload() {
    let panel = signed_in_panel().await;
    let (c, base) = (&panel.c, panel.base.as_str());
    let fixture = |name: &str| {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/certificates").join(name),
        )
        .unwrap()
    };
    let cert = fixture("a.cert.pem");
    let sha1 = host_harness::signing::read_certificate(&cert).unwrap().0.sha1_thumbprint;

    create_with_own_app(c, base, "Signed", mock_entra::CERTIFICATE_CLIENT_ID).await;
    c.find(Locator::Id("setting-client_certificate")).await.unwrap().send_keys(&cert).await.unwrap();
    c.find(Locator::Id("setting-client_private_key")).await.unwrap().send_keys(&fixture("a.key.pem")).await.unwrap();
    shot(c, "certificate-fields").await;
    let error = save_accept_and_read_the_form_error(c).await;
    assert!(error.contains("Upload certificate") && error.contains(&sha1), "{error}");
    // The same app with its certificate and key as a PKCS#12 file and its password.
    create_with_own_app(c, base, "Bundled", mock_entra::CERTIFICATE_CLIENT_ID).await;
    let pfx = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/certificates/a.pfx");
    let file = c.find(Locator::Id("pkcs12-client_private_key")).await.unwrap();
    file.send_keys(pfx.canonicalize().unwrap().to_str().unwrap()).await.unwrap();
    let started = std::time::Instant::now();
    while file.attr("data-loaded").await.unwrap().is_none() {
        assert!(started.elapsed() < Duration::from_secs(10), "the file was not read");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.find(Locator::Id("setting-client_private_key_password"))
        .await
        .unwrap()
        .send_keys("fixture-password")
        .await
        .unwrap();
    let error = save_accept_and_read_the_form_error(c).await;
    assert!(error.contains(&sha1), "the bundle's certificate: {error}");

    // The page never holds the key after saving: the connection's page shows no key material.
    c.goto(&format!("{base}/connections/Signed")).await.unwrap();
    let page = c.source().await.unwrap();
    assert!(
        !page.contains("PRIVATE KEY") && !page.contains(&cert[30..90]),
        "the page shows no key or certificate text"
    );
    c.clone().close().await.unwrap();
}
