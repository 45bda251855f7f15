# Plan-only runs of cluster.tf: the provider plans a valid cluster as configured (in the
# provider's default tenant), and every input check refuses what it must at plan time.

variables {
  name = "orders"
}

run "a_small_cluster_plans_as_configured_in_the_default_tenant" {
  command = plan

  assert {
    condition     = pgplane_cluster.db.tenant == "acme"
    error_message = "The cluster is not planned in the provider's default tenant (PGPLANE_TENANT)."
  }
  assert {
    condition     = pgplane_cluster.db.instances == 1 && pgplane_cluster.db.resources.memory == "512Mi"
    error_message = "The planned cluster differs from its configuration."
  }
  assert {
    condition     = pgplane_cluster.db.backups.schedules.full == "0 1 * * 0"
    error_message = "The planned full backup schedule differs from the configured one."
  }
}

run "three_instances_are_allowed" {
  command = plan

  variables {
    instances = 3
  }

  assert {
    condition     = pgplane_cluster.db.instances == 3
    error_message = "Three instances are not planned."
  }
}

run "five_instances_are_refused" {
  command = plan

  variables {
    instances = 5
  }

  expect_failures = [var.instances]
}

run "a_name_with_uppercase_letters_is_refused" {
  command = plan

  variables {
    name = "Orders"
  }

  expect_failures = [var.name]
}

run "a_schedule_that_is_not_cron_is_refused" {
  command = plan

  variables {
    full_backup_schedule = "every night"
  }

  expect_failures = [var.full_backup_schedule]
}
