# A tenant as a platform team sets it up: the tenant, its quota, its members and a service key
# for the tenant's own CI. Needs a platform administrator's personal API key.

terraform {
  required_providers {
    pgplane = {
      source = "pgplane/pgplane"
    }
  }
}

# Endpoint and API key from PGPLANE_ENDPOINT and PGPLANE_API_KEY.
provider "pgplane" {}

variable "tenant" {
  type        = string
  description = "The new tenant's name: a DNS label (lowercase letters, digits and '-')."
  default     = "acme"
}

variable "members" {
  type        = map(string)
  description = "Role (viewer, developer, admin or owner) by user email. The users must exist."
  # `pgplane dev` creates this user; add your own (POST /v1/users, or the portal). pgplane never
  # removes a tenant's last owner, so a tenant with an owner here cannot be destroyed in one go.
  default = {
    "admin@pgplane.local" = "admin"
  }
}

resource "pgplane_tenant" "this" {
  name         = var.tenant
  display_name = "ACME Corp."
}

resource "pgplane_tenant_quota" "this" {
  tenant          = pgplane_tenant.this.name
  max_clusters    = 5
  max_instances   = 10
  max_cpu_millis  = 4000
  max_memory_mib  = 8192
  max_storage_gib = 50
}

resource "pgplane_member" "this" {
  for_each = var.members

  tenant = pgplane_tenant.this.name
  user   = each.key
  role   = each.value
}

# A tenant service key for the tenant's own pipeline (acts as a developer of the tenant).
resource "pgplane_api_key" "ci" {
  tenant = pgplane_tenant.this.name
  name   = "ci"
  role   = "developer"
}

output "tenant_id" {
  value = pgplane_tenant.this.uuid
}

output "quota_usage" {
  description = "What the tenant uses of its quota."
  value       = pgplane_tenant_quota.this.usage
}

output "members" {
  value = { for email, member in pgplane_member.this : email => member.role }
}

output "ci_api_key" {
  description = "The CI key's secret: `terraform output -raw ci_api_key`."
  value       = pgplane_api_key.ci.key
  sensitive   = true
}
