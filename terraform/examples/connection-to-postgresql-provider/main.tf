# A cluster, and how to connect to it as its owner: the `pgplane_cluster_connection` data source
# gives host, port, database, user, password and URIs, which another provider can use to manage
# what lives inside PostgreSQL (roles, grants, schemas).
#
# Reading the data source reveals the owner's password: pgplane audits it, and Terraform keeps
# it in the state (marked sensitive). Keep the state somewhere only the right people can read.

terraform {
  required_providers {
    pgplane = {
      source = "pgplane/pgplane"
    }
  }
}

# Endpoint, API key and default tenant from PGPLANE_ENDPOINT, PGPLANE_API_KEY, PGPLANE_TENANT.
provider "pgplane" {}

variable "tenant" {
  type        = string
  description = "The tenant (null: the provider's default tenant, PGPLANE_TENANT)."
  default     = null
}

resource "pgplane_cluster" "app" {
  tenant    = var.tenant
  name      = "app"
  resources = { cpu = "250m", memory = "512Mi" }
  storage   = { size = "1Gi" }
}

# Read after the cluster exists (it depends on it through `cluster`).
data "pgplane_cluster_connection" "owner" {
  tenant  = pgplane_cluster.app.tenant
  cluster = pgplane_cluster.app.name
  # role = "reporting" # another role of the cluster instead of its owner
}

output "host" {
  value = data.pgplane_cluster_connection.owner.host
}

output "port" {
  value = data.pgplane_cluster_connection.owner.port
}

output "database" {
  value = data.pgplane_cluster_connection.owner.database
}

output "user" {
  value = data.pgplane_cluster_connection.owner.user
}

output "password" {
  description = "`terraform output -raw password`"
  value       = data.pgplane_cluster_connection.owner.password
  sensitive   = true
}

output "uri" {
  description = "postgresql:// URI with the password and sslmode=verify-full: `psql \"$(terraform output -raw uri)\"`."
  value       = data.pgplane_cluster_connection.owner.uri
  sensitive   = true
}

output "ca_certificate" {
  description = "The CA that signed the server's certificate (PEM), for verify-full."
  value       = data.pgplane_cluster_connection.owner.ca_certificate
}

# ---------------------------------------------------------------------------------------------
# The PostgreSQL provider (cyrilgdn/postgresql) configured from the data source, managing a
# read-only role inside the cluster. It is not part of this example as shipped, because that
# provider has to be downloaded from the registry (`terraform init`) and the example runs
# offline. To use it: add it to `required_providers` above, uncomment this block, and run
# `terraform init` (and hashicorp/local for the CA file; hashicorp/random for the password).
#
# terraform {
#   required_providers {
#     pgplane    = { source = "pgplane/pgplane" }
#     postgresql = { source = "cyrilgdn/postgresql", version = "~> 1.25" }
#     local      = { source = "hashicorp/local" }
#     random     = { source = "hashicorp/random" }
#   }
# }
#
# # verify-full checks the server's certificate against pgplane's CA: write it to a file.
# resource "local_sensitive_file" "ca" {
#   content  = data.pgplane_cluster_connection.owner.ca_certificate
#   filename = "${path.module}/ca.crt"
# }
#
# provider "postgresql" {
#   host        = data.pgplane_cluster_connection.owner.host
#   port        = data.pgplane_cluster_connection.owner.port
#   database    = data.pgplane_cluster_connection.owner.database
#   username    = data.pgplane_cluster_connection.owner.user
#   password    = data.pgplane_cluster_connection.owner.password
#   sslmode     = data.pgplane_cluster_connection.owner.sslmode
#   sslrootcert = local_sensitive_file.ca.filename
#   superuser   = false # the owner is not a superuser
# }
#
# resource "random_password" "reader" {
#   length  = 32
#   special = false
# }
#
# resource "postgresql_role" "reader" {
#   name     = "reader"
#   login    = true
#   password = random_password.reader.result
# }
#
# resource "postgresql_grant" "reader_tables" {
#   database    = data.pgplane_cluster_connection.owner.database
#   schema      = "public"
#   role        = postgresql_role.reader.name
#   object_type = "table"
#   privileges  = ["SELECT"]
# }
# ---------------------------------------------------------------------------------------------
