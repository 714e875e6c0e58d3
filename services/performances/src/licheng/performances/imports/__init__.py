"""The batch import of 多元表現 records by the 多元項目管理者 (seed 4-5)."""
