# The PostgreSQL major versions the platform runs, and the one clusters get by default.
data "pgplane_postgres_versions" "example" {}

resource "pgplane_cluster" "newest" {
  name             = "analytics"
  postgres_version = max(data.pgplane_postgres_versions.example.versions...)
}
