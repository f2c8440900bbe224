//! The rules of FireLens: `log_router` on one sidecar, `firelens` on the containers whose logs
//! it takes (ECS developer guide, "Send Amazon ECS logs to an AWS service or AWS Partner", and
//! the API reference's FirelensConfiguration).

use super::{Checker, container_paths, is_secret_reference};
use crate::config::Names;
use crate::config::model::{DependsCondition, DeployConfig};

pub(super) fn check_log_routing(c: &mut Checker, config: &DeployConfig, names: &Names) {
    let containers = container_paths(config, names);
    let routers: Vec<&(String, crate::config::model::ContainerSpec)> = containers
        .iter()
        .filter(|(_, spec)| spec.log_router.is_some())
        .collect();
    // One log router per task: every `awsfirelens` container sends to it.
    if let Some((at, _)) = routers.get(1) {
        c.error(
            "log-router",
            &format!("{at}.log_router"),
            "a task has one FireLens log router, and this is the second".into(),
            "keep `log_router` on one container",
        );
    }
    let router = routers.first().map(|(_, spec)| spec.name.clone());
    for (at, spec) in &containers {
        if let Some(r) = &spec.log_router {
            if spec.image.is_none() {
                c.error(
                    "log-router",
                    &format!("{at}.log_router"),
                    "the log router runs Fluent Bit or Fluentd, and this entry runs the app's image"
                        .into(),
                    "move `log_router` to a sidecar (e.g. `image: public.ecr.aws/aws-observability/aws-for-fluent-bit:stable`)",
                );
            }
            if spec.firelens.is_some() {
                c.error(
                    "log-router",
                    &format!("{at}.firelens"),
                    "the log router cannot send its own logs through itself".into(),
                    "remove `firelens` here: the router logs to CloudWatch Logs (`logs:`)",
                );
            }
            if let Some(file) = &r.config_file {
                let from_s3 = file.starts_with("arn:") || file.starts_with("s3://");
                if from_s3 || !file.starts_with('/') {
                    c.error(
                        "log-router-config",
                        &format!("{at}.log_router.config_file"),
                        if from_s3 {
                            format!("Fargate reads no FireLens configuration from S3 (`{file}`): only a file inside the router's image")
                        } else {
                            format!("`{file}` is not an absolute path inside the router's image")
                        },
                        "copy the file into the router's image and give its absolute path (the aws-for-fluent-bit init image can fetch S3 files at start)",
                    );
                }
            }
        }
        let Some(firelens) = &spec.firelens else {
            continue;
        };
        let Some(router) = &router else {
            c.error(
                "log-router",
                &format!("{at}.firelens"),
                format!(
                    "container `{}` sends its logs through FireLens, and no container is the task's log router",
                    spec.name
                ),
                "add a sidecar to `containers:` with `log_router: { type: fluentbit }`, or remove `firelens`",
            );
            continue;
        };
        for key in firelens.options.keys() {
            if key.trim().is_empty() {
                c.error(
                    "firelens-option",
                    &format!("{at}.firelens.options"),
                    "an option has an empty name".into(),
                    "name each option as the output plugin does (`Name`, `region`, ...)",
                );
            }
        }
        for (name, from) in &firelens.secret_options {
            if !is_secret_reference(from) {
                c.error(
                    "arn",
                    &format!("{at}.firelens.secret_options.{name}"),
                    format!("`{from}` is not an SSM parameter or Secrets Manager secret"),
                    "write `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`, `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME` or an SSM parameter name",
                );
            }
        }
        // ECS starts containers in their dependency order; a container whose logs go to the
        // router loses its first lines when it starts before the router listens.
        if spec.name != *router
            && !spec
                .depends_on
                .get(router)
                .is_some_and(|d| matches!(d, DependsCondition::Start | DependsCondition::Healthy))
            && !config.containers.is_empty()
        {
            c.warn(
                "log-router-order",
                &format!("{at}.firelens"),
                format!(
                    "container `{}` may start before the log router `{router}` and lose its first lines",
                    spec.name
                ),
                format!("add `depends_on: {{ {router}: START }}`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{broken_rules, with_parts};

    fn rules(containers: &str) -> Vec<(&'static str, String)> {
        broken_rules(&with_parts(
            "",
            &format!(
                "task: {{ execution_role: 'arn:aws:iam::123456789012:role/exec' }}\ncontainers:\n{containers}"
            ),
        ))
    }

    const ROUTER: &str = "  - name: router\n    image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:stable'\n    log_router: { type: fluentbit, config_file: /fluent-bit/etc/extra.conf }\n";

    #[test]
    fn one_router_takes_the_logs_of_the_containers_that_send_them() {
        let app = |extra: &str| format!("  - name: api\n    port: 8080\n{extra}");
        let routed = "    firelens: { options: { Name: cloudwatch_logs }, secret_options: { apikey: 'arn:aws:ssm:us-east-1:123456789012:parameter/key' } }\n";
        let ordered = "    depends_on: { router: START }\n";
        assert_eq!(
            rules(&format!("{}{ROUTER}", app(&format!("{routed}{ordered}")))),
            []
        );
        // Without the order, a warning: the first lines may be lost.
        assert_eq!(
            rules(&format!("{}{ROUTER}", app(routed))),
            [("log-router-order", "containers[0].firelens".to_string())]
        );
        assert_eq!(
            rules(&app(routed)),
            [("log-router", "containers[0].firelens".to_string())]
        );
        let second = ROUTER.replace("name: router", "name: router2");
        assert_eq!(
            rules(&format!("{}{ROUTER}{second}", app(""))),
            [("log-router", "containers[2].log_router".to_string())]
        );
        assert_eq!(
            rules(&format!(
                "{}{ROUTER}",
                app("    log_router: { type: fluentd }\n")
            )),
            [
                ("log-router", "containers[0].log_router".to_string()),
                ("log-router", "containers[1].log_router".to_string())
            ]
        );
        let relative = ROUTER.replace("/fluent-bit/etc/extra.conf", "extra.conf");
        assert_eq!(
            rules(&format!("{}{relative}", app(""))),
            [(
                "log-router-config",
                "containers[1].log_router.config_file".to_string()
            )]
        );
        let bad_secret = routed.replace(
            "arn:aws:ssm:us-east-1:123456789012:parameter/key",
            "arn:aws:s3:::bucket/key",
        );
        assert_eq!(
            rules(&format!(
                "{}{ROUTER}",
                app(&format!("{bad_secret}{ordered}"))
            )),
            [(
                "arn",
                "containers[0].firelens.secret_options.apikey".to_string()
            )]
        );
    }
}
