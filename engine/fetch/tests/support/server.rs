//! A small HTTP/1.1 server on loopback for the fetch tests and benchmark:
//! each path answers with a configured [`Route`] (bytes, a status, a redirect,
//! a hostile body), one connection per request (`Connection: close`).
//!
//! Shared by `engine/fetch/tests`, `engine/fetch/benches` and
//! `engine/cli/tests` through `#[path]`.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What one path answers.
#[derive(Clone)]
pub enum Route {
    /// 200 with these bytes and a `Content-Length`.
    Bytes(Arc<Vec<u8>>),
    /// 200 with a file's bytes (streamed with `std::io::copy`) and a `Content-Length`.
    File(PathBuf),
    /// 200 with these bytes, no `Content-Length`; the end is the close.
    NoLength(Arc<Vec<u8>>),
    /// 200 announcing `length` bytes but sending only `bytes`, then closing.
    Truncated { bytes: Arc<Vec<u8>>, length: u64 },
    /// 200 without a length, then bytes for ever (until the client goes away).
    Endless,
    /// 200 announcing `length`, sending `bytes` and then nothing, holding the
    /// connection open for `stall`.
    Stall {
        bytes: Arc<Vec<u8>>,
        length: u64,
        stall: Duration,
    },
    /// 200 announcing `length`, then `chunk` bytes (`b'T'`) every `every`
    /// until `length` bytes are sent or the client goes away: a slow server.
    Trickle {
        length: u64,
        chunk: usize,
        every: Duration,
    },
    /// A status with a short body.
    Status(u16),
    /// A redirect (`status` 301/302/307/308) to `location`.
    Redirect { status: u16, location: String },
}

/// The server; stops accepting when dropped.
pub struct Server {
    pub addr: std::net::SocketAddr,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
        let addr = listener.local_addr().unwrap();
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (routes, hits, stop) = (routes.clone(), hits.clone(), stop.clone());
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (routes, hits) = (routes.clone(), hits.clone());
                    std::thread::spawn(move || {
                        let _ = serve(conn, &routes, &hits);
                    });
                }
            });
        }
        Server {
            addr,
            routes,
            hits,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT/path`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn route(&self, path: &str, route: Route) -> String {
        self.routes.lock().unwrap().insert(path.to_owned(), route);
        self.url(path)
    }

    /// Requests received for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(
    conn: TcpStream,
    routes: &Mutex<HashMap<String, Route>>,
    hits: &Mutex<HashMap<String, usize>>,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_owned();
    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let route = routes
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or(Route::Status(404));
    let mut out = conn;
    let head = |status: u16, reason: &str, extra: &str| {
        format!(
            "HTTP/1.1 {status} {reason}\r\nServer: wport-test\r\nConnection: close\r\n{extra}\r\n"
        )
    };
    match route {
        Route::Bytes(bytes) => {
            out.write_all(
                head(200, "OK", &format!("Content-Length: {}\r\n", bytes.len())).as_bytes(),
            )?;
            out.write_all(&bytes)?;
        }
        Route::File(path) => {
            let mut f = std::fs::File::open(&path)?;
            let len = f.metadata()?.len();
            out.write_all(head(200, "OK", &format!("Content-Length: {len}\r\n")).as_bytes())?;
            std::io::copy(&mut f, &mut out)?;
        }
        Route::NoLength(bytes) => {
            out.write_all(head(200, "OK", "").as_bytes())?;
            out.write_all(&bytes)?;
        }
        Route::Truncated { bytes, length } => {
            out.write_all(head(200, "OK", &format!("Content-Length: {length}\r\n")).as_bytes())?;
            out.write_all(&bytes)?;
        }
        Route::Endless => {
            out.write_all(head(200, "OK", "").as_bytes())?;
            let chunk = vec![b'A'; 64 * 1024];
            // Until the client hangs up (write fails).
            loop {
                out.write_all(&chunk)?;
            }
        }
        Route::Stall {
            bytes,
            length,
            stall,
        } => {
            out.write_all(head(200, "OK", &format!("Content-Length: {length}\r\n")).as_bytes())?;
            out.write_all(&bytes)?;
            out.flush()?;
            std::thread::sleep(stall);
        }
        Route::Trickle {
            length,
            chunk,
            every,
        } => {
            out.write_all(head(200, "OK", &format!("Content-Length: {length}\r\n")).as_bytes())?;
            out.flush()?;
            let mut sent = 0u64;
            while sent < length {
                let n = (chunk as u64).min(length - sent);
                out.write_all(&vec![b'T'; n as usize])?;
                out.flush()?;
                sent += n;
                std::thread::sleep(every);
            }
        }
        Route::Status(status) => {
            let body = format!("status {status}\n");
            out.write_all(
                head(
                    status,
                    "Test",
                    &format!("Content-Length: {}\r\n", body.len()),
                )
                .as_bytes(),
            )?;
            out.write_all(body.as_bytes())?;
        }
        Route::Redirect { status, location } => {
            out.write_all(
                head(
                    status,
                    "Redirect",
                    &format!("Location: {location}\r\nContent-Length: 0\r\n"),
                )
                .as_bytes(),
            )?;
        }
    }
    out.flush()?;
    let _ = out.shutdown(Shutdown::Write);
    // Drain what the client may still send, so the close is orderly.
    let mut sink = [0u8; 1024];
    let _ = reader
        .get_mut()
        .set_read_timeout(Some(Duration::from_millis(200)));
    while let Ok(n) = reader.read(&mut sink) {
        if n == 0 {
            break;
        }
    }
    Ok(())
}

/// The upstream tarballs the real ports pin, from `$WPORT_REAL_SOURCES`.
pub fn real_sources_dir() -> PathBuf {
    let dir = std::env::var_os("WPORT_REAL_SOURCES").unwrap_or_else(|| {
        panic!(
            "WPORT_REAL_SOURCES is not set. These tests serve real upstream tarballs: run the suite with \
             `scripts/test` (the README's test command), which fetches them and sets it"
        )
    });
    PathBuf::from(dir)
}

/// A real tarball by file name, with its bytes.
pub fn real_source(name: &str) -> Vec<u8> {
    let path = real_sources_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `scripts/fetch-real-sources $WPORT_REAL_SOURCES`",
            path.display()
        )
    })
}
