//! The `connector-host` command line: outputs, exit codes (0 ok, 1 connector error, 2 usage or
//! host error) and one-line errors. Needs the built plugin (`make build`).

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_connector-host"))
        .args(args)
        .current_dir(root())
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn validate_manifest() {
    let ok = run(&["validate-manifest", "manifests/microsoft-entra-id.json"], "");
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).starts_with("ok: microsoft-entra-id"));
    let bad = run(&["validate-manifest", "manifests/nope.json"], "");
    assert_eq!(bad.status.code(), Some(2));
    let err = text(&bad.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nope.json") && err.contains("no such file"));
}

#[test]
fn describe_shows_the_panel() {
    let out = run(&["describe"], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let panel = text(&out.stdout);
    for line in [
        "Name your connection *",
        "Scopes *",
        "Scopes are OAuth 2.0 permissions",
        "[Fetch data: list_scopes]",
        "Advanced settings",
        "Tenant  (text, key tenant)",
        "Client secret  (secret, key client_secret)",
        "HTTP view",
        "token_url: \"https://login.microsoftonline.com/organizations/oauth2/v2.0/token\"",
        "[ Save and authorize ]",
    ] {
        assert!(panel.contains(line), "missing {line:?} in\n{panel}");
    }
    assert!(panel.find("Scopes *").unwrap() < panel.find("Advanced settings").unwrap());
    let json = run(&["describe", "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["ok"]["id"], "microsoft-entra-id");
}

#[test]
fn call_exit_codes() {
    let ok = run(
        &["call", "authorize_url"],
        r#"{"settings":{"name":"n","scopes":["User.Read"],"client_id":"6731de76-14a6-49ae-97bc-6eba6914391e"},"redirect_uri":"https://a.example/cb","state":"0123456789abcdef","code_verifier":"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}"#,
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).starts_with(r#"{"ok":{"#));
    let refused = run(&["call", "authorize_url"], "{}");
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stdout).contains(r#""code":"invalid_input""#));
    let unknown = run(&["call", "no_such_export"], "{}");
    assert_eq!(unknown.status.code(), Some(2));
    assert_eq!(text(&unknown.stderr).lines().count(), 1);
    let usage = run(&["frobnicate"], "");
    assert_eq!(usage.status.code(), Some(2));
    assert!(!text(&usage.stderr).contains("panicked"));
}

#[test]
fn classify_as_a_person_reads_it() {
    let body = r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation.","innerError":{"date":"2026-11-27T10:00:00","request-id":"3ed2d3e5-0b9a-4b1a-8c8f-7a1e2f3d4c5b","client-request-id":"c-1"}}}"#;
    let out = run(&["classify", "--phase", "graph", "--status", "403"], body);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.starts_with("insufficient_privileges (action: assign_role, not retryable)"), "{t}");
    assert!(t.contains("Global administrator (maximum permissions)"));
    assert!(t.contains("request-id 3ed2d3e5-0b9a-4b1a-8c8f-7a1e2f3d4c5b"));
    let out = run(&["classify", "--phase", "graph", "--status", "429", "--header", "Retry-After: 3", "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["code"].as_str(), v["retry_after_seconds"].as_f64()), (Some("throttled"), Some(3.0)));
    let out = run(
        &[
            "classify",
            "--phase",
            "authorize",
            "--query",
            "error=access_denied&error_description=AADSTS65004%3A+User+declined",
        ],
        "",
    );
    assert!(text(&out.stdout).starts_with("access_denied (action: reauthorize"));
    let bad = run(&["classify", "--phase", "graph", "--header", "no colon"], "");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn demo_tells_the_whole_story_and_exits_0() {
    let out = run(&["demo"], "");
    let t = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{t}\n{}", text(&out.stderr));
    for line in [
        "1. Create connection",
        "Name your connection *: Demo Entra ID",
        "2. Save and authorize",
        "Connected as adele.vance@contoso.onmicrosoft.com in Contoso.",
        "rotated and stored before the new access token was used: yes",
        "Error code: Authorization_RequestDenied",
        "Global administrator (maximum permissions)",
        "Retry-After: 1",
        "Status: needs_reauthorization",
        "3 failures classified",
    ] {
        assert!(t.contains(line), "missing {line:?} in\n{t}");
    }
    // The failure names the platform's request id (a GUID) for a ticket with Microsoft.
    let id = t.split("Support: client-request-id ").nth(1).and_then(|rest| rest.split(',').next()).unwrap_or("");
    assert_eq!((id.len(), id.matches('-').count()), (36, 4), "{t}");
}

#[test]
fn connect_with_the_mock_and_manage_connections() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("c.db");
    let store = store.to_str().unwrap();
    let out = run(
        &[
            "connect",
            "--mock",
            "--port",
            "0",
            "--name",
            "HR",
            "--scopes",
            "User.Read,User.ReadBasic.All",
            "--store",
            store,
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("Connected as adele.vance@contoso.onmicrosoft.com in Contoso."));
    let again =
        run(&["connect", "--mock", "--port", "0", "--name", "HR", "--scopes", "User.Read", "--store", store], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains("already exists"));
    let bad = run(
        &[
            "connect",
            "--mock",
            "--port",
            "0",
            "--name",
            "Bad",
            "--scopes",
            "User.Read",
            "--tenant",
            "consumers",
            "--store",
            store,
        ],
        "",
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("settings.tenant"), "{}", text(&bad.stderr));

    // Device code sign-in: the code and the address printed, the sign-in finished on the
    // mock's code page, the platform polling on its timer.
    let device = run(
        &[
            "connect",
            "--mock",
            "--device",
            "--name",
            "Laptop",
            "--scopes",
            "User.Read",
            "--client-id",
            mock_entra::PUBLIC_CLIENT_ID,
            "--store",
            store,
        ],
        "",
    );
    let printed = text(&device.stdout);
    assert_eq!(device.status.code(), Some(0), "{printed}\n{}", text(&device.stderr));
    assert!(printed.contains("/devicelogin and enter the code "), "{printed}");
    assert!(printed.contains("Connected as adele.vance@contoso.onmicrosoft.com"), "{printed}");
    run(&["connections", "delete", "Laptop", "--store", store], "");

    // A certificate as a PKCS#12 file and its password from the environment: the bundle is
    // opened at save (the embedded mock has no certificate uploaded, so Entra's refusal names
    // the bundle's thumbprint).
    let pfx = root().join("tests/fixtures/certificates/a.pfx");
    let out = run_in(
        &root(),
        &[
            "connect",
            "--mock",
            "--name",
            "Pfx",
            "--scopes",
            "User.Read",
            "--client-id",
            mock_entra::CERTIFICATE_CLIENT_ID,
            "--client-certificate-pfx",
            pfx.to_str().unwrap(),
            "--pfx-password-env",
            "PFX_PASSWORD",
            "--port",
            "0",
            "--store",
            store,
        ],
        // Every log line too: nothing of the key, the bundle or its password.
        &[("PFX_PASSWORD", "fixture-password"), ("RUST_LOG", "trace")],
    );
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("Created connection \"Pfx\""), "{said}");
    let cert = std::fs::read_to_string(root().join("tests/fixtures/certificates/a.cert.pem")).unwrap();
    let sha1 = host_harness::signing::read_certificate(&cert).unwrap().0.sha1_thumbprint;
    assert!(said.contains(&sha1), "{said}");
    assert!(!said.contains("fixture-password"), "{said}");
    let key = std::fs::read_to_string(root().join("tests/fixtures/certificates/a.key.pem")).unwrap();
    for line in key.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!said.contains(line), "a line of the private key in the output");
    }
    assert!(said.contains("TRACE") || said.contains("DEBUG"), "the run logged at trace level");
    run(&["connections", "delete", "Pfx", "--store", store], "");

    let list = run(&["connections", "list", "--store", store, "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(v[0]["name"], "HR");
    assert_eq!(v[0]["status"], "connected");
    let show = run(&["connections", "show", "HR", "--store", store], "");
    let shown = text(&show.stdout);
    assert!(shown.contains("\"has_refresh_token\": true") && !shown.contains("access_token\":"), "{shown}");
    let token = run(&["connections", "token", "HR", "--store", store], "");
    assert!(text(&token.stdout).contains("add --reveal to print it"));
    let revealed = run(&["connections", "token", "HR", "--reveal", "--store", store], "");
    assert!(text(&revealed.stdout).trim().starts_with("eyJ"));
    let gone = run(&["connections", "delete", "HR", "--store", store], "");
    assert_eq!(gone.status.code(), Some(0));
    let missing = run(&["connections", "show", "HR", "--store", store], "");
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(text(&missing.stderr).lines().count(), 1);
}

#[test]
fn conformance_passes() {
    let out = run(&["conformance"], "");
    let t = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("conformance: 10 passed, 0 failed"), "{t}");
}

/// What must never appear in clear: the mock's client secret, its codes (1.AQ...), refresh tokens
/// (1.AR...) and JWTs, and the names of the form fields that carry a verifier or a secret.
const SECRET_MARKERS: [&str; 6] =
    [mock_entra::TEST_CLIENT_SECRET, "code=1.AQ", "1.AR", "eyJ0eXAiOiJKV1Qi", "code_verifier", "client_secret="];

#[test]
fn nothing_secret_reaches_the_output_even_at_trace_level() {
    let out = Command::new(env!("CARGO_BIN_EXE_connector-host"))
        .arg("demo")
        .current_dir(root())
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.len() > 100_000, "trace logging was not on");
    for secret in SECRET_MARKERS {
        assert!(!all.contains(secret), "{secret} appeared in the demo's output");
    }
}

#[test]
fn mock_entra_runs_in_the_foreground_with_scripted_faults() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(env!("CARGO_BIN_EXE_connector-host"))
        .args(["mock-entra", "--port", "0", "--fault", "token next:1 status:429:3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first.rsplit(' ').next().unwrap().to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    let banner: Vec<String> = lines.by_ref().take(9).map(|l| l.unwrap()).collect();
    assert!(banner.iter().any(|l| l.contains(mock_entra::TEST_CLIENT_ID)), "{banner:?}");
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = format!("{base}/{}/oauth2/v2.0/token", mock_entra::TEST_TENANT_ID);
    let r = agent.post(&url).send_form([("grant_type", "client_credentials")]).unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers().get("retry-after").unwrap(), "3");
    let r = agent
        .post(&url)
        .send_form([
            ("client_id", mock_entra::TEST_CLIENT_ID),
            ("client_secret", mock_entra::TEST_CLIENT_SECRET),
            ("grant_type", "client_credentials"),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn fault_scenarios_at_trace_level_leak_nothing_into_output_or_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("c.db");
    let store = store.to_str().unwrap();
    let (mut mock, banner, base) =
        mock_entra(&["--fault", "token nth:2 status:429:0", "--fault", "token nth:4 revoked"]);
    let mut all = String::new();
    let mut step = |args: &[&str]| {
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["--store", store, "--mock-url", &base]);
        let out = Command::new(env!("CARGO_BIN_EXE_connector-host"))
            .args(&full)
            .current_dir(root())
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        all.push_str(&text(&out.stdout));
        all.push_str(&text(&out.stderr));
        out.status.code()
    };
    assert_eq!(step(&["connect", "--port", "0", "--name", "T", "--scopes", "User.Read"]), Some(0), "{all}");
    assert_eq!(step(&["connections", "refresh", "T"]), Some(0), "{all}"); // 429 then success
    assert_eq!(step(&["connections", "refresh", "T"]), Some(1), "{all}"); // revoked
    assert_eq!(step(&["connections", "show", "T", "--json"]), Some(0));
    assert!(all.contains("needs_reauthorization"), "{all}");
    mock.kill().unwrap();
    mock.wait().unwrap();
    drop(banner);
    assert!(all.len() > 50_000, "trace logging was not on");
    let mut stored = std::fs::read(dir.path().join("c.db")).unwrap();
    stored.extend(std::fs::read(dir.path().join("c.db-wal")).unwrap_or_default());
    let stored = String::from_utf8_lossy(&stored);
    for secret in SECRET_MARKERS {
        assert!(!all.contains(secret), "{secret} appeared in the output");
        assert!(!stored.contains(secret), "{secret} is in the store file in clear");
    }
}

/// `connector-host mock-entra` on a free port with `extra` arguments: the process, its banner's
/// reader (kept open for the whole test: the banner is still being written) and its base URL.
fn mock_entra(
    extra: &[&str],
) -> (std::process::Child, std::io::Lines<std::io::BufReader<std::process::ChildStdout>>, String) {
    use std::io::BufRead;
    let mut mock = Command::new(env!("CARGO_BIN_EXE_connector-host"))
        .args(["mock-entra", "--port", "0", "--redirect-uri", "http://localhost/callback"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = std::io::BufReader::new(mock.stdout.take().unwrap()).lines();
    let base = banner.next().unwrap().unwrap().rsplit(' ').next().unwrap().to_string();
    (mock, banner, base)
}

#[test]
fn keepalive_prints_each_outcome_and_json_is_one_array() {
    use host_harness::platform::store::Store;
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("c.db");
    let store = store_path.to_str().unwrap();
    let (mut mock, banner, base) = mock_entra(&[]);
    let step = |args: &[&str]| {
        let mut full: Vec<&str> = args.to_vec();
        full.extend(["--store", store, "--mock-url", &base]);
        Command::new(env!("CARGO_BIN_EXE_connector-host")).args(&full).current_dir(root()).output().unwrap()
    };
    for name in ["A", "B"] {
        let out = step(&["connect", "--port", "0", "--name", name, "--scopes", "User.Read"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let out = step(&["keepalive"]);
    assert_eq!((out.status.code(), text(&out.stdout).trim()), (Some(0), "No connection is due for keep-alive."));
    let due = || {
        let s = host_harness::platform::SqliteStore::open(&store_path).unwrap();
        for name in ["A", "B"] {
            let mut r = s.get(name).unwrap();
            r.keepalive.next_at = Some(0);
            s.update(&r, r.generation).unwrap();
        }
    };
    due();
    let out = step(&["keepalive", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<&str> = v.as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["A", "B"]);
    assert!(v.as_array().unwrap().iter().all(|o| o["ok"] == true && o["error"].is_null()), "{v}");
    due();
    let out = step(&["keepalive"]);
    let mut lines: Vec<String> = text(&out.stdout).lines().map(str::to_string).collect();
    lines.sort();
    assert_eq!(lines, ["A: refreshed", "B: refreshed"]);
    // Nothing due: an empty array.
    let out = step(&["keepalive", "--json"]);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(), serde_json::json!([]));
    mock.kill().unwrap();
    mock.wait().unwrap();
    drop(banner);
}

/// Runs the binary from `dir` with `env` set, without a manifest in the environment.
fn run_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_connector-host"));
    cmd.args(args).current_dir(dir).env_remove("RUST_LOG").env_remove("CONNECTOR_HOST_MANIFEST");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn the_manifest_is_found_from_any_directory() {
    // target/release/connector-host run elsewhere finds the checkout's manifest beside it.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = run_in(elsewhere.path(), &["describe"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("Create connection: Microsoft Entra ID"));
    // CONNECTOR_HOST_MANIFEST wins, and a wrong one is named.
    let out = run_in(elsewhere.path(), &["describe"], &[("CONNECTOR_HOST_MANIFEST", "/nowhere/m.json")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nowhere/m.json") && text(&out.stderr).contains("no such file"));
    // An installed layout (PREFIX/bin and PREFIX/share/connector-host), as `make install` makes it.
    let prefix = tempfile::tempdir().unwrap();
    let (bin, share) = (prefix.path().join("bin"), prefix.path().join("share/connector-host"));
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&share).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_connector-host"), bin.join("connector-host")).unwrap();
    let manifest = std::fs::read_to_string(root().join("manifests/microsoft-entra-id.json")).unwrap();
    let mut m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let wasm = root().join("manifests").join(m["wasm"]["path"].as_str().unwrap());
    std::fs::copy(wasm, share.join("entra_id_connector.wasm")).unwrap();
    m["wasm"]["path"] = "entra_id_connector.wasm".into();
    std::fs::write(share.join("microsoft-entra-id.json"), m.to_string()).unwrap();
    let out = Command::new(bin.join("connector-host"))
        .arg("describe")
        .current_dir(elsewhere.path())
        .env_remove("CONNECTOR_HOST_MANIFEST")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // With none of them, the error lists where it looked.
    std::fs::remove_file(share.join("microsoft-entra-id.json")).unwrap();
    let out = Command::new(bin.join("connector-host"))
        .arg("describe")
        .current_dir(elsewhere.path())
        .env_remove("CONNECTOR_HOST_MANIFEST")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("no manifest found") && err.contains("share/connector-host"), "{err}");
}

#[cfg(unix)]
#[test]
fn the_store_and_its_directory_are_private_after_connect() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let store = home.join("connector-host/c.db");
    let out = run_in(
        dir.path(),
        &[
            "connect",
            "--mock",
            "--port",
            "0",
            "--name",
            "Modes",
            "--scopes",
            "User.Read",
            "--store",
            store.to_str().unwrap(),
        ],
        &[("XDG_CACHE_HOME", dir.path().join("cache").to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
    };
    // SQLite removes the WAL and SHM files when the last connection closes; the library test
    // `platform.rs` checks them while the store is open.
    for file in ["c.db", "c.key"] {
        assert_eq!(mode(&home.join("connector-host").join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&home.join("connector-host")), 0o700);
    assert_eq!(mode(&home), 0o700, "a directory the store created");
    // The compiled-module cache the load used: its directory is the platform's alone, and its
    // configuration (0600) survives wasmtime's cleaner, which deletes what it does not know in
    // the entries' directory.
    let cache = dir.path().join("cache/connector-host");
    assert_eq!(mode(&cache), 0o700);
    assert_eq!(mode(&cache.join("wasmtime-cache.toml")), 0o600);
    assert!(cache.join("compiled").is_dir());
}
