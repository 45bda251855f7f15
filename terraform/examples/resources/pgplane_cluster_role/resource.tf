resource "pgplane_cluster" "orders" {
  name = "orders"
}

# A role managed apart from the cluster (do not also list it in the cluster's `users`).
resource "pgplane_cluster_role" "example" {
  cluster   = pgplane_cluster.orders.name
  name      = "reporting"
  databases = [pgplane_cluster.orders.database]
  options   = "NOCREATEDB CONNECTION LIMIT 10"
}
