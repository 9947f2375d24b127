{
  "targets": [{
    "target_name": "lapack",
    "sources": ["src/lapack.c"],
    "cflags": ["-O2"],
    "libraries": ["-lopenblas"]
  }]
}
