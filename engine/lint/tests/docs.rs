//! docs/LINT.md documents every rule, with its severity, and nothing else.

use wport_lint::rules;

#[test]
fn every_rule_is_documented_with_its_severity() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/LINT.md"))
        .unwrap();
    // Rule rows look like "| `id` | severity | ...".
    let mut documented = Vec::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() > 3
            && let Some(id) = cells[1].strip_prefix('`').and_then(|c| c.strip_suffix('`'))
            && (cells[2].starts_with("error") || cells[2].starts_with("warning"))
        {
            documented.push((id.to_owned(), cells[2].to_owned()));
        }
    }
    for rule in rules::ALL {
        let Some((_, severity)) = documented.iter().find(|(id, _)| id == rule.id) else {
            panic!("rule `{}` is not in docs/LINT.md", rule.id);
        };
        assert!(
            severity.starts_with(rule.severity.as_str()),
            "docs/LINT.md gives `{}` severity {severity:?}, the code {}",
            rule.id,
            rule.severity
        );
    }
    for (id, _) in &documented {
        assert!(
            rules::by_id(id).is_some(),
            "docs/LINT.md documents `{id}`, which is no rule"
        );
    }
}
