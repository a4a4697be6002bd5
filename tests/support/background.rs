//! The tasks behind the test servers. A [`Background`] task stops when its handle is dropped, so
//! a server lives exactly as long as the test holds it.

use std::future::Future;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// A spawned task that is aborted when this handle is dropped.
pub struct Background(JoinHandle<()>);

impl Background {
    /// Spawns `task` on the current tokio runtime.
    pub fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Background {
        Background(tokio::spawn(task))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Accepts every connection on `listener` and serves each with `serve` in a task of its own.
/// Dropping the handle closes the listener and aborts every open connection (their `JoinSet`
/// goes with the accept loop).
pub fn accept_each<F, Fut>(listener: TcpListener, serve: F) -> Background
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Background::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            connections.spawn(serve(tcp));
            // Reap finished connections so the set does not grow without bound.
            while connections.try_join_next().is_some() {}
        }
    })
}
