{
  "targets": [
    {
      "target_name": "ceph_napi",
      "sources": ["src/addon.cc", "src/connection.cc", "src/ioctx.cc", "src/ops.cc", "src/watch.cc", "src/admin.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-Wall", "-Wno-deprecated-declarations"],
      "libraries": ["-lrados"]
    }
  ]
}
