"""Endpoints for other services only (service tokens), never routed by the gateway."""
