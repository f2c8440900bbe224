//! The plumbing to AWS, proven against the local stack (or any endpoint in
//! SHIPIT_TEST_ENDPOINT): the SDK configuration reaches it through the endpoint override, from
//! the flag and from AWS_ENDPOINT_URL, and an unreachable endpoint fails with its address.

use crate::common;

use crate::common::{
    GOOD_CONFIG, endpoint, require_stack, run, shipit, shipit_on_stack, unique_name,
};

/// A config whose role and subnet exist on the stack: the role is created here, the subnet is
/// the local stack's default one (LocalStack-compatible stacks have `subnet-00000001`).
fn config_with_real_resources() -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sdk = common::sdk_config(&runtime);
    // IAM through shipit's own signed Query client (the one doctor uses).
    let iam = shipit::aws::query_api::QueryClient::new(&sdk).unwrap();
    let role = unique_name("exec");
    let created = runtime
        .block_on(iam.call(
            shipit::aws::query_api::Service::Iam,
            "CreateRole",
            &[
                ("RoleName".to_string(), role.clone()),
                (
                    "AssumeRolePolicyDocument".to_string(),
                    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#.to_string(),
                ),
            ],
        ))
        .unwrap();
    assert!(created.is_success(), "{created:?}");
    let arn = shipit::aws::query_api::texts_of(&created.body, "Arn")
        .into_iter()
        .next()
        .expect("CreateRole answers the role's ARN");
    GOOD_CONFIG
        .replace("subnet-0123456789abcdef0", "subnet-00000001")
        .replace("arn:aws:iam::123456789012:role/ecsTaskExecutionRole", &arn)
}

#[test]
fn doctor_reaches_the_stack_through_aws_endpoint_url() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.yaml"), config_with_real_resources()).unwrap();
    let out = run(shipit_on_stack(dir.path()).arg("doctor"));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert!(
        out.stdout
            .contains("ok    config       deploy.yaml is valid (app demo-api"),
        "{}",
        out.dump()
    );
    assert!(
        out.stdout
            .contains(&format!("ok    endpoint     {} (override)", endpoint())),
        "{}",
        out.dump()
    );
    assert!(
        out.stdout.contains("ok    credentials  account "),
        "{}",
        out.dump()
    );
}

#[test]
fn doctor_json_names_the_account_and_the_region_source() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deploy.yaml"),
        config_with_real_resources().replace("us-east-1", "eu-west-1"),
    )
    .unwrap();
    // The flag instead of the variable; the region comes from deploy.yaml.
    let out = run(shipit_on_stack(dir.path())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REGION")
        .args(["doctor", "--output", "json", "--endpoint-url", &endpoint()]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["ok"], true);
    let check = |name: &str| {
        doc["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} check: {}", out.dump()))
    };
    assert_eq!(check("region")["detail"], "eu-west-1 (from deploy.yaml)");
    let credentials = check("credentials");
    assert_eq!(credentials["status"], "ok");
    let detail = credentials["detail"].as_str().unwrap();
    let account: String = detail
        .strip_prefix("account ")
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    assert_eq!(account.len(), 12, "a 12-digit account id in `{detail}`");
}

#[test]
fn doctor_fails_with_the_endpoint_and_the_cause_when_nothing_listens() {
    // A loopback port with nothing behind it: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let out = run(shipit(dir.path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .args(["doctor", "--region", "us-east-1", "--endpoint-url", &url]));
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert!(
        out.stdout.contains(&format!(
            "FAIL  credentials  STS GetCallerIdentity failed at {url}: "
        )),
        "{}",
        out.dump()
    );
    assert!(out.stdout.contains("Connection refused"), "{}", out.dump());
    assert!(
        out.stdout.contains("localstack/up"),
        "the fix names the way to start the stack\n{}",
        out.dump()
    );
}

#[test]
fn doctor_without_a_region_says_how_to_set_one() {
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = run(shipit(dir.path())
        // No profile files either: an empty home.
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["doctor"]));
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert!(
        out.stdout.contains("FAIL  region       no region is set"),
        "{}",
        out.dump()
    );
    assert!(out.stdout.contains("export AWS_REGION"), "{}", out.dump());
}

#[test]
fn doctor_names_missing_roles_and_subnets_with_the_fix() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // GOOD_CONFIG's subnet and roles exist nowhere, the EBS volume's role neither.
    let with_ebs = format!(
        "{GOOD_CONFIG}  volumes:\n    data:\n      ebs: {{ role: 'arn:aws:iam::123456789012:role/ecsInfrastructureRole', size: 20 }}\n"
    );
    std::fs::write(dir.path().join("deploy.yaml"), with_ebs).unwrap();
    let out = run(shipit_on_stack(dir.path()).arg("doctor"));
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert!(
        out.stdout.contains("FAIL  execution role arn:aws:iam::123456789012:role/ecsTaskExecutionRole does not exist"),
        "{}",
        out.dump()
    );
    assert!(
        out.stdout.contains("AmazonECSTaskExecutionRolePolicy"),
        "{}",
        out.dump()
    );
    assert!(
        out.stdout.lines().any(|l| l.starts_with("FAIL  EBS role")
            && l.ends_with("arn:aws:iam::123456789012:role/ecsInfrastructureRole does not exist")),
        "{}",
        out.dump()
    );
    assert!(
        out.stdout.contains(
            "create it (it serves volume data) with the AmazonECSInfrastructureRolePolicyForVolumes"
        ),
        "{}",
        out.dump()
    );
    assert!(out.stdout.contains("FAIL  subnets"), "{}", out.dump());
    assert!(
        out.stdout.contains("subnet-0123456789abcdef0"),
        "{}",
        out.dump()
    );
    // What deploy creates is only a warning.
    assert!(
        out.stdout
            .contains("warn  cluster      cluster demo-cluster does not exist yet"),
        "{}",
        out.dump()
    );
}
