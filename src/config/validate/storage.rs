//! The rules of the task's storage: `task.ephemeral_storage` and `task.volumes` (EFS file
//! systems, an EBS volume per task, task storage), from ECS's API reference (Volume,
//! EFSVolumeConfiguration, ServiceManagedEBSVolumeConfiguration) and the EBS limits it cites.

use std::sync::LazyLock;

use regex::Regex;

use super::{Checker, KMS_KEY};
use crate::config::model::{DeployConfig, EbsConfig, EbsFilesystem, EbsVolumeType, OsFamily};

super::regex!(SNAPSHOT_ID, r"^snap-(?:[0-9a-f]{8}|[0-9a-f]{17})$");

/// ECS's volume names: "up to 255 letters (uppercase and lowercase), numbers, underscores,
/// and hyphens" (Volume.name).
static VOLUME_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_-]{1,255}$").expect("valid"));
static EFS_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^fs-[0-9a-f]{8,40}$").expect("valid"));
static EFS_ACCESS_POINT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^fsap-[0-9a-f]{8,40}$").expect("valid"));

pub(super) fn check_storage(c: &mut Checker, config: &DeployConfig) {
    let t = &config.task;
    // Fargate's ephemeral storage: 21-200 GiB (task definition parameters for Fargate).
    if let Some(gib) = t.ephemeral_storage {
        c.range("task.ephemeral_storage", gib, 21, 200, " GiB");
    }
    // "You can attach at most one Amazon EBS volume to each Amazon ECS task" (ECS developer
    // guide, "Use Amazon EBS volumes with Amazon ECS", considerations).
    if let Some(second) = t.volumes.iter().filter(|(_, v)| v.ebs.is_some()).nth(1) {
        c.error(
            "ebs-one-per-task",
            &format!("task.volumes.{}.ebs", second.0),
            "ECS attaches one EBS volume to a task, and this task names two".into(),
            "keep one `ebs` volume (several containers can mount it)",
        );
    }
    for (name, volume) in &t.volumes {
        let at = format!("task.volumes.{name}");
        if !VOLUME_NAME.is_match(name) {
            c.error(
                "volume-name",
                &at,
                format!("`{name}` is not a volume name ECS takes"),
                "use letters, digits, `_` and `-` (at most 255)",
            );
        }
        if let Some(ebs) = &volume.ebs {
            if volume.efs.is_some() {
                c.error(
                    "volume-kind",
                    &format!("{at}.ebs"),
                    "a volume is an EFS file system or an EBS volume, and this one names both"
                        .into(),
                    "keep one of `efs` and `ebs`, or make two volumes",
                );
            }
            check_ebs(c, config, &format!("{at}.ebs"), ebs);
        }
        let Some(efs) = &volume.efs else { continue };
        if !EFS_ID.is_match(&efs.file_system_id) {
            c.error(
                "efs-id",
                &format!("{at}.efs.file_system_id"),
                format!("`{}` is not an EFS file system id", efs.file_system_id),
                "write it as `fs-` and its hex digits, e.g. `fs-0123456789abcdef0`",
            );
        }
        if let Some(ap) = &efs.access_point
            && !EFS_ACCESS_POINT.is_match(ap)
        {
            c.error(
                "efs-id",
                &format!("{at}.efs.access_point"),
                format!("`{ap}` is not an EFS access point id"),
                "write it as `fsap-` and its hex digits",
            );
        }
        // EfsVolumeConfiguration: an access point or IAM authorization needs transit
        // encryption, and with an access point the root directory is the access point's.
        if efs.transit_encryption == Some(false) && (efs.access_point.is_some() || efs.iam) {
            c.error(
                "efs-transit-encryption",
                &format!("{at}.efs.transit_encryption"),
                "an access point or IAM authorization needs transit encryption, and it is off"
                    .into(),
                "remove `transit_encryption: false` (it is on by default with them)",
            );
        }
        if efs.access_point.is_some() && efs.root_directory.as_deref().is_some_and(|d| d != "/") {
            c.error(
                "efs-root-directory",
                &format!("{at}.efs.root_directory"),
                "with an access point, the root directory is the access point's".into(),
                "remove `root_directory` and set the directory on the access point",
            );
        }
    }
}

/// One `ebs` volume, by ServiceManagedEBSVolumeConfiguration's documented values: a size
/// unless a snapshot gives one (gp2 and gp3 1-16,384 GiB, io1 and io2 4-16,384, st1 and sc1
/// 125-16,384; magnetic `standard` not on Fargate), IOPS for gp3 (3,000-16,000), io1
/// (100-64,000) and io2 (100-256,000, and io1 and io2 need it), throughput for gp3 only (at
/// most 1,000 MiB/s, and EBS's least for gp3, 125), an initialization rate only with a
/// snapshot, ext3, ext4 or xfs on Linux and ntfs on Windows.
fn check_ebs(c: &mut Checker, config: &DeployConfig, at: &str, ebs: &EbsConfig) {
    let path = |key: &str| format!("{at}.{key}");
    super::role_arn(c, &path("role"), &ebs.role);
    let volume_type = ebs.volume_type.unwrap_or(EbsVolumeType::Gp3);
    let kind = volume_type.ecs_name();
    let sizes = match volume_type {
        EbsVolumeType::Gp2 | EbsVolumeType::Gp3 => Some((1, 16_384)),
        EbsVolumeType::Io1 | EbsVolumeType::Io2 => Some((4, 16_384)),
        EbsVolumeType::St1 | EbsVolumeType::Sc1 => Some((125, 16_384)),
        EbsVolumeType::Standard => None,
    };
    let Some((least, most)) = sizes else {
        c.error(
            "ebs-volume-type",
            &path("type"),
            "ECS does not attach magnetic (`standard`) EBS volumes to Fargate tasks".into(),
            "use `gp3` (or gp2, io1, io2, st1, sc1)",
        );
        return;
    };
    match ebs.size {
        Some(size) => c.range(&path("size"), size, least, most, " GiB"),
        None if ebs.snapshot.is_none() => c.error(
            "required",
            at,
            "an EBS volume needs a `size`, or a `snapshot` to take its size from".into(),
            format!("add `size:` in GiB ({least}-{most} for {kind})"),
        ),
        None => {}
    }
    let iops = match volume_type {
        EbsVolumeType::Gp3 => Some((3_000, 16_000)),
        EbsVolumeType::Io1 => Some((100, 64_000)),
        EbsVolumeType::Io2 => Some((100, 256_000)),
        _ => None,
    };
    match (ebs.iops, iops) {
        (Some(value), Some((least, most))) => c.range(&path("iops"), value, least, most, ""),
        (Some(_), None) => c.error(
            "ebs-iops",
            &path("iops"),
            format!("{kind} volumes take no provisioned IOPS"),
            "remove `iops`, or use `type: gp3`, io1 or io2",
        ),
        (None, _) if matches!(volume_type, EbsVolumeType::Io1 | EbsVolumeType::Io2) => c.error(
            "ebs-iops",
            at,
            format!("{kind} volumes need `iops`"),
            "add `iops:` (100 or more)",
        ),
        (None, _) => {}
    }
    if let Some(throughput) = ebs.throughput {
        if volume_type == EbsVolumeType::Gp3 {
            c.range(&path("throughput"), throughput, 125, 1_000, " MiB/s");
        } else {
            c.error(
                "ebs-throughput",
                &path("throughput"),
                format!("only gp3 volumes take a provisioned throughput, and this one is {kind}"),
                "remove `throughput`, or use `type: gp3`",
            );
        }
    }
    if let Some(snapshot) = &ebs.snapshot
        && !SNAPSHOT_ID.is_match(snapshot)
    {
        c.error(
            "ebs-snapshot",
            &path("snapshot"),
            format!("`{snapshot}` is not an EBS snapshot id"),
            "write it as `snap-` and its hex digits",
        );
    }
    if ebs.initialization_rate.is_some() && ebs.snapshot.is_none() {
        c.error(
            "ebs-initialization-rate",
            &path("initialization_rate"),
            "an initialization rate fills a volume from a snapshot, and `snapshot` is not set"
                .into(),
            "remove `initialization_rate`, or add `snapshot`",
        );
    }
    if let Some(key) = &ebs.kms_key {
        if !KMS_KEY.is_match(key) {
            c.error(
                "kms-key",
                &path("kms_key"),
                format!("`{key}` is not a KMS key id, ARN or alias"),
                "write the key's ARN, id or `alias/NAME`",
            );
        }
        if ebs.encrypted == Some(false) {
            c.error(
                "ebs-encryption",
                &path("kms_key"),
                "a KMS key encrypts the volume, and `encrypted` is false".into(),
                "remove `encrypted: false`, or the key",
            );
        }
    }
    let windows = config.task.operating_system_family != OsFamily::Linux;
    if let Some(fs) = ebs.filesystem
        && windows != (fs == EbsFilesystem::Ntfs)
    {
        c.error(
            "ebs-filesystem",
            &path("filesystem"),
            if windows {
                "a Windows task's EBS volume is NTFS".to_string()
            } else {
                format!(
                    "a Linux task's EBS volume is ext3, ext4 or xfs, not {}",
                    fs.ecs_name()
                )
            },
            if windows {
                "write `filesystem: ntfs`, or remove it"
            } else {
                "write `filesystem: xfs` (the default), ext4 or ext3"
            },
        );
    }
    super::check_tags(c, &path("tags"), &ebs.tags, 50, "EBS takes 50 per volume");
}

#[cfg(test)]
mod tests {
    use super::super::{broken_rules, with_parts};

    fn ebs(volume: &str, os: &str) -> Vec<(&'static str, String)> {
        broken_rules(&with_parts(
            "",
            &format!(
                "task:\n  execution_role: 'arn:aws:iam::123456789012:role/exec'\n  cpu: 1024\n  memory: 2048\n{os}  volumes:\n    data:\n      ebs: {{ role: 'arn:aws:iam::123456789012:role/ebs', {volume} }}\n"
            ),
        ))
    }

    #[test]
    fn ebs_volumes_follow_the_documented_values_of_each_type() {
        assert_eq!(ebs("size: 20", ""), []);
        assert_eq!(ebs("size: 100, type: io2, iops: 64000", ""), []);
        assert_eq!(
            ebs(
                "snapshot: snap-0123456789abcdef0, initialization_rate: 200",
                ""
            ),
            []
        );
        let at = |key: &str| format!("task.volumes.data.ebs{key}");
        for (volume, rule, path) in [
            ("type: gp3", "required", at("")),
            ("size: 0", "out-of-range", at(".size")),
            ("size: 100, type: st1", "out-of-range", at(".size")),
            ("size: 20, iops: 2000", "out-of-range", at(".iops")),
            ("size: 20, type: io1", "ebs-iops", at("")),
            ("size: 20, type: gp2, iops: 3000", "ebs-iops", at(".iops")),
            (
                "size: 20, type: io2, iops: 1000, throughput: 200",
                "ebs-throughput",
                at(".throughput"),
            ),
            (
                "size: 20, throughput: 2000",
                "out-of-range",
                at(".throughput"),
            ),
            ("size: 20, type: standard", "ebs-volume-type", at(".type")),
            (
                "size: 20, initialization_rate: 100",
                "ebs-initialization-rate",
                at(".initialization_rate"),
            ),
            (
                "size: 20, snapshot: snapshot-1",
                "ebs-snapshot",
                at(".snapshot"),
            ),
            (
                "size: 20, encrypted: false, kms_key: alias/ebs",
                "ebs-encryption",
                at(".kms_key"),
            ),
            (
                "size: 20, filesystem: ntfs",
                "ebs-filesystem",
                at(".filesystem"),
            ),
            (
                "size: 20, tags: { 'aws:x': y }",
                "tag-key",
                at(".tags.aws:x"),
            ),
        ] {
            assert_eq!(ebs(volume, ""), [(rule, path)], "{volume}");
        }
        // Windows formats its volume NTFS.
        let windows = "  operating_system_family: windows_server_2022_core\n";
        assert_eq!(ebs("size: 20, filesystem: ntfs", windows), []);
        assert_eq!(
            ebs("size: 20, filesystem: xfs", windows),
            [("ebs-filesystem", at(".filesystem"))]
        );
    }
}
