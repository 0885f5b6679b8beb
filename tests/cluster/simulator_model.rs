//! The simulator's model read by the exporter, in process: what `crashloop_testbed::sim`
//! writes for a pod, decoded, tracked and assessed as the exporter's watch does. No cluster
//! is needed (`cargo test --test cluster simulator_model::`). These checks sit on the
//! exporter's side, beside `simulator.rs` (the same model played against the apiserver),
//! because the test bed depends on nothing it tests.

use crashloop_exporter::internals::parse::parse_go_duration;
use crashloop_exporter::internals::view::{
    ContainerType, Phase, SlimPod, State as Slim, TerminationReason, WaitingReason,
};
use crashloop_exporter::internals::{Cause, ContainerReport, DelaySource, assess, track};
use crashloop_testbed as testbed;
use crashloop_testbed::sim::{
    BackoffCurve, CONTAINER, Lifecycle, PodPlan, SIDECAR, Scenario, State, Status, Subject, Which, go_duration,
};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

/// The wall clock of the decoded pods: simulated second 0 is this Unix second.
const T0: i64 = 1_800_000_000;

fn wall_seconds(t: f64) -> i64 {
    T0 + t as i64
}

fn subject() -> Subject {
    Subject {
        namespace: "ns".into(),
        pod: "checkout-5d4f8c7b9b-x2x4q".into(),
        uid: "u-1".into(),
        image: "registry.example/checkout:1.2.3".into(),
        config_map: "checkout-config".into(),
    }
}

/// What the simulator writes for `manifest` (as created, with a uid), decoded by the
/// exporter's own projection.
fn decode_pod(mut manifest: Value, status: &Status) -> SlimPod {
    manifest["metadata"]["uid"] = json!("u-1");
    let pod: Pod = serde_json::from_value(manifest.clone()).expect("pod");
    let wall = |t: f64| testbed::timestamp(wall_seconds(t));
    manifest["status"] = status.pod_status(&pod, "registry.example/checkout:1.2.3", &wall);
    serde_json::from_value(manifest).expect("the exporter decodes it")
}

/// What the simulator writes for the one-container pod of [`subject`], decoded.
fn decode(status: &Status) -> SlimPod {
    let manifest = json!({
        "metadata": { "name": "checkout-5d4f8c7b9b-x2x4q", "namespace": "ns" },
        "spec": { "containers": [{ "name": "app", "image": "registry.example/checkout:1.2.3" }] },
    });
    decode_pod(manifest, status)
}

/// A pod of `scenario` as `crashloop-sim` creates it, and its subject.
fn planned(scenario: Scenario) -> (Value, Subject) {
    let plan = PodPlan {
        namespace: "ns".into(),
        deployment: format!("{}-0", scenario.workload()),
        replica: 0,
        scenario,
        seed: 42,
    };
    let manifest = plan.manifest(0);
    let subject = Subject {
        namespace: "ns".into(),
        pod: plan.name(0),
        uid: "u-1".into(),
        image: plan.image(),
        config_map: plan.config_map(),
    };
    (manifest, subject)
}

/// Plays `lifecycle` up to `until` through the exporter as it watches a pod: each status
/// written is decoded, tracked against the previous one and assessed at its moment.
/// Calls `check` with the model's status and the exporter's pod after each.
fn watch(lifecycle: Lifecycle, manifest: &Value, until: f64, mut check: impl FnMut(&Status, &SlimPod, i64)) {
    let mut seen: Option<SlimPod> = None;
    for t in lifecycle.take_while(|t| t.at <= until) {
        let Some(status) = t.status else { continue };
        let now = wall_seconds(t.at);
        let pod = track(seen.as_ref(), decode_pod(manifest.clone(), &status), now, false);
        check(&status, &pod, now);
        seen = Some(pod);
    }
}

fn report<'a>(reports: &'a [ContainerReport<'a>], name: &str) -> &'a ContainerReport<'a> {
    reports.iter().find(|r| *r.container.name == *name).expect("a report of the container")
}

#[test]
fn go_durations_read_back_as_the_exporter_parses_them() {
    for (s, text) in [(10.0, "10s"), (80.0, "1m20s"), (160.0, "2m40s"), (300.0, "5m0s"), (3600.0, "1h0m0s")] {
        assert_eq!(go_duration(s), text);
        assert_eq!(parse_go_duration(text), Some(s));
    }
}

#[test]
fn the_exporter_reports_the_kubelets_delay_on_any_curve() {
    let manifest = json!({
        "metadata": { "name": "checkout-5d4f8c7b9b-x2x4q", "namespace": "ns" },
        "spec": { "containers": [{ "name": "app", "image": "registry.example/checkout:1.2.3" }] },
    });
    for (curve, expected) in [
        (BackoffCurve::reduced(), vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]),
        ("max=30s".parse().expect("a curve"), vec![10.0, 20.0, 30.0]),
    ] {
        let oom = Lifecycle::new(Scenario::Oom, subject(), 1).with_runs(vec![5.0]).with_backoff(curve);
        let mut reported = Vec::new();
        watch(oom, &manifest, 900.0, |status, pod, now| {
            let reports = assess(pod, None, &|_| None, now, false);
            let app = report(&reports, CONTAINER);
            match status.state {
                State::CrashLoopBackOff { delay } => {
                    assert_eq!(app.backoff.delay, Some((delay, DelaySource::Kubelet)), "{curve}");
                    let finished = status.last.as_ref().map(|e| wall_seconds(e.finished) as f64);
                    assert_eq!(app.backoff.next_restart, finished.map(|f| f + delay), "{curve}");
                    assert!(app.crashlooping && app.cause == Some(Cause::OomKilled), "{curve}");
                    if !reported.contains(&delay) {
                        reported.push(delay);
                    }
                }
                // Out of back-off the exporter has no delay: it never guesses one.
                _ => assert_eq!(app.backoff.delay, None, "{curve}: {:?}", status.state),
            }
        });
        assert_eq!(reported, expected, "{curve}");
    }
}

#[test]
fn the_exporter_sees_a_crashing_sidecar_beside_the_running_app() {
    let (manifest, subject) = planned(Scenario::Sidecar);
    let sidecar = Lifecycle::new(Scenario::Sidecar, subject, 0).with_runs(vec![5.0]);
    // The sidecar is crash-looping with a cause, the app is fine.
    let mut last_looping = None;
    watch(sidecar, &manifest, 300.0, |status, pod, now| {
        let reports = assess(pod, None, &|_| None, now, false);
        let shipper = report(&reports, SIDECAR);
        assert_eq!(shipper.container.container_type, ContainerType::Sidecar);
        let app = report(&reports, CONTAINER);
        assert!(!app.crashlooping && app.cause.is_none(), "{:?}", status.state);
        if let Some(State::CrashLoopBackOff { delay }) = status.of(Which::Sidecar).map(|s| &s.state) {
            assert!(shipper.crashlooping, "{delay}");
            assert_eq!(shipper.cause, Some(Cause::AppError));
            assert_eq!(shipper.backoff.delay, Some((*delay, DelaySource::Kubelet)));
            last_looping = Some(*delay);
        }
    });
    assert_eq!(last_looping, Some(160.0));
}

#[test]
fn a_jobs_sidecar_stopped_after_completion_is_no_failure() {
    let (manifest, subject) = planned(Scenario::SidecarJob);
    let job = Lifecycle::new(Scenario::SidecarJob, subject, 0).with_runs(vec![30.0]);
    let end = job.clone().last().and_then(|t| t.status).expect("a final status");

    // Nothing is troubled at any moment, and the sidecar's SIGTERM is no failure.
    watch(job, &manifest, 900.0, |status, pod, now| {
        for r in assess(pod, None, &|_| None, now, false) {
            assert!(r.cause.is_none() && !r.crashlooping, "{}: {:?} at {:?}", r.container.name, r, status);
        }
    });
    let pod = track(None, decode_pod(manifest.clone(), &end), wall_seconds(40.0), false);
    assert_eq!(pod.phase, Phase::Succeeded);
    let shipper = pod.container(SIDECAR).expect("the sidecar");
    assert_eq!(shipper.container_type, ContainerType::Sidecar);
    let Slim::Terminated(t) = &shipper.state else { panic!("terminated: {:?}", shipper.state) };
    assert_eq!((t.exit_code, t.reason), (143, TerminationReason::Error));
    assert!(!pod.failed(shipper, t) && pod.has_ended(shipper));
    // It is the pod's end that makes the exit normal: the same exit in a running pod fails.
    let running = decode_pod(manifest.clone(), &Status { succeeded: false, ..end.clone() });
    let shipper = running.container(SIDECAR).expect("the sidecar");
    let Slim::Terminated(t) = &shipper.state else { panic!("terminated") };
    assert!(running.failed(shipper, t));

    // As the 1.20 test apiserver returns the pod (`restartPolicy` of init containers
    // pruned), the sidecar is an init container, and its SIGTERM exit a failed one.
    let mut pruned = manifest;
    if let Some(sidecar) = pruned["spec"]["initContainers"][0].as_object_mut() {
        sidecar.remove("restartPolicy");
    }
    let pod = track(None, decode_pod(pruned, &end), wall_seconds(40.0), false);
    let reports = assess(&pod, None, &|_| None, wall_seconds(40.0), false);
    let shipper = report(&reports, SIDECAR);
    assert_eq!((shipper.container.container_type, shipper.cause), (ContainerType::Init, Some(Cause::Unknown)));
}

#[test]
fn statuses_decode_in_the_exporter_as_intended() {
    let first_exit = Lifecycle::new(Scenario::Oom, subject(), 1)
        .with_runs(vec![5.0])
        .find_map(|t| match t.status?.state {
            State::Exited(exit) => Some(exit),
            _ => None,
        })
        .expect("an exit");
    let status = Status {
        state: State::CrashLoopBackOff { delay: 300.0 },
        restarts: 6,
        last: Some(first_exit),
        ..Status::default()
    };
    let pod = decode(&status);
    let c = &pod.containers[0];
    let waiting = c.state.waiting().expect("waiting");
    assert_eq!((waiting.reason, waiting.backoff_seconds), (WaitingReason::CrashLoopBackOff, Some(300.0)));
    let last = c.last_termination().expect("last state");
    assert_eq!((last.reason, last.exit_code, last.run_seconds()), (TerminationReason::OomKilled, 137, Some(5)));
    assert_eq!(c.restart_count, 6);

    let config = Status {
        state: State::ConfigError { message: "configmap \"w-config\" not found".into() },
        ..Status::default()
    };
    let missing =
        decode(&config).containers[0].state.waiting().and_then(|w| w.missing.clone()).expect("missing object");
    assert_eq!(missing.name, "w-config");
    let running = decode(&Status { state: State::Running { started: 2.0 }, ..Status::default() });
    assert_eq!(running.containers[0].state, Slim::Running { started_at: Some(1_800_000_002) });
}
