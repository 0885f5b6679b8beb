//! The free text of the kubelet and the runtime, reduced to bounded values: exec errors,
//! missing objects, image pull errors, Event reasons and messages, field paths. Every
//! classifier of a message is here, and nothing above this module reads message text.

use crate::view::{Hint, MissingObject, ObjectKind, Probe, PullFailure, Signal, Target, bounded};

/// Reduces a runtime error message to a [`Hint`].
pub fn classify_exec_message(message: &str) -> Hint {
    let m = message.to_ascii_lowercase();
    if m.contains("executable file not found") || (m.contains("exec:") && m.contains("no such file or directory")) {
        Hint::ExecutableNotFound
    } else if m.contains("exec format error") {
        Hint::ExecFormatError
    } else if m.contains("permission denied") {
        Hint::PermissionDenied
    } else {
        Hint::None
    }
}

/// Finds the object a kubelet message says is missing:
/// `configmap "x" not found`, `secret "x" not found`,
/// `persistentvolumeclaim "x" not found`, `couldn't find key K in ConfigMap ns/x`.
pub fn parse_missing_object(message: &str) -> Option<MissingObject> {
    let lower = message.to_ascii_lowercase();
    for (word, kind) in [
        ("configmap \"", ObjectKind::ConfigMap),
        ("secret \"", ObjectKind::Secret),
        ("persistentvolumeclaim \"", ObjectKind::Pvc),
    ] {
        if let Some(start) = lower.find(word) {
            let name_start = start + word.len();
            let len = message[name_start..].find('"')?;
            if lower[name_start + len..].starts_with("\" not found") {
                return Some(MissingObject { kind, name: bounded(&message[name_start..name_start + len]), key: None });
            }
        }
    }
    let at = lower.find("couldn't find key ")?;
    let rest = &message[at + "couldn't find key ".len()..];
    let (key, rest) = rest.split_once(" in ")?;
    let (kind_word, object) = rest.split_once(' ')?;
    let kind = match kind_word.to_ascii_lowercase().as_str() {
        "configmap" => ObjectKind::ConfigMap,
        "secret" => ObjectKind::Secret,
        _ => return None,
    };
    let object = object.split_whitespace().next()?;
    let name = object.rsplit('/').next().unwrap_or(object).trim_end_matches(['.', ',', ';']);
    Some(MissingObject { kind, name: bounded(name), key: Some(bounded(key)) })
}

/// Classifies the runtime's pull error (`Failed to pull image "x": rpc error: …`).
/// Status codes are matched with their words: a registry's port (`127.0.0.1:40195`) is
/// no 401.
pub fn classify_pull_failure(message: &str) -> PullFailure {
    let m = message.to_ascii_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|n| m.contains(n));
    if any(&[
        "unauthorized",
        "authentication required",
        "insufficient_scope",
        "403 forbidden",
        "pull access denied",
        "access denied",
    ]) {
        PullFailure::Unauthorized
    } else if any(&[
        "no such host",
        "i/o timeout",
        "connection refused",
        "network is unreachable",
        "tls handshake timeout",
        "context deadline exceeded",
        "dial tcp",
    ]) {
        PullFailure::Unreachable
    } else if any(&["manifest unknown", "not found", "repository does not exist", "name unknown"]) {
        PullFailure::NotFound
    } else {
        PullFailure::Other
    }
}

/// Reduces an Event's reason and message.
pub fn classify_event(reason: &str, message: &str) -> Signal {
    let lower = message.trim_start().to_ascii_lowercase();
    let probe_of = |s: &str| match s {
        "liveness" => Some(Probe::Liveness),
        "readiness" => Some(Probe::Readiness),
        "startup" => Some(Probe::Startup),
        _ => None,
    };
    match reason {
        "Unhealthy" => {
            let mut words = lower.splitn(3, ' ');
            match (words.next().and_then(probe_of), words.next(), words.next()) {
                (Some(p), Some("probe"), Some(rest)) if rest.starts_with("failed") || rest.starts_with("errored") => {
                    Signal::ProbeFailure(p)
                }
                _ => Signal::Unparsed,
            }
        }
        "Killing" => {
            if lower.contains("failed liveness probe") {
                Signal::ProbeKill(Probe::Liveness)
            } else if lower.contains("failed startup probe") {
                Signal::ProbeKill(Probe::Startup)
            } else {
                Signal::Ignored("not_a_probe_kill")
            }
        }
        "BackOff" => {
            if lower.starts_with("back-off restarting failed container") {
                Signal::CrashBackOff
            } else if lower.starts_with("back-off pulling image") {
                Signal::ImagePullBackOff
            } else {
                Signal::Unparsed
            }
        }
        "Failed" | "FailedMount" | "FailedAttachVolume" => {
            if let Some(missing) = parse_missing_object(message) {
                Signal::Missing(missing)
            } else if reason == "Failed" && lower.starts_with("failed to pull image") {
                Signal::ImagePullFailed(classify_pull_failure(&lower))
            } else if reason == "Failed"
                && (lower.starts_with("error: errimagepull") || lower.starts_with("error: imagepullbackoff"))
            {
                Signal::Ignored("pull_summary")
            } else {
                Signal::Ignored("other_failure")
            }
        }
        _ => Signal::Ignored("uninteresting_reason"),
    }
}

/// `spec.ephemeralContainers{name}`, or empty for the pod.
pub fn parse_field_path(path: &str) -> Target {
    if path.is_empty() {
        return Target::Pod;
    }
    for prefix in ["spec.containers{", "spec.initContainers{", "spec.ephemeralContainers{"] {
        if let Some(name) = path.strip_prefix(prefix).and_then(|r| r.strip_suffix('}')) {
            let valid = !name.is_empty()
                && name.len() <= 253
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
            return if valid { Target::Container(name.to_string()) } else { Target::Malformed };
        }
    }
    Target::Malformed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::MAX_NAME_BYTES;

    #[test]
    fn missing_objects() {
        let cm = parse_missing_object("configmap \"app-config\" not found").expect("configmap");
        assert_eq!((cm.kind, cm.name.as_str(), cm.key), (ObjectKind::ConfigMap, "app-config", None));
        let s = parse_missing_object("Error: secret \"db-creds\" not found").expect("secret");
        assert_eq!((s.kind, s.name.as_str()), (ObjectKind::Secret, "db-creds"));
        let m = parse_missing_object("MountVolume.SetUp failed for volume \"cfg\" : configmap \"cfg-v2\" not found")
            .expect("mount");
        assert_eq!((m.kind, m.name.as_str()), (ObjectKind::ConfigMap, "cfg-v2"));
        let pvc = parse_missing_object("persistentvolumeclaim \"data-ledger-0\" not found").expect("pvc");
        assert_eq!((pvc.kind, pvc.name.as_str()), (ObjectKind::Pvc, "data-ledger-0"));
        let key = parse_missing_object("couldn't find key DATABASE_URL in ConfigMap shop/app-config").expect("key");
        assert_eq!(
            (key.kind, key.name.as_str(), key.key.as_deref()),
            (ObjectKind::ConfigMap, "app-config", Some("DATABASE_URL"))
        );
        let skey = parse_missing_object("couldn't find key token in Secret prod/api").expect("secret key");
        assert_eq!((skey.kind, skey.name.as_str()), (ObjectKind::Secret, "api"));
        assert_eq!(parse_missing_object("configmap \"x\" is forbidden"), None);
        assert_eq!(parse_missing_object("secret \"unterminated"), None);
        let long = format!("configmap \"{}\" not found", "a".repeat(10_000));
        assert_eq!(parse_missing_object(&long).map(|m| m.name.len()), Some(MAX_NAME_BYTES));
    }

    /// The messages containerd 1.6 gives for the three registries of the real-node tests
    /// (`tests/real_node.rs`), the ports as they came.
    #[test]
    fn pull_failures_from_containerd() {
        let cases = [
            (
                "failed to resolve reference \"127.0.0.1:40195/gone:1\": failed to do request: Head \"http://127.0.0.1:40195/v2/gone/manifests/1\": dial tcp 127.0.0.1:40195: connect: connection refused",
                PullFailure::Unreachable,
            ),
            (
                "failed to resolve reference \"127.0.0.1:33383/private:1\": pulling from host 127.0.0.1:33383 failed with status code [manifests 1]: 401 Unauthorized",
                PullFailure::Unauthorized,
            ),
            (
                "rpc error: code = NotFound desc = failed to pull and unpack image \"127.0.0.1:38441/absent:1\": failed to resolve reference \"127.0.0.1:38441/absent:1\": 127.0.0.1:38441/absent:1: not found",
                PullFailure::NotFound,
            ),
            (
                "failed to resolve reference \"127.0.0.1:4011/x:1\": 127.0.0.1:4011/x:1: not found",
                PullFailure::NotFound,
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(classify_pull_failure(message), expected, "{message}");
        }
    }

    #[test]
    fn field_paths() {
        assert_eq!(parse_field_path(""), Target::Pod);
        assert_eq!(parse_field_path("spec.containers{app}"), Target::Container("app".into()));
        assert_eq!(parse_field_path("spec.initContainers{migrate}"), Target::Container("migrate".into()));
        assert_eq!(parse_field_path("spec.ephemeralContainers{debugger-x7}"), Target::Container("debugger-x7".into()));
        for bad in [
            "spec.containers{",
            "spec.containers{}",
            "spec.containers{a}b",
            "spec.volumes{x}",
            "metadata",
            "spec.containers{a\"b}",
        ] {
            assert_eq!(parse_field_path(bad), Target::Malformed, "{bad:?}");
        }
    }
}
