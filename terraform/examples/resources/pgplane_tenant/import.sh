# A tenant is imported by its name.
terraform import pgplane_tenant.example acme
