"""學生填寫狀況: 多元表現 counts (填寫、勾選、per category, 校內幹部, 缺證明文件) per student and
per class, as paginated lists and as xlsx downloads."""
