# A cluster managed elsewhere: its spec with every default filled in, and its status.
data "pgplane_cluster" "example" {
  tenant = "acme" # default: the provider's tenant
  name   = "orders"
}

output "orders_phase" {
  value = data.pgplane_cluster.example.phase
}

output "orders_primary" {
  value = data.pgplane_cluster.example.endpoints.primary
}
