;; Switchyard test fixture "grow.wat": proxy-wasm ABI v0.2.1 plugin that
;; misbehaves in exactly one phase, chosen by its plugin configuration.
;;
;; Misbehaviour: unbounded memory growth: memory.grow 1 forever; unreachable once grow returns -1.
;;
;; The plugin configuration (buffer type 7) is compared byte for byte with
;; these JSON strings (the quotes are part of the bytes):
;;   1 "configure"          -> proxy_on_configure
;;   2 "request_headers"    -> proxy_on_request_headers
;;   3 "request_body"       -> proxy_on_request_body
;;   4 "response_headers"   -> proxy_on_response_headers
;;   5 "response_body"      -> proxy_on_response_body
;;   6 "log"                -> proxy_on_log
;; "configure" misbehaves inside proxy_on_configure itself; any other match
;; makes proxy_on_configure return 1 and the named callback misbehave.
;; Anything else (empty, unknown, unreadable) means: never misbehave.
;;
;; When it does not misbehave: proxy_on_request_headers adds request header
;; "x-fixture: grow" (map 0); proxy_on_response_headers adds response
;; header "x-fixture-seen: 1" (map 2). All HTTP callbacks return 0 (Continue).
(module
  (import "env" "proxy_get_buffer_bytes"
    (func $get_buffer_bytes (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value"
    (func $add_header (param i32 i32 i32 i32 i32) (result i32)))

  ;; Page 0: static data; the heap starts at page 1.
  (memory (export "memory") 2)

  ;; 0x08: pointer slot, 0x0c: length slot for proxy_get_buffer_bytes.
  (data (i32.const 0x100) "x-fixture") ;; x-fixture: 9 bytes at 0x100
  (data (i32.const 0x110) "grow") ;; fixture name: 4 bytes at 0x110
  (data (i32.const 0x118) "x-fixture-seen") ;; x-fixture-seen: 14 bytes at 0x118
  (data (i32.const 0x128) "1") ;; 1: 1 bytes at 0x128
  (data (i32.const 0x130) "\"configure\"") ;; phase 1: 11 bytes at 0x130
  (data (i32.const 0x140) "\"request_headers\"") ;; phase 2: 17 bytes at 0x140
  (data (i32.const 0x158) "\"request_body\"") ;; phase 3: 14 bytes at 0x158
  (data (i32.const 0x168) "\"response_headers\"") ;; phase 4: 18 bytes at 0x168
  (data (i32.const 0x180) "\"response_body\"") ;; phase 5: 15 bytes at 0x180
  (data (i32.const 0x190) "\"log\"") ;; phase 6: 5 bytes at 0x190

  ;; Phase chosen by the configuration (0 = never misbehave) and the
  ;; configuration bytes as the host copied them (kept, never freed).
  (global $phase (mut i32) (i32.const 0))
  (global $config_ptr (mut i32) (i32.const 0))
  (global $config_len (mut i32) (i32.const 0))

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

  (func $misbehave
    (loop $more
      (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
        (then unreachable))
      (br $more)))

  ;; Byte-for-byte equality of two ranges.
  (func $eq (param $a i32) (param $alen i32) (param $b i32) (param $blen i32) (result i32)
    (local $i i32)
    (if (i32.ne (local.get $alen) (local.get $blen))
      (then (return (i32.const 0))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $alen)))
        (if (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i)))
                    (i32.load8_u (i32.add (local.get $b) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  (func $phase_of (param $p i32) (param $n i32) (result i32)
    (if (call $eq (local.get $p) (local.get $n) (i32.const 0x130) (i32.const 11))
      (then (return (i32.const 1))))  ;; "configure"
    (if (call $eq (local.get $p) (local.get $n) (i32.const 0x140) (i32.const 17))
      (then (return (i32.const 2))))  ;; "request_headers"
    (if (call $eq (local.get $p) (local.get $n) (i32.const 0x158) (i32.const 14))
      (then (return (i32.const 3))))  ;; "request_body"
    (if (call $eq (local.get $p) (local.get $n) (i32.const 0x168) (i32.const 18))
      (then (return (i32.const 4))))  ;; "response_headers"
    (if (call $eq (local.get $p) (local.get $n) (i32.const 0x180) (i32.const 15))
      (then (return (i32.const 5))))  ;; "response_body"
    (if (call $eq (local.get $p) (local.get $n) (i32.const 0x190) (i32.const 5))
      (then (return (i32.const 6))))  ;; "log"
    (i32.const 0))

  (func (export "proxy_on_configure") (param $root_id i32) (param $config_size i32) (result i32)
    (i32.store (i32.const 0x08) (i32.const 0))
    (i32.store (i32.const 0x0c) (i32.const 0))
    (global.set $phase (i32.const 0))
    (if (i32.eqz (call $get_buffer_bytes
                   (i32.const 7) (i32.const 0) (local.get $config_size)
                   (i32.const 0x08) (i32.const 0x0c)))
      (then
        (global.set $config_ptr (i32.load (i32.const 0x08)))
        (global.set $config_len (i32.load (i32.const 0x0c)))
        (if (i32.ne (global.get $config_ptr) (i32.const 0))
          (then
            (global.set $phase
              (call $phase_of (global.get $config_ptr) (global.get $config_len)))))))
    (if (i32.eq (global.get $phase) (i32.const 1))
      (then (call $misbehave)))
    (i32.const 1))

  (func (export "proxy_on_request_headers")
    (param $context_id i32) (param $num_headers i32) (param $end_of_stream i32) (result i32)
    (if (i32.eq (global.get $phase) (i32.const 2))
      (then (call $misbehave)))
    (drop (call $add_header (i32.const 0)
            (i32.const 0x100) (i32.const 9)
            (i32.const 0x110) (i32.const 4)))
    (i32.const 0))

  (func (export "proxy_on_request_body")
    (param $context_id i32) (param $body_size i32) (param $end_of_stream i32) (result i32)
    (if (i32.eq (global.get $phase) (i32.const 3))
      (then (call $misbehave)))
    (i32.const 0))

  (func (export "proxy_on_response_headers")
    (param $context_id i32) (param $num_headers i32) (param $end_of_stream i32) (result i32)
    (if (i32.eq (global.get $phase) (i32.const 4))
      (then (call $misbehave)))
    (drop (call $add_header (i32.const 2)
            (i32.const 0x118) (i32.const 14)
            (i32.const 0x128) (i32.const 1)))
    (i32.const 0))

  (func (export "proxy_on_response_body")
    (param $context_id i32) (param $body_size i32) (param $end_of_stream i32) (result i32)
    (if (i32.eq (global.get $phase) (i32.const 5))
      (then (call $misbehave)))
    (i32.const 0))

  (func (export "proxy_on_log") (param $context_id i32)
    (if (i32.eq (global.get $phase) (i32.const 6))
      (then (call $misbehave))))
)
