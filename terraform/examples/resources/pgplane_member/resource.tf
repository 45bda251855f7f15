# The user must exist (signed up, or created by a platform administrator).
resource "pgplane_member" "example" {
  tenant = "acme"
  user   = "dev@acme.com" # an email or a user id
  role   = "developer"    # viewer, developer, admin or owner
}
