;; Switchyard test fixture "missing_import.wat": proxy-wasm ABI v0.2.1 plugin.
;; Same behaviour as good.wat ("x-wat: 1" on the request, "good plugin" at
;; info, "x-wat-response: 1" on the response), but it also imports
;; env.proxy_does_not_exist (unknown) and env.proxy_http_call (known, not
;; implemented) and never calls either: the host must still load and run it.
(module
  (import "env" "proxy_add_header_map_value"
    (func $add_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_log"
    (func $log (param i32 i32 i32) (result i32)))
  ;; Never called. Unknown to any host: must be linked as a trap stub.
  (import "env" "proxy_does_not_exist"
    (func $does_not_exist (param i32) (result i32)))
  ;; Never called. Part of v0.2.1, registered by the host as UNIMPLEMENTED.
  (import "env" "proxy_http_call"
    (func $http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))

  ;; Page 0: static data; the heap starts at page 1.
  (memory (export "memory") 2)
  (data (i32.const 0x100) "x-wat") ;; x-wat: 5 bytes at 0x100
  (data (i32.const 0x108) "1") ;; 1: 1 bytes at 0x108
  (data (i32.const 0x110) "x-wat-response") ;; x-wat-response: 14 bytes at 0x110
  (data (i32.const 0x120) "1") ;; 1: 1 bytes at 0x120
  (data (i32.const 0x128) "good plugin") ;; log message: 11 bytes at 0x128

  ;; Bump allocator. Aligns to 8, grows memory when the block does not fit,
  ;; returns 0 when it cannot (size too big or memory.grow refused).
  (global $heap (mut i32) (i32.const 0x10000))
  (func $alloc (export "proxy_on_memory_allocate") (param $size i32) (result i32)
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
  (func (export "proxy_on_done") (param $context_id i32) (result i32)
    (i32.const 1))
  (func (export "proxy_on_delete") (param $context_id i32))

  (func (export "proxy_on_configure") (param $root_id i32) (param $config_size i32) (result i32)
    (i32.const 1))

  (func (export "proxy_on_request_headers")
    (param $context_id i32) (param $num_headers i32) (param $end_of_stream i32) (result i32)
    (drop (call $add_header (i32.const 0)
            (i32.const 0x100) (i32.const 5)
            (i32.const 0x108) (i32.const 1)))
    (drop (call $log (i32.const 2) (i32.const 0x128) (i32.const 11)))
    (i32.const 0))

  (func (export "proxy_on_request_body")
    (param $context_id i32) (param $body_size i32) (param $end_of_stream i32) (result i32)
    (i32.const 0))

  (func (export "proxy_on_response_headers")
    (param $context_id i32) (param $num_headers i32) (param $end_of_stream i32) (result i32)
    (drop (call $add_header (i32.const 2)
            (i32.const 0x110) (i32.const 14)
            (i32.const 0x120) (i32.const 1)))
    (i32.const 0))

  (func (export "proxy_on_response_body")
    (param $context_id i32) (param $body_size i32) (param $end_of_stream i32) (result i32)
    (i32.const 0))

  (func (export "proxy_on_log") (param $context_id i32))
)
