//! Helpers shared by the integration tests: the shipit command with a clean environment, the
//! local stack's endpoint, and output that is dumped whole when an assertion fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The local stack (or a real LocalStack Pro / AWS endpoint) the tests talk to.
pub fn endpoint() -> String {
    std::env::var("SHIPIT_TEST_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".to_string())
}

/// The test endpoint's address, for a proxy in front of it (it must be an IP:port).
pub fn endpoint_addr() -> std::net::SocketAddr {
    let url = url::Url::parse(&endpoint()).unwrap();
    format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap()
    )
    .parse()
    .expect("the test endpoint is an IP:port on loopback")
}

/// Ctrl-C for a child (SIGINT through kill(1), as a terminal sends it), then its exit status
/// and stderr. A child still running 10 s later is killed and the test fails: a hung command
/// must not hang the test run.
pub fn interrupt(mut child: std::process::Child) -> (std::process::ExitStatus, String) {
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "still running 10 s after SIGINT; stderr:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The built binary with an environment of our making: no AWS settings leak in from the
/// developer's shell except through the variables set here.
pub fn shipit(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shipit"));
    cmd.current_dir(dir);
    for var in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "SHIPIT_CONFIG",
        "GITHUB_SHA",
        "GITHUB_ACTIONS",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// shipit pointed at the test endpoint, with throwaway credentials unless real ones are set.
pub fn shipit_on_stack(dir: &Path) -> Command {
    let mut cmd = shipit(dir);
    cmd.env("AWS_ENDPOINT_URL", endpoint());
    cmd.env(
        "AWS_REGION",
        std::env::var("SHIPIT_TEST_REGION").unwrap_or_else(|_| "us-east-1".to_string()),
    );
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
        cmd.env("AWS_ACCESS_KEY_ID", "test");
        cmd.env("AWS_SECRET_ACCESS_KEY", "test");
    }
    cmd
}

/// Is the stack answering? Tests fail (not skip) when it is not, unless SHIPIT_ALLOW_SKIP=1.
pub fn require_stack() -> bool {
    let url = endpoint();
    let reachable = url::Url::parse(&url)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            let port = u.port_or_known_default()?;
            std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port)).ok()
        })
        .and_then(|mut addrs| addrs.next())
        .is_some_and(|addr| {
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_ok()
        });
    if reachable {
        return true;
    }
    if std::env::var("SHIPIT_ALLOW_SKIP").as_deref() == Ok("1") {
        skipped(&format!(
            "the local stack at {url} is not reachable; start it with localstack/up"
        ));
        return false;
    }
    panic!(
        "the local stack at {url} is not reachable: start it with `localstack/up` (or set SHIPIT_TEST_ENDPOINT; SHIPIT_ALLOW_SKIP=1 skips these tests; `cargo test --test suite -- nothing:: fakes::` runs only what needs neither the stack nor the engine)"
    );
}

/// Says which test was skipped and why, on stderr as it happens: written to the stream itself,
/// since the test harness swallows `eprintln!` of a test that passes.
fn skipped(why: &str) {
    use std::io::Write;
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {why} (SHIPIT_ALLOW_SKIP=1)"
    );
}

/// A finished command, printable whole for failure messages.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn dump(&self) -> String {
        format!(
            "exit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("shipit runs");
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

/// A config that passes every rule, for tests that need one.
pub const GOOD_CONFIG: &str = "\
app: demo-api
region: us-east-1
image:
  source: docker://demo-api:1.0
  tag: v1.0.0
cluster: demo-cluster
service:
  name: demo-service
  subnets:
    - subnet-0123456789abcdef0
task:
  family: demo-task
  execution_role: arn:aws:iam::123456789012:role/ecsTaskExecutionRole
";

pub mod config;
pub mod deployment_echo;
pub mod faults;
pub mod images;
pub mod loopback;
pub mod proxy;
pub mod registry;

/// A child's output read on a thread of its own, so that waiting for a marker can give up
/// at a deadline: a blocking `read` on the pipe never returns while the child is alive and
/// silent (the local stack can lose a task's container, and the child then waits quietly).
pub struct OutputReader {
    chunks: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl OutputReader {
    pub fn new(mut output: impl std::io::Read + Send + 'static) -> Self {
        let (send, chunks) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = output.read(&mut buf) {
                if n == 0 || send.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        OutputReader { chunks }
    }

    /// What arrives until `marker` appears, the output ends or `wait` passes.
    pub fn read_until(&self, marker: &str, wait: std::time::Duration) -> String {
        let deadline = std::time::Instant::now() + wait;
        let mut seen = Vec::new();
        while !String::from_utf8_lossy(&seen).contains(marker) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => seen.extend_from_slice(&chunk),
                Err(_) => break,
            }
        }
        String::from_utf8_lossy(&seen).into_owned()
    }

    /// The rest of the output, until it ends or `wait` passes.
    pub fn rest(&self, wait: std::time::Duration) -> String {
        let deadline = std::time::Instant::now() + wait;
        let mut seen = Vec::new();
        while let Ok(chunk) = self
            .chunks
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
        {
            seen.extend_from_slice(&chunk);
        }
        String::from_utf8_lossy(&seen).into_owned()
    }
}

/// A repository name no other test run uses. Always the same length for a prefix (the pid
/// and the random part are zero-padded), so that output aligned in columns snapshots the same
/// whatever the pid.
pub fn unique_name(prefix: &str) -> String {
    format!(
        "{prefix}-{:07}-{:06}",
        std::process::id(),
        fastrand::u32(..1_000_000)
    )
}

/// The SDK configuration for checking what shipit did, on the same endpoint.
pub fn sdk_config(runtime: &tokio::runtime::Runtime) -> aws_config::SdkConfig {
    sdk_config_at(runtime, &endpoint())
}

/// The same configuration on another endpoint (a proxy in front of the stack).
pub fn sdk_config_at(runtime: &tokio::runtime::Runtime, url: &str) -> aws_config::SdkConfig {
    runtime.block_on(async {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(url)
            .region(aws_config::Region::new(
                std::env::var("SHIPIT_TEST_REGION").unwrap_or_else(|_| "us-east-1".to_string()),
            ));
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            loader = loader.credentials_provider(aws_sdk_ecr::config::Credentials::new(
                "test", "test", None, None, "tests",
            ));
        }
        loader.load().await
    })
}

pub fn ecr_client(runtime: &tokio::runtime::Runtime) -> aws_sdk_ecr::Client {
    aws_sdk_ecr::Client::new(&sdk_config(runtime))
}

pub fn ecs_client(runtime: &tokio::runtime::Runtime) -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::new(&sdk_config(runtime))
}

/// The service as the stack's ECS describes it now.
pub fn describe_service(cluster: &str, service: &str) -> aws_sdk_ecs::types::Service {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let out = runtime
        .block_on(
            ecs_client(&runtime)
                .describe_services()
                .cluster(cluster)
                .services(service)
                .send(),
        )
        .unwrap();
    out.services()[0].clone()
}

/// Whether a Docker engine answers. Tests that need one fail without it, unless
/// SHIPIT_ALLOW_SKIP=1 (then they skip with a message).
pub fn require_docker() -> bool {
    let ok = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return true;
    }
    if std::env::var("SHIPIT_ALLOW_SKIP").as_deref() == Ok("1") {
        skipped("no Docker engine answers");
        return false;
    }
    panic!(
        "no Docker engine answers: this test builds an image with it (SHIPIT_ALLOW_SKIP=1 skips)"
    );
}

/// A deploy.yaml for pushing `source` to repository `name`.
pub fn push_config(name: &str, source: &str, tag: &str) -> String {
    config::Config::new(name, source).tag(tag).to_string()
}

/// Builds `image` FROM scratch with the static busybox of Debian's busybox-static at
/// /bin/busybox, then `dockerfile_tail` (more instructions: RUN, COPY, CMD), with `files`
/// (path in the build context, contents) beside the Dockerfile. Returns the image's name.
pub fn busybox_image(image: &str, dockerfile_tail: &str, files: &[(&str, &str)]) -> String {
    let busybox = Path::new("/bin/busybox");
    assert!(
        busybox.exists(),
        "apt-get install busybox-static (.ci/run does)"
    );
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(busybox, context.path().join("busybox")).unwrap();
    for (path, contents) in files {
        let path = context.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM scratch\nCOPY busybox /bin/busybox\n{dockerfile_tail}"),
    )
    .unwrap();
    let out = Command::new("docker")
        .args(["build", "-q", "-t", image])
        .arg(context.path())
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    image.to_string()
}

/// The write calls a command made, from its JSON `api_calls` (everything but Describe, List,
/// Get, BatchGet and BatchCheck).
pub fn write_calls(doc: &serde_json::Value) -> std::collections::BTreeSet<String> {
    doc["api_calls"]
        .as_object()
        .expect("the JSON output counts its API calls")
        .keys()
        .filter(|op| {
            let name = op.rsplit(':').next().unwrap();
            !["Describe", "List", "Get", "BatchGet", "BatchCheck"]
                .iter()
                .any(|r| name.starts_with(r))
        })
        .cloned()
        .collect()
}

/// Removes, when dropped (a failing test included), what a test left in the Docker engine: the
/// images the local stack pulled from its registry to run the test's ECS tasks, the task
/// containers made from them, and the images the test built. Without it every run leaves
/// `127.0.0.1:4566/...` images behind.
pub struct PulledImages {
    repository: String,
    built: std::sync::Mutex<Vec<String>>,
}

impl PulledImages {
    pub fn of(repository: &str) -> PulledImages {
        PulledImages {
            repository: repository.to_string(),
            built: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// An image the test built (`name:tag`), removed with the rest.
    pub fn built(&self, image: String) -> String {
        self.built.lock().unwrap().push(image.clone());
        image
    }
}

/// Deletes the test's service (named after it, in its own cluster or `default`), so that the
/// stack launches no more tasks. Without this a service left running keeps replacing its
/// tasks, and each replacement pulls the image again after the test removed it. True when
/// there was a service to delete.
fn delete_service(name: &str) -> bool {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ecs = ecs_client(&runtime);
    let mut deleted = false;
    for cluster in [name, "default"] {
        deleted |= runtime
            .block_on(
                ecs.delete_service()
                    .cluster(cluster)
                    .service(name)
                    .force(true)
                    .send(),
            )
            .is_ok();
    }
    deleted
}

/// Removes the task containers and the images of `repository` the stack pulled (`HOST/NAME`);
/// how many images it found.
fn remove_pulled(repository: &str, container_suffix: &str) -> usize {
    let docker_lines = |args: &[&str]| -> Vec<String> {
        Command::new("docker")
            .args(args)
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    // The stack names task containers `ministack-ecs-TASK-CONTAINER`.
    let mut containers = docker_lines(&[
        "ps",
        "-aq",
        "--filter",
        &format!("name=ministack-ecs-.*-{container_suffix}"),
    ]);
    // By reference (NAME@DIGEST), never by id: an image with the same content under another
    // name is not the stack's.
    let references: std::collections::BTreeSet<String> = docker_lines(&[
        "images",
        "--digests",
        "--format",
        "{{.Repository}} {{.Digest}}",
    ])
    .iter()
    .filter_map(|line| line.split_once(' '))
    .filter(|(repo, digest)| *repo == repository && *digest != "<none>")
    .map(|(repo, digest)| format!("{repo}@{digest}"))
    .collect();
    for reference in &references {
        containers.extend(docker_lines(&[
            "ps",
            "-aq",
            "--filter",
            &format!("ancestor={reference}"),
        ]));
    }
    if !containers.is_empty() {
        let _ = Command::new("docker")
            .args(["rm", "-f"])
            .args(&containers)
            .output();
    }
    for reference in &references {
        let _ = Command::new("docker").args(["rmi", reference]).output();
    }
    references.len()
}

impl Drop for PulledImages {
    fn drop(&mut self) {
        let had_service = delete_service(&self.repository);
        for image in self.built.lock().unwrap().iter() {
            let _ = Command::new("docker").args(["rmi", "-f", image]).output();
        }
        let url = url::Url::parse(&endpoint()).unwrap();
        let pulled = format!(
            "{}:{}/{}",
            url.host_str().unwrap_or("127.0.0.1"),
            url.port_or_known_default().unwrap_or(4566),
            self.repository
        );
        // A task launch already under way when the service went may still pull the image and
        // start a container (a service whose tasks keep failing is always launching one): after
        // a service, look again until 3 quiet seconds passed.
        let quiet_for = std::time::Duration::from_secs(if had_service { 3 } else { 0 });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut quiet_since = std::time::Instant::now();
        loop {
            if remove_pulled(&pulled, &self.repository) > 0 {
                quiet_since = std::time::Instant::now();
            }
            if quiet_since.elapsed() >= quiet_for || std::time::Instant::now() > deadline {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }
}

/// moto_server from the cached virtualenv, on a free loopback port; stopped when dropped.
pub struct Moto {
    pub url: String,
    child: std::process::Child,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_moto() -> Moto {
    // Where localstack/moto installed it (it prints the path).
    let out = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("localstack/moto"))
        .output()
        .expect("localstack/moto runs");
    let binary = std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(
        binary.exists(),
        "{} is missing: `localstack/moto` installs moto 5.2.5 (.ci/run runs it)",
        binary.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "moto_server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Moto {
        url: format!("http://127.0.0.1:{port}"),
        child,
    }
}

/// The checker's python (a cached virtualenv with botocore and policy_sentry, pinned).
fn checker_python() -> String {
    let out = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/localstack/contract"))
        .output()
        .expect("localstack/contract runs");
    assert!(
        out.status.success(),
        "localstack/contract failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Runs tests/contract/check_aws_calls.py on a call record (and a policy).
pub fn check_aws_calls(calls: &Path, policy: Option<&Path>) -> Run {
    let mut cmd = Command::new(checker_python());
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/contract/check_aws_calls.py"
    ))
    .arg("--calls")
    .arg(calls);
    if let Some(policy) = policy {
        cmd.arg("--policy").arg(policy);
    }
    run(&mut cmd)
}
