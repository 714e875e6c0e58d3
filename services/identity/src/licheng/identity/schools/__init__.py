"""Schools (tenants), created by the district operator."""
