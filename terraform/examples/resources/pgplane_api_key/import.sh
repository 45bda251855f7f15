# A tenant service key is imported by "<tenant>/<id>", a personal key by "<id>".
terraform import pgplane_api_key.example acme/0b5a3f7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b
