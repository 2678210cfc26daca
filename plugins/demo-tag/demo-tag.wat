;; demo-tag: the plugin `switchyard demo` switches on (config/demo.yaml).
;; proxy-wasm ABI v0.2.1, written in WebAssembly text so that it needs no
;; build step: Switchyard compiles `.wat` files itself.
;;
;; Response headers: adds `x-demo-plugin: demo-tag` (map 2, the response
;; headers). Accepts any configuration without reading it. Every HTTP
;; callback returns 0 (Continue).
(module
  (import "env" "proxy_add_header_map_value"
    (func $add_header (param i32 i32 i32 i32 i32) (result i32)))

  ;; Page 0: static data; the heap starts at page 1.
  (memory (export "memory") 2)
  (data (i32.const 0x100) "x-demo-plugin") ;; 13 bytes
  (data (i32.const 0x110) "demo-tag")      ;; 8 bytes

  ;; Bump allocator for the host's copies (configuration bytes): 8-byte
  ;; aligned, grows memory when the block does not fit, returns 0 when it
  ;; cannot. Nothing is ever freed; the host copies only the configuration.
  (global $heap (mut i32) (i32.const 0x10000))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $ptr i64) (local $end i64) (local $have i64)
    (local.set $ptr
      (i64.and (i64.add (i64.extend_i32_u (global.get $heap)) (i64.const 7))
               (i64.const -8)))
    (local.set $end (i64.add (local.get $ptr) (i64.extend_i32_u (local.get $size))))
    (if (i64.ge_u (local.get $end) (i64.const 0x100000000))
      (then (return (i32.const 0))))
    (local.set $have (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i64.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq
              (memory.grow
                (i32.wrap_i64
                  (i64.shr_u
                    (i64.add (i64.sub (local.get $end) (local.get $have)) (i64.const 0xFFFF))
                    (i64.const 16))))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (i32.wrap_i64 (local.get $end)))
    (i32.wrap_i64 (local.get $ptr)))

  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param $context_id i32) (param $parent_id i32))
  (func (export "proxy_on_vm_start") (param $root_id i32) (param $vm_config_size i32) (result i32)
    (i32.const 1))
  (func (export "proxy_on_configure") (param $root_id i32) (param $config_size i32) (result i32)
    (i32.const 1))
  (func (export "proxy_on_done") (param $context_id i32) (result i32)
    (i32.const 1))
  (func (export "proxy_on_delete") (param $context_id i32))

  (func (export "proxy_on_response_headers")
    (param $context_id i32) (param $num_headers i32) (param $end_of_stream i32) (result i32)
    (drop (call $add_header (i32.const 2)
            (i32.const 0x100) (i32.const 13)
            (i32.const 0x110) (i32.const 8)))
    (i32.const 0))
)
