"""參數設定: windows, caps, files and the 簡述 limit per school and term."""
