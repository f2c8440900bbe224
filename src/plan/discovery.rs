//! How other services find this one: Service Connect (`service.service_connect`) and Cloud
//! Map service discovery (`service.service_registry`). ECS holds both as JSON on the service
//! (the registry) or its PRIMARY deployment (Service Connect); each key is written here in
//! ECS's field names, and read back from them into the key for `init --from-service`. What
//! is written is only what the config names, so that it compares equal with what ECS
//! echoes back for a service made elsewhere with the same settings.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::config::model::{
    AccessLogFormat, ServiceConnectAliasConfig, ServiceConnectConfig, ServiceConnectLogsConfig,
    ServiceConnectServiceConfig, ServiceConnectTlsConfig, ServiceRegistryConfig,
    TestTrafficHeaderConfig,
};
use crate::ecs_json;

/// ECS's field for `service.service_connect`.
pub const SERVICE_CONNECT: &str = "serviceConnectConfiguration";
/// ECS's field for `service.service_registry`.
pub const SERVICE_REGISTRIES: &str = "serviceRegistries";

/// The stream prefix of the proxy's logs when the config names none.
pub const PROXY_STREAM_PREFIX: &str = "service-connect";

/// Where the proxy's logs go when `logs` names no group: the service's log group.
pub struct LogDefaults<'a> {
    pub group: &'a str,
    pub region: &'a str,
}

/// `service.service_connect` as ECS's `serviceConnectConfiguration`.
pub fn service_connect_json(config: &ServiceConnectConfig, logs: &LogDefaults) -> Value {
    let mut out = Map::new();
    out.insert("enabled".into(), json!(true));
    out.insert("namespace".into(), json!(config.namespace));
    if !config.services.is_empty() {
        let services: Vec<Value> = config.services.iter().map(endpoint_json).collect();
        out.insert("services".into(), Value::Array(services));
    }
    if let Some(l) = &config.logs {
        out.insert(
            "logConfiguration".into(),
            json!({
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": l.group.as_deref().unwrap_or(logs.group),
                    "awslogs-region": logs.region,
                    "awslogs-stream-prefix": l.stream_prefix.as_deref().unwrap_or(PROXY_STREAM_PREFIX),
                },
            }),
        );
        if let Some(format) = l.access_logs {
            out.insert(
                "accessLogConfiguration".into(),
                json!({
                    "format": format.ecs_name(),
                    "includeQueryParameters": if l.query_parameters { "ENABLED" } else { "DISABLED" },
                }),
            );
        }
    }
    ecs_json::as_sent(
        ecs_json::Target::Service,
        SERVICE_CONNECT,
        &Value::Object(out),
    )
}

fn endpoint_json(s: &ServiceConnectServiceConfig) -> Value {
    let mut out = Map::new();
    out.insert("portName".into(), json!(s.port_name));
    if let Some(name) = &s.discovery_name {
        out.insert("discoveryName".into(), json!(name));
    }
    if let Some(alias) = &s.alias {
        let mut a = Map::new();
        a.insert("port".into(), json!(alias.port));
        if let Some(dns) = &alias.dns_name {
            a.insert("dnsName".into(), json!(dns));
        }
        if let Some(header) = &alias.test_traffic_header {
            a.insert(
                "testTrafficRules".into(),
                json!({ "header": { "name": header.name, "value": { "exact": header.value } } }),
            );
        }
        out.insert("clientAliases".into(), json!([Value::Object(a)]));
    }
    if let Some(port) = s.ingress_port_override {
        out.insert("ingressPortOverride".into(), json!(port));
    }
    if s.idle_timeout.is_some() || s.request_timeout.is_some() {
        let mut t = Map::new();
        if let Some(idle) = s.idle_timeout {
            t.insert("idleTimeoutSeconds".into(), json!(idle));
        }
        if let Some(request) = s.request_timeout {
            t.insert("perRequestTimeoutSeconds".into(), json!(request));
        }
        out.insert("timeout".into(), Value::Object(t));
    }
    if let Some(tls) = &s.tls {
        let mut t = Map::new();
        t.insert(
            "issuerCertificateAuthority".into(),
            json!({ "awsPcaAuthorityArn": tls.certificate_authority }),
        );
        t.insert("roleArn".into(), json!(tls.role));
        if let Some(key) = &tls.kms_key {
            t.insert("kmsKey".into(), json!(key));
        }
        out.insert("tls".into(), Value::Object(t));
    }
    Value::Object(out)
}

/// `service.service_registry` as ECS's `serviceRegistries` (ECS takes one).
pub fn service_registries_json(config: &ServiceRegistryConfig, app_container: &str) -> Value {
    let mut out = Map::new();
    out.insert("registryArn".into(), json!(config.arn));
    if let Some(port) = config.port {
        out.insert("port".into(), json!(port));
    }
    if let Some(port) = config.container_port {
        out.insert(
            "containerName".into(),
            json!(config.container.as_deref().unwrap_or(app_container)),
        );
        out.insert("containerPort".into(), json!(port));
    }
    ecs_json::as_sent(
        ecs_json::Target::Service,
        SERVICE_REGISTRIES,
        &json!([Value::Object(out)]),
    )
}

/// The typed keys' ECS fields for `service`: field name -> JSON.
pub fn render(
    service: &crate::config::model::ServiceConfig,
    app_container: &str,
    logs: &LogDefaults,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    if let Some(sc) = &service.service_connect {
        out.insert(SERVICE_CONNECT.to_string(), service_connect_json(sc, logs));
    }
    if let Some(registry) = &service.service_registry {
        out.insert(
            SERVICE_REGISTRIES.to_string(),
            service_registries_json(registry, app_container),
        );
    }
    out
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

fn int(value: &Value, key: &str) -> Option<i64> {
    value.get(key).and_then(Value::as_i64)
}

/// Fields of `value` other than `known`, for saying what could not be carried.
fn others(value: &Value, known: &[&str]) -> Vec<String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, v)| !known.contains(&k.as_str()) && !ecs_json::is_unset(v))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// ECS's `serviceConnectConfiguration` as `service.service_connect`, and what it holds that
/// the key cannot (each named; the key then plans a change for it).
pub fn service_connect_config(
    value: &Value,
    logs: &LogDefaults,
) -> (ServiceConnectConfig, Vec<String>) {
    let mut lost = Vec::new();
    for field in others(
        value,
        &[
            "enabled",
            "namespace",
            "services",
            "logConfiguration",
            "accessLogConfiguration",
        ],
    ) {
        lost.push(format!("Service Connect's {field}"));
    }
    let services = value
        .get("services")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|s| endpoint_config(s, &mut lost))
                .collect()
        })
        .unwrap_or_default();
    let logs = value
        .get("logConfiguration")
        .filter(|l| !ecs_json::is_unset(l))
        .map(|l| {
            let options = l.get("options").cloned().unwrap_or(Value::Null);
            if text(l, "logDriver").as_deref() != Some("awslogs") {
                lost.push(format!(
                    "Service Connect's proxy logs through {} (the key writes awslogs)",
                    text(l, "logDriver").unwrap_or_default()
                ));
            }
            for option in others(
                &options,
                &["awslogs-group", "awslogs-region", "awslogs-stream-prefix"],
            ) {
                lost.push(format!("Service Connect's proxy log option {option}"));
            }
            if text(&options, "awslogs-region").is_some_and(|r| r != logs.region) {
                lost.push("Service Connect's proxy logs to another region".into());
            }
            let access = value.get("accessLogConfiguration");
            ServiceConnectLogsConfig {
                group: text(&options, "awslogs-group").filter(|g| g != logs.group),
                stream_prefix: text(&options, "awslogs-stream-prefix")
                    .filter(|p| p != PROXY_STREAM_PREFIX),
                access_logs: access
                    .and_then(|a| text(a, "format"))
                    .map(|f| match f.as_str() {
                        "JSON" => AccessLogFormat::Json,
                        _ => AccessLogFormat::Text,
                    }),
                query_parameters: access
                    .and_then(|a| text(a, "includeQueryParameters"))
                    .as_deref()
                    == Some("ENABLED"),
            }
        });
    (
        ServiceConnectConfig {
            namespace: text(value, "namespace").unwrap_or_default(),
            services,
            logs,
        },
        lost,
    )
}

fn endpoint_config(value: &Value, lost: &mut Vec<String>) -> ServiceConnectServiceConfig {
    let port_name = text(value, "portName").unwrap_or_default();
    for field in others(
        value,
        &[
            "portName",
            "discoveryName",
            "clientAliases",
            "ingressPortOverride",
            "timeout",
            "tls",
        ],
    ) {
        lost.push(format!("Service Connect {port_name}: {field}"));
    }
    let aliases = value
        .get("clientAliases")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if aliases.len() > 1 {
        lost.push(format!(
            "Service Connect {port_name}: client aliases after the first (ECS takes one)"
        ));
    }
    let alias = aliases.first().map(|a| {
        let rules = a.get("testTrafficRules").filter(|r| !ecs_json::is_unset(r));
        let header = rules.and_then(|r| r.get("header"));
        let test_traffic_header = header.and_then(|h| {
            Some(TestTrafficHeaderConfig {
                name: text(h, "name")?,
                value: h.get("value").and_then(|v| text(v, "exact"))?,
            })
        });
        if let Some(rules) = rules
            && (test_traffic_header.is_none() || !others(rules, &["header"]).is_empty())
        {
            lost.push(format!(
                "Service Connect {port_name}: test traffic rules {}",
                ecs_json::canonical(rules)
            ));
        }
        ServiceConnectAliasConfig {
            port: int(a, "port").unwrap_or_default(),
            dns_name: text(a, "dnsName"),
            test_traffic_header,
        }
    });
    let timeout = value.get("timeout");
    let tls = value.get("tls").filter(|t| !ecs_json::is_unset(t));
    ServiceConnectServiceConfig {
        discovery_name: text(value, "discoveryName"),
        alias,
        ingress_port_override: int(value, "ingressPortOverride"),
        idle_timeout: timeout.and_then(|t| int(t, "idleTimeoutSeconds")),
        request_timeout: timeout.and_then(|t| int(t, "perRequestTimeoutSeconds")),
        tls: tls.map(|t| ServiceConnectTlsConfig {
            certificate_authority: t
                .get("issuerCertificateAuthority")
                .and_then(|ca| text(ca, "awsPcaAuthorityArn"))
                .unwrap_or_default(),
            role: text(t, "roleArn").unwrap_or_default(),
            kms_key: text(t, "kmsKey"),
        }),
        port_name,
    }
}

/// ECS's `serviceRegistries` as `service.service_registry`, and what it holds that the key
/// cannot.
pub fn service_registry_config(
    value: &Value,
    app_container: &str,
) -> Option<(ServiceRegistryConfig, Vec<String>)> {
    let items = value.as_array()?;
    let first = items.first()?;
    let mut lost = Vec::new();
    if items.len() > 1 {
        lost.push("service registries after the first (ECS takes one)".into());
    }
    let container = text(first, "containerName");
    Some((
        ServiceRegistryConfig {
            arn: text(first, "registryArn").unwrap_or_default(),
            port: int(first, "port"),
            container: container.filter(|c| c != app_container),
            container_port: int(first, "containerPort"),
        },
        lost,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOGS: LogDefaults = LogDefaults {
        group: "/ecs/web",
        region: "eu-west-1",
    };

    fn full() -> ServiceConnectConfig {
        ServiceConnectConfig {
            namespace: "internal".into(),
            services: vec![ServiceConnectServiceConfig {
                port_name: "http".into(),
                discovery_name: Some("api".into()),
                alias: Some(ServiceConnectAliasConfig {
                    port: 80,
                    dns_name: Some("api.internal".into()),
                    test_traffic_header: Some(TestTrafficHeaderConfig {
                        name: "x-canary".into(),
                        value: "1".into(),
                    }),
                }),
                ingress_port_override: Some(15000),
                idle_timeout: Some(300),
                request_timeout: Some(15),
                tls: Some(ServiceConnectTlsConfig {
                    certificate_authority:
                        "arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/ca".into(),
                    role: "arn:aws:iam::123456789012:role/sc-tls".into(),
                    kms_key: None,
                }),
            }],
            logs: Some(ServiceConnectLogsConfig {
                access_logs: Some(AccessLogFormat::Json),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn service_connect_is_written_in_ecs_names_and_read_back_whole() {
        let written = service_connect_json(&full(), &LOGS);
        assert_eq!(written["namespace"], "internal");
        let endpoint = &written["services"][0];
        assert_eq!(endpoint["clientAliases"][0]["dnsName"], "api.internal");
        assert_eq!(endpoint["timeout"]["perRequestTimeoutSeconds"], 15);
        assert_eq!(
            endpoint["tls"]["issuerCertificateAuthority"]["awsPcaAuthorityArn"],
            "arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/ca"
        );
        assert_eq!(
            written["logConfiguration"]["options"]["awslogs-stream-prefix"],
            PROXY_STREAM_PREFIX
        );
        assert_eq!(written["accessLogConfiguration"]["format"], "JSON");
        let (read, lost) = service_connect_config(&written, &LOGS);
        assert_eq!(read, full());
        assert!(lost.is_empty(), "{lost:?}");
    }

    #[test]
    fn what_the_key_cannot_hold_is_named() {
        let mut written = service_connect_json(&full(), &LOGS);
        written["services"][0]["clientAliases"][0]["testTrafficRules"] =
            json!({ "header": { "name": "x-canary" } });
        written["logConfiguration"]["options"]["awslogs-datetime-format"] = json!("%Y");
        let (_, lost) = service_connect_config(&written, &LOGS);
        assert_eq!(lost.len(), 2, "{lost:?}");
        assert!(lost[0].contains("awslogs-datetime-format") || lost[1].contains("datetime"));
    }

    #[test]
    fn a_registry_names_the_app_container_only_for_a_container_port() {
        let registry = ServiceRegistryConfig {
            arn: "arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-1".into(),
            port: None,
            container: None,
            container_port: Some(8080),
        };
        let written = service_registries_json(&registry, "web");
        assert_eq!(written[0]["containerName"], "web");
        let (read, lost) = service_registry_config(&written, "web").unwrap();
        assert_eq!(read, registry);
        assert!(lost.is_empty());
        let plain = ServiceRegistryConfig {
            container_port: None,
            port: Some(53),
            ..registry
        };
        let written = service_registries_json(&plain, "web");
        assert!(written[0].get("containerName").is_none());
        assert_eq!(service_registry_config(&written, "web").unwrap().0, plain);
    }
}
