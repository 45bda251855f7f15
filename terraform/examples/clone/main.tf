# A cluster and a clone of it: a new cluster restored from the source's backups, at a point in
# time (`target_time`) or the source's latest state. The clone is independent of its source
# afterwards; changing `source` replaces the clone.

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
  description = "The source cluster's name; the clone's is the same followed by `-before-migration`."
  default     = "sales"
}

variable "target_time" {
  type        = string
  description = "RFC 3339 time within the source's recoverable window, e.g. 2030-01-31T09:30:00Z (null: its latest state)."
  default     = null
}

resource "pgplane_cluster" "source" {
  tenant    = var.tenant
  name      = var.name
  resources = { cpu = "250m", memory = "512Mi" }
  storage   = { size = "1Gi" }
  backups   = { enabled = true } # a clone is restored from these
}

resource "pgplane_cluster" "clone" {
  tenant    = pgplane_cluster.source.tenant
  name      = "${var.name}-before-migration"
  resources = { cpu = "250m", memory = "512Mi" }
  storage   = { size = "1Gi" }

  source = {
    cluster     = pgplane_cluster.source.name
    target_time = var.target_time
  }

  # A clone is disposable: deleting it deletes its backups too, which frees its name for the
  # next clone (kept backups would reserve the name until they expire).
  deletion_policy = "delete_backups"
}

output "source_primary" {
  value = pgplane_cluster.source.endpoints.primary
}

output "clone_primary" {
  value = pgplane_cluster.clone.endpoints.primary
}
