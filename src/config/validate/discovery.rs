//! The rules of `service.service_connect` and `service.service_registry`, from ECS's API
//! reference (ServiceConnectConfiguration, ServiceConnectService, ServiceConnectClientAlias,
//! TimeoutConfiguration, ServiceRegistry).

use super::{Checker, LOG_GROUP, container_paths};
use crate::config::Names;
use crate::config::model::{AppProtocol, ContainerSpec, DeployConfig};

super::regex!(
    NAMESPACE_ARN,
    r"^arn:aws(?:-cn|-us-gov)?:servicediscovery:[a-z0-9-]+:\d{12}:namespace/ns-[a-z0-9]+$"
);
super::regex!(
    REGISTRY_ARN,
    r"^arn:aws(?:-cn|-us-gov)?:servicediscovery:[a-z0-9-]+:\d{12}:service/srv-[a-z0-9]+$"
);
super::regex!(
    PRIVATE_CA_ARN,
    r"^arn:aws(?:-cn|-us-gov)?:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority/[0-9a-f-]+$"
);
// ServiceConnectService.discoveryName: "up to 64 characters ... lowercase letters, numbers,
// underscores (_), and hyphens (-). The name can't start with a hyphen."
super::regex!(DISCOVERY_NAME, r"^[a-z0-9_][a-z0-9_-]{0,63}$");
// ServiceConnectClientAlias.dnsName: "up to 127 characters ... lowercase letters, numbers,
// underscores (_), hyphens (-), and periods (.). The name can't start with a hyphen."
super::regex!(DNS_NAME, r"^[a-z0-9_.][a-z0-9_.-]{0,126}$");

/// A container's named ports: name -> application protocol.
fn named_ports(spec: &ContainerSpec) -> Vec<(String, Option<AppProtocol>)> {
    spec.port_name
        .iter()
        .map(|name| (name.clone(), spec.app_protocol))
        .chain(
            spec.ports
                .iter()
                .filter_map(|p| p.name.clone().map(|name| (name, p.app_protocol))),
        )
        .collect()
}

pub(super) fn check_service_connect(c: &mut Checker, config: &DeployConfig, names: &Names) {
    let Some(sc) = &config.service.service_connect else {
        return;
    };
    const AT: &str = "service.service_connect";
    let namespace = &sc.namespace;
    if namespace.starts_with("arn:") {
        if !NAMESPACE_ARN.is_match(namespace) {
            c.error(
                "arn",
                &format!("{AT}.namespace"),
                format!("`{namespace}` is not a Cloud Map namespace ARN"),
                "write the namespace's name, or `arn:aws:servicediscovery:REGION:ACCOUNT:namespace/ns-ID`",
            );
        }
    } else if namespace.is_empty() || namespace.len() > 1024 {
        c.error(
            "service-connect-namespace",
            &format!("{AT}.namespace"),
            "the namespace is empty or longer than Cloud Map takes (1024)".into(),
            "write the Cloud Map namespace's name or ARN",
        );
    }
    let ports: Vec<(String, Option<AppProtocol>)> = config
        .container_specs(&names.container)
        .iter()
        .flat_map(named_ports)
        .collect();
    let mut discovery_names = std::collections::BTreeSet::new();
    for (i, s) in sc.services.iter().enumerate() {
        let at = |key: &str| format!("{AT}.services[{i}].{key}");
        // ServiceConnectService.portName: "must match the name of one of the portMappings
        // from all the containers in the task definition".
        let port = ports.iter().find(|(name, _)| *name == s.port_name);
        if port.is_none() {
            c.error(
                "service-connect-port",
                &at("port_name"),
                format!(
                    "Service Connect serves port `{}`, and no container has a port of that name{}",
                    s.port_name,
                    if ports.is_empty() {
                        String::new()
                    } else {
                        let names: Vec<&str> = ports.iter().map(|(n, _)| n.as_str()).collect();
                        format!(" (the task's: {})", names.join(", "))
                    }
                ),
                "name the container's port with `port_name` (or an entry of `ports` with `name`)",
            );
        }
        let discovery = s.discovery_name.as_deref().unwrap_or(&s.port_name);
        if let Some(name) = &s.discovery_name
            && !DISCOVERY_NAME.is_match(name)
        {
            c.error(
                "service-connect-name",
                &at("discovery_name"),
                format!("`{name}` is not a Cloud Map service name ECS takes"),
                "use up to 64 lowercase letters, digits, `_` and `-`, not starting with `-`",
            );
        }
        if !discovery_names.insert(discovery.to_string()) {
            c.error(
                "duplicate",
                &at(if s.discovery_name.is_some() {
                    "discovery_name"
                } else {
                    "port_name"
                }),
                format!("two endpoints are named `{discovery}` in the namespace"),
                "give each endpoint its own `discovery_name` (it must be unique in the namespace)",
            );
        }
        if let Some(alias) = &s.alias {
            c.range(&at("alias.port"), alias.port, 1, 65535, "");
            if let Some(header) = &alias.test_traffic_header {
                check_test_traffic_header(c, config, &at("alias.test_traffic_header"), header);
            }
            if let Some(dns) = &alias.dns_name
                && !DNS_NAME.is_match(dns)
            {
                c.error(
                    "service-connect-name",
                    &at("alias.dns_name"),
                    format!("`{dns}` is not a DNS name Service Connect takes"),
                    "use up to 127 lowercase letters, digits, `_`, `-` and `.`, not starting with `-`",
                );
            }
        }
        if let Some(port) = s.ingress_port_override {
            c.range(&at("ingress_port_override"), port, 1, 65535, "");
        }
        for (key, value) in [
            ("idle_timeout", s.idle_timeout),
            ("request_timeout", s.request_timeout),
        ] {
            if let Some(seconds) = value {
                c.range(&at(key), seconds, 0, 2_147_483_647, " s");
            }
        }
        // TimeoutConfiguration: "perRequestTimeout can only be set if Service Connect
        // appProtocol isn't TCP"; a port without an application protocol is served as TCP.
        if s.request_timeout.is_some()
            && let Some((_, protocol)) = port
            && protocol.is_none()
        {
            c.error(
                "service-connect-timeout",
                &at("request_timeout"),
                format!(
                    "port `{}` has no application protocol, so Service Connect serves it as TCP, which has no per-request timeout",
                    s.port_name
                ),
                "give the port `app_protocol: http` (or http2, grpc), or use `idle_timeout`",
            );
        }
        if let Some(tls) = &s.tls {
            if !PRIVATE_CA_ARN.is_match(&tls.certificate_authority) {
                c.error(
                    "arn",
                    &at("tls.certificate_authority"),
                    format!(
                        "`{}` is not an AWS Private CA ARN",
                        tls.certificate_authority
                    ),
                    "write `arn:aws:acm-pca:REGION:ACCOUNT:certificate-authority/ID`",
                );
            }
            super::role_arn(c, &at("tls.role"), &tls.role);
        }
    }
    if let Some(logs) = &sc.logs {
        if let Some(group) = &logs.group
            && (group.len() > 512 || !LOG_GROUP.is_match(group))
        {
            c.error(
                "log-group",
                &format!("{AT}.logs.group"),
                format!("`{group}` is not a valid log group name"),
                "use 1-512 letters, digits and `.`, `-`, `_`, `/`, `#`",
            );
        }
        if let Some(prefix) = &logs.stream_prefix
            && (prefix.is_empty() || prefix.contains([':', '*']))
        {
            c.error(
                "log-stream-prefix",
                &format!("{AT}.logs.stream_prefix"),
                format!("`{prefix}` is not a valid stream prefix"),
                "use a non-empty prefix without `:` or `*`",
            );
        }
        if logs.query_parameters && logs.access_logs.is_none() {
            c.error(
                "service-connect-access-logs",
                &format!("{AT}.logs.query_parameters"),
                "query parameters go into access logs, and `access_logs` is not set".into(),
                "set `access_logs: text` (or json), or remove `query_parameters`",
            );
        }
    }
}

/// A header that marks test traffic: an HTTP header name (RFC 9110's token characters) and a
/// value; ECS routes by it only while a deployment shifts traffic (ServiceConnectClientAlias
/// `testTrafficRules`: "used during blue/green deployments").
fn check_test_traffic_header(
    c: &mut Checker,
    config: &DeployConfig,
    at: &str,
    header: &crate::config::model::TestTrafficHeaderConfig,
) {
    let token = |ch: char| ch.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(ch);
    if header.name.is_empty() || !header.name.chars().all(token) {
        c.error(
            "service-connect-header",
            &format!("{at}.name"),
            format!("`{}` is not an HTTP header name", header.name),
            "use letters, digits and `-` (e.g. `x-test-traffic`)",
        );
    }
    if header.value.is_empty() {
        c.error(
            "service-connect-header",
            &format!("{at}.value"),
            "the header's value is empty".into(),
            "write the value that marks test traffic",
        );
    }
    if !config.service.deployment.strategy.shifts_traffic() {
        c.warn(
            "service-connect-header",
            at,
            "test traffic is routed only while a blue/green, linear or canary deployment shifts traffic, and this service deploys rolling".into(),
            "set `service.deployment.strategy`, or remove `test_traffic_header`",
        );
    }
}

pub(super) fn check_service_registry(c: &mut Checker, config: &DeployConfig, names: &Names) {
    let Some(r) = &config.service.service_registry else {
        return;
    };
    const AT: &str = "service.service_registry";
    if !REGISTRY_ARN.is_match(&r.arn) {
        c.error(
            "arn",
            &format!("{AT}.arn"),
            format!("`{}` is not a Cloud Map service ARN", r.arn),
            "write `arn:aws:servicediscovery:REGION:ACCOUNT:service/srv-ID`",
        );
    }
    if let Some(port) = r.port {
        c.range(&format!("{AT}.port"), port, 1, 65535, "");
    }
    // ServiceRegistry: with awsvpc networking and an SRV record, "either a containerName and
    // containerPort combination or a port value. However, you can't specify both."
    if r.port.is_some() && (r.container_port.is_some() || r.container.is_some()) {
        c.error(
            "service-registry-port",
            &format!("{AT}.port"),
            "`port` and a container's port are both set; ECS takes one of them".into(),
            "keep `port`, or `container_port` (with `container`)",
        );
    }
    if r.container.is_some() && r.container_port.is_none() {
        c.error(
            "service-registry-port",
            &format!("{AT}.container"),
            "`container` names whose port is registered, and `container_port` is missing".into(),
            "add `container_port`, or remove `container`",
        );
    }
    let Some(port) = r.container_port else {
        return;
    };
    let container = r.container.as_deref().unwrap_or(&names.container);
    let Some((_, spec)) = container_paths(config, names)
        .into_iter()
        .find(|(_, spec)| spec.name == container)
    else {
        c.error(
            "unknown-container",
            &format!("{AT}.container"),
            format!("the task has no container `{container}`"),
            "name a container of `containers:`",
        );
        return;
    };
    let has_port = spec.port == Some(port) || spec.ports.iter().any(|p| p.port == port);
    if !has_port {
        c.error(
            "service-registry-port",
            &format!("{AT}.container_port"),
            format!("container `{container}` does not listen on port {port}"),
            "register a port the container has (`port` or an entry of `ports`)",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::{broken_rules, with_parts};

    const TASK: &str = "task: { execution_role: 'arn:aws:iam::123456789012:role/exec' }\ncontainer: { port: 8080, port_name: http, app_protocol: http, ports: [{ port: 9000, name: raw }] }\n";

    fn rules(service: &str) -> Vec<(&'static str, String)> {
        broken_rules(&with_parts(service, TASK))
    }

    #[test]
    fn service_connect_follows_ecs_rules() {
        let connect = |endpoint: &str| {
            format!("  service_connect:\n    namespace: internal\n    services: [{endpoint}]\n")
        };
        assert_eq!(
            rules(&connect(
                "{ port_name: http, alias: { port: 80 }, request_timeout: 15 }"
            )),
            []
        );
        let at = |key: &str| format!("service.service_connect.services[0].{key}");
        for (endpoint, rule, path) in [
            (
                "{ port_name: web }",
                "service-connect-port",
                at("port_name"),
            ),
            (
                "{ port_name: http, discovery_name: -api }",
                "service-connect-name",
                at("discovery_name"),
            ),
            (
                "{ port_name: http, alias: { port: 80, dns_name: API.internal } }",
                "service-connect-name",
                at("alias.dns_name"),
            ),
            (
                "{ port_name: raw, request_timeout: 5 }",
                "service-connect-timeout",
                at("request_timeout"),
            ),
            (
                "{ port_name: http, ingress_port_override: 0 }",
                "out-of-range",
                at("ingress_port_override"),
            ),
            (
                "{ port_name: http, tls: { certificate_authority: 'arn:aws:acm:us-east-1:123456789012:certificate/x', role: 'arn:aws:iam::123456789012:role/tls' } }",
                "arn",
                at("tls.certificate_authority"),
            ),
        ] {
            assert_eq!(rules(&connect(endpoint)), [(rule, path)], "{endpoint}");
        }
        assert_eq!(
            rules(&connect(
                "{ port_name: http }, { port_name: raw, discovery_name: http }"
            )),
            [(
                "duplicate",
                "service.service_connect.services[1].discovery_name".to_string()
            )]
        );
        assert_eq!(
            rules(
                "  service_connect: { namespace: 'arn:aws:servicediscovery:us-east-1:123456789012:ns-1' }\n"
            ),
            [("arn", "service.service_connect.namespace".to_string())]
        );
        assert_eq!(
            rules("  service_connect: { namespace: internal, logs: { query_parameters: true } }\n"),
            [(
                "service-connect-access-logs",
                "service.service_connect.logs.query_parameters".to_string()
            )]
        );
    }

    #[test]
    fn a_registry_takes_a_port_or_a_containers_port() {
        let registry = |rest: &str| {
            format!(
                "  service_registry: {{ arn: 'arn:aws:servicediscovery:us-east-1:123456789012:service/srv-0123456789abcdef'{rest} }}\n"
            )
        };
        assert_eq!(rules(&registry("")), []);
        assert_eq!(rules(&registry(", port: 53")), []);
        assert_eq!(rules(&registry(", container_port: 9000")), []);
        let at = |key: &str| format!("service.service_registry.{key}");
        for (rest, rule, path) in [
            (
                ", port: 53, container_port: 8080",
                "service-registry-port",
                at("port"),
            ),
            (
                ", container: demo",
                "service-registry-port",
                at("container"),
            ),
            (
                ", container_port: 7000",
                "service-registry-port",
                at("container_port"),
            ),
            (
                ", container: sidecar, container_port: 8080",
                "unknown-container",
                at("container"),
            ),
        ] {
            assert_eq!(rules(&registry(rest)), [(rule, path)], "{rest}");
        }
        assert_eq!(
            rules(
                "  service_registry: { arn: 'arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-1' }\n"
            ),
            [("arn", at("arn"))]
        );
    }
}
