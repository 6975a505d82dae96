//! Running a plan of port builds: dependencies first, independent ports in
//! parallel, each finished build packaged and installed before anything
//! that needs it starts.
//!
//! The shape is poudriere's queue: every job counts its unbuilt
//! dependencies; a job whose count reaches zero joins the ready set, which
//! is ordered by how many jobs wait on it (longest chains first) and then by
//! name, so a plan runs the same way every time. Builds run as child
//! processes (`wport build`, each with its own executor, build user and
//! cgroup); installing is done here, one at a time, under the prefix's lock
//! and journal. When a build or an install fails no new build starts; the
//! builds already running finish and are installed, so what the plan leaves
//! installed is always whole packages whose dependencies are installed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One port of a plan.
#[derive(Debug, Clone)]
pub struct Job {
    pub name: String,
    /// Jobs of this plan that must be installed before this one builds.
    pub after: Vec<String>,
}

/// How one job ended.
#[derive(Debug)]
pub enum JobEnd {
    Installed {
        label: String,
        took: Duration,
    },
    Failed {
        error: anyhow::Error,
    },
    /// Not started: a job it needs failed (named), or the plan stopped.
    NotBuilt {
        because: Option<String>,
    },
}

/// Everything a plan did, in the order jobs ended.
#[derive(Debug, Default)]
pub struct Outcome {
    pub ended: Vec<(String, JobEnd)>,
}

impl Outcome {
    pub fn failed(&self) -> impl Iterator<Item = (&str, &anyhow::Error)> {
        self.ended.iter().filter_map(|(n, e)| match e {
            JobEnd::Failed { error } => Some((n.as_str(), error)),
            _ => None,
        })
    }

    pub fn installed(&self) -> impl Iterator<Item = &str> {
        self.ended.iter().filter_map(|(_, e)| match e {
            JobEnd::Installed { label, .. } => Some(label.as_str()),
            _ => None,
        })
    }
}

/// Run `jobs` with at most `parallel` builds at once. `build` runs on a
/// worker thread and returns what `install` needs; `install` runs on the
/// calling thread, one job at a time, in the order builds finish.
/// `announce` is told when a build starts.
pub fn run<B, T, I>(
    jobs: &[Job],
    parallel: usize,
    build: B,
    mut install: I,
    mut announce: impl FnMut(&str, usize, usize),
) -> Outcome
where
    B: Fn(&str) -> anyhow::Result<T> + Sync,
    T: Send,
    I: FnMut(&str, T) -> anyhow::Result<String>,
{
    let parallel = parallel.max(1);
    let names: BTreeSet<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
    let mut waiting: BTreeMap<&str, usize> = BTreeMap::new();
    let mut dependents: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for j in jobs {
        let after: BTreeSet<&str> = j
            .after
            .iter()
            .map(String::as_str)
            .filter(|d| names.contains(d))
            .collect();
        waiting.insert(&j.name, after.len());
        for d in after {
            dependents.entry(d).or_default().push(&j.name);
        }
    }
    // Priority: how many jobs (transitively) wait on this one.
    let mut weight: BTreeMap<&str, usize> = BTreeMap::new();
    for j in jobs {
        let mut seen = BTreeSet::new();
        let mut stack = vec![j.name.as_str()];
        while let Some(n) = stack.pop() {
            for d in dependents.get(n).into_iter().flatten() {
                if seen.insert(*d) {
                    stack.push(d);
                }
            }
        }
        weight.insert(&j.name, seen.len());
    }
    let mut ready: Vec<&str> = waiting
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut outcome = Outcome::default();
    let mut stopped = false;
    let mut started = 0usize;
    let total = jobs.len();
    let mut settled: BTreeSet<&str> = BTreeSet::new();

    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(&str, Instant, anyhow::Result<T>)>();
        let mut running = 0usize;
        loop {
            if !stopped {
                ready.sort_by(|a, b| weight[b].cmp(&weight[a]).then(b.cmp(a)));
                while running < parallel
                    && let Some(name) = ready.pop()
                {
                    started += 1;
                    announce(name, started, total);
                    running += 1;
                    let tx = tx.clone();
                    let build = &build;
                    scope.spawn(move || {
                        let t = Instant::now();
                        let r = build(name);
                        let _ = tx.send((name, t, r));
                    });
                }
            }
            if running == 0 {
                break;
            }
            let Ok((name, t0, result)) = rx.recv() else {
                break;
            };
            running -= 1;
            settled.insert(name);
            let end = match result.and_then(|built| install(name, built)) {
                Ok(label) => {
                    for d in dependents.get(name).into_iter().flatten() {
                        let n = waiting.get_mut(d).expect("every job is counted");
                        *n -= 1;
                        if *n == 0 {
                            ready.push(d);
                        }
                    }
                    JobEnd::Installed {
                        label,
                        took: t0.elapsed(),
                    }
                }
                Err(error) => {
                    stopped = true;
                    JobEnd::Failed { error }
                }
            };
            outcome.ended.push((name.to_owned(), end));
        }
    });

    // What never started: say which failed job it waited on, if any.
    let failed: BTreeSet<String> = outcome.failed().map(|(n, _)| n.to_owned()).collect();
    for j in jobs {
        if settled.contains(j.name.as_str()) {
            continue;
        }
        let because = blocking_failure(&j.name, jobs, &failed);
        outcome
            .ended
            .push((j.name.clone(), JobEnd::NotBuilt { because }));
    }
    outcome
}

/// The failed job `name` waits on, directly or through other jobs.
fn blocking_failure(name: &str, jobs: &[Job], failed: &BTreeSet<String>) -> Option<String> {
    let by_name: BTreeMap<&str, &Job> = jobs.iter().map(|j| (j.name.as_str(), j)).collect();
    let mut seen = BTreeSet::new();
    let mut stack = vec![name];
    while let Some(n) = stack.pop() {
        for d in by_name
            .get(n)
            .map(|j| j.after.as_slice())
            .unwrap_or_default()
        {
            if failed.contains(d) {
                return Some(d.clone());
            }
            if seen.insert(d.as_str()) {
                stack.push(d);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn job(name: &str, after: &[&str]) -> Job {
        Job {
            name: name.into(),
            after: after.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn dependencies_install_before_their_dependents_start() {
        let jobs = [
            job("lua", &["readline"]),
            job("readline", &["ncurses"]),
            job("ncurses", &[]),
            job("libpng", &["zlib"]),
            job("zlib", &[]),
        ];
        let installed = Mutex::new(Vec::<String>::new());
        let violations = Mutex::new(Vec::<String>::new());
        let outcome = run(
            &jobs,
            2,
            |name| {
                let done = installed.lock().unwrap().clone();
                let j = jobs.iter().find(|j| j.name == name).unwrap();
                for d in &j.after {
                    if !done.contains(d) {
                        violations
                            .lock()
                            .unwrap()
                            .push(format!("{name} before {d}"));
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
                Ok(())
            },
            |name, ()| {
                installed.lock().unwrap().push(name.to_owned());
                Ok(format!("{name}-1_0"))
            },
            |_, _, _| {},
        );
        assert_eq!(violations.into_inner().unwrap(), Vec::<String>::new());
        assert_eq!(outcome.installed().count(), 5);
        assert_eq!(outcome.failed().count(), 0);
    }

    #[test]
    fn independent_ports_build_at_the_same_time() {
        let jobs = [job("a", &[]), job("b", &[])];
        let live = Mutex::new(0usize);
        let peak = Mutex::new(0usize);
        run(
            &jobs,
            2,
            |_| {
                {
                    let mut l = live.lock().unwrap();
                    *l += 1;
                    let mut p = peak.lock().unwrap();
                    *p = (*p).max(*l);
                }
                std::thread::sleep(Duration::from_millis(100));
                *live.lock().unwrap() -= 1;
                Ok(())
            },
            |n, ()| Ok(n.to_owned()),
            |_, _, _| {},
        );
        assert_eq!(*peak.lock().unwrap(), 2);
    }

    #[test]
    fn a_failure_stops_new_builds_and_names_what_waited_on_it() {
        let jobs = [
            job("ncurses", &[]),
            job("readline", &["ncurses"]),
            job("lua", &["readline"]),
        ];
        let built = Mutex::new(Vec::<String>::new());
        let outcome = run(
            &jobs,
            1,
            |name| {
                built.lock().unwrap().push(name.to_owned());
                if name == "readline" {
                    anyhow::bail!("make exited 2");
                }
                Ok(())
            },
            |n, ()| Ok(n.to_owned()),
            |_, _, _| {},
        );
        assert_eq!(*built.lock().unwrap(), ["ncurses", "readline"]);
        assert_eq!(outcome.installed().collect::<Vec<_>>(), ["ncurses"]);
        let failed: Vec<_> = outcome.failed().map(|(n, _)| n).collect();
        assert_eq!(failed, ["readline"]);
        let lua = outcome.ended.iter().find(|(n, _)| n == "lua").unwrap();
        assert!(
            matches!(&lua.1, JobEnd::NotBuilt { because: Some(b) } if b == "readline"),
            "{lua:?}"
        );
    }

    #[test]
    fn an_install_failure_counts_as_the_jobs_failure() {
        let jobs = [job("a", &[]), job("b", &["a"])];
        let outcome = run(
            &jobs,
            1,
            |_| Ok(()),
            |n, ()| {
                if n == "a" {
                    anyhow::bail!("conflict");
                }
                Ok(n.to_owned())
            },
            |_, _, _| {},
        );
        assert_eq!(outcome.failed().map(|(n, _)| n).collect::<Vec<_>>(), ["a"]);
        assert_eq!(outcome.installed().count(), 0);
    }
}
