//! `shipit validate`: check deploy.yaml and show what it resolves to. Makes no AWS call.

use serde::Serialize;

use super::GlobalArgs;
use crate::config::{self, DeployConfig, Diagnostic, Names, TagOrigin};
use crate::exit::ExitStatus;
use crate::printer::Printer;

#[derive(Serialize)]
struct Validated<'a> {
    ok: bool,
    file: String,
    names: &'a Names,
    image_tag: Option<String>,
    image_tag_origin: Option<TagOrigin>,
    warnings: &'a [Diagnostic],
    config: DeployConfig,
}

pub fn run(global: &GlobalArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let (members, _) = super::load_fleet(global, printer)?;
    if let [member] = members.as_slice() {
        return validated(global, member.loaded.clone(), printer);
    }
    // A fleet: what each service resolves to, under its name; then the order it deploys in.
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let status = runtime.block_on(super::for_each_member(
        &members,
        printer,
        |loaded, printer| async move { validated(global, loaded, &printer) },
    ))?;
    if !printer.is_json() {
        let steps = crate::fleet::steps(&members);
        let mut order = String::from("deploy order:");
        for step in 0..steps.iter().max().map_or(0, |last| last + 1) {
            let names: Vec<String> = members
                .iter()
                .zip(&steps)
                .filter(|(_, s)| **s == step)
                .map(|(m, _)| crate::fleet::label(m))
                .collect();
            order.push_str(&format!(" [{}]", names.join(", ")));
        }
        printer.raw(&format!("{order}\n"))?;
    }
    Ok(status)
}

fn validated(
    global: &GlobalArgs,
    loaded: config::LoadedConfig,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    // A missing tag is not a config error: CI sets GITHUB_SHA, a checkout has a commit.
    let tag = config::resolve_tag(&loaded, &|name| std::env::var(name).ok());
    let c = &loaded.config;
    let n = &loaded.names;
    let file = global.config.display().to_string();

    let tag_line = match &tag {
        Ok((tag, TagOrigin::Config)) => tag.clone(),
        Ok((tag, TagOrigin::GithubSha)) => format!("{tag} (from GITHUB_SHA)"),
        Ok((tag, TagOrigin::GitHead)) => format!("{tag} (the git commit)"),
        Err(err) => format!("none yet: {err}"),
    };
    let health = match &c.container.health_check {
        Some(h) => format!(
            "health check every {}s (timeout {}s, {} retries, start period {}s)",
            h.interval, h.timeout, h.retries, h.start_period
        ),
        None => "no container health check".to_string(),
    };
    let retention = match c.logs.retention_days {
        Some(days) => format!("kept {days} days"),
        None => "kept forever".to_string(),
    };
    let human = format!(
        "{file}: valid{warnings}
  app         {app}{region}
  repository  {repo} ({mutability}, scan on push {scan}, {encryption})
  image       {source} -> tag {tag_line}
  cluster     {cluster}
  service     {service}: {count} task(s) on Fargate, {subnets} subnet(s), public IP {public}
  task        {family}: {cpu} CPU units, {memory} MiB, {arch}
  container   {container} on port {port}, {health}
  logs        {group} ({retention}, stream prefix `{prefix}`)
",
        warnings = match loaded.warnings.len() {
            0 => String::new(),
            1 => " (1 warning)".to_string(),
            n => format!(" ({n} warnings)"),
        },
        app = c.app,
        region = c
            .region
            .as_ref()
            .map(|r| format!(" in {r}"))
            .unwrap_or_default(),
        repo = n.repository,
        mutability = c.repository.mutability_shown(),
        scan = if c.repository.scan_on_push {
            "on"
        } else {
            "off"
        },
        encryption = c.repository.encryption,
        source = c.image.source,
        cluster = n.cluster,
        service = n.service,
        count = c.service.desired_count,
        subnets = c.service.subnets.len(),
        public = if c.service.assign_public_ip {
            "yes"
        } else {
            "no"
        },
        family = n.family,
        cpu = c.task.cpu,
        memory = c.task.memory,
        arch = c.task.cpu_architecture,
        container = n.container,
        port = c.container.port,
        group = n.log_group,
        prefix = c.logs.stream_prefix,
    );
    let (image_tag, image_tag_origin) = match tag {
        Ok((tag, origin)) => (Some(tag), Some(origin)),
        Err(_) => (None, None),
    };
    printer.result(
        &Validated {
            ok: true,
            file,
            names: n,
            image_tag,
            image_tag_origin,
            warnings: &loaded.warnings,
            config: c.with_secrets_masked(),
        },
        &human,
    )?;
    Ok(ExitStatus::Success)
}
