"""The exports read model: what the rosters will hold, built only from the owners' events."""
