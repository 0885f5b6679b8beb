//! A TCP proxy between a client and the apiserver that a test can stall, slow down or cut.
//!
//! TLS passes through untouched (the proxy sees only bytes), so a kubeconfig pointing at
//! the proxy with `insecure-skip-tls-verify` works as one pointing at the apiserver
//! ([`Cluster::kubeconfig_through`](super::Cluster::kubeconfig_through)).
//!
//! - [`Proxy::stall`]: a blackhole. Open connections stay open, but no byte moves either
//!   way; new connections are accepted and held the same way. What a client sees is a
//!   silent peer: only its own timeouts can notice.
//! - [`Proxy::slow`]: every chunk waits before it is passed on.
//! - [`Proxy::sever`]: closes every open connection at once (new ones are served).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::{Result, io};

/// What every connection does now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Control {
    forwarding: bool,
    delay: Duration,
    /// Bumped by [`Proxy::sever`]: connections opened before are closed.
    generation: u64,
}

/// A running proxy on `127.0.0.1`, stopped (with its connections) when dropped.
pub struct Proxy {
    addr: SocketAddr,
    control: watch::Sender<Control>,
    open: Arc<AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`. The
    /// proxy runs on the caller's tokio runtime.
    pub async fn start(upstream: SocketAddr) -> Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(io("binding the proxy"))?;
        let addr = listener.local_addr().map_err(io("binding the proxy"))?;
        let (control, _) = watch::channel(Control { forwarding: true, delay: Duration::ZERO, generation: 0 });
        let open = Arc::new(AtomicUsize::new(0));
        let accept = tokio::spawn(accept_loop(listener, upstream, control.clone(), open.clone()));
        Ok(Proxy { addr, control, open, accept })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops moving bytes, keeping every connection open (a blackhole).
    pub fn stall(&self) {
        self.control.send_modify(|c| c.forwarding = false);
    }

    /// Moves bytes again, at full speed.
    pub fn resume(&self) {
        self.control.send_modify(|c| {
            c.forwarding = true;
            c.delay = Duration::ZERO;
        });
    }

    /// Delays every chunk by `delay` before passing it on.
    pub fn slow(&self, delay: Duration) {
        self.control.send_modify(|c| c.delay = delay);
    }

    /// Closes every open connection; later ones are served as usual.
    pub fn sever(&self) {
        self.control.send_modify(|c| c.generation += 1);
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        // Dropping the sender ends every connection: their receivers see it closed.
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    control: watch::Sender<Control>,
    open: Arc<AtomicUsize>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let control = control.subscribe();
        let open = open.clone();
        tokio::spawn(async move {
            open.fetch_add(1, Ordering::Relaxed);
            connection(client, upstream, control).await;
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// Pipes one connection until either side closes, the proxy is severed or dropped.
async fn connection(mut client: TcpStream, upstream: SocketAddr, control: watch::Receiver<Control>) {
    let generation = control.borrow().generation;
    let Ok(mut server) = TcpStream::connect(upstream).await else { return };
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    tokio::select! {
        () = forward(&mut client_read, &mut server_write, control.clone(), generation) => {}
        () = forward(&mut server_read, &mut client_write, control, generation) => {}
    }
}

/// Copies one direction, honouring the control; returns when it should close.
async fn forward(
    from: &mut (impl AsyncReadExt + Unpin),
    to: &mut (impl AsyncWriteExt + Unpin),
    mut control: watch::Receiver<Control>,
    generation: u64,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let Some(delay) = wait_forwarding(&mut control, generation).await else { return };
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            () = severed(&mut control, generation) => return,
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        // A stall that began during the read holds this chunk too.
        if wait_forwarding(&mut control, generation).await.is_none() || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Waits until bytes may move; the chunk delay, or `None` when the connection must close.
async fn wait_forwarding(control: &mut watch::Receiver<Control>, generation: u64) -> Option<Duration> {
    let c = *control.wait_for(|c| c.forwarding || c.generation != generation).await.ok()?;
    (c.generation == generation).then_some(c.delay)
}

/// Resolves when the connection is severed or the proxy dropped.
async fn severed(control: &mut watch::Receiver<Control>, generation: u64) {
    let _ = control.wait_for(|c| c.generation != generation).await;
}
