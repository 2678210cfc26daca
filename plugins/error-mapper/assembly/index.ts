// error-mapper: rewrite vendor error responses into one JSON error shape.
//
// Built on the AssemblyScript proxy-wasm SDK @solo-io/proxy-runtime 0.1.8:
// its RootContext/Context classes, hostcall wrappers, header serialization
// and malloc export. This file exports the ABI entry points itself instead
// of re-exporting the SDK's, because the SDK's dispatch
//   - picks the root context by proxy_get_property("plugin_root_id") and
//     traps when the host answers anything but OK with a registered name,
//   - exports proxy_abi_version_0_2_0 and every callback (exporting body
//     callbacks makes a host buffer bodies the plugin never reads),
//   - logs several formatted debug lines per callback.
// Only the callbacks this plugin needs are exported, so the host does not
// buffer request bodies.

import "./abort";
import { malloc } from "@solo-io/proxy-runtime/malloc";
import { ErrorMapper, ErrorMapperRoot } from "./filter";

export { malloc, free } from "@solo-io/proxy-runtime/malloc";

/** proxy-wasm v0.2.1 allocator entry point (same allocator as malloc). */
export function proxy_on_memory_allocate(size: usize): usize {
  return malloc(<i32>size);
}

export function proxy_abi_version_0_2_1(): void {}

const roots = new Map<u32, ErrorMapperRoot>();
const streams = new Map<u32, ErrorMapper>();
let lastRoot: u32 = 0;

function root(id: u32): ErrorMapperRoot {
  if (id == 0) id = lastRoot != 0 ? lastRoot : 1;
  if (!roots.has(id)) roots.set(id, new ErrorMapperRoot(id));
  lastRoot = id;
  return roots.get(id);
}

// A host that skips proxy_on_context_create still gets a working stream.
function stream(id: u32): ErrorMapper {
  if (!streams.has(id)) streams.set(id, root(0).createContext(id) as ErrorMapper);
  return streams.get(id);
}

export function proxy_on_context_create(context_id: u32, parent_context_id: u32): void {
  if (parent_context_id == 0) {
    root(context_id);
  } else if (!streams.has(context_id)) {
    streams.set(context_id, root(parent_context_id).createContext(context_id) as ErrorMapper);
  }
}

export function proxy_on_vm_start(root_context_id: u32, _vm_configuration_size: u32): u32 {
  root(root_context_id);
  return 1;
}

export function proxy_on_configure(root_context_id: u32, configuration_size: u32): u32 {
  return root(root_context_id).onConfigure(configuration_size) ? 1 : 0;
}

export function proxy_on_response_headers(context_id: u32, headers: u32, end_of_stream: u32): u32 {
  return stream(context_id).onResponseHeaders(headers, end_of_stream != 0);
}

export function proxy_on_response_body(context_id: u32, body_buffer_length: u32, end_of_stream: u32): u32 {
  return stream(context_id).onResponseBody(body_buffer_length, end_of_stream != 0);
}

export function proxy_on_done(_context_id: u32): u32 {
  return 1;
}

export function proxy_on_log(_context_id: u32): void {}

export function proxy_on_delete(context_id: u32): void {
  if (streams.has(context_id)) streams.delete(context_id);
  else if (roots.has(context_id)) roots.delete(context_id);
}
