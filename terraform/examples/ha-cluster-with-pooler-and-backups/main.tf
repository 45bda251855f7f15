# A highly available cluster: a primary and two replicas, PgBouncer in front of the primary,
# a full backup every night kept for a week, a few postgresql.conf settings, and longer
# timeouts for Terraform to wait for pgplane's operations. Sizes are the smallest pgplane
# allows, so that it runs on one machine (`pgplane dev`); raise them for real workloads.

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

variable "name" {
  type        = string
  description = "The cluster's name."
  default     = "orders"
}

resource "pgplane_cluster" "this" {
  tenant = var.tenant
  name   = var.name

  instances = 3 # a primary and two streaming replicas; a replica takes over on failure
  resources = { cpu = "250m", memory = "512Mi" }
  storage   = { size = "1Gi" }

  pooler = {
    enabled  = true
    replicas = 1
  }

  backups = {
    enabled        = true
    retention_full = 7 # a week of nightly full backups
    schedules = {
      full = "0 2 * * *" # every night at 02:00 UTC; no differential or incremental backups
    }
  }

  parameters = {
    max_connections                     = "100"
    log_min_duration_statement          = "500ms"
    idle_in_transaction_session_timeout = "10min"
  }

  deletion_policy = "keep_backups" # deleting the cluster keeps its backups

  timeouts = {
    create = "45m"
    update = "45m"
    delete = "20m"
  }
}

output "endpoints" {
  description = "Read-write, read-only and PgBouncer endpoints (host:port)."
  value       = pgplane_cluster.this.endpoints
}

output "phase" {
  value = pgplane_cluster.this.phase
}

output "primary_instance" {
  value = pgplane_cluster.this.status.primary_instance
}
