"""The portal's pages, one module per area of work."""
