# Tenants are created by platform administrators (the provider's API key is a personal key of
# one).
resource "pgplane_tenant" "example" {
  name         = "acme"
  display_name = "ACME Corp."
}
