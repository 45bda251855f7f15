# A cluster role is imported by "<tenant>/<cluster>/<name>".
terraform import pgplane_cluster_role.example acme/orders/reporting
