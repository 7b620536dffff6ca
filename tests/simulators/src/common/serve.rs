//! Starting and stopping a simulator: the loopback server, the origin browsers use, the state
//! the handlers share, and the flag that ends background threads (notification retries, refund
//! settlement, tickers) when the simulator is dropped.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::http::{Reply, Request, Response, Server};

/// Set once the simulator is dropped; background threads sleep through it and give up.
#[derive(Debug, Clone, Default)]
pub(crate) struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub(crate) fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub(crate) fn stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Sleeps in short slices; false if the simulator stopped meanwhile.
    pub(crate) fn sleep(&self, duration: Duration) -> bool {
        let until = Instant::now() + duration;
        while !self.stopped() {
            let now = Instant::now();
            if now >= until {
                return true;
            }
            thread::sleep(Duration::from_millis(10).min(until - now));
        }
        false
    }

    /// Runs `work` on a thread named `name` after `delay`, unless the simulator stops first.
    pub(crate) fn after(&self, name: &str, delay: Duration, work: impl FnOnce() + Send + 'static) {
        let stop = self.clone();
        let _ = thread::Builder::new().name(name.into()).spawn(move || {
            if stop.sleep(delay) {
                work();
            }
        });
    }
}

/// The state behind `mutex`, even if a handler panicked while holding it (tests should still
/// see it).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A bound simulator: its server, and the flag its background threads watch. Dropping it stops
/// both.
pub(crate) struct Instance {
    server: Option<Server>,
    stop: StopFlag,
}

impl Instance {
    /// Listens on `127.0.0.1:port` (0 picks a free port) and serves `route` over the state
    /// `build` makes from the origin and the stop flag.
    ///
    /// The origin is `public_origin` (without a trailing `/`), else `http://127.0.0.1:PORT`, so it
    /// is known only once the port is bound; the handler reads the state through a cell filled in
    /// before the first request can be served (an earlier one gets a 503).
    pub(crate) fn start<S, R>(
        port: u16,
        public_origin: Option<&str>,
        build: impl FnOnce(String, StopFlag) -> S,
        route: R,
    ) -> io::Result<(Instance, Arc<S>)>
    where
        S: Send + Sync + 'static,
        R: Fn(&Arc<S>, Request) -> Reply + Send + Sync + 'static,
    {
        let cell: Arc<OnceLock<Arc<S>>> = Arc::new(OnceLock::new());
        let reader = cell.clone();
        let handler = Arc::new(move |request: Request| match reader.get() {
            Some(shared) => route(shared, request),
            None => Reply::Respond(Response::empty(503)),
        });
        let server = Server::start(port, handler)?;
        let origin = public_origin
            .map(|o| o.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://127.0.0.1:{}", server.port()));
        let stop = StopFlag::default();
        let shared = Arc::new(build(origin, stop.clone()));
        let _ = cell.set(shared.clone());
        let instance = Instance {
            server: Some(server),
            stop,
        };
        Ok((instance, shared))
    }

    pub(crate) fn port(&self) -> u16 {
        self.server.as_ref().map_or(0, Server::port)
    }

    /// `http://127.0.0.1:PORT`, where the API is served.
    pub(crate) fn local_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.stop.stop();
        self.server.take();
    }
}
