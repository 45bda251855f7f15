# A module making one small cluster, with the checks a team puts on its inputs so that a bad
# value fails at plan with a message of its own. `cluster.tftest.hcl` proves both: the plan
# of a valid input, and each check refusing what it must. The tests of the `pgplane-tests`
# crate (tests/tests/terraform/validation.rs) run it with `terraform test` against a real
# pgplane (the provider's endpoint, key and default tenant come from PGPLANE_* variables).

terraform {
  required_providers {
    pgplane = { source = "pgplane/pgplane" }
  }
}

variable "name" {
  type        = string
  description = "The cluster's name: a DNS label (lowercase letters, digits and '-')."

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.name))
    error_message = "The name must be a DNS label: lowercase letters, digits and '-', at most 63 characters."
  }
}

variable "instances" {
  type        = number
  description = "PostgreSQL servers: a primary and its replicas."
  default     = 1

  validation {
    condition     = var.instances >= 1 && var.instances <= 3 && floor(var.instances) == var.instances
    error_message = "A cluster has 1 to 3 instances."
  }
}

variable "full_backup_schedule" {
  type        = string
  description = "When full backups run: a five-field cron expression (UTC)."
  default     = "0 1 * * 0"

  validation {
    condition     = can(regex("^[-0-9a-z*/,]+( [-0-9a-z*/,]+){4}$", var.full_backup_schedule))
    error_message = "A backup schedule is a five-field cron expression, such as \"0 1 * * 0\"."
  }
}

resource "pgplane_cluster" "db" {
  name      = var.name
  instances = var.instances
  resources = { cpu = "250m", memory = "512Mi" }
  storage   = { size = "1Gi" }
  backups = {
    enabled   = true
    schedules = { full = var.full_backup_schedule }
  }
}
