//! `shipit iam-policy`: the least-privilege IAM policy that running shipit with this config
//! needs: ECR on its repository, ECS on its cluster, service and family, CloudWatch Logs on its
//! log group, and iam:PassRole on its two roles, for ECS tasks only. `--doctor` adds the reads
//! only `shipit doctor` makes (subnets, security groups, the roles), which a deploy never needs.

use serde_json::{Value, json};

use super::GlobalArgs;
use crate::config::{DeployConfig, Names};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use shipit_oci::registry::reference::ImageReference;

/// The account and partition from a role ARN (`arn:PARTITION:iam::ACCOUNT:role/...`).
fn account_of(role: Option<&str>) -> (String, String) {
    role.and_then(|arn| {
        let parts: Vec<&str> = arn.split(':').collect();
        (parts.len() >= 5 && !parts[4].is_empty())
            .then(|| (parts[1].to_string(), parts[4].to_string()))
    })
    .unwrap_or_else(|| ("aws".to_string(), "*".to_string()))
}

#[derive(Debug, clap::Args)]
pub struct IamPolicyArgs {
    /// Also grant what `shipit doctor` reads: ec2:DescribeSubnets, ec2:DescribeSecurityGroups
    /// and iam:GetRole on the task roles (a deploy needs none of them).
    #[arg(long)]
    pub doctor: bool,
}

pub fn policy(config: &DeployConfig, names: &Names, region: &str, doctor: bool) -> Value {
    let (partition, account) = account_of(config.task.execution_role.as_deref());
    let arn = |service: &str, resource: &str| {
        format!("arn:{partition}:{service}:{region}:{account}:{resource}")
    };
    let mut ecr_actions = vec![
        "ecr:DescribeRepositories",
        "ecr:CreateRepository",
        "ecr:PutImageTagMutability",
        "ecr:PutImageScanningConfiguration",
        "ecr:BatchCheckLayerAvailability",
        "ecr:InitiateLayerUpload",
        "ecr:UploadLayerPart",
        "ecr:CompleteLayerUpload",
        "ecr:PutImage",
        "ecr:BatchGetImage",
        "ecr:DescribeImages",
        "ecr:DescribeImageScanFindings",
        // The plan reads the lifecycle policy, and deletes the one shipit wrote once the
        // config no longer asks for it.
        "ecr:GetLifecyclePolicy",
        "ecr:DeleteLifecyclePolicy",
    ];
    if config.repository.keep_last.is_some() {
        ecr_actions.push("ecr:PutLifecyclePolicy");
    }
    let cluster = arn("ecs", &format!("cluster/{}", names.cluster));
    let mut roles: Vec<&str> = config
        .task
        .execution_role
        .iter()
        .map(String::as_str)
        .collect();
    roles.extend(config.task.task_role.as_deref());
    let log_group = arn("logs", &format!("log-group:{}", names.log_group));
    let mut service_deployment_actions = vec![
        "ecs:DescribeServiceDeployments",
        "ecs:StopServiceDeployment",
    ];
    if config
        .service
        .deployment
        .lifecycle_hooks
        .iter()
        .any(|h| h.pause)
    {
        service_deployment_actions.push("ecs:ContinueServiceDeployment");
    }
    let mut statements = vec![
        json!({
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": ["ecr:GetAuthorizationToken"],
            "Resource": "*"
        }),
        json!({
            // Whether the registry's scanning rules scan this repository on push (plan, doctor).
            "Sid": "EcrRegistryScanningRead",
            "Effect": "Allow",
            // The registry's scanning rules, and its replication rules (a fleet in several
            // regions waits for a replica instead of pushing twice).
            "Action": ["ecr:GetRegistryScanningConfiguration", "ecr:DescribeRegistry"],
            "Resource": "*"
        }),
        json!({
            "Sid": "EcrRepository",
            "Effect": "Allow",
            "Action": ecr_actions,
            "Resource": arn("ecr", &format!("repository/{}", names.repository))
        }),
        json!({
            // DescribeTaskDefinition and ListTaskDefinitions (rollback's search for a
            // revision that can run) have no resource-level permissions.
            "Sid": "EcsTaskDefinitionReads",
            "Effect": "Allow",
            "Action": ["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"],
            "Resource": "*"
        }),
        json!({
            "Sid": "EcsClusterCreate",
            "Effect": "Allow",
            "Action": ["ecs:CreateCluster"],
            "Resource": cluster
        }),
        json!({
            // Any revision of this family: the next one's number is not known before.
            "Sid": "EcsTaskDefinitionRegister",
            "Effect": "Allow",
            "Action": ["ecs:RegisterTaskDefinition"],
            "Resource": arn("ecs", &format!("task-definition/{}:*", names.family))
        }),
        json!({
            "Sid": "EcsCluster",
            "Effect": "Allow",
            "Action": ["ecs:DescribeClusters"],
            "Resource": cluster
        }),
        json!({
            "Sid": "EcsService",
            "Effect": "Allow",
            "Action": ["ecs:CreateService", "ecs:UpdateService", "ecs:DescribeServices", "ecs:TagResource"],
            "Resource": arn("ecs", &format!("service/{}/{}", names.cluster, names.service))
        }),
        json!({
            // The watch reads ECS's own status of the deployment it started (where the
            // service-deployment API answers); `rollback` stops a blue/green, linear or canary
            // deployment under way; `continue` acts on a pause hook, when the config has one.
            "Sid": "EcsServiceDeployments",
            "Effect": "Allow",
            "Action": service_deployment_actions,
            "Resource": arn("ecs", &format!("service-deployment/{}/{}/*", names.cluster, names.service))
        }),
        json!({
            // CreateCluster carries tags: tag-on-create needs TagResource on the new cluster.
            "Sid": "EcsClusterTags",
            "Effect": "Allow",
            "Action": ["ecs:TagResource"],
            "Resource": cluster,
            "Condition": { "StringEquals": { "ecs:CreateAction": "CreateCluster" } }
        }),
        json!({
            "Sid": "EcsTaskDefinitionTags",
            "Effect": "Allow",
            "Action": ["ecs:TagResource"],
            "Resource": arn("ecs", &format!("task-definition/{}:*", names.family)),
            "Condition": { "StringEquals": { "ecs:CreateAction": "RegisterTaskDefinition" } }
        }),
        json!({
            // `shipit run`: one-off tasks of this family, in this cluster only.
            "Sid": "EcsOneOffTasks",
            "Effect": "Allow",
            "Action": ["ecs:RunTask"],
            "Resource": arn("ecs", &format!("task-definition/{}:*", names.family)),
            "Condition": { "ArnEquals": { "ecs:cluster": cluster } }
        }),
        json!({
            // One-off tasks carry one_off::ONE_OFF_TAG (tag-on-create needs TagResource)...
            "Sid": "EcsOneOffTaskTags",
            "Effect": "Allow",
            "Action": ["ecs:TagResource"],
            "Resource": arn("ecs", &format!("task/{}/*", names.cluster)),
            "Condition": { "StringEquals": { "ecs:CreateAction": "RunTask" } }
        }),
        json!({
            // ...so that shipit stops its own one-off tasks and no other task of the cluster.
            "Sid": "EcsStopOneOffTasks",
            "Effect": "Allow",
            "Action": ["ecs:StopTask"],
            "Resource": arn("ecs", &format!("task/{}/*", names.cluster)),
            "Condition": {
                "ArnEquals": { "ecs:cluster": cluster },
                "StringEquals": { format!("ecs:ResourceTag/{}", crate::one_off::ONE_OFF_TAG): names.family }
            }
        }),
        json!({
            "Sid": "EcsTasks",
            "Effect": "Allow",
            "Action": ["ecs:ListTasks", "ecs:DescribeTasks"],
            "Resource": "*",
            "Condition": { "ArnEquals": { "ecs:cluster": cluster } }
        }),
        json!({
            "Sid": "LogsDescribe",
            "Effect": "Allow",
            "Action": ["logs:DescribeLogGroups"],
            "Resource": "*"
        }),
        json!({
            "Sid": "LogsGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:FilterLogEvents", "logs:StartLiveTail"],
            "Resource": log_group
        }),
        json!({
            "Sid": "LogsStreams",
            "Effect": "Allow",
            "Action": ["logs:GetLogEvents"],
            "Resource": format!("{log_group}:log-stream:*")
        }),
    ];
    // Sidecar images in private ECR repositories: the plan looks their tags up to pin them
    // by digest (the task's execution role pulls them; this role only reads the tag).
    let sidecar_repositories: Vec<String> = config
        .container_specs(&names.container)
        .iter()
        .filter_map(|c| ImageReference::parse(c.image.as_deref()?).ok())
        .filter(|r| r.digest.is_none())
        .filter_map(|r| {
            let (account, region) = r.ecr_registry()?;
            Some(format!(
                "arn:{partition}:ecr:{region}:{account}:repository/{}",
                r.repository
            ))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !sidecar_repositories.is_empty() {
        statements.push(json!({
            "Sid": "EcrSidecarImageTags",
            "Effect": "Allow",
            "Action": ["ecr:DescribeImages"],
            "Resource": sidecar_repositories
        }));
    }
    // `shipit rollback` checks that the secrets of the revision it goes back to are still
    // there: their metadata only (DescribeSecret, DescribeParameters), never a value.
    let secret_refs: Vec<String> = config
        .container_specs(&names.container)
        .iter()
        .flat_map(|c| c.secrets.values().cloned())
        .collect();
    let secret_ids: std::collections::BTreeSet<String> = secret_refs
        .iter()
        .filter(|v| v.starts_with("arn:") && v.split(':').nth(2) == Some("secretsmanager"))
        .filter_map(|v| {
            let parts: Vec<&str> = v.split(':').collect();
            // A secret's full ARN ends in a 6-character suffix a partial one lacks.
            (parts.len() >= 7).then(|| format!("{}*", parts[..7].join(":")))
        })
        .collect();
    if !secret_ids.is_empty() {
        statements.push(json!({
            "Sid": "RollbackSecretChecks",
            "Effect": "Allow",
            "Action": ["secretsmanager:DescribeSecret"],
            "Resource": secret_ids.into_iter().collect::<Vec<_>>()
        }));
    }
    if secret_refs
        .iter()
        .any(|v| !(v.starts_with("arn:") && v.split(':').nth(2) == Some("secretsmanager")))
    {
        // DescribeParameters has no resource-level permissions.
        statements.push(json!({
            "Sid": "RollbackParameterChecks",
            "Effect": "Allow",
            "Action": ["ssm:DescribeParameters"],
            "Resource": "*"
        }));
    }
    if config.service.enable_execute_command {
        // `shipit exec`: ExecuteCommand on the cluster and its tasks (the ECS Exec page of
        // ECS's developer guide scopes it so), and IAM's simulator to check, before
        // connecting, that the task role has the ssmmessages actions the agent needs.
        statements.push(json!({
            "Sid": "EcsExec",
            "Effect": "Allow",
            "Action": ["ecs:ExecuteCommand"],
            "Resource": [cluster.clone(), arn("ecs", &format!("task/{}/*", names.cluster))]
        }));
        if let Some(task_role) = config.task.task_role.as_deref() {
            statements.push(json!({
                "Sid": "EcsExecTaskRoleCheck",
                "Effect": "Allow",
                "Action": ["iam:SimulatePrincipalPolicy"],
                "Resource": task_role
            }));
        }
    }
    if doctor {
        // EC2's Describe calls have no resource-level permissions.
        statements.push(json!({
            "Sid": "DoctorNetworkReads",
            "Effect": "Allow",
            "Action": ["ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"],
            "Resource": "*"
        }));
        // doctor also looks up the infrastructure roles the typed keys name.
        let mut read: Vec<&str> = roles.clone();
        read.extend(config.infrastructure_roles().iter().map(|r| r.arn));
        read.sort();
        read.dedup();
        if !read.is_empty() {
            statements.push(json!({
                "Sid": "DoctorRoleReads",
                "Effect": "Allow",
                "Action": ["iam:GetRole"],
                "Resource": read
            }));
        }
    }
    if !roles.is_empty() {
        statements.push(json!({
            "Sid": "PassTaskRoles",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": roles,
            "Condition": { "StringEquals": { "iam:PassedToService": "ecs-tasks.amazonaws.com" } }
        }));
    }
    // Application Auto Scaling: the plan reads the service's scalable target (who owns the
    // task count) and status its activities; targets have no ARN known before they exist, so
    // the writes are scoped by condition to ECS services' desired count.
    statements.push(json!({
        "Sid": "AutoScalingReads",
        "Effect": "Allow",
        "Action": [
            "application-autoscaling:DescribeScalableTargets",
            "application-autoscaling:DescribeScalingPolicies",
            "application-autoscaling:DescribeScalingActivities"
        ],
        "Resource": "*"
    }));
    // Writes only on this service's scalable target: the one shipit registered, tagged with
    // autoscaling::SERVICE_TAG (scalable-target ARNs carry an opaque id). Without
    // `autoscaling`, only the removal of that target, for a config that dropped it.
    let resource_id = crate::plan::autoscaling::resource_id(&names.cluster, &names.service);
    let scope = json!({
        "application-autoscaling:service-namespace": "ecs",
        "application-autoscaling:scalable-dimension": "ecs:service:DesiredCount"
    });
    let with_tag = |key: &str| {
        let mut condition = scope.clone();
        condition[format!("{key}/{}", crate::autoscaling::SERVICE_TAG)] = json!(resource_id);
        json!({ "StringEquals": condition })
    };
    if config.service.autoscaling.is_some() {
        statements.push(json!({
            "Sid": "AutoScalingRegister",
            "Effect": "Allow",
            "Action": ["application-autoscaling:RegisterScalableTarget"],
            "Resource": "*",
            "Condition": with_tag("aws:RequestTag")
        }));
        // Tag-on-create: registering with tags needs TagResource too.
        statements.push(json!({
            "Sid": "AutoScalingTagOnRegister",
            "Effect": "Allow",
            "Action": ["application-autoscaling:TagResource"],
            "Resource": "*",
            "Condition": { "StringEquals": {
                format!("aws:RequestTag/{}", crate::autoscaling::SERVICE_TAG): resource_id
            } }
        }));
    }
    let scaling_writes: &[&str] = if config.service.autoscaling.is_some() {
        &[
            "application-autoscaling:RegisterScalableTarget",
            "application-autoscaling:PutScalingPolicy",
            "application-autoscaling:DeleteScalingPolicy",
            "application-autoscaling:DeregisterScalableTarget",
        ]
    } else {
        &["application-autoscaling:DeregisterScalableTarget"]
    };
    statements.push(json!({
        "Sid": "AutoScalingWrites",
        "Effect": "Allow",
        "Action": scaling_writes,
        "Resource": "*",
        "Condition": with_tag("aws:ResourceTag")
    }));
    if config.service.autoscaling.is_some() {
        // Application Auto Scaling makes and deletes a target-tracking policy's CloudWatch
        // alarms with the caller's permissions (Application Auto Scaling user guide,
        // "Permissions for Amazon ECS"). Its alarms are named after the resource:
        // TargetTracking-service/CLUSTER/SERVICE-AlarmHigh-..., -AlarmLow-...
        statements.push(json!({
            "Sid": "AutoScalingAlarmReads",
            "Effect": "Allow",
            "Action": ["cloudwatch:DescribeAlarms"],
            "Resource": "*"
        }));
        statements.push(json!({
            "Sid": "AutoScalingAlarms",
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms"],
            "Resource": arn(
                "cloudwatch",
                &format!("alarm:TargetTracking-service/{}/{}-*", names.cluster, names.service)
            )
        }));
        // The first RegisterScalableTarget in an account creates Application Auto Scaling's
        // service-linked role for ECS.
        statements.push(json!({
            "Sid": "AutoScalingServiceLinkedRole",
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole"],
            "Resource": format!("arn:{partition}:iam::{account}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"),
            "Condition": { "StringLike": { "iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com" } }
        }));
    }
    // The roles ECS itself assumes: the load balancer's (to move traffic between target
    // groups), the lifecycle hooks' (to invoke their functions), and those pass-through fields
    // name.
    let mut ecs_roles: Vec<&str> = config
        .service
        .load_balancer
        .iter()
        .filter(|_| config.service.deployment.strategy.shifts_traffic())
        .filter_map(|lb| lb.role.as_deref())
        .collect();
    ecs_roles.extend(
        config
            .service
            .deployment
            .lifecycle_hooks
            .iter()
            .filter_map(|h| h.role.as_deref()),
    );
    // And the roles a pass-through field names (an EBS volume's, VPC Lattice's...).
    let named: Vec<String> = std::iter::once(&config.task.ecs)
        .chain(std::iter::once(&config.service.ecs))
        .chain(std::iter::once(&config.container.ecs))
        .chain(config.containers.iter().map(|c| &c.ecs))
        .flat_map(|fields| fields.values())
        .flat_map(crate::ecs_json::role_arns)
        .collect();
    ecs_roles.extend(named.iter().map(String::as_str));
    // And those the typed keys name: each EBS volume's infrastructure role, each Service
    // Connect endpoint's TLS role. Cloud Map itself needs nothing of the caller: ECS's
    // service-linked role registers the tasks, and AWS's authorization table lists no
    // dependent action for ecs:CreateService or ecs:UpdateService.
    ecs_roles.extend(config.infrastructure_roles().iter().map(|r| r.arn));
    ecs_roles.sort();
    ecs_roles.dedup();
    if !ecs_roles.is_empty() {
        statements.push(json!({
            "Sid": "PassDeploymentRoles",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": ecs_roles,
            "Condition": { "StringEquals": { "iam:PassedToService": "ecs.amazonaws.com" } }
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

pub fn run(
    args: &IamPolicyArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let loaded = super::load_config(global, printer)?;
    let region = global
        .aws
        .settings()
        .checked_region()?
        .map(str::to_string)
        .or_else(|| loaded.config.region.clone())
        .or_else(|| std::env::var("AWS_REGION").ok())
        .unwrap_or_else(|| "*".to_string());
    let doc = policy(&loaded.config, &loaded.names, &region, args.doctor);
    // The policy is the result in both formats: JSON is what IAM takes.
    printer.raw(&format!("{doc:#}\n"))?;
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_every_statement_it_can_to_this_config() {
        let text = "\
app: shop
region: eu-west-1
image: { source: 'docker://shop:1', tag: v1 }
cluster: prod
service: { subnets: [subnet-0123456789abcdef0] }
task:
  execution_role: arn:aws:iam::123456789012:role/exec
  task_role: arn:aws:iam::123456789012:role/shop
";
        let loaded = crate::config::load_bytes(text.as_bytes(), "d.yaml", &|_| None).unwrap();
        let doc = policy(&loaded.config, &loaded.names, "eu-west-1", false);
        let statements = doc["Statement"].as_array().unwrap();
        let by_sid = |sid: &str| statements.iter().find(|s| s["Sid"] == sid).unwrap().clone();
        assert_eq!(
            by_sid("EcrRepository")["Resource"],
            "arn:aws:ecr:eu-west-1:123456789012:repository/shop"
        );
        assert_eq!(
            by_sid("EcsService")["Resource"],
            "arn:aws:ecs:eu-west-1:123456789012:service/prod/shop"
        );
        assert_eq!(
            by_sid("LogsGroup")["Resource"],
            "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/shop"
        );
        let pass = by_sid("PassTaskRoles");
        assert_eq!(
            pass["Resource"],
            json!([
                "arn:aws:iam::123456789012:role/exec",
                "arn:aws:iam::123456789012:role/shop"
            ])
        );
        assert_eq!(
            pass["Condition"]["StringEquals"]["iam:PassedToService"],
            "ecs-tasks.amazonaws.com"
        );
        // No lifecycle policy in the config: it is read (and shipit's own deleted), never put.
        let ecr = by_sid("EcrRepository")["Action"].to_string();
        assert!(
            ecr.contains("ecr:GetLifecyclePolicy") && ecr.contains("ecr:DeleteLifecyclePolicy")
        );
        assert!(!ecr.contains("PutLifecyclePolicy"));
        // Tag-on-create: CreateCluster carries tags.
        assert_eq!(
            by_sid("EcsClusterTags")["Condition"]["StringEquals"]["ecs:CreateAction"],
            "CreateCluster"
        );
        // doctor's reads only when asked for.
        assert!(!doc.to_string().contains("ec2:"));
        let with_doctor = policy(&loaded.config, &loaded.names, "eu-west-1", true);
        let text = with_doctor.to_string();
        assert!(text.contains("ec2:DescribeSubnets") && text.contains("iam:GetRole"));
        assert!(!text.contains("EcrSidecarImageTags"));
    }

    /// The plan looks up sidecar tags in private ECR: DescribeImages on those repositories,
    /// in their own account and region; none for images pinned in the config or elsewhere.
    /// A role a pass-through field or a typed key names (VPC Lattice's, an EBS volume's
    /// infrastructure role, Service Connect's TLS role) is passed to ECS only.
    #[test]
    fn roles_in_pass_through_fields_may_be_passed_to_ecs() {
        let text = "\
app: shop
image: { source: 'docker://shop:1', tag: v1 }
service:
  subnets: [subnet-0123456789abcdef0]
  ecs:
    vpcLatticeConfigurations:
      - { roleArn: 'arn:aws:iam::123456789012:role/lattice', targetGroupArn: 'arn:aws:vpc-lattice:us-east-1:123456789012:targetgroup/tg-0123456789abcdef0', portName: http }
  service_connect:
    namespace: internal
    services:
      - port_name: http
        alias: { port: 80 }
        tls: { certificate_authority: 'arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/0123abcd-0123-0123-0123-0123456789ab', role: 'arn:aws:iam::123456789012:role/sc-tls' }
task:
  execution_role: 'arn:aws:iam::123456789012:role/exec'
  volumes: { data: { ebs: { role: 'arn:aws:iam::123456789012:role/ecs-ebs', size: 20 } } }
container: { port_name: http, app_protocol: http, mount_points: [{ volume: data, path: /data }] }
";
        let loaded = crate::config::load_bytes(text.as_bytes(), "d.yaml", &|_| None)
            .unwrap_or_else(|e| panic!("{}", e.render()));
        let doc = policy(&loaded.config, &loaded.names, "us-east-1", false);
        let statement = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "PassDeploymentRoles")
            .unwrap()
            .clone();
        assert_eq!(
            statement["Resource"],
            json!([
                "arn:aws:iam::123456789012:role/ecs-ebs",
                "arn:aws:iam::123456789012:role/lattice",
                "arn:aws:iam::123456789012:role/sc-tls"
            ])
        );
        assert_eq!(
            statement["Condition"]["StringEquals"]["iam:PassedToService"],
            "ecs.amazonaws.com"
        );
        // doctor looks up the typed keys' infrastructure roles too.
        let with_doctor = policy(&loaded.config, &loaded.names, "us-east-1", true);
        let reads = with_doctor["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "DoctorRoleReads")
            .unwrap()
            .clone();
        assert_eq!(
            reads["Resource"],
            json!([
                "arn:aws:iam::123456789012:role/ecs-ebs",
                "arn:aws:iam::123456789012:role/exec",
                "arn:aws:iam::123456789012:role/sc-tls"
            ])
        );
    }

    #[test]
    fn sidecar_tags_in_private_ecr_can_be_looked_up() {
        let text = "\
app: shop
region: eu-west-1
image: { source: 'docker://shop:1', tag: v1 }
service: { subnets: [subnet-0123456789abcdef0] }
task: { execution_role: 'arn:aws:iam::123456789012:role/exec' }
containers:
  - name: shop
  - name: agent
    image: 210987654321.dkr.ecr.us-east-1.amazonaws.com/team/agent:3
  - name: pinned
    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/proxy@sha256:00
  - name: router
    image: public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4
";
        let loaded = crate::config::load_bytes(text.as_bytes(), "d.yaml", &|_| None).unwrap();
        let doc = policy(&loaded.config, &loaded.names, "eu-west-1", false);
        let statement = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "EcrSidecarImageTags")
            .unwrap()
            .clone();
        assert_eq!(statement["Action"], json!(["ecr:DescribeImages"]));
        assert_eq!(
            statement["Resource"],
            json!(["arn:aws:ecr:us-east-1:210987654321:repository/team/agent"])
        );
    }
}
