{
  "targets": [
    {
      "target_name": "unix_link",
      "sources": ["native/unix_link.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
