// host.mjs: a minimal proxy-wasm v0.2.1 host in JavaScript, used only to
// smoke-test the plugins after a build (node plugins/test/smoke.mjs). It is
// not Switchyard's host; it follows the same ABI facts (header maps 0/2,
// buffers 0/1/7, map serialization, UNIMPLEMENTED for other proxy_* calls).

const OK = 0, NOT_FOUND = 1, BAD_ARGUMENT = 2, UNIMPLEMENTED = 12;
const enc = new TextEncoder();
const dec = new TextDecoder();

// wasi_unstable is WASI snapshot 0, whose calls Switchyard answers like
// wasi_snapshot_preview1's (the AssemblyScript SDK's abort handler imports
// wasi_unstable.proc_exit).
export const WASI_MODULES = ["wasi_snapshot_preview1", "wasi_unstable"];
export const ALLOWED_IMPORT = (mod, name) =>
  (mod === "env" && name.startsWith("proxy_")) || WASI_MODULES.includes(mod);

export class MockHost {
  // rootId: the plugin_root_id property (Switchyard: the plugin's name);
  // without it the property is NOT_FOUND.
  constructor(wasm, { timeNs = 1700000000123456789n, proxyClock = true, rootId = null, extraImports = {} } = {}) {
    this.module = new WebAssembly.Module(wasm);
    this.timeNs = timeNs;
    this.rootId = rootId;
    this.proxyClock = proxyClock;
    this.logs = [];
    this.calls = [];
    this.config = new Uint8Array(0);
    this.resetStream();
    const tables = { env: {} };
    for (const m of WASI_MODULES) tables[m] = {};
    for (const imp of WebAssembly.Module.imports(this.module)) {
      if (extraImports[imp.module]) continue;
      if (!ALLOWED_IMPORT(imp.module, imp.name)) {
        throw new Error(`unexpected import ${imp.module}.${imp.name}`);
      }
      const table = tables[imp.module];
      const impl = this[imp.name];
      table[imp.name] = (...args) => {
        this.calls.push(imp.name);
        return impl ? impl.apply(this, args) : UNIMPLEMENTED;
      };
    }
    this.instance = new WebAssembly.Instance(this.module, { ...extraImports, ...tables });
    this.exports = this.instance.exports;
  }

  resetStream() {
    this.maps = { 0: [], 2: [] };
    this.buffers = { 0: new Uint8Array(0), 1: new Uint8Array(0) };
    this.localResponse = null;
  }

  // ---- guest memory ----
  view() { return new DataView(this.exports.memory.buffer); }
  bytes(ptr, len) { return new Uint8Array(this.exports.memory.buffer, ptr, len).slice(); }
  str(ptr, len) { return dec.decode(this.bytes(ptr, len)); }
  alloc(n) {
    const f = this.exports.proxy_on_memory_allocate || this.exports.malloc;
    const p = f(n);
    if (!p) throw new Error("guest allocation failed");
    return p;
  }
  give(data, ptrPtr, sizePtr) {
    const p = this.alloc(data.length);
    new Uint8Array(this.exports.memory.buffer, p, data.length).set(data);
    const v = this.view();
    v.setUint32(ptrPtr, p, true);
    v.setUint32(sizePtr, data.length, true);
    return OK;
  }
  memoryBytes() { return this.exports.memory.buffer.byteLength; }

  // ---- header maps ----
  map(t) { return this.maps[t]; }
  header(t, k) {
    const e = this.maps[t].find(([key]) => key === k.toLowerCase());
    return e ? e[1] : undefined;
  }
  serialize(pairs) {
    const parts = pairs.map(([k, v]) => [enc.encode(k), enc.encode(v)]);
    let size = 4 + 8 * parts.length;
    for (const [k, v] of parts) size += k.length + v.length + 2;
    const out = new Uint8Array(size);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, parts.length, true);
    let off = 4;
    for (const [k, v] of parts) {
      dv.setUint32(off, k.length, true);
      dv.setUint32(off + 4, v.length, true);
      off += 8;
    }
    for (const [k, v] of parts) {
      out.set(k, off); off += k.length + 1;
      out.set(v, off); off += v.length + 1;
    }
    return out;
  }
  deserialize(buf) {
    if (buf.length === 0) return [];
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    const n = dv.getUint32(0, true);
    const sizes = [];
    for (let i = 0; i < n; i++) sizes.push([dv.getUint32(4 + 8 * i, true), dv.getUint32(8 + 8 * i, true)]);
    let off = 4 + 8 * n;
    const pairs = [];
    for (const [kl, vl] of sizes) {
      const k = dec.decode(buf.subarray(off, off + kl)); off += kl;
      if (buf[off++] !== 0) throw new Error("key not NUL-terminated");
      const v = dec.decode(buf.subarray(off, off + vl)); off += vl;
      if (buf[off++] !== 0) throw new Error("value not NUL-terminated");
      pairs.push([k, v]);
    }
    if (off !== buf.length) throw new Error("trailing bytes in header map");
    return pairs;
  }

  // ---- host functions (names match the imports) ----
  proxy_log(level, p, n) { this.logs.push([level, this.str(p, n)]); return OK; }
  proxy_get_property(pp, pl, vpp, vsp) {
    const path = this.str(pp, pl).replace(/\0$/, "");
    if (path === "plugin_root_id" && this.rootId !== null) return this.give(enc.encode(this.rootId), vpp, vsp);
    return NOT_FOUND;
  }
  proxy_get_header_map_value(t, kp, kl, vpp, vsp) {
    if (!this.maps[t]) return BAD_ARGUMENT;
    const v = this.header(t, this.str(kp, kl));
    if (v === undefined) return NOT_FOUND;
    return this.give(enc.encode(v), vpp, vsp);
  }
  proxy_replace_header_map_value(t, kp, kl, vp, vl) {
    if (!this.maps[t]) return BAD_ARGUMENT;
    const k = this.str(kp, kl).toLowerCase();
    this.maps[t] = this.maps[t].filter(([key]) => key !== k);
    this.maps[t].push([k, this.str(vp, vl)]);
    return OK;
  }
  proxy_add_header_map_value(t, kp, kl, vp, vl) {
    if (!this.maps[t]) return BAD_ARGUMENT;
    this.maps[t].push([this.str(kp, kl).toLowerCase(), this.str(vp, vl)]);
    return OK;
  }
  proxy_remove_header_map_value(t, kp, kl) {
    if (!this.maps[t]) return BAD_ARGUMENT;
    const k = this.str(kp, kl).toLowerCase();
    this.maps[t] = this.maps[t].filter(([key]) => key !== k);
    return OK;
  }
  proxy_get_header_map_pairs(t, pp, sp) {
    if (!this.maps[t]) return BAD_ARGUMENT;
    return this.give(this.serialize(this.maps[t]), pp, sp);
  }
  proxy_get_header_map_size(t, sp) {
    if (!this.maps[t]) return BAD_ARGUMENT;
    this.view().setUint32(sp, this.maps[t].length, true);
    return OK;
  }
  buffer(t) { return t === 7 ? this.config : this.buffers[t]; }
  proxy_get_buffer_bytes(t, start, max, pp, sp) {
    const b = this.buffer(t);
    if (!b) return BAD_ARGUMENT;
    if (start > b.length) return BAD_ARGUMENT;
    return this.give(b.subarray(start, Math.min(b.length, start + max)), pp, sp);
  }
  proxy_get_buffer_status(t, lp, fp) {
    const b = this.buffer(t);
    if (!b) return BAD_ARGUMENT;
    this.view().setUint32(lp, b.length, true);
    this.view().setUint32(fp, 0, true);
    return OK;
  }
  proxy_set_buffer_bytes(t, start, len, dp, dl) {
    const b = this.buffers[t];
    if (!b || start > b.length) return BAD_ARGUMENT;
    const data = this.bytes(dp, dl);
    const end = Math.min(b.length, start + len);
    const out = new Uint8Array(start + data.length + (b.length - end));
    out.set(b.subarray(0, start), 0);
    out.set(data, start);
    out.set(b.subarray(end), start + data.length);
    this.buffers[t] = out;
    return OK;
  }
  proxy_send_local_response(status, dp, dl, bp, bl, hp, hl, grpc) {
    this.localResponse = {
      status, details: this.str(dp, dl), body: this.str(bp, bl),
      headers: this.deserialize(this.bytes(hp, hl)), grpc,
    };
    return OK;
  }
  proxy_get_current_time_nanoseconds(p) {
    if (!this.proxyClock) return UNIMPLEMENTED;
    this.view().setBigUint64(p, this.timeNs, true);
    return OK;
  }
  clock_time_get(id, precision, p) {
    this.view().setBigUint64(p, this.timeNs, true);
    return 0;
  }
  proc_exit(code) { throw new Error(`proc_exit(${code})`); }

  // ---- driving the plugin ----
  configure(config) {
    this.config = enc.encode(typeof config === "string" ? config : JSON.stringify(config));
    const e = this.exports;
    e.proxy_on_context_create(1, 0);
    if (e.proxy_on_vm_start(1, 0) !== 1) throw new Error("vm_start failed");
    return e.proxy_on_configure(1, this.config.length);
  }
  requestBody(ctx, body) {
    this.buffers[0] = enc.encode(body);
    return this.exports.proxy_on_request_body(ctx, this.buffers[0].length, 1);
  }
  requestHeaders(ctx, headers) {
    this.resetStream();
    this.maps[0] = Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]);
    this.exports.proxy_on_context_create(ctx, 1);
    return this.exports.proxy_on_request_headers(ctx, this.maps[0].length, 0);
  }
  responseHeaders(ctx, headers, eos) {
    this.maps[2] = Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]);
    return this.exports.proxy_on_response_headers(ctx, this.maps[2].length, eos ? 1 : 0);
  }
  responseBody(ctx, body, eos) {
    this.buffers[1] = enc.encode(body);
    return this.exports.proxy_on_response_body(ctx, this.buffers[1].length, eos ? 1 : 0);
  }
  responseBodyText() { return dec.decode(this.buffers[1]); }
  finish(ctx) {
    const e = this.exports;
    if (e.proxy_on_done) e.proxy_on_done(ctx);
    if (e.proxy_on_log) e.proxy_on_log(ctx);
    if (e.proxy_on_delete) e.proxy_on_delete(ctx);
  }
}
