# Only `name` is required: everything else has a server default, which comes back in the state.
resource "pgplane_cluster" "example" {
  tenant     = "acme" # default: the provider's tenant
  name       = "orders"
  instances  = 2
  resources  = { cpu = "250m", memory = "512Mi" }
  storage    = { size = "1Gi" }
  pooler     = { enabled = true }
  monitoring = { enabled = true }

  backups = {
    retention_full = 4
    schedules = {
      full        = "0 1 * * 0"   # Sundays at 01:00 UTC
      incremental = "0 1 * * 1-6" # the other days
    }
  }

  parameters = {
    log_min_duration_statement = "500ms"
  }

  users = [
    {
      name      = "reporting"
      databases = ["orders"]
      options   = "NOCREATEDB CONNECTION LIMIT 10"
    },
  ]

  extensions = ["pg_stat_statements", "pgcrypto"]

  deletion_policy     = "keep_backups"
  deletion_protection = true

  timeouts = {
    create = "45m"
  }
}

output "primary_endpoint" {
  value = pgplane_cluster.example.endpoints.primary
}
