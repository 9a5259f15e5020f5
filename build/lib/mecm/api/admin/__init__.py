"""The admin JSON API under /admin/api (routes.py), documented by openapi.py."""
