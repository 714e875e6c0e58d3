"""Role grants: which staff hold which roles of DESIGN §5 in a school."""
