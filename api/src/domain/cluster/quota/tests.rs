use super::super::ClusterSpec;
use super::*;

fn usage(
    clusters: i64,
    instances: i64,
    cpu_millis: i64,
    memory_mib: i64,
    storage_gib: i64,
) -> ResourceUsage {
    ResourceUsage {
        clusters,
        instances,
        cpu_millis,
        memory_mib,
        storage_gib,
    }
}

fn limits() -> QuotaLimits {
    QuotaLimits {
        max_clusters: 3,
        max_instances: 6,
        max_cpu_millis: 6000,
        max_memory_mib: 12_288,
        max_storage_gib: 200,
    }
}

#[test]
fn a_default_cluster_counts_one_instance_and_its_backup_repository() {
    // 1 × (1 CPU, 2Gi, 20Gi) + a 40Gi repository.
    assert_eq!(ClusterSpec::test().usage(), usage(1, 1, 1000, 2048, 60));
}

#[test]
fn instances_multiply_cpu_memory_and_data_volumes() {
    let spec = ClusterSpec::test()
        .with_instances(3)
        .with_cpu("500m")
        .with_memory("4Gi");
    assert_eq!(spec.usage(), usage(1, 3, 1500, 12_288, 3 * 20 + 40));
}

#[test]
fn without_backups_only_data_volumes_count() {
    let spec = ClusterSpec::test().with_instances(2).with_backups(false);
    assert_eq!(spec.usage().storage_gib, 40);
}

#[test]
fn an_enabled_pooler_adds_its_small_fixed_footprint() {
    let spec = ClusterSpec::test().with_pooler(true, 2);
    assert_eq!(
        spec.usage(),
        usage(
            1,
            1,
            1000 + 2 * POOLER_CPU_MILLIS,
            2048 + 2 * POOLER_MEMORY_MIB,
            60
        )
    );
    let disabled = ClusterSpec::test().with_pooler(false, 3);
    assert_eq!(disabled.usage(), ClusterSpec::test().usage());
}

#[test]
fn a_suspended_cluster_keeps_its_storage_but_no_pods() {
    let spec = ClusterSpec::test()
        .with_instances(3)
        .with_pooler(true, 2)
        .suspended();
    assert_eq!(spec.usage(), usage(1, 0, 0, 0, 3 * 20 + 40));
}

#[test]
fn sizes_round_up_to_whole_units() {
    let spec = ClusterSpec::test()
        .with_memory("1G")
        .with_storage("1.5Gi")
        .with_backups(false);
    let counted = spec.usage();
    assert_eq!(counted.memory_mib, 954, "1G = 953.67 MiB");
    assert_eq!(counted.storage_gib, 2);
    let spec = ClusterSpec::test().with_storage("1.5Gi");
    assert_eq!(spec.usage().storage_gib, 2 + 3, "repository 3Gi");
}

#[test]
fn usages_add_and_subtract_fieldwise() {
    let a = usage(1, 2, 2000, 4096, 50);
    let b = usage(1, 1, 500, 1024, 10);
    assert_eq!(a + b, usage(2, 3, 2500, 5120, 60));
    assert_eq!(a - b, usage(0, 1, 1500, 3072, 40));
    assert_eq!(a.plus(b).minus(b), a);
}

#[test]
fn replacing_a_cluster_swaps_its_usage() {
    let old = ClusterSpec::test();
    let new = old.clone().with_instances(3);
    let total = usage(2, 2, 2000, 4096, 120);
    let after = total - old.usage() + new.usage();
    assert_eq!(after, usage(2, 4, 4000, 8192, 160));
}

#[test]
fn usage_within_limits_exceeds_nothing_even_at_the_limit() {
    assert!(usage(3, 6, 6000, 12_288, 200).exceeds(&limits()).is_empty());
}

#[test]
fn every_exceeded_limit_is_named_with_its_numbers() {
    let over = usage(4, 7, 6001, 12_289, 201).exceeds(&limits());
    let names: Vec<_> = over.iter().map(|e| e.limit).collect();
    assert_eq!(
        names,
        [
            "max_clusters",
            "max_instances",
            "max_cpu_millis",
            "max_memory_mib",
            "max_storage_gib"
        ]
    );
    assert_eq!(
        over[1],
        ExceededLimit {
            limit: "max_instances",
            allowed: 6,
            requested: 7
        }
    );
}

#[test]
fn only_the_limits_exceeded_are_reported() {
    let over = usage(1, 1, 1000, 1024, 500).exceeds(&limits());
    assert_eq!(
        over,
        [ExceededLimit {
            limit: "max_storage_gib",
            allowed: 200,
            requested: 500
        }]
    );
}
