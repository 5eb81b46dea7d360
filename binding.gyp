{
  "targets": [
    {
      "target_name": "multiproc_native",
      "sources": [
        "native/addon.cc",
        "native/segment.cc",
        "native/futex.cc",
        "native/async_wait.cc",
        "native/memory.cc",
        "native/buffer_pool.cc",
        "native/exit_proxy.cc",
        "native/fork.cc",
        "native/child_link.cc",
        "native/exit_reports.cc",
        "native/read_only_guard.cc",
        "native/blocking_socket.cc",
        "native/zygote_requests.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-lrt", "-lpthread"],
      "ldflags": ["-Wl,-z,now"]
    },
    {
      "target_name": "multiproc_packed_heap",
      "type": "shared_library",
      "product_prefix": "",
      "sources": ["native/packed_heap_preload.cc"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra"],
      "libraries": ["-ldl"],
      "ldflags": ["-Wl,-z,now"]
    }
  ]
}
