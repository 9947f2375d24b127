{
  "targets": [{
    "target_name": "lz4",
    "sources": ["src/lz4.c"],
    "cflags": ["-O2"],
    "libraries": ["-llz4"]
  }]
}
