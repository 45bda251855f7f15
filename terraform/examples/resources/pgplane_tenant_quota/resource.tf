# The limits of a tenant (platform administrators set them). Destroying the resource leaves
# them in place: the API has no way to remove a quota.
resource "pgplane_tenant_quota" "example" {
  tenant          = "acme"
  max_clusters    = 10
  max_instances   = 30
  max_cpu_millis  = 32000
  max_memory_mib  = 131072
  max_storage_gib = 2000
}

output "clusters_in_use" {
  value = pgplane_tenant_quota.example.usage.clusters
}
