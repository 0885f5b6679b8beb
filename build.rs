//! Sets `CRASHLOOP_GIT_REVISION`, the commit `crashloop_exporter_build_info` reports: the
//! variable of that name when it is set (the Dockerfile passes it, as its build context
//! has no `.git`), else `git rev-parse HEAD`, else `unknown`. Nothing is fetched.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CRASHLOOP_GIT_REVISION");
    let revision = std::env::var("CRASHLOOP_GIT_REVISION")
        .ok()
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .or_else(git_head)
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=CRASHLOOP_GIT_REVISION={revision}");
}

/// The commit of `HEAD`, and what to watch so that a new commit or checkout reruns this.
fn git_head() -> Option<String> {
    let git = |args: &[&str]| {
        let out = Command::new("git").args(args).output().ok().filter(|o| o.status.success())?;
        Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
    };
    let head = git(&["rev-parse", "HEAD"]).filter(|h| h.len() >= 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
    // A missing file would make every build rerun this and rebuild the crate: watch only
    // what exists. When git packs the branch's ref, its loose file goes, which reruns this.
    let watch = |p: String| {
        if std::path::Path::new(&p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    };
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            watch(p);
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &branch])
    {
        watch(p);
    }
    Some(head)
}
