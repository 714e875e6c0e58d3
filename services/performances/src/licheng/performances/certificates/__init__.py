"""The 檢定證照 catalog (證照項目管理者, seed 4-6)."""
