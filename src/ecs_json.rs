//! ECS's own JSON for the SDK's types, by the SDK's schemas (generated from the same Smithy
//! model as botocore's): an SDK value written out in ECS's field names, and a value in ECS's
//! field names read into the SDK's type, its types checked. The pass-through keys of
//! deploy.yaml (`task.ecs`, `ecs` on each container) are checked, merged into the request and
//! read back from what ECS answers with it.

use aws_smithy_json::codec::{JsonCodec, JsonCodecSettings};
use aws_smithy_schema::Schema;
use aws_smithy_schema::codec::Codec;
use aws_smithy_schema::serde::{
    SerdeError, SerializableStruct, ShapeDeserializer, ShapeSerializer,
};
use serde_json::{Map, Value};

fn codec() -> JsonCodec {
    JsonCodec::new(JsonCodecSettings::default())
}

/// The value in ECS's JSON.
pub fn to_json(value: &dyn SerializableStruct) -> Value {
    let mut ser = codec().create_serializer();
    if ser.write_struct(value.schema(), value).is_err() {
        return Value::Null;
    }
    serde_json::from_slice(&ser.finish()).unwrap_or(Value::Null)
}

/// ECS's JSON read into an SDK type (its `deserialize`); a value of the wrong type is an error.
/// Fields the type does not have are skipped: `check` finds them.
pub fn from_json<T>(
    value: &Value,
    deserialize: fn(&mut dyn ShapeDeserializer) -> Result<T, SerdeError>,
) -> Result<T, String> {
    let bytes = serde_json::to_vec(value).map_err(|e| e.to_string())?;
    let codec = codec();
    let mut de = codec.create_deserializer(&bytes);
    deserialize(&mut de).map_err(|e| e.to_string())
}

/// `overlay` merged into `base`: objects key by key, anything else replaced.
pub fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

/// `linuxParameters` -> `linux_parameters`: how the plan names a field ECS calls so.
pub fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `linux_parameters` -> `linuxParameters`.
pub fn camel_case(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Where a pass-through map goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// RegisterTaskDefinition's request.
    TaskDefinition,
    /// One entry of its `containerDefinitions`.
    Container,
    /// CreateService's request (UpdateService takes the same pass-through fields).
    Service,
}

impl Target {
    fn schema(self) -> &'static Schema<'static> {
        match self {
            Target::TaskDefinition => {
                aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput::SCHEMA
            }
            Target::Container => aws_sdk_ecs::types::ContainerDefinition::SCHEMA,
            Target::Service => aws_sdk_ecs::operation::create_service::CreateServiceInput::SCHEMA,
        }
    }

    /// Reads `value` as this target's type and writes it back: what ECS would be sent.
    fn round_trip(self, value: &Value) -> Result<Value, String> {
        use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
        use aws_sdk_ecs::types::ContainerDefinition;
        Ok(match self {
            Target::TaskDefinition => {
                to_json(&from_json(value, RegisterTaskDefinitionInput::deserialize)?)
            }
            Target::Container => to_json(&from_json(value, ContainerDefinition::deserialize)?),
            Target::Service => to_json(&from_json(
                value,
                aws_sdk_ecs::operation::create_service::CreateServiceInput::deserialize,
            )?),
        })
    }

    /// Fields ECS takes only for tasks on EC2 (ECS developer guide, "Amazon ECS task definition
    /// differences for Fargate" and the awsvpc network mode's limits).
    fn refused_on_fargate(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Target::TaskDefinition => &[
                ("ipcMode", "Fargate has no IPC namespace setting"),
                ("placementConstraints", "Fargate places tasks itself"),
            ],
            Target::Container => &[
                ("hostname", "not with awsvpc networking, which Fargate uses"),
                ("links", "not with awsvpc networking"),
                ("extraHosts", "not with awsvpc networking"),
                ("dnsServers", "not with awsvpc networking"),
                ("dnsSearchDomains", "not with awsvpc networking"),
                ("disableNetworking", "not with awsvpc networking"),
                ("privileged", "Fargate runs no privileged container"),
                ("dockerSecurityOptions", "EC2 only"),
                ("volumesFrom", "use `task.volumes` and `mount_points`"),
            ],
            Target::Service => &[
                ("placementConstraints", "Fargate places tasks itself"),
                ("placementStrategy", "Fargate places tasks itself"),
                (
                    "role",
                    "ECS uses its service-linked role for load balancers",
                ),
                (
                    "schedulingStrategy",
                    "DAEMON is EC2 only; shipit runs REPLICA services",
                ),
                (
                    "deploymentController",
                    "shipit deploys with ECS's own controller",
                ),
                ("clientToken", "shipit makes the call once per deploy"),
            ],
        }
    }

    /// The fields a key of deploy.yaml (or shipit itself) already writes: one place per
    /// setting. Each with what to write instead.
    fn owned(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Target::TaskDefinition => &[
                ("family", "`task.family`"),
                ("taskRoleArn", "`task.task_role`"),
                ("executionRoleArn", "`task.execution_role`"),
                (
                    "networkMode",
                    "nothing: shipit runs Fargate tasks with awsvpc networking",
                ),
                ("containerDefinitions", "`container:` or `containers:`"),
                ("volumes", "`task.volumes`"),
                (
                    "requiresCompatibilities",
                    "nothing: shipit runs Fargate tasks",
                ),
                ("cpu", "`task.cpu`"),
                ("memory", "`task.memory`"),
                ("tags", "`task.tags`"),
                ("pidMode", "`task.pid_mode`"),
                (
                    "runtimePlatform",
                    "`task.cpu_architecture` and `task.operating_system_family`",
                ),
                ("ephemeralStorage", "`task.ephemeral_storage`"),
            ],
            Target::Container => &[
                ("name", "the container's `name`"),
                (
                    "image",
                    "`image` (a sidecar's) or `image.source` (the app's)",
                ),
                ("essential", "`essential`"),
                (
                    "portMappings",
                    "`port`, `port_name`, `app_protocol` and `ports`",
                ),
                ("environment", "`environment`"),
                ("secrets", "`secrets`"),
                ("command", "`command`"),
                ("entryPoint", "`entry_point`"),
                ("workingDirectory", "`working_directory`"),
                ("user", "`user`"),
                ("readonlyRootFilesystem", "`readonly_root_filesystem`"),
                ("stopTimeout", "`stop_timeout`"),
                ("dockerLabels", "`docker_labels`"),
                ("ulimits", "`ulimits`"),
                ("mountPoints", "`mount_points`"),
                ("systemControls", "`system_controls`"),
                ("environmentFiles", "`environment_files`"),
                ("healthCheck", "`health_check`"),
                ("logConfiguration", "`logs:`, or `firelens`"),
                (
                    "firelensConfiguration",
                    "`log_router` (on an entry of `containers:`)",
                ),
                ("dependsOn", "`depends_on`"),
                ("cpu", "`cpu`"),
                ("memory", "`memory`"),
                ("memoryReservation", "`memory_reservation`"),
            ],
            Target::Service => &[
                ("cluster", "`cluster`"),
                ("serviceName", "`service.name`"),
                ("taskDefinition", "nothing: each deploy sets it"),
                ("desiredCount", "`service.desired_count`"),
                (
                    "launchType",
                    "nothing: FARGATE, or `service.capacity_provider_strategy`",
                ),
                (
                    "capacityProviderStrategy",
                    "`service.capacity_provider_strategy`",
                ),
                ("platformVersion", "`service.platform_version`"),
                (
                    "networkConfiguration",
                    "`service.subnets`, `security_groups` and `assign_public_ip`",
                ),
                (
                    "deploymentConfiguration",
                    "`service.deployment`, `circuit_breaker`, `alarms` and the percents",
                ),
                (
                    "healthCheckGracePeriodSeconds",
                    "`service.health_check_grace_period`",
                ),
                (
                    "loadBalancers",
                    "`service.load_balancer` and `extra_target_groups`",
                ),
                ("serviceConnectConfiguration", "`service.service_connect`"),
                ("serviceRegistries", "`service.service_registry`"),
                (
                    "volumeConfigurations",
                    "an `ebs` volume under `task.volumes`",
                ),
                ("tags", "nothing: shipit tags the service it makes"),
                ("enableECSManagedTags", "`service.ecs_managed_tags`"),
                ("propagateTags", "`service.propagate_tags`"),
                ("enableExecuteCommand", "`service.enable_execute_command`"),
                (
                    "availabilityZoneRebalancing",
                    "`service.availability_zone_rebalancing`",
                ),
            ],
        }
    }
}

/// The service fields shipit sends and reads back as ECS's JSON: those of typed keys
/// (`service_connect`, `service_registry`, `ebs` volumes; see `TYPED_SERVICE_FIELDS`) and
/// those `service.ecs` takes (`SERVICE_PASS_THROUGH_FIELDS`). All are on CreateService and
/// UpdateService.
pub const SERVICE_FIELDS: [&str; 6] = [
    "serviceRegistries",
    "serviceConnectConfiguration",
    "volumeConfigurations",
    "vpcLatticeConfigurations",
    "gatewayConnectors",
    "monitoring",
];

/// The service fields `service.ecs` takes: no key covers them. A field a newer SDK adds is
/// neither here nor owned nor refused, and the test `every_service_field_is_placed` fails
/// until it is placed.
pub const SERVICE_PASS_THROUGH_FIELDS: [&str; 3] = [
    "vpcLatticeConfigurations",
    "gatewayConnectors",
    "monitoring",
];

/// The service fields of typed keys, each with the name the plan shows it by.
pub const TYPED_SERVICE_FIELDS: [(&str, &str); 3] = [
    ("serviceConnectConfiguration", "service_connect"),
    ("serviceRegistries", "service_registry"),
    ("volumeConfigurations", "ebs_volumes"),
];

/// The plan's name for a service field held as JSON: a typed key's, or `ecs.FIELD`.
pub fn service_field_label(field: &str) -> String {
    TYPED_SERVICE_FIELDS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or_else(|| format!("ecs.{field}"), |(_, label)| label.to_string())
}

/// The ECS field behind a plan name `service_field_label` gave.
pub fn service_field_of_label(label: &str) -> &str {
    TYPED_SERVICE_FIELDS
        .iter()
        .find(|(_, l)| *l == label)
        .map_or_else(|| label.trim_start_matches("ecs."), |(field, _)| field)
}

/// The service fields ECS holds only when someone set them: read back (and a removal when the
/// config does not name them) even when the config is silent.
pub const SERVICE_FIELDS_SET_ONLY_BY_USERS: [&str; 4] = [
    "serviceRegistries",
    "serviceConnectConfiguration",
    "volumeConfigurations",
    "vpcLatticeConfigurations",
];

/// What a service pass-through field is sent as when the config drops it (ECS keeps a value an
/// update leaves out): an empty list, Service Connect switched off.
pub fn service_field_cleared(key: &str) -> Option<Value> {
    match key {
        "serviceConnectConfiguration" => Some(serde_json::json!({ "enabled": false })),
        "serviceRegistries"
        | "volumeConfigurations"
        | "vpcLatticeConfigurations"
        | "gatewayConnectors" => Some(Value::Array(Vec::new())),
        // ECS's default resolution again.
        "monitoring" => Some(serde_json::json!({ "metricConfigurations": [] })),
        _ => None,
    }
}

/// A value that holds nothing: how ECS reads back a field that was never set or was cleared.
pub fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => {
            map.is_empty()
                || map.get("enabled") == Some(&Value::Bool(false))
                || map.values().all(is_unset)
        }
        _ => false,
    }
}

macro_rules! service_field_setters {
    ($name:ident, $builder:ty, $input:ty) => {
        /// Sets one of `SERVICE_FIELDS` on the request from its JSON.
        pub fn $name(request: $builder, key: &str, value: &Value) -> Result<$builder, String> {
            let mut alone = Map::new();
            alone.insert(key.to_string(), value.clone());
            let input = from_json(&Value::Object(alone), <$input>::deserialize)?;
            Ok(match key {
                "serviceRegistries" => request.set_service_registries(input.service_registries),
                "serviceConnectConfiguration" => {
                    request.set_service_connect_configuration(input.service_connect_configuration)
                }
                "volumeConfigurations" => {
                    request.set_volume_configurations(input.volume_configurations)
                }
                "vpcLatticeConfigurations" => {
                    request.set_vpc_lattice_configurations(input.vpc_lattice_configurations)
                }
                "gatewayConnectors" => request.set_gateway_connectors(input.gateway_connectors),
                "monitoring" => request.set_monitoring(input.monitoring),
                other => return Err(format!("`{other}` is not a service pass-through field")),
            })
        }
    };
}

service_field_setters!(
    on_create_service,
    aws_sdk_ecs::operation::create_service::builders::CreateServiceFluentBuilder,
    aws_sdk_ecs::operation::create_service::CreateServiceInput
);
service_field_setters!(
    on_update_service,
    aws_sdk_ecs::operation::update_service::builders::UpdateServiceFluentBuilder,
    aws_sdk_ecs::operation::update_service::UpdateServiceInput
);

/// A field of the target that `ecs:` may write (in the model, no typed key's, not refused on
/// Fargate).
pub fn is_pass_through_field(target: Target, key: &str) -> bool {
    if target == Target::Service {
        return SERVICE_PASS_THROUGH_FIELDS.contains(&key);
    }
    target.owned().iter().all(|(k, _)| *k != key)
        && target.refused_on_fargate().iter().all(|(k, _)| *k != key)
        && member_names(target.schema()).iter().any(|m| m == key)
}

/// Why a pass-through key cannot be sent: (rule, message, fix).
pub type Refusal = (&'static str, String, String);

/// Checks one pass-through key and its value against ECS's model: a field of the target
/// (with the closest name offered otherwise), not one a typed key writes, of the right type all
/// the way down (a field a nested object does not have is named by its path).
pub fn check(target: Target, key: &str, value: &Value) -> Result<(), Refusal> {
    if let Some((_, instead)) = target.owned().iter().find(|(owned, _)| *owned == key) {
        return Err((
            "ecs-owned",
            format!("`{key}` is written by a key of deploy.yaml, {instead}; one place per setting"),
            format!("remove `{key}` here and use {instead}"),
        ));
    }
    if let Some((_, why)) = target.refused_on_fargate().iter().find(|(k, _)| *k == key) {
        return Err((
            "ecs-fargate",
            format!("ECS refuses `{key}` for Fargate tasks: {why}"),
            format!("remove `{key}`"),
        ));
    }
    let members = member_names(target.schema());
    if !members.iter().any(|m| m == key) {
        let closest = members
            .iter()
            .map(|m| (strsim::jaro_winkler(m, key), m.as_str()))
            .filter(|(score, _)| *score > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, m)| m);
        return Err((
            "ecs-unknown-field",
            format!("ECS has no field `{key}` here"),
            match closest {
                Some(m) => {
                    format!("did you mean `{m}`? (ECS's JSON names, as in the API reference)")
                }
                None => "use a field of ECS's API reference, in its JSON name (camelCase)".into(),
            },
        ));
    }
    if target == Target::Service && !SERVICE_PASS_THROUGH_FIELDS.contains(&key) {
        return Err((
            "ecs-unknown-field",
            format!("`{key}` is not a field service.ecs takes"),
            format!(
                "service.ecs takes {}",
                SERVICE_PASS_THROUGH_FIELDS.join(", ")
            ),
        ));
    }
    let mut alone = Map::new();
    alone.insert(key.to_string(), value.clone());
    let sent = target.round_trip(&Value::Object(alone)).map_err(|e| {
        (
            "ecs-type",
            format!("`{key}` does not have the type ECS takes: {e}"),
            "write the value as ECS's API reference gives it".to_string(),
        )
    })?;
    if let Some(path) = first_dropped(value, &sent[key], key) {
        return Err((
            "ecs-unknown-field",
            format!("ECS has no field `{path}`"),
            "remove it, or write it as ECS's API reference names it".into(),
        ));
    }
    Ok(())
}

/// A pass-through map as ECS will be sent it (`as_sent` for each field).
pub fn all_as_sent(
    target: Target,
    fields: &std::collections::BTreeMap<String, Value>,
) -> std::collections::BTreeMap<String, Value> {
    fields
        .iter()
        .map(|(key, value)| (key.clone(), as_sent(target, key, value)))
        .collect()
}

/// The JSON names of a shape's fields.
fn member_names(schema: &Schema<'_>) -> Vec<String> {
    schema
        .members()
        .iter()
        .filter_map(|m| m.member_name())
        .map(str::to_string)
        .collect()
}

/// One pass-through value as ECS will be sent it (read as its type and written back, so that
/// it compares with what ECS answers). A value `check` refused is kept as it is.
pub fn as_sent(target: Target, key: &str, value: &Value) -> Value {
    let mut alone = Map::new();
    alone.insert(key.to_string(), value.clone());
    target
        .round_trip(&Value::Object(alone))
        .ok()
        .and_then(|sent| sent.get(key).cloned())
        .unwrap_or_else(|| value.clone())
}

type RegisterInputBuilder =
    aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionInputBuilder;

/// The RegisterTaskDefinition request with `task.ecs` merged in.
pub fn with_task_pass_through(
    request: RegisterInputBuilder,
    pass_through: &std::collections::BTreeMap<String, Value>,
) -> RegisterInputBuilder {
    use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
    let Ok(input) = request.clone().build() else {
        return request;
    };
    let mut json = to_json(&input);
    merge(
        &mut json,
        &Value::Object(pass_through.clone().into_iter().collect()),
    );
    let merged = from_json(&json, RegisterTaskDefinitionInput::deserialize)
        .expect("each pass-through field was read as ECS's type at validate");
    builder_of(merged)
}

/// The builder that builds `input`: the SDK has no way back from an input to its builder, and
/// a test holds this to every field of the request (inference accelerators included: ECS
/// retired them, the request still has them).
#[allow(deprecated)]
fn builder_of(
    input: aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput,
) -> RegisterInputBuilder {
    aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput::builder()
        .set_family(input.family)
        .set_task_role_arn(input.task_role_arn)
        .set_execution_role_arn(input.execution_role_arn)
        .set_network_mode(input.network_mode)
        .set_container_definitions(input.container_definitions)
        .set_volumes(input.volumes)
        .set_placement_constraints(input.placement_constraints)
        .set_requires_compatibilities(input.requires_compatibilities)
        .set_cpu(input.cpu)
        .set_memory(input.memory)
        .set_tags(input.tags)
        .set_pid_mode(input.pid_mode)
        .set_ipc_mode(input.ipc_mode)
        .set_proxy_configuration(input.proxy_configuration)
        .set_inference_accelerators(input.inference_accelerators)
        .set_ephemeral_storage(input.ephemeral_storage)
        .set_runtime_platform(input.runtime_platform)
        .set_enable_fault_injection(input.enable_fault_injection)
}

/// The path of the first part of `given` that reading it as ECS's type dropped.
fn first_dropped(given: &Value, kept: &Value, path: &str) -> Option<String> {
    match (given, kept) {
        (Value::Object(given), Value::Object(kept)) => given.iter().find_map(|(k, v)| {
            let here = format!("{path}.{k}");
            match kept.get(k) {
                None if !v.is_null() => Some(here),
                None => None,
                Some(kept) => first_dropped(v, kept, &here),
            }
        }),
        (Value::Array(given), Value::Array(kept)) => given
            .iter()
            .zip(kept)
            .enumerate()
            .find_map(|(i, (g, k))| first_dropped(g, k, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// The IAM role ARNs a pass-through value names (fields called `roleArn` or ending in
/// `RoleArn`, at any depth): roles ECS is passed, which the caller needs iam:PassRole for.
pub fn role_arns(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        match v {
            Value::Object(map) => {
                for (key, inner) in map {
                    match inner {
                        Value::String(arn)
                            if (key == "roleArn" || key.ends_with("RoleArn"))
                                && arn.starts_with("arn:") =>
                        {
                            found.push(arn.clone())
                        }
                        other => pending.push(other),
                    }
                }
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    found.sort();
    found.dedup();
    found
}

/// `value` with every object's keys sorted: two readings compare equal whatever their order.
pub fn canonical(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&map[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sdk_values_are_written_in_ecs_field_names_and_read_back() {
        let c = aws_sdk_ecs::types::ContainerDefinition::builder()
            .name("web")
            .hostname("h")
            .build();
        let written = to_json(&c);
        assert_eq!(written["hostname"], "h");
        let mut more = written.clone();
        merge(
            &mut more,
            &json!({ "linuxParameters": { "capabilities": { "add": ["SYS_PTRACE"] } } }),
        );
        let read = from_json(&more, aws_sdk_ecs::types::ContainerDefinition::deserialize).unwrap();
        assert_eq!(
            read.linux_parameters()
                .and_then(|l| l.capabilities())
                .map(|c| c.add().to_vec()),
            Some(vec!["SYS_PTRACE".to_string()])
        );
    }

    #[test]
    fn pass_through_keys_are_checked_against_ecs_model() {
        assert!(check(Target::Container, "startTimeout", &json!(60)).is_ok());
        assert!(
            check(
                Target::Container,
                "linuxParameters",
                &json!({ "capabilities": { "add": ["SYS_PTRACE"] } })
            )
            .is_ok()
        );
        assert!(check(Target::TaskDefinition, "enableFaultInjection", &json!(true)).is_ok());
        let refused = |target, key, value: Value| check(target, key, &value).unwrap_err();
        let (rule, message, fix) = refused(Target::Container, "startTimout", json!(60));
        assert_eq!(rule, "ecs-unknown-field", "{message}");
        assert!(fix.contains("`startTimeout`"), "{fix}");
        let (rule, _, _) = refused(Target::Container, "hostname", json!("api"));
        assert_eq!(rule, "ecs-fargate");
        let (rule, message, _) = refused(Target::Container, "startTimeout", json!("soon"));
        assert_eq!(rule, "ecs-type", "{message}");
        let (rule, message, _) = refused(
            Target::Container,
            "linuxParameters",
            json!({ "capabilities": { "ad": ["SYS_PTRACE"] } }),
        );
        assert_eq!(rule, "ecs-unknown-field");
        assert!(
            message.contains("linuxParameters.capabilities.ad"),
            "{message}"
        );
        let (rule, _, fix) = refused(Target::TaskDefinition, "cpu", json!("256"));
        assert_eq!(rule, "ecs-owned");
        assert!(fix.contains("task.cpu"), "{fix}");
    }

    /// Every field of the request survives the way back to its builder: a field the SDK adds
    /// and `builder_of` misses fails here.
    #[test]
    fn the_request_comes_back_whole_from_its_input() {
        use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
        let members = member_names(Target::TaskDefinition.schema());
        // A value of each field's type, taken from ECS's own examples.
        let full = json!({
            "family": "web", "taskRoleArn": "arn:aws:iam::1:role/t",
            "executionRoleArn": "arn:aws:iam::1:role/e", "networkMode": "awsvpc",
            "containerDefinitions": [{ "name": "web", "image": "x", "cpu": 0 }],
            "volumes": [{ "name": "data" }],
            "placementConstraints": [{ "type": "memberOf", "expression": "attribute:x == y" }],
            "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
            "tags": [{ "key": "team", "value": "a" }], "pidMode": "task", "ipcMode": "none",
            "proxyConfiguration": { "type": "APPMESH", "containerName": "envoy" },
            "inferenceAccelerators": [{ "deviceName": "d", "deviceType": "t" }],
            "ephemeralStorage": { "sizeInGiB": 40 },
            "runtimePlatform": { "cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX" },
            "enableFaultInjection": true
        });
        let keys: Vec<&str> = full
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut missing: Vec<&String> = members
            .iter()
            .filter(|m| !keys.contains(&m.as_str()))
            .collect();
        missing.sort();
        assert!(missing.is_empty(), "give the test a value for {missing:?}");
        let input = from_json(&full, RegisterTaskDefinitionInput::deserialize).unwrap();
        let written = to_json(&input);
        let rebuilt = to_json(&builder_of(input).build().unwrap());
        assert_eq!(canonical(&rebuilt), canonical(&written));
        assert_eq!(canonical(&written), canonical(&full));
    }

    /// Each field of CreateService is owned by a key, refused, or taken by `service.ecs`; and
    /// each one `service.ecs` takes is on UpdateService too.
    #[test]
    fn every_service_field_is_placed() {
        let create = member_names(Target::Service.schema());
        let placed = |key: &str| {
            SERVICE_PASS_THROUGH_FIELDS.contains(&key)
                || Target::Service.owned().iter().any(|(k, _)| *k == key)
                || Target::Service
                    .refused_on_fargate()
                    .iter()
                    .any(|(k, _)| *k == key)
        };
        let unplaced: Vec<&String> = create.iter().filter(|k| !placed(k)).collect();
        assert!(
            unplaced.is_empty(),
            "place these CreateService fields: {unplaced:?}"
        );
        let update =
            member_names(aws_sdk_ecs::operation::update_service::UpdateServiceInput::SCHEMA);
        for key in SERVICE_FIELDS {
            assert!(
                update.iter().any(|u| u == key),
                "{key} is not on UpdateService"
            );
            assert!(
                create.iter().any(|c| c == key),
                "{key} is not on CreateService"
            );
        }
        for (field, _) in TYPED_SERVICE_FIELDS {
            assert!(SERVICE_FIELDS.contains(&field), "{field}");
            assert_eq!(service_field_of_label(&service_field_label(field)), field);
            assert_eq!(
                check(Target::Service, field, &json!([])).unwrap_err().0,
                "ecs-owned",
                "{field} has a typed key"
            );
        }
        assert!(
            check(
                Target::Service,
                "monitoring",
                &json!({ "metricConfigurations": [] })
            )
            .is_ok()
        );
        assert_eq!(
            check(Target::Service, "desiredCount", &json!(3))
                .unwrap_err()
                .0,
            "ecs-owned"
        );
    }

    #[test]
    fn roles_named_at_any_depth_are_found() {
        let volumes = json!([{ "name": "data", "managedEBSVolume": {
            "roleArn": "arn:aws:iam::1:role/ebs", "sizeInGiB": 20 } }]);
        assert_eq!(role_arns(&volumes), ["arn:aws:iam::1:role/ebs"]);
        assert!(role_arns(&json!({ "registryArn": "arn:aws:servicediscovery:x" })).is_empty());
    }

    #[test]
    fn names_and_order() {
        assert_eq!(snake_case("linuxParameters"), "linux_parameters");
        assert_eq!(camel_case("linux_parameters"), "linuxParameters");
        assert_eq!(
            canonical(&json!({ "b": 1, "a": { "d": 2, "c": 3 } })),
            canonical(&json!({ "a": { "c": 3, "d": 2 }, "b": 1 }))
        );
    }
}
