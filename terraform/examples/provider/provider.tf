terraform {
  required_providers {
    pgplane = {
      source = "pgplane/pgplane"
    }
  }
}

# Every setting may come from the environment instead: PGPLANE_ENDPOINT, PGPLANE_API_KEY and
# PGPLANE_TENANT. Keep the API key out of the configuration (a variable, or the environment).
provider "pgplane" {
  endpoint = "https://pgplane.example.com"
  api_key  = var.pgplane_api_key
  tenant   = "acme" # the tenant of resources and data sources that do not name one
}

variable "pgplane_api_key" {
  type        = string
  sensitive   = true
  description = "A tenant service key (tenant resources) or a personal key (platform administration)."
}
