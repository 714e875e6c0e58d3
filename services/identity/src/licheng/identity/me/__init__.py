"""Who the caller is, as identity's tokens say."""
