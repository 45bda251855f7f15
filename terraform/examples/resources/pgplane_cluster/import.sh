# A cluster is imported by "<tenant>/<name>".
terraform import pgplane_cluster.example acme/orders
