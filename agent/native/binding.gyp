{
  "targets": [
    {
      "target_name": "softudc_tap",
      "sources": ["tap.c", "reader.c", "packet.c", "write.c", "offload.c", "udp.c", "udp_reader.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "defines": ["NAPI_DISABLE_CPP_EXCEPTIONS"]
    },
    {
      "target_name": "softudc_bpf",
      "sources": ["bpf.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"]
    }
  ]
}
