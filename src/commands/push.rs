//! `shipit push`: make the ECR repository match the config (planned and applied like every
//! other change), read the image (compressing what needs it) and push it under its tag.
//! `deploy` runs the same stages.

use clap::Args;

use super::GlobalArgs;
use crate::aws::AwsSettings;
use crate::config::model::CpuArchitecture;
use crate::config::{self, LoadedConfig};
use crate::exit::BadInput;
use crate::exit::ExitStatus;
use crate::pipeline;
use crate::pipeline::image::{Preflight, PushInputs, deployed_image_size};
use crate::printer::Printer;
use crate::progress::mib;
use crate::session::Session;
use shipit_oci::image::{Compression, ReadOptions, SourceRef};

#[derive(Debug, Clone, Default, Args)]
pub struct PushArgs {
    /// The image to push, instead of `image.source` (docker://NAME:TAG, docker-archive:PATH,
    /// oci:PATH[:REF], oci-archive:PATH).
    #[arg(long, value_name = "SOURCE")]
    pub source: Option<String>,
    /// The tag to push, instead of `image.tag` or the git commit.
    #[arg(long)]
    pub tag: Option<String>,
    /// Push to this registry URL instead of `repository.registry_url` or the default.
    #[arg(long, value_name = "URL")]
    pub registry_url: Option<String>,
    /// Blobs uploaded at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub parallel: u16,
    /// Compression for layers the source holds uncompressed, instead of `image.compression`.
    #[arg(long, value_parser = compression_flag())]
    pub compression: Option<Compression>,
    /// Upload each blob in parts of this many MiB (at least 5) instead of one streaming request;
    /// also the part size of layers uploaded while they are compressed (default 16).
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(5..=4096))]
    pub chunk_size: Option<u64>,
    /// Do not look inside the image for the programs the health check runs.
    #[arg(long)]
    pub no_preflight: bool,
    /// Send the ECR login to this registry host although it is neither ECR, loopback nor
    /// the --endpoint-url host (a `registry_url` that a branch can change must not get it).
    #[arg(long, value_name = "HOST")]
    pub trust_registry_host: Option<String>,
}

/// `--compression`'s values, parsed here so that the images crate needs no command-line types.
fn compression_flag() -> impl clap::builder::TypedValueParser<Value = Compression> {
    use clap::builder::{PossibleValue, TypedValueParser};
    clap::builder::PossibleValuesParser::new([
        PossibleValue::new("gzip").help("Every runtime pulls it"),
        PossibleValue::new("zstd")
            .help("Smaller and faster to decompress: Fargate pulls and starts zstd images faster"),
    ])
    .map(|s| match s.as_str() {
        "zstd" => Compression::Zstd,
        _ => Compression::Gzip,
    })
}

impl PushArgs {
    /// The inputs of the image stages: these flags over the config, checked before any AWS
    /// call (bad input exits 2).
    pub fn resolve(&self, loaded: &LoadedConfig, aws: &AwsSettings) -> anyhow::Result<PushInputs> {
        let args = self;
        let config = &loaded.config;
        let source_text = args.source.as_deref().unwrap_or(&config.image.source);
        let source = SourceRef::parse(source_text).map_err(|e| {
            BadInput::new(format!(
                "{e}: write docker://NAME:TAG, docker-archive:PATH, oci:PATH[:REF] or oci-archive:PATH"
            ))
        })?;
        // A path in deploy.yaml is relative to its folder; one given with --source, to the
        // working directory.
        let source = match (&args.source, loaded.path.parent()) {
            (None, Some(folder)) => source.relative_to(folder),
            _ => source,
        };
        let tag = match &args.tag {
            Some(tag) => tag.clone(),
            None => {
                config::resolve_tag(loaded, &|n| std::env::var(n).ok())
                    .map_err(|e| BadInput::new(e.to_string()))?
                    .0
            }
        };
        let registry_override = args
            .registry_url
            .clone()
            .or_else(|| config.repository.registry_url.clone());
        if let Some(url) = &registry_override {
            crate::aws::check_transport(url, aws.allow_insecure_http)?;
            check_registry_host(
                url,
                aws.endpoint()?.as_deref(),
                args.trust_registry_host.as_deref(),
            )?;
        }
        let options = ReadOptions {
            compression: args.compression.unwrap_or(config.image.compression),
            architecture: match config.task.cpu_architecture {
                CpuArchitecture::X86_64 => "amd64",
                CpuArchitecture::Arm64 => "arm64",
            }
            .to_string(),
            cache_dir: shipit_oci::cache::cache_dir(),
            watcher: None,
        };
        Ok(PushInputs {
            source,
            source_from_flag: args.source.is_some(),
            tag,
            registry_override,
            options,
            parallel: args.parallel as usize,
            chunk_size_mib: args.chunk_size,
            check_health_check: !args.no_preflight,
        })
    }
}

pub async fn run(
    args: &PushArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let loaded = super::load_config(global, printer)?;
    let inputs = args.resolve(&loaded, &global.aws.settings())?;
    let session = Session::open(loaded, &global.aws.settings(), printer).await?;
    let (prepared, registry) =
        pipeline::read_image_and_registry(&session, &inputs, Preflight::Warn).await?;
    let planned = pipeline::plan(
        &session,
        &inputs,
        &prepared,
        pipeline::Scope::Image,
        Some(registry),
    )
    .await?;
    let mut result = pipeline::push(&session, &inputs, &prepared, &planned).await?;
    result.size_report.deployed_bytes =
        deployed_image_size(&session.clients, &session.loaded).await;
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
    if let Some(gh) = &session.github {
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

/// The registry override receives the ECR login (a 12-hour token for every repository of the
/// account): only ECR itself, loopback, the --endpoint-url host, or a host named with
/// `--trust-registry-host` may get it. `plan` logs in too, so this holds before any call.
pub fn check_registry_host(
    url: &str,
    endpoint: Option<&str>,
    trusted: Option<&str>,
) -> Result<(), BadInput> {
    let parsed = url::Url::parse(url)
        .map_err(|err| BadInput::new(format!("registry URL `{url}` is not a URL ({err})")))?;
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ecr = host.contains(".dkr.ecr.")
        && (host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"));
    let loopback = host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let endpoint_host = endpoint
        .and_then(|e| url::Url::parse(e).ok())
        .and_then(|e| e.host_str().map(str::to_ascii_lowercase));
    if ecr
        || loopback
        || endpoint_host.as_deref() == Some(host)
        || trusted.is_some_and(|t| t.eq_ignore_ascii_case(host))
    {
        return Ok(());
    }
    Err(BadInput::new(format!(
        "registry URL `{url}` is not ECR, loopback or the --endpoint-url host: shipit would send it the ECR login; if this registry is yours, pass --trust-registry-host {host}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ecr_login_goes_only_to_ecr_loopback_the_endpoint_or_a_trusted_host() {
        let ok = |url, endpoint, trusted| check_registry_host(url, endpoint, trusted).is_ok();
        assert!(ok(
            "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            None,
            None
        ));
        assert!(ok("http://127.0.0.1:4566", None, None));
        assert!(ok("http://[::1]:5000", None, None));
        assert!(ok(
            "https://ls.example.com",
            Some("https://ls.example.com:4566"),
            None
        ));
        assert!(!ok("https://collector.example.net", None, None));
        assert!(!ok("https://dkr.ecr.evil.example.net", None, None));
        assert!(ok(
            "https://mirror.example.net",
            None,
            Some("mirror.example.net")
        ));
        let err = check_registry_host("https://collector.example.net", None, None).unwrap_err();
        assert!(
            err.message
                .contains("--trust-registry-host collector.example.net")
        );
    }
}
