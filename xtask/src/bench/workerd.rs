//! A built Worker in workerd itself, as Cloudflare runs it: no `wrangler dev`, no Miniflare entry
//! Worker, no Node proxy in front. The configuration is generated from `wrangler.toml` (the
//! `main` module and the files beside it, the compatibility date and flags, the Durable Object
//! bindings, `[vars]`) and `.dev.vars` (the secrets, as text bindings); every namespace is
//! SQLite-backed (`enableSql`) and stored on a local disk service, as `new_sqlite_classes` are.
//!
//! The schema is workerd's own, cloudflare/workerd `src/workerd/server/workerd.capnp`
//! (`Config`, `Worker.modules`, `Worker.Binding.text` / `.durableObjectNamespace`,
//! `Worker.DurableObjectNamespace.enableSql`, `Worker.durableObjectStorage.localDisk`,
//! `DiskDirectory`), with its samples (`samples/durable-objects-chat/config.capnp`,
//! `samples/helloworld_esm/config.capnp`) for the text form. `embed` paths are relative to the
//! config file (an absolute one is looked up in the import path), so the modules are copied
//! beside it. Static assets are left out: the measured routes are API routes.
//!
//! workerd has no rate-limiting binding type (Cloudflare serves `[[ratelimits]]`, and `wrangler
//! dev` emulates it in Miniflare), so each `[[ratelimits]]` entry becomes a wrapped binding
//! (`Worker.Binding.wrapped`, whose module must come from an `Extension` and be `internal`) over
//! our own module, `ratelimit.js`, with the same contract: a fixed window per key.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::shell::{root, Result};

/// How long workerd may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One module of a Worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// The module's name, as the others import it (`index_bg.wasm`).
    pub name: String,
    pub file: PathBuf,
    pub kind: ModuleKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleKind {
    EsModule,
    Wasm,
}

/// What workerd needs to run one Worker: its modules (the main one first) and its bindings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bundle {
    pub modules: Vec<Module>,
    pub compatibility_date: String,
    pub compatibility_flags: Vec<String>,
    /// `(binding name, class name)`, each class SQLite-backed.
    pub durable_objects: Vec<(String, String)>,
    /// Variables and secrets, by name; a later one of the same name replaces an earlier one.
    pub text: Vec<(String, String)>,
    /// `[[ratelimits]]`: the binding's name, its namespace, limit and period (s).
    pub ratelimits: Vec<RateLimitBinding>,
}

/// One `[[ratelimits]]` entry of `wrangler.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RateLimitBinding {
    pub name: String,
    pub namespace_id: String,
    pub simple: SimpleLimit,
}

/// `simple = { limit, period }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SimpleLimit {
    pub limit: u32,
    pub period: u32,
}

/// Our module behind the `[[ratelimits]]` bindings, under the name the config gives it.
const RATELIMIT_MODULE: (&str, &str) = ("checkout-bench:ratelimit", include_str!("ratelimit.js"));
const RATELIMIT_FILE: &str = "ratelimit.js";

/// The parts of `wrangler.toml` the bundle needs.
#[derive(Debug, Deserialize)]
struct Wrangler {
    main: String,
    compatibility_date: String,
    #[serde(default)]
    compatibility_flags: Vec<String>,
    #[serde(default)]
    vars: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    durable_objects: DurableObjects,
    #[serde(default)]
    ratelimits: Vec<RateLimitBinding>,
}

#[derive(Debug, Default, Deserialize)]
struct DurableObjects {
    #[serde(default)]
    bindings: Vec<DurableObjectBinding>,
}

#[derive(Debug, Deserialize)]
struct DurableObjectBinding {
    name: String,
    class_name: String,
}

impl Bundle {
    /// The Worker `wrangler.toml` describes (text `wrangler`), with the secrets of `.dev.vars`
    /// (text `dev_vars`) and `extra` variables on top.
    pub fn from_wrangler(
        root: &Path,
        wrangler: &str,
        dev_vars: &str,
        extra: &[(String, String)],
    ) -> Result<Bundle> {
        let config: Wrangler =
            toml::from_str(wrangler).map_err(|e| format!("wrangler.toml: {e}"))?;
        let modules = modules_of(&root.join(&config.main))?;
        let mut text: Vec<(String, String)> = config.vars.into_iter().collect();
        text.extend(parse_dev_vars(dev_vars));
        text.extend(extra.iter().cloned());
        Ok(Bundle {
            modules,
            compatibility_date: config.compatibility_date,
            compatibility_flags: config.compatibility_flags,
            durable_objects: config
                .durable_objects
                .bindings
                .into_iter()
                .map(|b| (b.name, b.class_name))
                .collect(),
            text: last_of_each_name(text),
            ratelimits: config.ratelimits,
        })
    }

    /// The same bindings with the modules of another build (`main` and the files beside it).
    pub fn with_main(self, main: &Path) -> Result<Bundle> {
        Ok(Bundle {
            modules: modules_of(main)?,
            ..self
        })
    }

    /// A worker-build output without bindings (the Rust hello world): `main` and its modules.
    pub fn built(main: &Path, compatibility_date: &str) -> Result<Bundle> {
        Ok(Bundle {
            modules: modules_of(main)?,
            compatibility_date: compatibility_date.to_owned(),
            ..Bundle::default()
        })
    }

    /// A Worker of one ES module and nothing else (a JS hello world).
    pub fn single_module(file: &Path, compatibility_date: &str) -> Result<Bundle> {
        Ok(Bundle {
            modules: vec![module(file, ModuleKind::EsModule)?],
            compatibility_date: compatibility_date.to_owned(),
            ..Bundle::default()
        })
    }

    /// The workerd config (Cap'n Proto text) serving this Worker on `127.0.0.1:{port}`, its
    /// modules embedded from the config's folder under their names, its Durable Objects stored
    /// in `storage`.
    pub fn config(&self, port: u16, storage: &Path) -> String {
        let modules: Vec<String> = self
            .modules
            .iter()
            .map(|m| {
                let kind = match m.kind {
                    ModuleKind::EsModule => "esModule",
                    ModuleKind::Wasm => "wasm",
                };
                format!(
                    "    (name = {name}, {kind} = embed {name}),\n",
                    name = capnp_text(&m.name)
                )
            })
            .collect();
        let mut bindings: Vec<String> = self
            .durable_objects
            .iter()
            .map(|(name, class)| {
                format!(
                    "    (name = {}, durableObjectNamespace = {}),\n",
                    capnp_text(name),
                    capnp_text(class)
                )
            })
            .collect();
        bindings.extend(self.text.iter().map(|(name, value)| {
            format!(
                "    (name = {}, text = {}),\n",
                capnp_text(name),
                capnp_text(value)
            )
        }));
        bindings.extend(self.ratelimits.iter().map(|r| {
            format!(
                "    (name = {}, wrapped = (moduleName = {}, innerBindings = [\
                 (name = \"namespace\", text = {}), (name = \"limit\", json = \"{}\"), \
                 (name = \"period\", json = \"{}\")])),\n",
                capnp_text(&r.name),
                capnp_text(RATELIMIT_MODULE.0),
                capnp_text(&r.namespace_id),
                r.simple.limit,
                r.simple.period
            )
        }));
        let extensions = if self.ratelimits.is_empty() {
            String::new()
        } else {
            format!(
                "  extensions = [(modules = [(name = {}, internal = true, esModule = embed {})])],\n",
                capnp_text(RATELIMIT_MODULE.0),
                capnp_text(RATELIMIT_FILE)
            )
        };
        let namespaces: Vec<String> = self
            .durable_objects
            .iter()
            .map(|(_, class)| {
                format!(
                    "    (className = {}, uniqueKey = {}, enableSql = true),\n",
                    capnp_text(class),
                    capnp_text(&format!("bench-{class}"))
                )
            })
            .collect();
        let flags: Vec<String> = self
            .compatibility_flags
            .iter()
            .map(|f| capnp_text(f))
            .collect();
        let (storage_service, storage_field) = if self.durable_objects.is_empty() {
            (String::new(), String::new())
        } else {
            (
                format!(
                    "    (name = \"do-storage\", disk = (path = {}, writable = true)),\n\
                     \x20   (name = \"outbound\", network = (allow = [\"public\", \"local\"])),\n",
                    capnp_text(&storage.display().to_string())
                ),
                // The provider simulators listen on loopback, which the default outbound refuses.
                "  durableObjectStorage = (localDisk = \"do-storage\"),\n  globalOutbound = \"outbound\",\n".to_owned(),
            )
        };
        format!(
            "# Generated by `cargo xtask bench` (xtask/src/bench/workerd.rs); schema: workerd.capnp.\n\
             using Workerd = import \"/workerd/workerd.capnp\";\n\n\
             const config :Workerd.Config = (\n\
             \x20 services = [\n\
             \x20   (name = \"main\", worker = .worker),\n\
             {storage_service}\
             \x20 ],\n\
             \x20 sockets = [(name = \"http\", address = \"127.0.0.1:{port}\", http = (), service = \"main\")],\n\
             {extensions}\
             );\n\n\
             const worker :Workerd.Worker = (\n\
             \x20 compatibilityDate = {date},\n\
             \x20 compatibilityFlags = [{flags}],\n\
             \x20 modules = [\n{modules}  ],\n\
             \x20 bindings = [\n{bindings}  ],\n\
             \x20 durableObjectNamespaces = [\n{namespaces}  ],\n\
             {storage_field}\
             );\n",
            date = capnp_text(&self.compatibility_date),
            flags = flags.join(", "),
            modules = modules.concat(),
            bindings = bindings.concat(),
            namespaces = namespaces.concat(),
        )
    }
}

/// The main module of the Worker's build in `dir`: its entry module (`edge/entry.mjs`, copied
/// there), or the glue itself in a build from before there was one (a `BENCH_BASELINE`).
pub fn main_of(dir: &Path) -> PathBuf {
    let entry = dir.join("entry.mjs");
    if entry.exists() {
        entry
    } else {
        dir.join("index.js")
    }
}

/// `main` first, then every `.js`/`.mjs` and `.wasm` file beside it (worker-build's output: the
/// glue and its wasm; its `worker/shim.mjs` sits in a subfolder and is left out).
fn modules_of(main: &Path) -> Result<Vec<Module>> {
    let folder = main
        .parent()
        .ok_or_else(|| format!("{}: no folder", main.display()))?;
    let mut modules = vec![module(main, ModuleKind::EsModule)?];
    let mut beside: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|e| format!("{}: {e} (not built?)", folder.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file() && path != main)
        .collect();
    beside.sort();
    for path in beside {
        match path.extension().and_then(|e| e.to_str()) {
            Some("js" | "mjs") => modules.push(module(&path, ModuleKind::EsModule)?),
            Some("wasm") => modules.push(module(&path, ModuleKind::Wasm)?),
            _ => {}
        }
    }
    Ok(modules)
}

fn module(file: &Path, kind: ModuleKind) -> Result<Module> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("{}: not a module file name", file.display()))?;
    Ok(Module {
        name: name.to_owned(),
        file: file.to_path_buf(),
        kind,
    })
}

/// `NAME=value` lines of a `.dev.vars` file (dotenv): a value in double quotes has its `\n`
/// escapes turned into line breaks, one in single quotes is taken as it is; comments and blank
/// lines are skipped.
pub fn parse_dev_vars(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| {
            let value = value.trim();
            let value = if let Some(inner) = quoted(value, '"') {
                inner.replace("\\n", "\n")
            } else if let Some(inner) = quoted(value, '\'') {
                inner.to_owned()
            } else {
                value.to_owned()
            };
            (name.trim().to_owned(), value)
        })
        .collect()
}

fn quoted(value: &str, quote: char) -> Option<&str> {
    value.strip_prefix(quote)?.strip_suffix(quote)
}

/// Keeps the last value of each name, in the order the names first came.
fn last_of_each_name(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, value) in pairs {
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => out.push((name, value)),
        }
    }
    out
}

/// A Cap'n Proto text literal: quoted, with `\`, `"` and control characters escaped.
fn capnp_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The workerd binary wrangler itself runs (the npm package's native build, not the Node
/// launcher in `node_modules/.bin`), so the process measured is workerd.
pub fn binary() -> Result<PathBuf> {
    let path = root().join("node_modules/@cloudflare/workerd-linux-64/bin/workerd");
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} is missing: run `cargo xtask setup`",
            path.display()
        ))
    }
}

/// A running `workerd serve`, pinned to one core. Dropping it stops it.
pub struct Workerd {
    child: Child,
    pub base_url: String,
    pub log_path: PathBuf,
    /// The objects' storage folder in memory (`BENCH_STORAGE=memory`), removed once stopped.
    in_memory: Option<PathBuf>,
}

/// Whether the objects' SQLite files are kept in memory: `BENCH_STORAGE=memory`.
pub fn storage_in_memory() -> bool {
    std::env::var("BENCH_STORAGE").is_ok_and(|v| v == "memory")
}

/// Where workerd keeps the objects' SQLite files: `dir/do` on this machine's disk, as `wrangler
/// dev` does, or with `BENCH_STORAGE=memory` a folder on `/dev/shm` (tmpfs), returned also as
/// the folder to remove. Every commit of an object's writes syncs its file: on this VM's disk
/// that is kernel time in workerd's threads (counted in its CPU) and waits the profiler sees as
/// `exec`. On Cloudflare the storage is another system, and its commits are not the isolate's
/// CPU time, so the in-memory setting is the closer measure of what the Worker's code costs.
fn storage_dir(dir: &Path) -> Result<(PathBuf, Option<PathBuf>)> {
    if !storage_in_memory() {
        return Ok((dir.join("do"), None));
    }
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let shm = Path::new("/dev/shm");
    if !shm.is_dir() {
        return Err("BENCH_STORAGE=memory needs /dev/shm (tmpfs)".to_owned());
    }
    let folder = shm.join(format!(
        "checkout-bench-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::SeqCst)
    ));
    Ok((folder.join("do"), Some(folder)))
}

impl Workerd {
    /// Writes `bundle`'s config and modules into `dir` and serves it on a free port, on `core`
    /// alone when given (`taskset` execs workerd, so the child is workerd itself).
    pub fn start(bundle: &Bundle, dir: &Path, core: Option<usize>) -> Result<Workerd> {
        Workerd::start_inspected(bundle, dir, core, None)
    }

    /// [`Workerd::start`], with the V8 inspector (Chrome DevTools Protocol) on
    /// `127.0.0.1:{inspector}` when given (`workerd serve --inspector-addr`).
    pub fn start_inspected(
        bundle: &Bundle,
        dir: &Path,
        core: Option<usize>,
        inspector: Option<u16>,
    ) -> Result<Workerd> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let (storage, in_memory) = storage_dir(dir)?;
        std::fs::create_dir_all(&storage).map_err(|e| format!("{}: {e}", storage.display()))?;
        for m in &bundle.modules {
            std::fs::copy(&m.file, dir.join(&m.name))
                .map_err(|e| format!("copy {}: {e}", m.file.display()))?;
        }
        if !bundle.ratelimits.is_empty() {
            crate::shell::write(&dir.join(RATELIMIT_FILE), RATELIMIT_MODULE.1)?;
        }
        let port = checkout_tests::free_port();
        let config = dir.join("config.capnp");
        crate::shell::write(&config, bundle.config(port, &storage))?;
        let log_path = dir.join("workerd.log");
        let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let workerd = binary()?;
        let mut command = match core {
            Some(core) => {
                let mut c = Command::new("taskset");
                c.args(["-c", &core.to_string()]).arg(&workerd);
                c
            }
            None => Command::new(&workerd),
        };
        // The inspector, for a CPU profile: `cargo xtask bench profile`, or `BENCH_INSPECTOR=<port>`
        // for `xtask/src/bench/profile.mjs` by hand.
        let inspector = inspector.or_else(|| {
            std::env::var("BENCH_INSPECTOR")
                .ok()
                .and_then(|p| p.parse().ok())
        });
        command.args(["serve", "config.capnp"]);
        if let Some(port) = inspector {
            command.arg(format!("--inspector-addr=127.0.0.1:{port}"));
        }
        let child = command
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("start workerd: {e}"))?;
        let mut server = Workerd {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            log_path,
            in_memory,
        };
        server.wait_until_answering()?;
        Ok(server)
    }

    fn wait_until_answering(&mut self) -> Result {
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(2))
            .build();
        let started = Instant::now();
        while started.elapsed() < START_TIMEOUT {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("workerd exited with {status}\n{}", self.log()));
            }
            match agent.get(&format!("{}/healthz", self.base_url)).call() {
                Ok(_) | Err(ureq::Error::Status(..)) => return Ok(()),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
        Err(format!("workerd did not answer\n{}", self.log()))
    }

    /// workerd's process id (`taskset` execs it, so it is the child's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The CPU time workerd has used so far (user and system, all its threads).
    pub fn cpu_time(&self) -> Result<Duration> {
        let path = format!("/proc/{}/stat", self.child.id());
        let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let ticks = cpu_ticks(&stat).ok_or_else(|| format!("{path}: no utime/stime"))?;
        Ok(Duration::from_secs_f64(
            ticks as f64 / clock_ticks_per_second(),
        ))
    }
}

impl Drop for Workerd {
    /// Stops workerd, then removes its in-memory storage folder.
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        let exited = |child: &mut Child| matches!(child.try_wait(), Ok(Some(_)));
        while Instant::now() < deadline && !exited(&mut self.child) {
            std::thread::sleep(Duration::from_millis(50));
        }
        if !exited(&mut self.child) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(folder) = self.in_memory.take() {
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}

/// utime + stime (fields 14 and 15 of proc(5)'s `/proc/<pid>/stat`), in clock ticks. The
/// command name (field 2) may hold spaces and parentheses, so fields count from its last `)`.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // `after_name` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks_per_second() -> f64 {
    crate::shell::output("getconf", &["CLK_TCK"])
        .and_then(|t| t.parse().ok())
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRANGLER: &str = r#"
main = "build/index.js"
compatibility_date = "2026-11-01"
[vars]
A = "1"
RATE_PAY_PER_IP = "60"
[[durable_objects.bindings]]
name = "SESSIONS"
class_name = "CheckoutSession"
[[ratelimits]]
name = "PER_ADDRESS"
namespace_id = "1001"
simple = { limit = 60, period = 10 }
"#;

    fn built_worker() -> PathBuf {
        let dir = checkout_tests::temp_dir("workerd-config");
        std::fs::create_dir_all(dir.join("build")).unwrap();
        for file in ["index.js", "index_bg.wasm", "package.json"] {
            std::fs::write(dir.join("build").join(file), "").unwrap();
        }
        dir
    }

    #[test]
    fn the_config_names_modules_bindings_and_sqlite_storage() {
        let dir = built_worker();
        let extra = [("RATE_PAY_PER_IP".to_owned(), "0".to_owned())];
        let bundle = Bundle::from_wrangler(
            &dir,
            WRANGLER,
            "KEY=\"a\\nb\"\n# c\nM='{\"x\":1}'\n",
            &extra,
        )
        .unwrap();
        let names: Vec<&str> = bundle.modules.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["index.js", "index_bg.wasm"]);
        let config = bundle.config(8787, Path::new("/tmp/do"));
        for expected in [
            "(name = \"index.js\", esModule = embed \"index.js\")",
            "(name = \"index_bg.wasm\", wasm = embed \"index_bg.wasm\")",
            "(name = \"SESSIONS\", durableObjectNamespace = \"CheckoutSession\")",
            "(className = \"CheckoutSession\", uniqueKey = \"bench-CheckoutSession\", enableSql = true)",
            "durableObjectStorage = (localDisk = \"do-storage\")",
            "disk = (path = \"/tmp/do\", writable = true)",
            "address = \"127.0.0.1:8787\"",
            "compatibilityDate = \"2026-11-01\"",
            "(name = \"A\", text = \"1\")",
            "(name = \"KEY\", text = \"a\\nb\")",
            "(name = \"M\", text = \"{\\\"x\\\":1}\")",
            "(name = \"RATE_PAY_PER_IP\", text = \"0\")",
            "(name = \"PER_ADDRESS\", wrapped = (moduleName = \"checkout-bench:ratelimit\", \
             innerBindings = [(name = \"namespace\", text = \"1001\"), \
             (name = \"limit\", json = \"60\"), (name = \"period\", json = \"10\")]))",
            "extensions = [(modules = [(name = \"checkout-bench:ratelimit\", internal = true, \
             esModule = embed \"ratelimit.js\")])]",
        ] {
            assert!(config.contains(expected), "{expected} missing from\n{config}");
        }
        assert!(
            !config.contains("text = \"60\""),
            "the override replaces the default"
        );
    }

    #[test]
    fn a_worker_without_objects_has_no_storage() {
        let dir = built_worker();
        let bundle = Bundle::single_module(&dir.join("build/index.js"), "2026-11-01").unwrap();
        let config = bundle.config(1, Path::new("/tmp/do"));
        assert!(!config.contains("durableObjectStorage"));
        assert!(!config.contains("disk ="));
    }

    #[test]
    fn cpu_ticks_count_from_the_last_parenthesis() {
        let stat = "42 (work (er) d) S 1 42 42 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 9 0 5 1 2";
        assert_eq!(cpu_ticks(stat), Some(281));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn text_literals_escape_quotes_backslashes_and_line_breaks() {
        assert_eq!(capnp_text("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\x01\"");
    }
}
