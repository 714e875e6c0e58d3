"""The school admin reads the audit log."""
