"""Students, staff and classes, imported from the school's 校務行政系統."""
