"""名冊 submissions (提交): the saga, its history and the downloads."""
