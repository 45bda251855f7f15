# A member is imported by "<tenant>/<email or user id>".
terraform import pgplane_member.example acme/dev@acme.com
