//! The README's reference table against the code: a row for every family, its labels, and
//! every value a bounded label can take.

use crate::exposition::families::{self, Family};

/// The labels column of `family`'s row in the README's reference table.
fn readme_labels_column<'a>(readme: &'a str, family: &Family) -> &'a str {
    let (name, kind) = (family.name, family.kind.as_str());
    let row = readme
        .lines()
        .find(|l| l.starts_with(&format!("| `{name}` | {kind} |")))
        .unwrap_or_else(|| panic!("README lacks a row for {name} ({kind})"));
    row.split('|').nth(3).unwrap_or_default()
}

#[test]
fn every_family_is_documented_in_the_readme() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    for family in families::ALL {
        let name = family.name;
        // The labels column names each label of the family beyond the container's, in backticks.
        let column = readme_labels_column(&readme, family);
        let documented: Vec<&str> = column.split('`').skip(1).step_by(2).collect();
        let own = match family.labels.strip_prefix(families::CONTAINER) {
            Some(extra) => extra,
            None => family.labels,
        };
        assert_eq!(documented, own, "README's labels of {name}");
    }
}

/// Both ways, for the labels whose values are one of the code's closed sets: the README's
/// row lists exactly the set, no value the code cannot give.
#[test]
fn the_readme_lists_exactly_the_closed_sets() {
    use crate::verdict::{Cause, DelaySource};
    use crate::view::{
        ApiErrorKind, IgnoredReason, LogFetchResult, MemoryLimitScope, ObjectKind, Probe, PullFailure,
        TerminationReason, WaitingReason, WatchEventType,
    };
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let exactly = |family: &Family, code: Vec<&str>| {
        let column = readme_labels_column(&readme, family);
        let after = column.split_once(" = ").map_or("", |(_, v)| v);
        let mut documented: Vec<String> = after
            .split(',')
            .map(|v| v.trim().to_string())
            .take_while(|v| !v.contains('`') && !v.contains('('))
            .collect();
        let mut code: Vec<String> = code.into_iter().map(str::to_string).collect();
        documented.sort();
        code.sort();
        assert_eq!(documented, code, "README's values of {}", family.name);
    };
    exactly(&families::PROBABLE_CAUSE, Cause::ALL.iter().map(|c| c.as_str()).collect());
    exactly(&families::WAITING_REASON, WaitingReason::ALL.iter().map(|r| r.as_str()).collect());
    exactly(&families::LAST_REASON, TerminationReason::ALL.iter().map(|r| r.as_str()).collect());
    exactly(&families::BACKOFF_DELAY, DelaySource::ALL.iter().map(|s| s.as_str()).collect());
    exactly(&families::PROBE_FAILURES, Probe::ALL.iter().map(|p| p.as_str()).collect());
    exactly(&families::IMAGE_PULL_FAILURE, PullFailure::ALL.iter().map(|p| p.as_str()).collect());
    exactly(&families::MISSING_OBJECT, ObjectKind::ALL.iter().map(|k| k.as_str()).collect());
    exactly(&families::LAST_OOM_LIMIT, MemoryLimitScope::ALL.iter().map(|l| l.as_str()).collect());
    let counted: Vec<&str> = TerminationReason::COUNTED.iter().map(|r| r.as_str()).collect();
    exactly(&families::TERMINATIONS, counted.clone());
    exactly(&families::WORKLOAD_TERMINATIONS, counted);
    // The exporter's own.
    exactly(&families::WATCH_EVENTS, WatchEventType::ALL.iter().map(|t| t.as_str()).collect());
    exactly(&families::API_ERRORS, ApiErrorKind::ALL.iter().map(|k| k.as_str()).collect());
    exactly(&families::EVENTS_IGNORED, IgnoredReason::ALL.iter().map(|r| r.as_str()).collect());
    exactly(&families::LOG_FETCHES, LogFetchResult::ALL.iter().map(|r| r.as_str()).collect());
}

/// The README's stability section lists exactly the experimental families.
#[test]
fn the_experimental_families_are_the_readmes() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let section = readme.split("## Metric stability").nth(1).expect("README has a Metric stability section");
    let section = section.split("\n## ").next().unwrap_or_default();
    let listed: Vec<&str> =
        section.lines().filter_map(|l| l.strip_prefix("- `")).filter_map(|l| l.split('`').next()).collect();
    let code: Vec<&str> = families::EXPERIMENTAL.iter().map(|f| f.name).collect();
    assert_eq!(listed, code);
    // And /metrics says so in their help, only theirs.
    let out = crate::exposition::tests::render_pods(vec![], false, false);
    let marked: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("# HELP "))
        .filter_map(|l| l.split_once(" [EXPERIMENTAL] ").map(|(name, _)| name))
        .collect();
    assert_eq!(marked, code);
}
