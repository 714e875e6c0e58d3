"""Export jobs: queued on the `EXPORT_JOBS` work queue, run by the worker processes."""
