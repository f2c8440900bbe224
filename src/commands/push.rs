//! `shipit push`: make the ECR repository match the config (planned and applied like every
//! other change), read the image (compressing what needs it) and push it under its tag.
//! `deploy` runs the same stages.

use super::GlobalArgs;
use crate::aws::calls::Clients;
use crate::exit::ExitStatus;
use crate::pipeline::image::{Preflight, PushInputs, deployed_image_size};
use crate::pipeline::{self, Stack};
use crate::printer::Printer;
use crate::progress::mib;

pub use crate::pipeline::image::PushArgs;

pub async fn run(
    args: &PushArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let loaded = super::load_config(global, printer)?;
    let inputs = PushInputs::resolve(&loaded, args, &global.aws)?;
    let aws = global.aws.load(loaded.config.region.as_deref()).await?;
    let clients = Clients::new(&aws.sdk);
    let stack = Stack {
        loaded: &loaded,
        aws: &aws,
        clients: &clients,
    };
    let (prepared, registry) =
        pipeline::read_image_and_registry(&stack, &inputs, args, Preflight::Warn, printer).await?;
    let planned = pipeline::plan(
        &stack,
        &inputs,
        &prepared,
        pipeline::Scope::Image,
        Some(registry),
    )
    .await?;
    let mut result = pipeline::push(&stack, &inputs, &prepared, &planned, args, printer).await?;
    result.size_report.deployed_bytes = deployed_image_size(&clients, &loaded).await;
    let report = &result.report;
    let human = if report.unchanged {
        format!(
            "{} already names this image: nothing pushed\n  image   {}\n",
            result.tagged_image, result.image
        )
    } else {
        format!(
            "pushed {}\n  image   {}\n  size    {}{}\n  blobs   {} uploaded ({}{}), {} already there, {} mounted, in {:.1} s\n",
            result.tagged_image,
            result.image,
            result.size_report.summary(),
            if result.layers_compressed > 0 {
                format!(", {} compressed here", result.layers_compressed)
            } else {
                String::new()
            },
            report.blobs_uploaded,
            mib(report.bytes_uploaded),
            match report.blobs_uploaded_while_compressed {
                0 => String::new(),
                n => format!(", {n} sent while compressed"),
            },
            report.blobs_existing,
            report.blobs_mounted,
            report.seconds
        )
    };
    if let Some(gh) = crate::github::GitHub::detect() {
        gh.outputs(&[
            ("image-uri", result.image.clone()),
            ("image-digest", report.digest.to_string()),
            (
                "result",
                if report.unchanged {
                    "unchanged"
                } else {
                    "pushed"
                }
                .to_string(),
            ),
        ])?;
    }
    printer.result(&result, &human)?;
    Ok(ExitStatus::Success)
}
