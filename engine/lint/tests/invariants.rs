//! Architecture invariant: linting never compiles or runs a component, so
//! `wport-lint` does not depend on wasmtime (or on the sandbox that wraps
//! it), directly or through any dependency.

use std::collections::{BTreeMap, BTreeSet};

use toml::de::DeTable;

#[test]
fn wport_lint_does_not_depend_on_wasmtime() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock")).unwrap();
    let lock = DeTable::parse(&text).unwrap();
    // name -> every dependency name of every package of that name (the
    // lock file does not tell dev-dependencies apart: this is conservative).
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let packages = lock
        .get_ref()
        .get("package")
        .unwrap()
        .get_ref()
        .as_array()
        .unwrap();
    for package in packages.iter() {
        let package = package.get_ref().as_table().unwrap();
        let name = package
            .get("name")
            .unwrap()
            .get_ref()
            .as_str()
            .unwrap()
            .to_owned();
        let list = deps.entry(name).or_default();
        if let Some(d) = package.get("dependencies") {
            for dep in d.get_ref().as_array().unwrap().iter() {
                let dep = dep.get_ref().as_str().unwrap();
                list.insert(dep.split(' ').next().unwrap().to_owned());
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut todo = vec!["wport-lint".to_owned()];
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone()) {
            todo.extend(deps.get(&name).into_iter().flatten().cloned());
        }
    }
    let bad: Vec<&String> = seen
        .iter()
        .filter(|n| {
            n.starts_with("wasmtime") || n.starts_with("cranelift") || *n == "wport-sandbox"
        })
        .collect();
    assert!(bad.is_empty(), "wport-lint depends on {bad:?}");
    assert!(
        seen.contains("wasmparser"),
        "the closure was not computed: {seen:?}"
    );
}
