//! The container image, built and run here with buildah (no daemon, no registry): a statically
//! linked edgewatch alone on `scratch`. The test builds the binary (profile `image`, glibc
//! linked in), builds `Containerfile` around it in a private vfs store, checks the image config
//! (user 65532, entrypoint, labels) and that the root filesystem holds the binary and nothing
//! else (no shell), then runs the image: `--version`, and `--once` against a loopback TLS
//! endpoint whose name only the loopback DNS server knows (the static binary still resolves,
//! through hickory), posting the failing target's alert to an Alertmanager stand-in named
//! `localhost` (the HTTP client needs no CA store; the static glibc resolves through /etc/hosts). It also checks that Dockerfile's final stage is Containerfile's, and that
//! deploy/ names the image and tag the README builds.

#[path = "../support/mod.rs"]
mod support;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::Value;
use support::dns::{DnsServer, Zone};
use support::pki::Pki;
use support::tls_server::{Reply, TlsServer, bind_one};

const BUILDAH: &str = "/usr/bin/buildah";
const LOCALHOST: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
/// The image name deploy/ and the README use; the tag is the crate's version.
const IMAGE: &str = "ghcr.io/example/edgewatch";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn text(out: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The host's target triple (the static build names it explicitly so that RUSTFLAGS reach
/// edgewatch but not the build scripts and proc macros).
fn host_triple() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("a host line")
        .to_string()
}

/// Builds the statically linked binary the image holds (README "Container image"), printing how
/// long it took: a measure, never an assertion.
fn static_binary() -> PathBuf {
    let triple = host_triple();
    let target_dir = root().join("target/static");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let started = Instant::now();
    let mut build = Command::new(cargo);
    // `cargo test` gives this process CARGO_PKG_*, CARGO_MANIFEST_DIR and friends; build scripts
    // (aws-lc-sys) rerun when those change, so a build inheriting them would redo every
    // dependency after the README's command had been run from a shell, and the reverse.
    for (name, _) in std::env::vars() {
        if name.starts_with("CARGO_") && name != "CARGO_HOME" {
            build.env_remove(name);
        }
    }
    let out = build
        .args([
            "build",
            "--locked",
            "--profile",
            "image",
            "--target",
            &triple,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(root())
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .output()
        .expect("run cargo build");
    assert!(out.status.success(), "static build failed: {}", text(&out));
    eprintln!("static build (profile image): {:.1?}", started.elapsed());
    let binary = target_dir.join(&triple).join("image/edgewatch");
    let file = Command::new("file").arg(&binary).output();
    if let Ok(file) = file {
        let what = String::from_utf8_lossy(&file.stdout);
        assert!(
            what.contains("statically linked") || what.contains("static-pie"),
            "{what}"
        );
    }
    binary
}

/// buildah with its own vfs store under `store` (nothing is left in the machine's store).
struct Buildah {
    store: tempfile::TempDir,
}

impl Buildah {
    fn new() -> Buildah {
        assert!(
            Path::new(BUILDAH).exists(),
            "{BUILDAH} is missing: install Debian's `buildah` package (.ci/install-test-deps.sh)"
        );
        Buildah {
            store: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let s = self.store.path();
        Command::new(BUILDAH)
            .arg("--storage-driver=vfs")
            .arg(format!("--root={}", s.join("root").display()))
            .arg(format!("--runroot={}", s.join("run").display()))
            .args(args)
            .output()
            .expect("run buildah")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(out.status.success(), "buildah {args:?}: {}", text(&out));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

/// The lines of a file's last stage (from its last `FROM`), without comments and blank lines.
fn final_stage(path: &Path) -> Vec<String> {
    let content = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = content
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let from = lines
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("a FROM line");
    lines[from..].iter().map(|l| l.to_string()).collect()
}

#[test]
fn dockerfile_final_stage_is_the_containerfile_the_tests_build() {
    let docker = final_stage(&root().join("Dockerfile"));
    let tested = final_stage(&root().join("Containerfile"));
    assert_eq!(docker[0], "FROM scratch");
    // The one allowed difference: where the binary comes from.
    let docker: Vec<String> = docker
        .into_iter()
        .map(|l| l.replace("COPY --from=builder /out/edgewatch ", "COPY edgewatch "))
        .collect();
    assert_eq!(docker, tested);
    let version = format!(
        "org.opencontainers.image.version=\"{}\"",
        env!("CARGO_PKG_VERSION")
    );
    assert!(tested.iter().any(|l| l.contains(&version)), "{tested:?}");
}

#[test]
fn deploy_and_readme_name_the_same_image_and_tag() {
    let tag = env!("CARGO_PKG_VERSION");
    let kustomization =
        std::fs::read_to_string(root().join("deploy/kubernetes/base/kustomization.yaml")).unwrap();
    assert!(
        kustomization.contains(&format!("newName: {IMAGE}")),
        "{kustomization}"
    );
    assert!(
        kustomization.contains(&format!("newTag: \"{tag}\"")),
        "{kustomization}"
    );
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let named: Vec<&str> = readme
        .split(|c: char| c.is_whitespace() || c == '`')
        .filter(|w| w.starts_with(&format!("{IMAGE}:")))
        .collect();
    assert!(!named.is_empty(), "the README names {IMAGE}:{tag}");
    for w in named {
        assert_eq!(w, format!("{IMAGE}:{tag}"), "README names another tag");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scratch_image_builds_has_only_the_binary_and_runs_once_against_loopback() {
    let binary = static_binary();
    let buildah = Buildah::new();
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(&binary, context.path().join("edgewatch")).unwrap();
    let tag = format!("{IMAGE}:{}", env!("CARGO_PKG_VERSION"));
    let containerfile = root().join("Containerfile");
    let started = Instant::now();
    buildah.ok(&[
        "build",
        "--isolation=chroot",
        "-f",
        containerfile.to_str().unwrap(),
        "-t",
        &tag,
        context.path().to_str().unwrap(),
    ]);
    eprintln!("buildah build: {:.1?}", started.elapsed());
    let size = buildah.ok(&["images", "--format", "{{.Size}}", &tag]);
    eprintln!("image {tag}: {size}");

    // The config a runtime reads.
    let inspect: Value =
        serde_json::from_str(&buildah.ok(&["inspect", "--type", "image", &tag])).unwrap();
    let config = &inspect["OCIv1"]["config"];
    assert_eq!(config["User"], "65532:65532", "{config}");
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/edgewatch"]),
        "{config}"
    );
    let labels = &config["Labels"];
    assert_eq!(labels["org.opencontainers.image.title"], "edgewatch");
    assert_eq!(
        labels["org.opencontainers.image.version"],
        env!("CARGO_PKG_VERSION")
    );
    assert!(labels["org.opencontainers.image.description"].is_string());

    // The root filesystem: the binary, nothing else (no shell, no libraries, no CA bundle).
    let container = buildah.ok(&["from", &tag]);
    let mount = PathBuf::from(buildah.ok(&["mount", &container]));
    let files: Vec<String> = walk(&mount);
    assert_eq!(files, ["edgewatch"], "the image holds more than the binary");

    let version = buildah.run(&[
        "run",
        "--isolation=chroot",
        "--network=host",
        &container,
        "--",
        "/edgewatch",
        "--version",
    ]);
    assert!(version.status.success(), "{}", text(&version));
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("edgewatch {}", env!("CARGO_PKG_VERSION"))
    );
    let shell = buildah.run(&[
        "run",
        "--isolation=chroot",
        "--network=host",
        &container,
        "--",
        "/bin/sh",
        "-c",
        "true",
    ]);
    assert!(!shell.status.success(), "a shell ran in the image");

    // One pass against a loopback endpoint, as user 65532, with the config on a volume.
    let pki = Pki::new();
    let leaf = pki.good(&["image.example.test"]);
    let server = TlsServer::serve(
        bind_one(LOCALHOST.into()).await.unwrap(),
        &leaf,
        Reply::ok(),
    )
    .unwrap();
    let dns = DnsServer::start(Zone::new().a("image.example.test", &[LOCALHOST]))
        .await
        .unwrap();
    // An Alertmanager stand-in named `localhost`: the failing target's alert reaches it only if
    // the HTTP client builds without a CA store and the static binary resolves the name.
    let alertmanager = tokio::net::TcpListener::bind((LOCALHOST, 0)).await.unwrap();
    let alertmanager_port = alertmanager.local_addr().unwrap().port();
    let posted = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut conn, _) = alertmanager.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&request).contains("\"target\":\"refused\"") {
            let n = conn.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let _ = conn
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        String::from_utf8_lossy(&request).into_owned()
    });
    let cfg = tempfile::tempdir().unwrap();
    std::fs::write(cfg.path().join("ca.pem"), &pki.root.pem).unwrap();
    std::fs::write(
        cfg.path().join("edgewatch.yaml"),
        format!(
            "resolver:\n  nameservers: [\"{}\"]\ntls:\n  ca_file: /cfg/ca.pem\n\
             alertmanager:\n  url: http://localhost:{alertmanager_port}\ntargets:\n\
             \x20 - host: image.example.test\n    name: image\n    port: {}\n\
             \x20 - host: image.example.test\n    name: refused\n    port: {}\n",
            dns.addr(),
            server.addr().port(),
            support::free_port(),
        ),
    )
    .unwrap();
    // The image runs as 65532: let it read the config.
    readable_by_all(cfg.path());
    let volume = format!("{}:/cfg:ro", cfg.path().display());
    // Blocking: the loopback servers run on this runtime's other worker meanwhile.
    let once = tokio::task::spawn_blocking(move || {
        buildah.run(&[
            "run",
            "--isolation=chroot",
            "--network=host",
            "-v",
            &volume,
            &container,
            "--",
            "/edgewatch",
            "--once",
            "--config",
            "/cfg/edgewatch.yaml",
            "--output",
            "json",
        ])
    })
    .await
    .unwrap();
    // Exit 1: the `refused` target fails (nothing listens on its port); `image` passes.
    assert_eq!(once.status.code(), Some(1), "{}", text(&once));
    let doc: Value = serde_json::from_slice(&once.stdout).unwrap();
    let image = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "image")
        .unwrap();
    assert_eq!(image["ok"], true, "{doc}");
    let dns_check = image["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "dns")
        .unwrap();
    assert_eq!(dns_check["status"], "pass", "{doc}");
    let request = tokio::time::timeout(std::time::Duration::from_secs(10), posted)
        .await
        .expect("the alert reached the Alertmanager stand-in")
        .unwrap();
    assert!(request.starts_with("POST /api/v2/alerts"), "{request}");
    assert!(request.contains("\"target\":\"refused\""), "{request}");
}

/// Every path under `dir`, relative, sorted; directories buildah makes for a run (`etc`,
/// `proc`, `dev`, ...) do not exist yet before the first run.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().unwrap().is_dir() {
            out.push(format!("{name}/"));
            out.extend(
                walk(&entry.path())
                    .into_iter()
                    .map(|p| format!("{name}/{p}")),
            );
        } else {
            out.push(name);
        }
    }
    out.sort();
    out
}

fn readable_by_all(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
}
