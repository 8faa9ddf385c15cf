"""The web edge: blueprints (one module each), the per-request Actor, security headers, error
answers; discuss.web.infra holds the HTTP plumbing. create_app registers every blueprint."""
