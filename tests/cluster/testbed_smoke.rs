//! The testbed against a real kube-apiserver: play the kubelet and read it back.
//! Needs kube-apiserver and etcd (run `.ci/install`).

use std::error::Error;

use crashloop_testbed::{self as testbed, EventSpec, Terminated};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Api;

type TestResult = Result<(), Box<dyn Error>>;

#[tokio::test]
async fn plays_the_kubelet_against_a_real_apiserver() -> TestResult {
    let cluster = testbed::shared()?;
    let client = cluster.client().await?;
    let ns = "smoke";
    testbed::ensure_namespace(&client, ns).await?;
    testbed::ensure_namespace(&client, ns).await?; // idempotent

    let manifest = testbed::deployment_pod(
        ns,
        "web",
        "5d4f8c7b9",
        "x2x4q",
        vec![testbed::container("app", "registry.example/web:1.2")],
    );
    let pod = testbed::create_pod(&client, ns, &manifest).await?;
    let name = "web-5d4f8c7b9-x2x4q";
    assert_eq!(pod.metadata.name.as_deref(), Some(name));
    let owner = &pod.metadata.owner_references.as_ref().ok_or("no owner")?[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("ReplicaSet", "web-5d4f8c7b9", Some(true))
    );
    let uid = pod.metadata.uid.clone().ok_or("no uid")?;

    let last = Terminated::new("OOMKilled", 137, testbed::ago(200), testbed::ago(160));
    let status = testbed::pod_status(&pod, "Running", vec![testbed::crashloop_status(&pod, "app", 5, "2m40s", &last)]);
    testbed::patch_status(&client, ns, name, &status).await?;

    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let read = pods.get(name).await?;
    let st = read.status.ok_or("no status")?;
    assert_eq!(st.phase.as_deref(), Some("Running"));
    let cs = &st.container_statuses.ok_or("no container statuses")?[0];
    assert_eq!(cs.restart_count, 5);
    assert!(!cs.ready);
    let waiting = cs.state.as_ref().and_then(|s| s.waiting.as_ref()).ok_or("not waiting")?;
    assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
    let expected = format!("back-off 2m40s restarting failed container=app pod={name}_{ns}({uid})");
    assert_eq!(waiting.message.as_deref(), Some(expected.as_str()));
    let terminated = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()).ok_or("no last state")?;
    assert_eq!((terminated.reason.as_deref(), terminated.exit_code), (Some("OOMKilled"), 137));
    assert!(cs.container_id.as_deref().is_some_and(|id| id.starts_with("containerd://")));

    let spec = EventSpec::for_pod(&pod, true, "BackOff", "Back-off restarting failed container").container("app");
    let event = testbed::post_event(&client, ns, &spec).await?;
    assert_eq!(event.metadata.name.as_deref(), Some(spec.name.as_str()));
    assert!(spec.name.starts_with(&format!("{name}.")));
    testbed::patch_event_count(&client, ns, &spec.name, 3, &testbed::ago(0)).await?;
    let read = Api::<Event>::namespaced(client.clone(), ns).get(&spec.name).await?;
    assert_eq!(read.count, Some(3));
    assert_eq!(read.involved_object.field_path.as_deref(), Some("spec.containers{app}"));
    assert_eq!(read.involved_object.uid.as_deref(), Some(uid.as_str()));
    assert_eq!(read.source.and_then(|s| s.host).as_deref(), Some(testbed::NODE_NAME));

    testbed::delete_pod(&client, ns, name).await?;
    assert!(pods.get_opt(name).await?.is_none());
    testbed::delete_pod(&client, ns, name).await?; // already gone: fine
    Ok(())
}

#[tokio::test]
async fn limited_user_is_authenticated_but_not_authorized() -> TestResult {
    let cluster = testbed::shared()?;
    let limited = cluster.client_for("limited").await?;
    let err = Api::<Pod>::namespaced(limited, "default")
        .list(&Default::default())
        .await
        .err()
        .ok_or("limited may list pods")?;
    assert!(matches!(err, kube::Error::Api(ref s) if s.code == 403), "{err}");
    assert!(cluster.kubeconfig_for("limited")?.exists());
    assert!(cluster.kubeconfig_for("nobody").is_err());
    Ok(())
}

/// Behaviour of the 1.20 apiserver the exporter's tests depend on.
#[tokio::test]
async fn apiserver_1_20_quirks() -> TestResult {
    let client = testbed::shared()?.client().await?;
    let ns = "quirks";
    testbed::ensure_namespace(&client, ns).await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);

    // Native sidecars (1.28+): the unknown initContainers[].restartPolicy is dropped silently.
    let mut manifest = testbed::pod(ns, "sidecar", vec![testbed::container("app", "app:1")]);
    let mut sidecar = testbed::container("proxy", "proxy:1");
    sidecar["restartPolicy"] = "Always".into();
    manifest["spec"]["initContainers"] = serde_json::json!([sidecar]);
    let pod = testbed::create_pod(&client, ns, &manifest).await?;
    let init = &pod.spec.as_ref().and_then(|s| s.init_containers.clone()).ok_or("no init containers")?[0];
    assert_eq!(init.restart_policy, None);

    // Init container statuses land in initContainerStatuses.
    let done = Terminated::new("Completed", 0, testbed::ago(60), testbed::ago(59));
    let status = testbed::pod_status(
        &pod,
        "Running",
        vec![
            testbed::terminated_status("proxy", 0, &done, None),
            testbed::running_status("app", 0, &testbed::ago(58), None),
        ],
    );
    let read = testbed::patch_status(&client, ns, "sidecar", &status).await?.status.ok_or("no status")?;
    assert_eq!(read.init_container_statuses.map(|s| s.len()), Some(1));
    assert_eq!(read.container_statuses.map(|s| s[0].ready), Some(true));

    // A pod bound to a node is not deleted by a default delete: no kubelet confirms it.
    pods.delete("sidecar", &Default::default()).await?;
    let pending = pods.get("sidecar").await?;
    assert!(pending.metadata.deletion_timestamp.is_some());
    testbed::delete_pod(&client, ns, "sidecar").await?;
    assert!(pods.get_opt("sidecar").await?.is_none());
    Ok(())
}

/// A private cluster whose components are stopped and started again.
#[tokio::test]
async fn components_restart() -> TestResult {
    let cluster = testbed::Cluster::start()?;
    let dir = cluster.dir().to_owned();
    testbed::ensure_namespace(&cluster.client().await?, "before").await?;
    cluster.stop_apiserver();
    assert!(testbed::ensure_namespace(&cluster.client().await?, "down").await.is_err());
    cluster.start_apiserver()?;
    cluster.stop_etcd();
    cluster.start_etcd()?;
    cluster.stop_apiserver();
    cluster.start_apiserver()?; // waits for /readyz, which needs etcd
    let client = cluster.client().await?;
    testbed::ensure_namespace(&client, "after").await?;
    let namespaces = Api::<k8s_openapi::api::core::v1::Namespace>::all(client);
    assert!(namespaces.get_opt("before").await?.is_some(), "etcd data survives restarts");
    drop(cluster);
    assert!(!dir.exists());
    Ok(())
}

/// etcd admits only a client with a certificate of the cluster's etcd CA: a local user who
/// connects to its port without one reads nothing, by plain HTTP or by TLS.
#[tokio::test]
async fn etcd_admits_only_a_client_certificate() -> TestResult {
    let cluster = testbed::shared()?;
    let range = |scheme: &str, tls: &[&str]| {
        let url = format!("{}/v3/kv/range", cluster.etcd_url().replacen("https", scheme, 1));
        let out = std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "-d", r#"{"key":"Lw=="}"#])
            .args(tls)
            .arg(url)
            .output()
            .expect("curl runs");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let ca = cluster.etcd_ca().display().to_string();
    // Plain HTTP on the TLS port: etcd closes the connection (curl: 52, empty reply).
    assert_eq!(range("http", &[]), (Some(52), "000".to_string()), "plain HTTP");
    // TLS without a client certificate: etcd ends the handshake with an alert, which curl
    // sees while sending (55) or receiving (56) under TLS 1.3, or in the handshake (35).
    let (code, status) = range("https", &["--cacert", &ca]);
    assert!(matches!(code, Some(35 | 55 | 56)) && status == "000", "TLS without a certificate: {code:?} {status}");
    // The same request with the apiserver's certificate is answered: the refusals above are
    // etcd's, not a broken request.
    let (cert, key) = cluster.etcd_client_certificate();
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    assert_eq!(range("https", &["--cacert", &ca, "--cert", &cert, "--key", &key]), (Some(0), "200".to_string()));
    let revision = cluster.etcd_client()?.post_json("/v3/kv/range", r#"{"key":"Lw=="}"#)?;
    assert!(revision["header"]["revision"].as_str().is_some(), "the test bed's own client: {revision}");
    Ok(())
}
