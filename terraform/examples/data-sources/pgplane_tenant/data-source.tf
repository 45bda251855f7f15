data "pgplane_tenant" "example" {
  name = "acme"
}

output "tenant_display_name" {
  value = data.pgplane_tenant.example.display_name
}
