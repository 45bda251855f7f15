# A quota is imported by its tenant's name.
terraform import pgplane_tenant_quota.example acme
