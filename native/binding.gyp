{
  "targets": [
    {
      "target_name": "dataplane_io",
      "sources": ["src/addon.cc", "src/tap.cc", "src/packet.cc", "src/packet-burst.cc", "src/netif.cc", "src/flock.cc", "src/sched.cc",
                  "src/af-xdp.cc", "src/af-xdp-burst.cc", "src/af-xdp-prog.cc", "src/af-xdp-nap.cc",
                  "src/frame-copy.cc", "src/huge-pages.cc", "src/lpm-dir16.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O2", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
      "libraries": ["<!@(pkg-config --libs libxdp libbpf || echo -lxdp -lbpf)"]
    }
  ]
}
