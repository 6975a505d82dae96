//! `cargo bench -p wport-registry --bench view`: the registry side of a
//! build's dependency view, for a port granted 1, 10 and 50 installed
//! packages of 500 files each:
//!
//! - resolution: `Prefix::open_query` + `view_layers` (the granted packages'
//!   recorded dependencies, one pinned store layer each) + `gc_store`, with
//!   every layer already made: the fixed cost a build pays per port;
//! - first-time layer creation (a hard link and a sha256 per file), paid
//!   once per installed package and transaction.
//!
//! The mount side (session and phase setup with and without a view) is
//! `cargo bench -p wport-exec --bench view`.

use std::time::{Duration, Instant};

use wport_registry::manifest::Provenance;
use wport_registry::{InstallOptions, PackageMeta, Prefix, create_package, open_package};
use wport_trust::SecretKey;

const FILES: usize = 500;
const PACKAGES: usize = 50;
const ROUNDS: usize = 21;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let base = std::env::var_os("WPORT_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::Builder::new()
        .prefix("wport-bench-view-")
        .tempdir_in(base)
        .unwrap();
    let prefix = tmp.path().canonicalize().unwrap().join("prefix");
    let key = SecretKey::from_seed(&[3; 32]).unwrap();
    let trusted = vec![key.public().clone()];
    let names: Vec<String> = (0..PACKAGES).map(|i| format!("dep{i:02}")).collect();
    let t = Instant::now();
    for name in &names {
        let tree = tmp.path().join("trees").join(name);
        for f in 0..FILES {
            // Headers, libraries and data spread over a few directories.
            let dir = ["include", "lib", "share/doc", "share/man/man3"][f % 4];
            let p = tree.join(dir).join(format!("{name}-{f}.h"));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, format!("/* {name} {f} */\n").repeat(20)).unwrap();
        }
        let out = tmp.path().join(format!("{name}.wpkg"));
        let meta = PackageMeta {
            name: name.clone(),
            version: "1.0".into(),
            revision: 0,
            prefix: prefix.to_string_lossy().into_owned(),
            dependencies: vec![],
            source_date_epoch: 1_700_000_000,
            provenance: Provenance::default(),
        };
        create_package(&tree, &meta, &key, &out).unwrap();
        let mut pkg = open_package(&out, &trusted).unwrap();
        Prefix::open(&prefix, None)
            .unwrap()
            .install(&mut pkg, &InstallOptions::default())
            .unwrap();
    }
    println!(
        "setup: {PACKAGES} packages x {FILES} files installed in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    println!(
        "granted | first: make layers | resolution (cached): open_query + view_layers + gc_store | of which view_layers"
    );
    for n in [1usize, 10, 50] {
        let granted: Vec<String> = names[..n].to_vec();
        // First time: layers for packages not seen yet (the 1 and 10 runs
        // made the first ones, so time only a fresh prefix's worth).
        let first = {
            let p = Prefix::open_query(&prefix, None, false).unwrap();
            let fresh: Vec<String> = granted
                .iter()
                .filter(|g| {
                    let txn = p.registry().txn_of(g).unwrap().unwrap();
                    !prefix
                        .join(".wport/store")
                        .join(wport_registry::store::layer_key(g, &txn))
                        .exists()
                })
                .cloned()
                .collect();
            let t = Instant::now();
            drop(p.view_layers(&fresh).unwrap());
            (t.elapsed(), fresh.len())
        };
        let mut whole = Vec::new();
        let mut layers_only = Vec::new();
        for _ in 0..ROUNDS {
            let t = Instant::now();
            let p = Prefix::open_query(&prefix, None, false).unwrap();
            let t2 = Instant::now();
            let v = p.view_layers(&granted).unwrap();
            layers_only.push(t2.elapsed());
            p.gc_store().unwrap();
            whole.push(t.elapsed());
            assert_eq!(v.layers.len(), n);
        }
        println!(
            "{n:7} | {:8.1} ms for {} new layers ({:.2} ms/layer) | {:7.2} ms | {:.2} ms",
            ms(first.0),
            first.1,
            ms(first.0) / first.1.max(1) as f64,
            ms(median(whole)),
            ms(median(layers_only)),
        );
    }
}
