//! Wiring only: flags, logging, and the subcommands.

use std::process::ExitCode;
use std::sync::Arc;

use crashloop_exporter::{Cli, Command, DiagnoseArgs, Error, ScanArgs, ServeArgs, display_name};

fn main() -> ExitCode {
    tune_allocator();
    run()
}

/// With glibc, blocks of 128 KiB and more (the list's page bodies, the render's buffers) are
/// always mapped and unmapped, and freed memory above that is given back: by default glibc
/// moves such blocks into its heap once one is freed and keeps memory it no longer uses
/// (BENCHMARKS.md, "The whole process against the real apiserver at 100,000 pods", has the
/// RSS before and after). The image links musl, which has no such setting.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter; it is called before any thread exists.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}

#[tokio::main]
async fn run() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Run as `kubectl-crashloop` (a kubectl plugin), the help says `kubectl crashloop`.
    let name = display_name(std::env::args_os().next().as_deref());
    let result = match Cli::parse_as(&name).into_command() {
        Command::Serve(args) => serve(args).await.map(|()| ExitCode::SUCCESS),
        Command::Scan(args) => scan(args).await,
        Command::Diagnose(args) => diagnose(args).await.map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|e| {
        eprintln!("crashloop-exporter: {e}");
        ExitCode::from(2)
    })
}

/// Exit status 1 as `--fail-on` says (a crash loop by default), so the command serves in scripts.
async fn scan(args: ScanArgs) -> Result<ExitCode, Error> {
    crashloop_exporter::init_logging(&args.log)?;
    let client = args.cluster.client().await?;
    // Without -n or -A, the context's namespace, as kubectl.
    let scopes = args.scopes(client.default_namespace());
    let rows = crashloop_exporter::scan(&client, &scopes, args.logs, crashloop_exporter::now()).await?;
    print!("{}", crashloop_exporter::render_scan(&rows, args.output));
    Ok(if crashloop_exporter::fails(&rows, args.fail_on) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

async fn diagnose(args: DiagnoseArgs) -> Result<(), Error> {
    crashloop_exporter::init_logging(&args.log)?;
    let client = args.cluster().client().await?;
    let namespace = args.namespace.clone().unwrap_or_else(|| client.default_namespace().to_string());
    let target = crashloop_exporter::Target::parse(args.pod.as_deref(), args.selector.as_deref())?;
    let reading = crashloop_exporter::Reading { logs: !args.no_logs, prometheus_url: args.prometheus_url.clone() };
    let d = crashloop_exporter::diagnose(&client, &namespace, &target, &reading, crashloop_exporter::now()).await?;
    print!("{}", crashloop_exporter::render_diagnosis(&d, args.output));
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<(), Error> {
    crashloop_exporter::init_logging(&args.log)?;
    crashloop_exporter::serve(args, Arc::new(crashloop_exporter::now), shutdown_signal()).await
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
