# A tenant service key for CI. Its secret is known only after create: it is kept in the state
# (sensitive) and is not available after an import.
resource "pgplane_api_key" "example" {
  tenant     = "acme"
  name       = "ci"
  role       = "developer"
  expires_at = "2030-01-01T00:00:00Z"
}

output "ci_api_key" {
  value     = pgplane_api_key.example.key
  sensitive = true
}
