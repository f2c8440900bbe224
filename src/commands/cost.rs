//! `shipit cost`: a monthly estimate for the config: Fargate vCPU-hours and GB-hours for every
//! task around the clock, ECR storage of the image, and optionally log ingestion. An estimate,
//! from a price table in the code with the date the prices were taken.

use clap::Args;
use serde::Serialize;

use super::GlobalArgs;
use crate::config::model::{CapacityProviderConfig, CpuArchitecture, FargateCapacityProvider};
use crate::exit::ExitStatus;
use crate::printer::Printer;

/// Hours in a month, as AWS's own calculators count them.
const HOURS_PER_MONTH: f64 = 730.0;

/// On-demand Linux prices in USD. Taken 2026-11-28 from published summaries of the AWS price
/// list dated March 2026 (N. Virginia). AWS's Fargate pricing page prices N. Virginia, Ohio,
/// Oregon and Ireland as one group. Regions not listed are estimated at these prices, and the
/// output says so.
pub const PRICES_TAKEN: &str = "2026-03 (AWS price list, us-east-1)";

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prices {
    pub x86_vcpu_hour: f64,
    pub x86_gb_hour: f64,
    pub arm_vcpu_hour: f64,
    pub arm_gb_hour: f64,
    /// ECR storage, per GB-month.
    pub ecr_gb_month: f64,
    /// CloudWatch Logs standard ingestion, per GB.
    pub logs_ingest_gb: f64,
}

const US_EAST: Prices = Prices {
    x86_vcpu_hour: 0.04048,
    x86_gb_hour: 0.004445,
    arm_vcpu_hour: 0.03238,
    arm_gb_hour: 0.00356,
    ecr_gb_month: 0.10,
    logs_ingest_gb: 0.50,
};

/// The table: regions whose prices were checked.
pub fn prices_for(region: &str) -> Option<Prices> {
    match region {
        "us-east-1" | "us-east-2" | "us-west-2" | "eu-west-1" => Some(US_EAST),
        _ => None,
    }
}

#[derive(Debug, Args)]
pub struct CostArgs {
    /// The compressed image size in MiB (ECR storage); `shipit push` prints it.
    #[arg(long, default_value_t = 150.0)]
    pub image_mib: f64,
    /// How many images the repository keeps. Default: `repository.keep_last`, else 10.
    #[arg(long)]
    pub images: Option<u32>,
    /// Log volume the service writes, in GB a month (0: leave logs out).
    #[arg(long, default_value_t = 0.0)]
    pub log_gb: f64,
}

#[derive(Debug, Serialize)]
pub struct Estimate {
    pub region: String,
    pub prices_for_region: bool,
    pub prices_taken: &'static str,
    pub tasks: i64,
    pub vcpu: f64,
    pub memory_gb: f64,
    pub fargate_per_task: f64,
    /// On-demand Fargate, for the tasks not on Fargate Spot.
    pub fargate: f64,
    /// Tasks the capacity provider strategy places on Fargate Spot (a share, on average).
    pub spot_tasks: f64,
    pub fargate_spot: f64,
    pub ecr_storage: f64,
    pub logs: f64,
    pub total: f64,
}

pub fn estimate(
    region: &str,
    tasks: i64,
    cpu_units: i64,
    memory_mib: i64,
    arch: CpuArchitecture,
    args: &CostArgs,
    images: u32,
) -> Estimate {
    let (prices, known) = match prices_for(region) {
        Some(p) => (p, true),
        None => (US_EAST, false),
    };
    let vcpu = cpu_units as f64 / 1024.0;
    let memory_gb = memory_mib as f64 / 1024.0;
    let (per_vcpu, per_gb) = match arch {
        CpuArchitecture::X86_64 => (prices.x86_vcpu_hour, prices.x86_gb_hour),
        CpuArchitecture::Arm64 => (prices.arm_vcpu_hour, prices.arm_gb_hour),
    };
    let fargate_per_task = (vcpu * per_vcpu + memory_gb * per_gb) * HOURS_PER_MONTH;
    let fargate = fargate_per_task * tasks as f64;
    let ecr_storage = args.image_mib / 1024.0 * images as f64 * prices.ecr_gb_month;
    let logs = args.log_gb * prices.logs_ingest_gb;
    Estimate {
        region: region.to_string(),
        prices_for_region: known,
        prices_taken: PRICES_TAKEN,
        tasks,
        vcpu,
        memory_gb,
        fargate_per_task,
        fargate,
        spot_tasks: 0.0,
        fargate_spot: 0.0,
        ecr_storage,
        logs,
        total: fargate + ecr_storage + logs,
    }
}

/// Fargate Spot's price moves with spare capacity; AWS advertises "up to a 70% discount" on
/// on-demand. The estimate takes that discount, and its output says so.
pub const SPOT_SHARE_OF_ON_DEMAND: f64 = 0.30;

impl Estimate {
    /// Moves `spot_tasks` of the tasks to Fargate Spot prices.
    pub fn with_spot(mut self, spot_tasks: f64) -> Estimate {
        let spot_tasks = spot_tasks.clamp(0.0, self.tasks as f64);
        self.spot_tasks = spot_tasks;
        self.fargate_spot = self.fargate_per_task * SPOT_SHARE_OF_ON_DEMAND * spot_tasks;
        self.fargate = self.fargate_per_task * (self.tasks as f64 - spot_tasks);
        self.total = self.fargate + self.fargate_spot + self.ecr_storage + self.logs;
        self
    }
}

/// How many of `tasks` a capacity provider strategy places on FARGATE_SPOT: each base first
/// (in the strategy's order), then the rest shared by weight (ECS developer guide, "Amazon
/// ECS capacity provider strategies"). A share, since ECS places whole tasks as they start.
pub fn spot_tasks(strategy: &[CapacityProviderConfig], tasks: i64) -> f64 {
    let mut left = tasks.max(0) as f64;
    let mut spot = 0.0;
    for item in strategy {
        let base = (item.base as f64).min(left);
        left -= base;
        if item.provider == FargateCapacityProvider::FargateSpot {
            spot += base;
        }
    }
    let total_weight: i64 = strategy.iter().map(|i| i.weight).sum();
    if total_weight > 0 {
        let spot_weight: i64 = strategy
            .iter()
            .filter(|i| i.provider == FargateCapacityProvider::FargateSpot)
            .map(|i| i.weight)
            .sum();
        spot += left * spot_weight as f64 / total_weight as f64;
    }
    spot
}

pub fn run(args: &CostArgs, global: &GlobalArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let loaded = super::load_config(global, printer)?;
    let c = &loaded.config;
    let region = global
        .aws
        .region
        .clone()
        .or_else(|| c.region.clone())
        .or_else(|| std::env::var("AWS_REGION").ok())
        .unwrap_or_else(|| "us-east-1".to_string());
    let images = args
        .images
        .unwrap_or_else(|| c.repository.keep_last.map_or(10, |k| k as u32));
    let e = estimate(
        &region,
        c.service.desired_count,
        c.task.cpu,
        c.task.memory,
        c.task.cpu_architecture,
        args,
        images,
    )
    .with_spot(spot_tasks(
        &c.service.capacity_provider_strategy,
        c.service.desired_count,
    ));
    let mut human = format!(
        "monthly estimate for {} in {} (on-demand prices of {}{}):\n",
        c.app,
        e.region,
        e.prices_taken,
        if e.prices_for_region {
            ""
        } else {
            "; no prices were checked for this region, so N. Virginia's are used"
        }
    );
    let on_demand_tasks = e.tasks as f64 - e.spot_tasks;
    human.push_str(&format!(
        "  Fargate   {} task(s) x {} vCPU, {} GB x 730 h   ${:>8.2}   (${:.2} per task)\n",
        tasks_shown(on_demand_tasks),
        e.vcpu,
        e.memory_gb,
        e.fargate,
        e.fargate_per_task
    ));
    if e.spot_tasks > 0.0 {
        human.push_str(&format!(
            "  Spot      {} task(s) on Fargate Spot           ${:>8.2}   (at {:.0}% of on-demand: Spot prices move, AWS advertises up to 70% off)\n",
            tasks_shown(e.spot_tasks),
            e.fargate_spot,
            SPOT_SHARE_OF_ON_DEMAND * 100.0
        ));
    }
    human.push_str(&format!(
        "  ECR       {images} image(s) x {:.0} MiB stored      ${:>8.2}\n",
        args.image_mib, e.ecr_storage
    ));
    if args.log_gb > 0.0 {
        human.push_str(&format!(
            "  Logs      {} GB ingested                 ${:>8.2}\n",
            args.log_gb, e.logs
        ));
    }
    human.push_str(&format!(
        "  total                                       ${:>8.2} a month (an estimate: data transfer, load balancers and NAT are not included)\n",
        e.total
    ));
    if !c.task.operating_system_family.is_linux() {
        // The table holds Linux prices only: say so rather than print a Windows figure that
        // leaves out the license fee.
        printer.warn(&format!(
            "the task runs {}: these are Linux prices; Windows tasks on Fargate also pay an OS license fee per vCPU-hour and are billed for at least 15 minutes",
            c.task.operating_system_family.ecs_name()
        ));
    }
    printer.result(&e, &human)?;
    Ok(ExitStatus::Success)
}

/// Whole tasks as such, a share with two decimals.
fn tasks_shown(tasks: f64) -> String {
    if tasks.fract() == 0.0 {
        format!("{tasks:.0}")
    } else {
        format!("{tasks:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strategy_puts_bases_first_and_shares_the_rest_by_weight() {
        use FargateCapacityProvider::{Fargate, FargateSpot};
        let item = |provider, base, weight| CapacityProviderConfig {
            provider,
            base,
            weight,
        };
        // FARGATE base 1, then 1:3 with Spot: of 5 tasks, 1 + 1 on-demand and 3 on Spot.
        let strategy = [item(Fargate, 1, 1), item(FargateSpot, 0, 3)];
        assert!((spot_tasks(&strategy, 5) - 3.0).abs() < 1e-9);
        // The base takes the only task.
        assert_eq!(spot_tasks(&strategy, 1), 0.0);
        assert_eq!(spot_tasks(&[], 4), 0.0);
        assert_eq!(spot_tasks(&[item(FargateSpot, 0, 1)], 4), 4.0);
        let args = CostArgs {
            image_mib: 0.0,
            images: None,
            log_gb: 0.0,
        };
        let e = estimate("us-east-1", 4, 256, 512, CpuArchitecture::X86_64, &args, 0);
        let all_on_demand = e.fargate;
        let mixed =
            estimate("us-east-1", 4, 256, 512, CpuArchitecture::X86_64, &args, 0).with_spot(2.0);
        assert!((mixed.fargate - all_on_demand / 2.0).abs() < 1e-9);
        assert!((mixed.fargate_spot - all_on_demand / 2.0 * SPOT_SHARE_OF_ON_DEMAND).abs() < 1e-9);
        assert!((mixed.total - mixed.fargate - mixed.fargate_spot).abs() < 1e-9);
    }

    #[test]
    fn two_small_tasks_cost_what_the_price_list_says() {
        let args = CostArgs {
            image_mib: 145.0,
            images: None,
            log_gb: 1.0,
        };
        // 0.25 vCPU and 0.5 GB: (0.25 x 0.04048 + 0.5 x 0.004445) x 730 = $9.01 a task.
        let e = estimate("us-east-1", 2, 256, 512, CpuArchitecture::X86_64, &args, 10);
        assert!(
            (e.fargate_per_task - 9.0100).abs() < 0.001,
            "{}",
            e.fargate_per_task
        );
        assert!((e.fargate - 18.02).abs() < 0.01);
        // 10 images of 145 MiB: 1.416 GB x $0.10.
        assert!((e.ecr_storage - 0.1416).abs() < 0.001);
        assert!((e.logs - 0.50).abs() < 1e-9);
        assert!(e.prices_for_region);
        let arm = estimate("us-east-1", 2, 256, 512, CpuArchitecture::Arm64, &args, 10);
        assert!(arm.fargate < e.fargate);
        assert!(
            !estimate(
                "ap-south-1",
                2,
                256,
                512,
                CpuArchitecture::X86_64,
                &args,
                10
            )
            .prices_for_region
        );
    }
}
