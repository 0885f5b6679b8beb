//! The body cache: scrapes that ask at the same time share one render, sent in chunks,
//! and a body is kept until something changes or [`KEEP_FOR`] has passed.

use std::sync::atomic::Ordering;

use super::*;
use crate::exposition::body::KEEP_FOR;
use crate::fixtures::fixture;

/// Scrapes of one second share one render, sent whole in chunks, gzip or not; the body
/// is forgotten after `KEEP_FOR`.
#[tokio::test]
async fn scrapes_of_one_second_share_one_render_sent_in_chunks() {
    use std::io::Read;
    let pods = (0..2000).map(|i| {
        let mut pod = track(None, fixture("deployment-oom-crashloop"), NOW, true);
        pod.metadata.name = Some(format!("checkout-{i}"));
        pod.uid = format!("uid-{i}").into();
        pod
    });
    let exposition = Arc::new(exposition_of(source_over(cache_of(pods))));
    for gzip in [false, true] {
        let first = exposition.get(Format::Prometheus, gzip).await;
        let second = exposition.get(Format::Prometheus, gzip).await;
        assert!(Arc::ptr_eq(&first, &second), "gzip {gzip}: the second scrape joins the first's render");
        let mut body = first.collect().await.expect("a body");
        if gzip {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut plain).expect("gzip");
            body = plain;
        } else {
            assert!(first.chunk(1).await.is_some(), "the plain body comes in more than one chunk");
        }
        let body = String::from_utf8(body).expect("UTF-8");
        let again = text_of(&exposition, Format::Prometheus);
        // The same lines as a render of its own, but for the count of renders.
        let lines = |t: &str| -> Vec<String> {
            let mut lines: Vec<String> =
                t.lines().filter(|l| !l.starts_with("crashloop_exporter_renders_total")).map(str::to_string).collect();
            lines.sort();
            lines
        };
        assert_eq!(lines(&body), lines(&again), "gzip {gzip}");
        assert!(body.ends_with('\n'), "gzip {gzip}: the body is whole");
    }
    assert_eq!(
        samples(&text_of(&exposition, Format::Prometheus), "crashloop_exporter_renders_total"),
        ["crashloop_exporter_renders_total 5"],
        "one render per format and encoding, and the three made here"
    );
    tokio::time::sleep(KEEP_FOR + std::time::Duration::from_millis(100)).await;
    let after = exposition.get(Format::Prometheus, false).await;
    after.collect().await.expect("a body");
    assert_eq!(
        samples(&text_of(&exposition, Format::Prometheus), "crashloop_exporter_renders_total"),
        ["crashloop_exporter_renders_total 7"],
        "the kept body was forgotten: a new render"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_scrapes_share_one_render_until_something_changes() {
    let cache = cache_of([track(None, fixture("deployment-oom-crashloop"), NOW, true)]);
    let changes = cache.changes.clone();
    let source = source_over(cache);
    let self_metrics = SelfMetrics::default();
    let exposition = Arc::new(Exposition::new(source, &self_metrics));
    let scrapes: Vec<_> = (0..8)
        .map(|_| {
            tokio::spawn({
                let e = exposition.clone();
                async move { e.get(Format::Prometheus, true).await }
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for s in scrapes {
        bodies.push(s.await.expect("joins").collect().await.expect("renders"));
    }
    assert_eq!(self_metrics.renders.get(), 1, "eight concurrent scrapes, one render");
    assert!(bodies.iter().all(|b| *b == bodies[0]));
    exposition.get(Format::Prometheus, true).await.collect().await.expect("renders");
    assert_eq!(self_metrics.renders.get(), 1, "nothing changed: the cached body");
    changes.fetch_add(1, Ordering::Release);
    exposition.get(Format::Prometheus, true).await.collect().await.expect("renders");
    assert_eq!(self_metrics.renders.get(), 2, "a change: a new render");
    exposition.get(Format::OpenMetrics, false).await.collect().await.expect("renders");
    assert_eq!(self_metrics.renders.get(), 3, "each format has its own body");
}
