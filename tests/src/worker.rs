//! Runs the built Worker in workerd through `wrangler dev`, the same way `cargo xtask dev` does.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, repo_root};

/// How long wrangler may take to answer its first health check.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What the Worker serves besides its API: the tests' pages and the demo shop, or neither.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// The tests': the demo shop's routes on (`CHECKOUT_DEMO=1`) and the test pages of
    /// `tests/pages/` served under `/test/`, beside `www/`.
    #[default]
    Test,
    /// `cargo xtask dev`: the demo shop, and `www/` alone.
    Dev,
    /// As deployed: `www/` alone, no demo routes.
    Production,
}

/// How to start the Worker beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct WorkerOptions {
    /// What it serves besides the API.
    pub profile: Profile,
    /// The port; a free one when `None`.
    pub port: Option<u16>,
    /// Extra Worker variables (`--var NAME:VALUE`), e.g. a simulator's base URL.
    pub vars: Vec<(String, String)>,
    /// Stay in the caller's process group, so a Ctrl-C in the terminal stops wrangler and its
    /// workerd too (`cargo xtask dev`). Tests leave it false and stop the group on drop.
    pub foreground: bool,
}

/// A running `wrangler dev`. Dropping it stops wrangler and its workerd children.
pub struct WorkerProcess {
    child: Child,
    options: WorkerOptions,
    pub port: u16,
    pub base_url: String,
    pub persist_dir: PathBuf,
    pub log_path: PathBuf,
}

impl WorkerProcess {
    /// Starts the Worker with Durable Objects persisted under `persist_dir`.
    pub fn start(persist_dir: &Path) -> WorkerProcess {
        WorkerProcess::start_with(persist_dir, WorkerOptions::default())
    }

    pub fn start_on(persist_dir: &Path, port: u16) -> WorkerProcess {
        let options = WorkerOptions {
            port: Some(port),
            ..WorkerOptions::default()
        };
        WorkerProcess::start_with(persist_dir, options)
    }

    /// Starts wrangler with `options`. A port picked here can be taken by another process between
    /// the pick and wrangler's bind (tests start Workers in parallel); then it tries new ports.
    pub fn start_with(persist_dir: &Path, options: WorkerOptions) -> WorkerProcess {
        let picked_here = options.port.is_none();
        let mut attempt = 1;
        loop {
            let mut options = options.clone();
            let port = *options.port.get_or_insert_with(free_port);
            match WorkerProcess::spawn(persist_dir, options, port) {
                Ok(worker) => return worker,
                Err(log)
                    if picked_here && attempt < 3 && log.contains("Address already in use") =>
                {
                    attempt += 1;
                }
                Err(log) => panic!("wrangler did not start on port {port}; log:\n{log}"),
            }
        }
    }

    fn spawn(
        persist_dir: &Path,
        options: WorkerOptions,
        port: u16,
    ) -> Result<WorkerProcess, String> {
        let root = repo_root();
        assert!(
            root.join("edge/build/entry.mjs").exists(),
            "the Worker is not built: run `cargo xtask build` (or `cargo xtask test`)"
        );
        let dev_vars = root.join(".dev.vars");
        if dev_vars.exists() {
            crate::dev_vars::DevVars::upgrade_provider_names(&dev_vars)
                .expect("name the provider secrets in .dev.vars per mode");
        }
        std::fs::create_dir_all(persist_dir).expect("create the persist folder");
        let log_path = persist_dir.join(format!("wrangler-{port}.log"));
        let log = File::create(&log_path).expect("create the wrangler log");
        let mut command = wrangler_command(&root);
        if !options.foreground {
            command.process_group(0);
        }
        let child = command
            .args(["dev", "--ip", "127.0.0.1", "--port", &port.to_string()])
            .args(["--inspector-port", &free_port().to_string()])
            .args([
                "--show-interactive-dev-session=false",
                "--live-reload=false",
            ])
            .args(var_args(&options.vars))
            .args(profile_args(options.profile, persist_dir))
            .arg("--persist-to")
            .arg(persist_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn wrangler (run `cargo xtask setup`)");
        let mut worker = WorkerProcess {
            child,
            options,
            port,
            base_url: format!("http://127.0.0.1:{port}"),
            persist_dir: persist_dir.to_path_buf(),
            log_path,
        };
        worker.wait_until_healthy()?;
        Ok(worker)
    }

    /// Waits for `/healthz`; the log if wrangler exits or never answers.
    fn wait_until_healthy(&mut self) -> Result<(), String> {
        let started = Instant::now();
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(2))
            .build();
        while started.elapsed() < START_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("wrangler exited with {status}\n{}", self.log()));
            }
            if agent
                .get(&format!("{}/healthz", self.base_url))
                .call()
                .is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(150));
        }
        Err(format!("wrangler did not become healthy\n{}", self.log()))
    }

    /// Everything wrangler and the Worker printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Stops this Worker and starts a new one on the same port and persist folder.
    pub fn restart(self) -> WorkerProcess {
        let (dir, options) = (self.persist_dir.clone(), self.options.clone());
        drop(self);
        WorkerProcess::start_with(&dir, options)
    }

    /// Waits for the process to exit (for `cargo xtask dev`, which runs until interrupted).
    pub fn wait(&mut self) {
        let _ = self.child.wait();
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let group = if self.options.foreground {
            self.child.id().to_string()
        } else {
            format!("-{}", self.child.id())
        };
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// Worker variables that turn the rate limits off (`edge/src/rate_limit.rs`): for a load
/// generator such as `cargo xtask bench`, which sends hundreds of grants and payments from one
/// address.
pub fn rate_limits_off() -> Vec<(String, String)> {
    [
        "RATE_TOKEN_PER_IP",
        "RATE_TOKEN_PER_SESSION",
        "RATE_PAY_PER_IP",
        "RATE_PAY_PER_SESSION",
        "RATE_WRONG_PASSWORD_PER_IP",
    ]
    .into_iter()
    .map(|name| (name.to_owned(), "0".to_owned()))
    .collect()
}

/// The demo flag and the static files for `profile`. The test pages are not in `www/` (which is
/// what a deployment serves): for the tests, `www/` and `tests/pages/` (as `test/`) are copied
/// into a folder of their own under `persist_dir`, and wrangler serves that one instead.
fn profile_args(profile: Profile, persist_dir: &Path) -> Vec<String> {
    let mut args = Vec::new();
    if profile != Profile::Production {
        args.extend(["--var".to_owned(), "CHECKOUT_DEMO:1".to_owned()]);
    }
    if profile == Profile::Test {
        let root = repo_root();
        let assets = persist_dir.join("assets");
        let _ = std::fs::remove_dir_all(&assets);
        copy_dir(&root.join("www"), &assets).expect("copy www/ for the test Worker");
        copy_dir(&root.join("tests/pages"), &assets.join("test"))
            .expect("copy tests/pages/ for the test Worker");
        append_test_headers(&root.join("tests/pages.headers"), &assets.join("_headers"))
            .expect("add the test pages' header rules for the test Worker");
        args.extend(["--assets".to_owned(), assets.display().to_string()]);
    }
    args
}

/// Appends the test pages' header rules (`tests/pages.headers`) to the copied `_headers`.
fn append_test_headers(rules: &Path, headers: &Path) -> std::io::Result<()> {
    let mut text = std::fs::read_to_string(headers)?;
    text.push('\n');
    text.push_str(&std::fs::read_to_string(rules)?);
    std::fs::write(headers, text)
}

/// Copies the folder `from` to `to`, recursively.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

/// `--var NAME:VALUE` for each extra variable.
fn var_args(vars: &[(String, String)]) -> Vec<String> {
    vars.iter()
        .flat_map(|(name, value)| ["--var".to_owned(), format!("{name}:{value}")])
        .collect()
}

/// `wrangler` from the project's pinned npm tools, with the project's Node first on PATH and
/// wrangler's network chatter turned off.
pub fn wrangler_command(root: &Path) -> Command {
    let bin = root.join("node_modules/.bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new(bin.join("wrangler"));
    command
        .current_dir(root)
        .env("PATH", path)
        .env("CI", "true")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_HIDE_BANNER", "true")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("WRANGLER_LOG_PATH", root.join(".state/wrangler-logs"))
        .env("CHECKOUT_SKIP_BUILD", "1");
    command
}
