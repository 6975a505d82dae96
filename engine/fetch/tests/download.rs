//! Fetching over a real HTTP server on loopback: real upstream tarballs (the
//! Debian pristine ones the ports pin, from `$WPORT_REAL_SOURCES`) and hostile
//! responses, each asserting the precise outcome: what is in the store, what is
//! in quarantine, which error names which URL.

#![allow(clippy::disallowed_methods, reason = "a test: mkfifo makes a fixture")]

#[path = "support/server.rs"]
mod server;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use server::{Route, Server, real_source};
use wport_fetch::download::{AttemptError, FetchError, Fetcher, Origin, Progress, Request};
use wport_fetch::quarantine::{Mismatch, Quarantine};
use wport_fetch::store::Store;
use wport_fetch::transport::{
    HttpTransport, RedirectError, Reply, Transport, TransportConfig, TransportError,
};
use wport_fetch::verify::{Expected, Sha256};

/// The real tarballs: Debian orig file name, the sha256 the port pins.
const REAL: &[(&str, &str, &str)] = &[
    (
        "hello",
        "hello_2.10.orig.tar.gz",
        "31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b",
    ),
    (
        "tree",
        "tree_2.1.0.orig.tar.gz",
        "0160c535bff2b0dc6a830b9944e981e3427380f63e748da96ced7071faebabf6",
    ),
    (
        "bzip2",
        "bzip2_1.0.8.orig.tar.gz",
        "ab5a03176ee106d3f0fa90e381da478ddae405918153cca248e682cd0c4a2269",
    ),
    (
        "lua",
        "lua5.4_5.4.4.orig.tar.gz",
        "164c7849653b80ae67bec4b7473b884bf5cc8d2dca05653475ec2ed27b9ebf61",
    ),
    (
        "zlib",
        "zlib_1.2.13.dfsg.orig.tar.bz2",
        "71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1",
    ),
    (
        "xz",
        "xz-utils_5.4.1.orig.tar.xz",
        "5d9827aa1875b21c288f78864bb26d2650b436ea8d2cad364e4921eb6266a5a5",
    ),
    (
        "gzip",
        "gzip_1.12.orig.tar.xz",
        "ce5e03e519f637e1f814011ace35c4f87b33c0bbabeec35baf5fbd3479e91956",
    ),
];

struct Env {
    _tmp: tempfile::TempDir,
    fetcher: Fetcher,
    store_dir: std::path::PathBuf,
    quarantine_dir: std::path::PathBuf,
}

fn env_with(config: TransportConfig) -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let store_dir = tmp.path().join("distfiles");
    let quarantine_dir = tmp.path().join("quarantine");
    let fetcher = Fetcher::new(
        Arc::new(HttpTransport::new(config.clone())),
        Store::open(&store_dir).unwrap(),
        Quarantine::new(&quarantine_dir),
    )
    .with_config(&config);
    Env {
        _tmp: tmp,
        fetcher,
        store_dir,
        quarantine_dir,
    }
}

fn env() -> Env {
    env_with(TransportConfig {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        ..TransportConfig::default()
    })
}

fn request(port: &str, file: &str, urls: Vec<String>, bytes: &[u8]) -> Request {
    Request {
        port: port.into(),
        file: file.into(),
        urls,
        expected: Expected {
            sha256: Sha256::of(bytes),
            size: bytes.len() as u64,
        },
        upstream_contact: format!("bug-{port}@example.org"),
    }
}

/// Names in a directory, sorted (the store's temporaries included; its
/// lock file, which is always there, left out).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".lock")
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn hello() -> Vec<u8> {
    real_source("hello_2.10.orig.tar.gz")
}

#[test]
fn real_tarballs_fetched_in_parallel_verified_and_stored_once() {
    let server = Server::start();
    let e = env();
    let mut reqs = Vec::new();
    for (port, file, sha) in REAL {
        let bytes = real_source(file);
        assert_eq!(
            Sha256::of(&bytes).to_string(),
            *sha,
            "{file} in $WPORT_REAL_SOURCES is not the pinned tarball"
        );
        let url = server.route(&format!("/{file}"), Route::Bytes(Arc::new(bytes.clone())));
        reqs.push(request(port, file, vec![url], &bytes));
    }
    // A second port using hello's tarball: fetched once for both.
    let mut twin = reqs[0].clone();
    twin.port = "hello-twin".into();
    reqs.push(twin);

    let results = e.fetcher.fetch_all(&reqs, 3, &Progress::quiet());
    for (r, req) in results.iter().zip(&reqs) {
        let f = r.as_ref().unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(f.path, e.store_dir.join(req.expected.sha256.to_string()));
        assert_eq!(
            Sha256::of(&std::fs::read(&f.path).unwrap()),
            req.expected.sha256
        );
    }
    assert!(matches!(
        results[0].as_ref().unwrap().origin,
        Origin::Downloaded { .. }
    ));
    assert_eq!(results[REAL.len()].as_ref().unwrap().origin, Origin::Store);
    assert_eq!(server.hits(&format!("/{}", REAL[0].1)), 1);
    let mut want: Vec<String> = REAL.iter().map(|r| r.2.to_owned()).collect();
    want.sort();
    assert_eq!(
        names(&e.store_dir),
        want,
        "the store holds the digests and nothing else"
    );
    assert!(names(&e.quarantine_dir).is_empty());

    // Again: everything comes from the store, no request is made.
    for r in e.fetcher.fetch_all(&reqs, 3, &Progress::quiet()) {
        assert_eq!(r.unwrap().origin, Origin::Store);
    }
    for (_, file, _) in REAL {
        assert_eq!(server.hits(&format!("/{file}")), 1, "{file} fetched twice");
    }
}

#[test]
fn file_url_of_a_real_tarball() {
    let e = env();
    let path = server::real_sources_dir().join("tree_2.1.0.orig.tar.gz");
    let bytes = std::fs::read(&path).unwrap();
    let req = request(
        "tree",
        "tree-2.1.0.tgz",
        vec![format!("file://{}", path.display())],
        &bytes,
    );
    let f = e.fetcher.fetch(&req, &Progress::quiet()).unwrap();
    assert_eq!(std::fs::read(f.path).unwrap(), bytes);
}

#[test]
fn file_url_that_is_not_a_regular_file_is_refused() {
    let e = env();
    let req = request("x", "x.tar", vec!["file:///dev/zero".into()], b"abc");
    let err = e.fetcher.fetch(&req, &Progress::quiet()).unwrap_err();
    assert!(
        matches!(
            &err.attempts()[0].error,
            AttemptError::Transport(TransportError::NotRegularFile {
                kind: "character device",
                ..
            })
        ),
        "{err}"
    );
}

/// The one quarantined record of a failed fetch, with the payload's bytes.
fn only_quarantined(e: &Env, err: &FetchError) -> (wport_fetch::quarantine::Record, Vec<u8>) {
    let recs = err.quarantined();
    assert_eq!(recs.len(), 1, "{err}");
    let rec = recs[0].clone();
    let payload = std::fs::read(e.quarantine_dir.join(&rec.id).join("payload")).unwrap();
    (rec, payload)
}

#[test]
fn wrong_hash_is_quarantined_not_stored_and_the_message_says_what_to_do() {
    let server = Server::start();
    let e = env();
    let good = hello();
    let mut evil = good.clone();
    evil[1000] ^= 0x55;
    let url = server.route("/hello-2.10.tar.gz", Route::Bytes(Arc::new(evil.clone())));
    let req = request("hello", "hello-2.10.tar.gz", vec![url.clone()], &good);
    let err = e.fetcher.fetch(&req, &Progress::quiet()).unwrap_err();
    assert!(matches!(err, FetchError::Quarantined { .. }), "{err}");
    let (rec, payload) = only_quarantined(&e, &err);
    assert_eq!(payload, evil, "the bytes are kept as received");
    assert_eq!(rec.mismatch, Mismatch::Sha256);
    assert_eq!(
        (rec.port.as_str(), rec.file.as_str()),
        ("hello", "hello-2.10.tar.gz")
    );
    assert_eq!(
        (
            rec.url.as_str(),
            rec.mirror.as_str(),
            rec.final_url.as_str()
        ),
        (url.as_str(), url.as_str(), url.as_str())
    );
    assert_eq!(rec.expected_sha256, Sha256::of(&good).to_string());
    assert_eq!(rec.kept_sha256, Sha256::of(&evil).to_string());
    assert_eq!(
        (rec.expected_size, rec.kept_size),
        (good.len() as u64, evil.len() as u64)
    );
    assert_eq!(rec.http_status, Some(200));
    assert!(
        rec.http_headers
            .iter()
            .any(|(k, v)| k == "server" && v == "wport-test"),
        "{:?}",
        rec.http_headers
    );
    assert_eq!(rec.upstream_contact, "bug-hello@example.org");
    assert!(
        names(&e.store_dir).is_empty(),
        "nothing enters the store: {:?}",
        names(&e.store_dir)
    );

    let msg = err.to_string();
    for needle in [
        "port hello",
        "hello-2.10.tar.gz",
        &url,
        "do NOT re-pin",
        "bug-hello@example.org",
        &rec.id,
        "sha256 mismatch",
    ] {
        assert!(msg.contains(needle), "message lacks {needle:?}:\n{msg}");
    }
    // The linter's view: the bad digest is held.
    let held = wport_fetch::held_sha256s(&e.quarantine_dir);
    assert!(held.contains(&Sha256::of(&evil)));
}

#[test]
fn oversized_response_stops_at_the_declared_size() {
    let server = Server::start();
    let e = env();
    let good = hello();
    let mut big = good.clone();
    big.push(b'!');
    let url = server.route("/big", Route::Bytes(Arc::new(big)));
    let err = e
        .fetcher
        .fetch(
            &request("hello", "h.tgz", vec![url], &good),
            &Progress::quiet(),
        )
        .unwrap_err();
    let (rec, payload) = only_quarantined(&e, &err);
    assert_eq!(rec.mismatch, Mismatch::SizeExceeded);
    // Issue 11, item 11: what is kept is exactly the body up to the bound,
    // recorded as a truncated prefix, with what was received beside it.
    assert_eq!(
        payload, good,
        "the first 725946 bytes, nothing past the bound"
    );
    assert!(rec.truncated);
    assert_eq!(rec.kept_size, good.len() as u64);
    assert_eq!(rec.kept_sha256, Sha256::of(&good).to_string());
    assert_eq!(rec.received_size, good.len() as u64 + 1);
    let msg = err.to_string();
    assert!(msg.contains("more than the pinned 725946 bytes"), "{msg}");
    assert!(
        msg.contains("kept the first 725946 bytes of the 725947+ received"),
        "{msg}"
    );
    // A prefix's digest is no file's digest: the linter must not flag the
    // (right) pin just because a longer body began with it.
    assert!(!wport_fetch::held_sha256s(&e.quarantine_dir).contains(&Sha256::of(&good)));
}

#[test]
fn short_response_is_a_size_mismatch() {
    let server = Server::start();
    let e = env();
    let good = hello();
    let url = server.route("/short", Route::NoLength(Arc::new(good[..1000].to_vec())));
    let err = e
        .fetcher
        .fetch(
            &request("hello", "h.tgz", vec![url], &good),
            &Progress::quiet(),
        )
        .unwrap_err();
    let (rec, payload) = only_quarantined(&e, &err);
    assert_eq!(rec.mismatch, Mismatch::ShortSize);
    assert_eq!(payload, good[..1000]);
    assert!(
        err.to_string()
            .contains("size mismatch: expected 725946 bytes, the stream ended after 1000"),
        "{err}"
    );
}

#[test]
fn truncated_transfer_is_a_network_failure_not_evidence() {
    let server = Server::start();
    let e = env();
    let good = hello();
    let url = server.route(
        "/trunc",
        Route::Truncated {
            bytes: Arc::new(good[..5000].to_vec()),
            length: good.len() as u64,
        },
    );
    let err = e
        .fetcher
        .fetch(
            &request("hello", "h.tgz", vec![url.clone()], &good),
            &Progress::quiet(),
        )
        .unwrap_err();
    assert!(matches!(err, FetchError::Failed { .. }), "{err}");
    assert!(
        matches!(&err.attempts()[0].error, AttemptError::Transfer { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&url));
    assert!(
        names(&e.store_dir).is_empty(),
        "the partial file is removed: {:?}",
        names(&e.store_dir)
    );
    assert!(names(&e.quarantine_dir).is_empty());
}

#[test]
fn endless_response_is_cut_off_at_once() {
    let server = Server::start();
    let e = env();
    let pinned = vec![b'A'; 3 * 1024 * 1024];
    let mut expected_other = pinned.clone();
    expected_other[0] = b'B';
    let url = server.route("/endless", Route::Endless);
    let started = Instant::now();
    let err = e
        .fetcher
        .fetch(
            &request("inf", "inf.tar", vec![url], &expected_other),
            &Progress::quiet(),
        )
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    let (rec, payload) = only_quarantined(&e, &err);
    assert_eq!(rec.mismatch, Mismatch::SizeExceeded);
    assert_eq!(
        payload, pinned,
        "kept up to the bound, not a shorter prefix"
    );
    assert!(rec.truncated && rec.received_size > rec.kept_size);
}

#[test]
fn stalled_server_times_out() {
    let server = Server::start();
    let e = env_with(TransportConfig {
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_millis(400),
        ..TransportConfig::default()
    });
    let good = hello();
    let url = server.route(
        "/slow",
        Route::Stall {
            bytes: Arc::new(good[..100].to_vec()),
            length: good.len() as u64,
            stall: Duration::from_secs(5),
        },
    );
    let started = Instant::now();
    let err = e
        .fetcher
        .fetch(
            &request("hello", "h.tgz", vec![url], &good),
            &Progress::quiet(),
        )
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    match &err.attempts()[0].error {
        AttemptError::Transfer { source, .. } => {
            assert_eq!(source.kind(), std::io::ErrorKind::TimedOut, "{source}")
        }
        other => panic!("{other}"),
    }
    assert!(names(&e.store_dir).is_empty());
}

#[test]
fn redirects_are_followed_relative_and_absolute() {
    let server = Server::start();
    let e = env();
    let good = hello();
    server.route("/real/hello.tgz", Route::Bytes(Arc::new(good.clone())));
    server.route(
        "/b",
        Route::Redirect {
            status: 302,
            location: "real/hello.tgz".into(),
        },
    );
    let url = server.route(
        "/a",
        Route::Redirect {
            status: 301,
            location: server.url("/b"),
        },
    );
    let f = e
        .fetcher
        .fetch(
            &request("hello", "h.tgz", vec![url.clone()], &good),
            &Progress::quiet(),
        )
        .unwrap();
    match f.origin {
        Origin::Downloaded {
            url: u, final_url, ..
        } => {
            assert_eq!(u, url);
            assert_eq!(final_url, server.url("/real/hello.tgz"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn redirect_loop_stops_with_a_clear_error() {
    let server = Server::start();
    let e = env();
    server.route(
        "/loop1",
        Route::Redirect {
            status: 302,
            location: "/loop2".into(),
        },
    );
    let url = server.route(
        "/loop2",
        Route::Redirect {
            status: 307,
            location: "/loop1".into(),
        },
    );
    let err = e
        .fetcher
        .fetch(&request("p", "f.tar", vec![url], b"x"), &Progress::quiet())
        .unwrap_err();
    match &err.attempts()[0].error {
        AttemptError::Redirect(RedirectError::Loop { chain }) => {
            assert!(chain.contains("/loop1 -> "), "{chain}")
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("redirect loop"), "{err}");
}

#[test]
fn long_redirect_chain_is_refused() {
    let server = Server::start();
    let e = env();
    for i in 0..20 {
        server.route(
            &format!("/r{i}"),
            Route::Redirect {
                status: 302,
                location: format!("/r{}", i + 1),
            },
        );
    }
    let err = e
        .fetcher
        .fetch(
            &request("p", "f.tar", vec![server.url("/r0")], b"x"),
            &Progress::quiet(),
        )
        .unwrap_err();
    assert!(
        matches!(
            &err.attempts()[0].error,
            AttemptError::Redirect(RedirectError::TooMany { max: 10, .. })
        ),
        "{err}"
    );
}

#[test]
fn redirect_to_another_scheme_is_refused_end_to_end() {
    let server = Server::start();
    let e = env();
    let secret = e.store_dir.parent().unwrap().join("secret.tar");
    std::fs::write(&secret, b"local secret").unwrap();
    for (path, target) in [
        ("/to-file", format!("file://{}", secret.display())),
        ("/to-ftp", "ftp://example.org/x.tar".into()),
    ] {
        let url = server.route(
            path,
            Route::Redirect {
                status: 302,
                location: target.clone(),
            },
        );
        let err = e
            .fetcher
            .fetch(
                &request("p", "secret.tar", vec![url.clone()], b"local secret"),
                &Progress::quiet(),
            )
            .unwrap_err();
        match &err.attempts()[0].error {
            AttemptError::Redirect(RedirectError::Scheme { from, to }) => {
                assert_eq!((from, to), (&url, &target));
            }
            other => panic!("{other}"),
        }
    }
    assert!(
        names(&e.store_dir).is_empty(),
        "the local file was not read into the store"
    );
}

/// A transport answering from a table, for the https origin (no TLS on loopback).
struct Table(Vec<(&'static str, &'static str)>);

impl Transport for Table {
    fn get(&self, url: &str) -> Result<Reply, TransportError> {
        match self.0.iter().find(|(from, _)| *from == url) {
            Some((_, to)) => Ok(Reply::Redirect {
                status: 302,
                headers: vec![],
                location: (*to).into(),
            }),
            None => Ok(Reply::Body {
                status: Some(200),
                headers: vec![],
                length: Some(1),
                body: Box::new(std::io::Cursor::new(b"x".to_vec())),
            }),
        }
    }
}

#[test]
fn https_to_http_downgrade_is_refused_by_the_fetcher() {
    let tmp = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(
        Arc::new(Table(vec![(
            "https://origin.example/x.tar",
            "http://origin.example/x.tar",
        )])),
        Store::open(tmp.path().join("s")).unwrap(),
        Quarantine::new(tmp.path().join("q")),
    );
    let err = fetcher
        .fetch(
            &request(
                "p",
                "x.tar",
                vec!["https://origin.example/x.tar".into()],
                b"x",
            ),
            &Progress::quiet(),
        )
        .unwrap_err();
    assert!(
        matches!(
            &err.attempts()[0].error,
            AttemptError::Redirect(RedirectError::Downgrade { .. })
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("https must not be downgraded"),
        "{err}"
    );
    // https -> https is fine.
    let fetcher = Fetcher::new(
        Arc::new(Table(vec![(
            "https://origin.example/x.tar",
            "https://cdn.example/x.tar",
        )])),
        Store::open(tmp.path().join("s2")).unwrap(),
        Quarantine::new(tmp.path().join("q2")),
    );
    fetcher
        .fetch(
            &request(
                "p",
                "x.tar",
                vec!["https://origin.example/x.tar".into()],
                b"x",
            ),
            &Progress::quiet(),
        )
        .unwrap();
}

#[test]
fn mirror_fallback_after_a_server_error() {
    let server = Server::start();
    let e = env();
    let good = real_source("bzip2_1.0.8.orig.tar.gz");
    let bad = server.route("/broken/bzip2.tgz", Route::Status(500));
    let ok = server.route("/mirror/bzip2.tgz", Route::Bytes(Arc::new(good.clone())));
    let f = e
        .fetcher
        .fetch(
            &request(
                "bzip2",
                "bzip2-1.0.8.tar.gz",
                vec![bad.clone(), ok.clone()],
                &good,
            ),
            &Progress::quiet(),
        )
        .unwrap();
    assert!(matches!(&f.origin, Origin::Downloaded { url, .. } if *url == ok));
    assert_eq!(f.failed.len(), 1);
    assert!(matches!(&f.failed[0].error, AttemptError::Status { status: 500, url } if *url == bad));
    assert!(f.quarantined().is_empty());
}

#[test]
fn mirror_fallback_after_a_wrong_hash_quarantines_the_first() {
    let server = Server::start();
    let e = env();
    let good = real_source("lua5.4_5.4.4.orig.tar.gz");
    let mut evil = good.clone();
    evil[12345] ^= 1;
    let bad = server.route("/evil/lua.tgz", Route::Bytes(Arc::new(evil.clone())));
    let ok = server.route("/good/lua.tgz", Route::Bytes(Arc::new(good.clone())));
    let req = request(
        "lua",
        "lua-5.4.4.tar.gz",
        vec![bad.clone(), ok.clone()],
        &good,
    );
    let f = e.fetcher.fetch(&req, &Progress::quiet()).unwrap();
    assert!(matches!(&f.origin, Origin::Downloaded { url, .. } if *url == ok));
    let q = f.quarantined();
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].mirror.as_str(), q[0].url.as_str()),
        (bad.as_str(), bad.as_str())
    );
    assert_eq!(q[0].kept_sha256, Sha256::of(&evil).to_string());
    assert_eq!(std::fs::read(&f.path).unwrap(), good);
    assert_eq!(names(&e.quarantine_dir), vec![q[0].id.clone()]);
}

#[test]
fn every_url_failing_names_each_one() {
    let server = Server::start();
    let e = env();
    let a = server.route("/a", Route::Status(404));
    // A port nobody listens on: bind, then close.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/x", l.local_addr().unwrap())
    };
    let err = e
        .fetcher
        .fetch(
            &request("p", "f.tar", vec![a.clone(), closed.clone()], b"x"),
            &Progress::quiet(),
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, FetchError::Failed { .. }), "{msg}");
    for needle in ["port p", "distfile f.tar", &a, "HTTP status 404", &closed] {
        assert!(msg.contains(needle), "lacks {needle:?}: {msg}");
    }
    assert!(
        matches!(&err.attempts()[1].error, AttemptError::Transport(_)),
        "{msg}"
    );
}

#[test]
fn checksum_downloads_without_a_pin_and_stores_only_a_match() {
    let server = Server::start();
    let e = env();
    let new = real_source("gzip_1.12.orig.tar.xz");
    let url = server.route("/gzip-1.12.tar.xz", Route::Bytes(Arc::new(new.clone())));
    // Pinned to something else (the old version): the sums are printed, nothing is stored or quarantined.
    let req = request(
        "gzip",
        "gzip-1.12.tar.xz",
        vec![url.clone()],
        b"the old version",
    );
    let sum = e
        .fetcher
        .checksum(&req, 1 << 30, &Progress::quiet())
        .unwrap();
    assert_eq!(
        (sum.sha256, sum.size, sum.matches_pin),
        (Sha256::of(&new), new.len() as u64, false)
    );
    assert!(names(&e.store_dir).is_empty());
    assert!(names(&e.quarantine_dir).is_empty());
    // Pinned to it: stored.
    let req = request("gzip", "gzip-1.12.tar.xz", vec![url.clone()], &new);
    let sum = e
        .fetcher
        .checksum(&req, 1 << 30, &Progress::quiet())
        .unwrap();
    assert!(sum.matches_pin);
    assert_eq!(names(&e.store_dir), vec![Sha256::of(&new).to_string()]);
    // Bounded all the same.
    let endless = server.route("/endless", Route::Endless);
    let err = e
        .fetcher
        .checksum(
            &request("x", "x", vec![endless], b""),
            1 << 20,
            &Progress::quiet(),
        )
        .unwrap_err();
    assert!(
        matches!(
            &err.attempts()[0].error,
            AttemptError::TooLarge { max: 1048576, .. }
        ),
        "{err}"
    );
}

/// `wport new`'s one download: no pin yet, so whatever arrives is stored
/// under its own sha256 (trust on first use) and its path returned; the
/// server is asked once.
#[test]
fn checksum_and_store_keeps_what_arrived_under_its_sha256_in_one_request() {
    let server = Server::start();
    let e = env();
    let bytes = b"a tarball nobody has pinned yet".to_vec();
    let url = server.route("/new-1.0.tar.gz", Route::Bytes(Arc::new(bytes.clone())));
    let req = request("wport new", "new-1.0.tar.gz", vec![url], b"unknown");
    let (sum, path) = e
        .fetcher
        .checksum_and_store(&req, 1 << 20, &Progress::quiet())
        .unwrap();
    assert_eq!(server.hits("/new-1.0.tar.gz"), 1);
    assert_eq!((sum.sha256, sum.matches_pin), (Sha256::of(&bytes), false));
    assert_eq!(path, e.store_dir.join(Sha256::of(&bytes).to_string()));
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(names(&e.store_dir), vec![Sha256::of(&bytes).to_string()]);
    assert!(names(&e.quarantine_dir).is_empty());
}

#[test]
fn a_store_file_that_no_longer_matches_is_fetched_anew() {
    let server = Server::start();
    let e = env();
    let good = real_source("tree_2.1.0.orig.tar.gz");
    let url = server.route("/tree.tgz", Route::Bytes(Arc::new(good.clone())));
    let req = request("tree", "tree-2.1.0.tgz", vec![url], &good);
    let f = e.fetcher.fetch(&req, &Progress::quiet()).unwrap();
    let mut bad = good.clone();
    bad[7] ^= 1;
    std::fs::write(&f.path, &bad).unwrap();
    let again = e.fetcher.fetch(&req, &Progress::quiet()).unwrap();
    assert!(
        matches!(again.origin, Origin::Downloaded { .. }),
        "{:?}",
        again.origin
    );
    assert_eq!(std::fs::read(&again.path).unwrap(), good);
    assert_eq!(server.hits("/tree.tgz"), 2);
}

// --- Issue 11, items 11 and 12 ---------------------------------------------------

#[test]
fn the_same_bad_bytes_fetched_again_update_one_quarantine_item() {
    let server = Server::start();
    let e = env();
    let good = hello();
    let mut evil = good.clone();
    evil[1000] ^= 0x55;
    let url = server.route("/h.tgz", Route::Bytes(Arc::new(evil.clone())));
    let req = request("hello", "hello-2.10.tar.gz", vec![url], &good);
    let first = e.fetcher.fetch(&req, &Progress::quiet()).unwrap_err();
    let second = e.fetcher.fetch(&req, &Progress::quiet()).unwrap_err();
    let (a, _) = only_quarantined(&e, &first);
    let (b, payload) = only_quarantined(&e, &second);
    assert_eq!(b.id, a.id);
    assert_eq!((a.times_seen, b.times_seen), (1, 2));
    assert_eq!(payload, evil);
    assert_eq!(
        names(&e.quarantine_dir),
        vec![a.id.clone()],
        "no second copy"
    );
    assert!(
        second
            .to_string()
            .contains("the same bytes have now been served 2 times"),
        "{second}"
    );
    assert!(names(&e.store_dir).is_empty());
}

#[test]
fn a_trickling_server_is_cut_off_at_the_deadline() {
    // Issue 11, item 12: 1 byte/s ran on for ever. Here 64 bytes every
    // 50 ms (fast enough for any minimum rate check to pass, never silent
    // long enough for the read timeout) against a 1 s deadline.
    let server = Server::start();
    let e = env_with(TransportConfig {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        deadline: Duration::from_secs(1),
        min_rate: 0,
        ..TransportConfig::default()
    });
    let pinned = vec![b'T'; 1 << 20];
    let url = server.route(
        "/slow.tgz",
        Route::Trickle {
            length: pinned.len() as u64,
            chunk: 64,
            every: Duration::from_millis(50),
        },
    );
    let err = e
        .fetcher
        .fetch(
            &request("slow", "slow.tgz", vec![url.clone()], &pinned),
            &Progress::quiet(),
        )
        .unwrap_err();
    assert!(matches!(err, FetchError::Failed { .. }), "{err}");
    match &err.attempts()[0].error {
        AttemptError::Deadline {
            url: u,
            deadline,
            received,
        } => {
            assert_eq!(u, &url);
            assert_eq!(*deadline, Duration::from_secs(1));
            assert!(
                *received > 0 && *received < pinned.len() as u64,
                "{received}"
            );
        }
        other => panic!("expected Deadline, got {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("port slow") && msg.contains("slow.tgz") && msg.contains("deadline of 1 s"),
        "{msg}"
    );
    assert!(names(&e.store_dir).is_empty(), "{:?}", names(&e.store_dir));
    assert!(names(&e.quarantine_dir).is_empty(), "not evidence");
}

#[test]
fn a_server_below_the_minimum_rate_is_cut_off() {
    // 16 bytes every 100 ms = 160 B/s against a minimum of 10 kB/s over 1 s.
    let server = Server::start();
    let e = env_with(TransportConfig {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        min_rate: 10_000,
        min_rate_window: Duration::from_secs(1),
        ..TransportConfig::default()
    });
    let pinned = vec![b'T'; 1 << 20];
    let url = server.route(
        "/crawl.tgz",
        Route::Trickle {
            length: pinned.len() as u64,
            chunk: 16,
            every: Duration::from_millis(100),
        },
    );
    let err = e
        .fetcher
        .fetch(
            &request("crawl", "crawl.tgz", vec![url], &pinned),
            &Progress::quiet(),
        )
        .unwrap_err();
    match &err.attempts()[0].error {
        AttemptError::TooSlow {
            min_rate,
            window,
            received,
            ..
        } => {
            assert_eq!((*min_rate, *window), (10_000, Duration::from_secs(1)));
            assert!(*received < 10_000, "{received}");
        }
        other => panic!("expected TooSlow, got {other}"),
    }
    assert!(
        err.to_string().contains("minimum of 10000 bytes/s"),
        "{err}"
    );
    assert!(names(&e.store_dir).is_empty(), "{:?}", names(&e.store_dir));
    assert!(names(&e.quarantine_dir).is_empty());
}

#[test]
fn defaults_bound_every_download() {
    let d = TransportConfig::default();
    assert_eq!(d.deadline, Duration::from_secs(2 * 3600));
    assert_eq!(
        (d.min_rate, d.min_rate_window),
        (1024, Duration::from_secs(60))
    );
}

/// Runs `f` on a thread and waits at most 20 s: a regression that blocks
/// fails the test instead of hanging the suite.
fn within_20s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("blocked on a FIFO")
}

#[test]
fn a_fifo_file_url_is_refused_without_blocking() {
    // Issue 11, item 12: a FIFO source hung `build` for ever.
    let e = env();
    let fifo = e._tmp.path().join("source.tar.gz");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let req = request(
        "x",
        "x.tar.gz",
        vec![format!("file://{}", fifo.display())],
        b"abc",
    );
    let fetcher = e.fetcher.clone();
    let err = within_20s(move || fetcher.fetch(&req, &Progress::quiet()).unwrap_err());
    match &err.attempts()[0].error {
        AttemptError::Transport(TransportError::NotRegularFile { path, kind }) => {
            assert_eq!((path, *kind), (&fifo, "FIFO"));
        }
        other => panic!("expected NotRegularFile, got {other}"),
    }
    assert!(err.to_string().contains("port x"), "{err}");
    assert!(names(&e.store_dir).is_empty());

    // copy_verified (the build's copy from a port's own files) refuses it too.
    let dest =
        cap_std::fs::Dir::open_ambient_dir(&e.store_dir, cap_std::ambient_authority()).unwrap();
    let expected = Expected {
        sha256: Sha256::of(b"abc"),
        size: 3,
    };
    let err = within_20s(move || {
        wport_fetch::verify::copy_verified(&fifo, &dest, "x.tar.gz", &expected).unwrap_err()
    });
    assert!(
        matches!(
            err,
            wport_fetch::verify::VerifyError::NotRegularFile { kind: "FIFO", .. }
        ),
        "{err}"
    );
    assert!(names(&e.store_dir).is_empty(), "{:?}", names(&e.store_dir));
}

#[test]
fn file_localhost_url_is_the_absolute_path() {
    let e = env();
    let path = server::real_sources_dir().join("tree_2.1.0.orig.tar.gz");
    let bytes = std::fs::read(&path).unwrap();
    let req = request(
        "tree",
        "tree-2.1.0.tgz",
        vec![format!("file://localhost{}", path.display())],
        &bytes,
    );
    let f = e.fetcher.fetch(&req, &Progress::quiet()).unwrap();
    assert_eq!(std::fs::read(f.path).unwrap(), bytes);
}

#[test]
fn partial_files_of_dead_fetches_are_swept_and_live_ones_kept() {
    // Issue 11, item 12: a killed fetch left its `.partial.*` (up to 4 GiB)
    // in the store for good. A dead writer's file is unlocked; a live one's
    // is locked by its writer.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("distfiles");
    let store = Store::open(&dir).unwrap();
    let (live, live_file) = store.partial().unwrap();
    std::fs::write(dir.join(".partial.4000000.0"), vec![0u8; 4096]).unwrap();
    std::fs::write(dir.join(".partial.4000000.1"), b"").unwrap();
    let kept_digest = Sha256::of(b"kept");
    std::fs::write(dir.join(kept_digest.to_string()), b"kept").unwrap();

    let _reopened = Store::open(&dir).unwrap();
    let live_name = live
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut want = vec![kept_digest.to_string(), live_name];
    want.sort();
    assert_eq!(
        names(&dir),
        want,
        "dead partials swept, the live one and the store kept"
    );

    // Once its writer is done (file closed, partial dropped), nothing is left.
    drop(live_file);
    drop(live);
    assert_eq!(names(&dir), vec![kept_digest.to_string()]);
}
