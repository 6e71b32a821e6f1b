{
  "targets": [
    {
      "target_name": "xkshsm",
      "sources": ["xkshsm.c"],
      "include_dirs": ["include"],
      "defines": ["NAPI_VERSION=8"],
      "cflags!": ["-O3", "-Wno-unused-parameter"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-fvisibility=hidden"],
      "libraries": ["-ldl", "-lpthread", "-lm"]
    }
  ]
}
