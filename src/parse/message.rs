//! The free text of the kubelet and the runtime, reduced to bounded values: exec errors,
//! missing objects, image pull errors, Event reasons and messages, field paths. Every
//! classifier of a message is here, and nothing above this module reads message text.

use crate::view::{
    Disruption, EvictionResource, Hint, IgnoredReason, MAX_NAME_BYTES, MissingObject, ObjectKind, Probe, PullFailure,
    Refusal, Signal, Target, WaitingReason,
};

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

/// Reduces a waiting message to a [`Hint`]: for `CreateContainerConfigError`, which the
/// kubelet gives for every error of `generateContainerConfig`, whether it is the security
/// context (`container has runAsNonRoot and image will run as root`, `… has non-numeric
/// user (x), cannot verify user is non-root`) or another error of the spec when it names no
/// missing object; for the others, the exec error as [`classify_exec_message`] reads it.
pub fn classify_waiting_message(reason: WaitingReason, message: &str) -> Hint {
    if reason != WaitingReason::CreateContainerConfigError {
        return classify_exec_message(message);
    }
    let m = message.to_ascii_lowercase();
    if m.contains("runasnonroot") || m.contains("non-root policy") || m.contains("non-numeric user") {
        Hint::SecurityContext
    } else if parse_missing_object(message).is_some() {
        Hint::None
    } else {
        Hint::InvalidConfig
    }
}

/// Why the node or the control plane ended a pod, from `status.reason` (and its message)
/// and the reason of a `DisruptionTarget=True` condition, if any:
/// - `Evicted` (the eviction manager), `Terminated` or `Shutdown` (graceful node shutdown;
///   `Shutdown` before 1.21), `NodeShutdown` (admission refused during a shutdown),
///   `Preempting` (the kubelet made room for a critical pod), `DeadlineExceeded`
///   (`activeDeadlineSeconds`), `NodeLost`;
/// - a `Failed` pod whose message says it was rejected (the kubelet's `rejectPod`: `Pod was
///   rejected: …` since 1.22, `Pod …` before, as `Pod The node had condition` under node
///   pressure), whatever the reason: admission;
/// - else the `DisruptionTarget` condition's reason: `PreemptionByScheduler` (and its
///   1.26 alpha spelling `PreemptionByKubeScheduler`), `DeletionByTaintManager` and
///   `DeletionByPodGC` (the node is gone or unreachable), `EvictionByEvictionAPI` (a
///   drain, the descheduler, the autoscaler), `TerminationByKubelet` (by its message);
///   an unknown reason is `other`.
pub fn disruption_of(reason: &str, message: &str, failed: bool, target: Option<&str>) -> Option<Disruption> {
    let rejected = message.starts_with("Pod was rejected") || message.starts_with("Pod The node had condition");
    let by_reason = match reason {
        _ if failed && rejected => Some(Disruption::AdmissionRejected),
        "Evicted" => Some(Disruption::Evicted),
        "Terminated" | "Shutdown" | "NodeShutdown" => Some(Disruption::NodeShutdown),
        "Preempting" => Some(Disruption::Preempted),
        "DeadlineExceeded" => Some(Disruption::DeadlineExceeded),
        "NodeLost" => Some(Disruption::NodeLost),
        "" => None,
        _ if failed && message.starts_with("Pod ") => Some(Disruption::AdmissionRejected),
        _ => None,
    };
    by_reason.or_else(|| {
        Some(match target? {
            "PreemptionByScheduler" | "PreemptionByKubeScheduler" => Disruption::Preempted,
            "DeletionByTaintManager" | "DeletionByPodGC" => Disruption::NodeLost,
            "EvictionByEvictionAPI" => Disruption::ApiEvicted,
            "TerminationByKubelet" => {
                let m = message.to_ascii_lowercase();
                if m.contains("shutdown") {
                    Disruption::NodeShutdown
                } else if m.contains("preempt") {
                    Disruption::Preempted
                } else {
                    Disruption::Evicted
                }
            }
            _ => Disruption::Other,
        })
    })
}

/// The resource an eviction's message names: `The node was low on resource: memory.`
/// (or `ephemeral-storage`, `pids`), or the pod's own limit: `Container x exceeded its
/// local ephemeral storage limit`, `Pod ephemeral local storage usage exceeds the total
/// limit of containers`, `Usage of EmptyDir volume "x" exceeds the limit`.
pub fn eviction_resource(message: &str) -> Option<EvictionResource> {
    let m = message.to_ascii_lowercase();
    if m.contains("ephemeral storage limit")
        || m.contains("ephemeral local storage usage exceeds")
        || (m.contains("emptydir volume") && m.contains("exceeds the limit"))
    {
        return Some(EvictionResource::StorageLimit);
    }
    let at = m.find("low on resource: ")?;
    let resource =
        m[at + "low on resource: ".len()..].split(|c: char| c == '.' || c == ',' || c.is_whitespace()).next()?;
    Some(match resource {
        "memory" => EvictionResource::Memory,
        "ephemeral-storage" | "inodes" => EvictionResource::EphemeralStorage,
        "pids" => EvictionResource::Pids,
        _ => EvictionResource::Other,
    })
}

/// Why a controller's `FailedCreate` says it could not create a pod (`Error creating: pods
/// "x" is forbidden: exceeded quota: …`; the StatefulSet controller's `create Pod x in
/// StatefulSet y failed error: …`).
pub fn classify_refusal(message: &str) -> Refusal {
    let m = message.to_ascii_lowercase();
    if m.contains("exceeded quota") || m.contains("status unknown for quota") {
        Refusal::Quota
    } else if m.contains("violates podsecurity") {
        Refusal::PodSecurity
    } else if m.contains("admission webhook") && m.contains("denied the request") {
        Refusal::Webhook
    } else if m.contains(" usage per container is ") || m.contains(" usage per pod is ") {
        Refusal::LimitRange
    } else if m.contains("serviceaccount \"") && m.contains("not found") {
        Refusal::ServiceAccount
    } else {
        Refusal::Other
    }
}

/// Finds the object a kubelet message says is missing:
/// `configmap "x" not found`, `secret "x" not found`,
/// `persistentvolumeclaim "x" not found`, `couldn't find key K in ConfigMap ns/x`.
/// A name that no such object can have (RFC 1123 subdomain, at most 253 bytes) or a key no
/// ConfigMap or Secret can hold is no missing object: anyone who may write Events could
/// otherwise put any text into a label.
pub fn parse_missing_object(message: &str) -> Option<MissingObject> {
    named_object(message).and_then(accepted)
}

/// The words of a message that names a missing object: its kind, name and key, as written.
struct Named<'a> {
    kind: ObjectKind,
    name: &'a str,
    key: Option<&'a str>,
}

/// The missing object `named` is, when Kubernetes accepts its name (and key).
fn accepted(named: Named<'_>) -> Option<MissingObject> {
    (is_dns_subdomain(named.name) && named.key.is_none_or(is_config_key)).then(|| MissingObject {
        kind: named.kind,
        name: named.name.to_string(),
        key: named.key.map(str::to_string),
    })
}

/// The Event of a message that names a missing object: the object, or, when no object can
/// have its name, left out and counted.
fn missing_signal(named: Named<'_>) -> Signal {
    accepted(named).map_or(Signal::Ignored(IgnoredReason::InvalidName), Signal::Missing)
}

/// A DNS subdomain (RFC 1123) as Kubernetes validates object names: at most 253 bytes of
/// lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit.
fn is_dns_subdomain(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_NAME_BYTES
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'.')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// A key of a ConfigMap's or Secret's data: at most 253 bytes of letters, digits, `-`, `_`
/// and `.`.
fn is_config_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_NAME_BYTES
        && key.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// The missing object a message names, whatever its name.
fn named_object(message: &str) -> Option<Named<'_>> {
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
                return Some(Named { kind, name: &message[name_start..name_start + len], key: None });
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
    Some(Named { kind, name, key: Some(key) })
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

/// The category of the pull error an image problem's message carries: the runtime's error
/// of an `ErrImagePull` waiting message, or what follows the image in a back-off message
/// (`Back-off pulling image "x": ErrImagePull: <error>`, since 1.32). `None` when the
/// message carries no error (`Back-off pulling image "x"` of older kubelets).
pub fn pull_error_category(message: &str) -> Option<PullFailure> {
    let message = message.trim();
    let head = message.get(..22).unwrap_or("");
    let error = if head.eq_ignore_ascii_case("back-off pulling image") {
        // The image is quoted; the error, if any, follows it.
        let after_image = message[22..].trim_start().strip_prefix('"').and_then(|r| r.split_once('"')).map(|(_, r)| r);
        after_image.and_then(|r| r.strip_prefix(':')).map(str::trim)?
    } else {
        message
    };
    (!error.is_empty()).then(|| classify_pull_failure(error))
}

/// The prefix of an Event the kubelet's correlator made of ten or more similar ones
/// (same object, type and reason, other messages) within ten minutes.
const COMBINED_PREFIX: &str = "(combined from similar events): ";

/// `message` without the correlator's combined prefix, and whether it had it.
pub fn strip_combined(message: &str) -> (&str, bool) {
    match message.strip_prefix(COMBINED_PREFIX) {
        Some(rest) => (rest, true),
        None => (message, false),
    }
}

/// The container an Event's message names, where the kubelet writes one:
/// `Back-off restarting failed container app in pod …` (1.26+), `Container app failed
/// liveness probe, will be restarted`. A combined Event (see [`strip_combined`]) is keyed
/// without its `fieldPath`, which is that of the first Event combined: the name in the
/// message is the better one.
pub fn container_named(message: &str) -> Option<&str> {
    let lower = message.to_ascii_lowercase();
    let name = if lower.starts_with("back-off restarting failed container ") {
        let rest = &message["back-off restarting failed container ".len()..];
        let (name, after) = rest.split_once(' ')?;
        after.starts_with("in pod ").then_some(name)
    } else if lower.starts_with("container ") {
        let rest = &message["container ".len()..];
        let (name, after) = rest.split_once(' ')?;
        after.starts_with("failed ").then_some(name)
    } else {
        None
    }?;
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then_some(name)
}

/// Linux signal numbers by name, as the API's `lifecycle.stopSignal` spells them.
const SIGNALS: &[(&str, u8)] = &[
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGSTKFLT", 16),
    ("SIGCHLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGTTIN", 21),
    ("SIGTTOU", 22),
    ("SIGURG", 23),
    ("SIGXCPU", 24),
    ("SIGXFSZ", 25),
    ("SIGVTALRM", 26),
    ("SIGPROF", 27),
    ("SIGWINCH", 28),
    ("SIGIO", 29),
    ("SIGPWR", 30),
    ("SIGSYS", 31),
];

/// `SIGUSR1` → 10; `SIGRTMIN+N` → 34 + N, `SIGRTMAX-N` → 64 − N. Anything else is `None`.
pub fn parse_signal_name(name: &str) -> Option<u8> {
    if let Some(&(_, n)) = SIGNALS.iter().find(|(s, _)| *s == name) {
        return Some(n);
    }
    let offset = |s: &str| s.parse::<u8>().ok().filter(|n| *n <= 30);
    match name {
        "SIGRTMIN" => Some(34),
        "SIGRTMAX" => Some(64),
        _ => {
            if let Some(n) = name.strip_prefix("SIGRTMIN+").and_then(offset) {
                Some(34 + n)
            } else {
                name.strip_prefix("SIGRTMAX-").and_then(offset).map(|n| 64 - n)
            }
        }
    }
}

/// The name of signal `n` (`SIGKILL` for 9), or its number.
pub fn signal_name(n: i32) -> String {
    SIGNALS.iter().find(|(_, s)| i32::from(*s) == n).map_or_else(|| n.to_string(), |(name, _)| (*name).to_string())
}

/// Reduces an Event's reason and message (without the combined prefix, see
/// [`strip_combined`]).
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
                Signal::Ignored(IgnoredReason::NotAProbeKill)
            }
        }
        "BackOff" => {
            if lower.starts_with("back-off restarting failed container") {
                Signal::CrashBackOff
            } else if lower.starts_with("back-off pulling image") {
                Signal::ImagePullBackOff(pull_error_category(message))
            } else {
                Signal::Unparsed
            }
        }
        "FailedScheduling" => match named_object(message) {
            Some(named) => missing_signal(named),
            None => Signal::Ignored(IgnoredReason::Unschedulable),
        },
        "FailedCreatePodSandBox" => Signal::SandboxFailed,
        "FailedCreate" => Signal::CreateRefused(classify_refusal(message)),
        "Failed" | "FailedMount" | "FailedAttachVolume" => {
            if let Some(named) = named_object(message) {
                missing_signal(named)
            } else if reason != "Failed" && lower.starts_with("unable to attach or mount volumes") {
                // The kubelet's summary after every failed mount, a missing object's too.
                Signal::Ignored(IgnoredReason::MountSummary)
            } else if reason != "Failed" {
                Signal::MountFailed
            } else if reason == "Failed" && lower.starts_with("failed to pull image") {
                Signal::ImagePullFailed(classify_pull_failure(&lower))
            } else if reason == "Failed"
                && (lower.starts_with("error: errimagepull") || lower.starts_with("error: imagepullbackoff"))
            {
                Signal::Ignored(IgnoredReason::PullSummary)
            } else {
                Signal::Ignored(IgnoredReason::OtherFailure)
            }
        }
        _ => Signal::Ignored(IgnoredReason::UninterestingReason),
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
        let longest = format!("configmap \"{}\" not found", "a".repeat(MAX_NAME_BYTES));
        assert_eq!(parse_missing_object(&longest).map(|m| m.name.len()), Some(MAX_NAME_BYTES));
        // What no object can be named is no missing object: Events are anyone's text.
        for message in [
            format!("configmap \"{}\" not found", "a".repeat(MAX_NAME_BYTES + 1)),
            format!("configmap \"{}\" not found", "a".repeat(10_000)),
            "configmap \"Has-Capitals\" not found".to_string(),
            "secret \"with space\" not found".to_string(),
            "secret \"-leading-dash\" not found".to_string(),
            "persistentvolumeclaim \"trailing.\" not found".to_string(),
            "configmap \"\" not found".to_string(),
            "configmap \"a\u{1b}[31mred\" not found".to_string(),
            "couldn't find key bad/key in ConfigMap shop/app-config".to_string(),
            "couldn't find key K in ConfigMap shop/App".to_string(),
            format!("couldn't find key {} in Secret prod/api", "k".repeat(254)),
        ] {
            assert_eq!(parse_missing_object(&message), None, "{message}");
            assert_eq!(
                classify_event("FailedMount", &message),
                Signal::Ignored(IgnoredReason::InvalidName),
                "{message}"
            );
        }
        assert!(matches!(
            classify_event(
                "FailedMount",
                "MountVolume.SetUp failed for volume \"cfg\" : configmap \"cfg-v2\" not found"
            ),
            Signal::Missing(_)
        ));
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
