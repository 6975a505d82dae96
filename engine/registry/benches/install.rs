//! `cargo bench -p wport-registry --bench install`: install and uninstall a
//! 10,000-file package (signature check, sha256 of every file while
//! unpacking, journal, registry transaction included) against `tar -xf` of
//! an uncompressed tar of the same tree and `rm -rf` of it, in the same run
//! on the same filesystem. Prints both ratios (median of the rounds).

#![allow(
    clippy::disallowed_methods,
    reason = "a benchmark: tar and rm are the baseline install and uninstall are compared with"
)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use wport_registry::manifest::Provenance;
use wport_registry::{InstallOptions, PackageMeta, Prefix, create_package, open_package};
use wport_trust::SecretKey;

const FILES: usize = 10_000;
const ROUNDS: usize = 7;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn sh(cmd: &mut Command) {
    let s = cmd.status().expect("running a baseline command");
    assert!(s.success(), "{cmd:?}");
}

fn main() {
    let base = std::env::var_os("WPORT_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/var/tmp".into());
    let tmp = tempfile::Builder::new()
        .prefix("wport-registry-bench-")
        .tempdir_in(&base)
        .expect("scratch dir");
    let root = tmp.path().canonicalize().unwrap();
    let tree = root.join("tree");
    // 10,000 files of 0.5-4.5 KiB in 100 directories of 10 subtrees, plus links.
    for i in 0..FILES {
        let p = tree.join(format!(
            "share/pkg/d{:02}/s{}/file{i:05}.txt",
            i % 100,
            i % 3
        ));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let body = format!("line {i} of a package file\n").repeat(20 + (i * 7919) % 150);
        std::fs::write(&p, body).unwrap();
    }
    let bytes: u64 = walk_size(&tree);
    let key = SecretKey::from_seed(&[3; 32]).unwrap();
    let trusted = vec![key.public().clone()];
    let prefix = root.join("prefix");
    let pkg = root.join("bench-1.0_0.wpkg");
    let meta = PackageMeta {
        name: "bench".into(),
        version: "1.0".into(),
        revision: 0,
        prefix: prefix.to_string_lossy().into_owned(),
        dependencies: vec![],
        source_date_epoch: 0,
        provenance: Provenance::default(),
    };
    let t = Instant::now();
    let m = create_package(&tree, &meta, &key, &pkg).unwrap();
    println!(
        "package: {} files, {} directories, {:.1} MiB of data, {:.1} MiB package, built in {:.0} ms",
        m.files.len(),
        m.directories.len(),
        bytes as f64 / 1048576.0,
        std::fs::metadata(&pkg).unwrap().len() as f64 / 1048576.0,
        t.elapsed().as_secs_f64() * 1e3
    );
    let plain_tar = root.join("tree.tar");
    sh(Command::new("tar")
        .arg("-cf")
        .arg(&plain_tar)
        .arg("-C")
        .arg(&tree)
        .arg("."));

    let (mut ours_in, mut ours_out, mut tar_in, mut rm_out) = (vec![], vec![], vec![], vec![]);
    let dest = root.join("dest");
    for round in 0..ROUNDS {
        let ours = |ins: &mut Vec<Duration>, outs: &mut Vec<Duration>| {
            let t = Instant::now();
            let mut p = Prefix::open(&prefix, None).unwrap();
            let mut pk = open_package(&pkg, &trusted).unwrap();
            p.install(&mut pk, &InstallOptions::default()).unwrap();
            drop(p);
            ins.push(t.elapsed());
            let t = Instant::now();
            let mut p = Prefix::open(&prefix, None).unwrap();
            let r = p.uninstall("bench", false).unwrap();
            assert_eq!(r.removed, FILES);
            drop(p);
            outs.push(t.elapsed());
        };
        let native = |ins: &mut Vec<Duration>, outs: &mut Vec<Duration>| {
            std::fs::create_dir_all(&dest).unwrap();
            let t = Instant::now();
            sh(Command::new("tar")
                .arg("-xf")
                .arg(&plain_tar)
                .arg("-C")
                .arg(&dest));
            ins.push(t.elapsed());
            let t = Instant::now();
            sh(Command::new("rm").arg("-rf").arg(&dest));
            outs.push(t.elapsed());
        };
        // Alternate who goes first: page cache and ext4's recently-deleted
        // inode state favour whoever runs second.
        if round % 2 == 0 {
            ours(&mut ours_in, &mut ours_out);
            native(&mut tar_in, &mut rm_out);
        } else {
            native(&mut tar_in, &mut rm_out);
            ours(&mut ours_in, &mut ours_out);
        }
    }
    // Minima as well as medians: on a shared machine the minimum is the
    // least disturbed run of each.
    let min = |v: &Vec<Duration>| *v.iter().min().unwrap();
    let (mi, mo, mt, mr) = (min(&ours_in), min(&ours_out), min(&tar_in), min(&rm_out));
    let (oi, oo, ti, ro) = (
        median(ours_in),
        median(ours_out),
        median(tar_in),
        median(rm_out),
    );
    println!(
        "install   median {:>8.1} ms  tar -xf {:>8.1} ms  ratio {:.2}x | min {:>8.1} ms vs {:>8.1} ms  ratio {:.2}x  (target <= 1.5x)",
        ms(oi),
        ms(ti),
        ratio(oi, ti),
        ms(mi),
        ms(mt),
        ratio(mi, mt)
    );
    println!(
        "uninstall median {:>8.1} ms  rm -rf  {:>8.1} ms  ratio {:.2}x | min {:>8.1} ms vs {:>8.1} ms  ratio {:.2}x  (target <= 1.5x)",
        ms(oo),
        ms(ro),
        ratio(oo, ro),
        ms(mo),
        ms(mr),
        ratio(mo, mr)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn walk_size(p: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        n += if m.is_dir() {
            walk_size(&e.path())
        } else {
            m.len()
        };
    }
    n
}
