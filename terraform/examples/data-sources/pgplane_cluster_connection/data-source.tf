# How to connect to a cluster, with the password: reading it is audited by pgplane, and the
# password and URIs are kept in the state (sensitive).
data "pgplane_cluster_connection" "example" {
  tenant  = "acme" # default: the provider's tenant
  cluster = "orders"
  role    = "reporting" # default: the cluster's owner
}

output "database_url" {
  value     = data.pgplane_cluster_connection.example.uri
  sensitive = true
}
