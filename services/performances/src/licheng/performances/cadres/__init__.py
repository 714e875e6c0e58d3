"""校內幹部 records (名冊 24): registered by the school, read-only for students."""
