// filter.ts: the error-mapper root and stream contexts.
//
// Response headers: when the upstream :status is rewritten, replace :status,
// set content-type to application/json, drop content-length, and remember the
// upstream status. Response body: buffer until end_of_stream, then replace the
// whole body with the standard error JSON built from the vendor body.
// A rewritten response whose headers end the stream (no body follows) is
// answered with proxy_send_local_response instead, since there is no body
// callback to rewrite.

import {
  Context,
  FilterDataStatusValues,
  FilterHeadersStatusValues,
  GrpcStatusValues,
  HeaderPair,
  log,
  LogLevelValues,
  RootContext,
  send_local_response,
  stream_context,
  WasmResultValues,
} from "@solo-io/proxy-runtime";
import { BufferTypeValues, get_buffer_bytes, get_buffer_status, HeaderMapTypeValues } from "@solo-io/proxy-runtime/runtime";
import * as imports from "@solo-io/proxy-runtime/imports";
import { Config, parseConfig } from "./config";
import { JsonParser, JsonValue, KIND_BOOL, KIND_NUMBER, KIND_OBJECT, KIND_STRING, quote, truncate } from "./json";

// The SDK (0.1.8) declares no proxy_set_buffer_bytes.
// @ts-ignore: decorator
@external("env", "proxy_set_buffer_bytes")
declare function proxy_set_buffer_bytes(typ: i32, start: u32, length: u32, data: usize, size: usize): u32;

/** Longest vendor message copied into the error, in characters. */
export const MESSAGE_MAX: i32 = 200;

export class ErrorMapperRoot extends RootContext {
  config: Config | null = null;

  constructor(context_id: u32) {
    super(context_id);
  }

  createContext(context_id: u32): Context {
    return new ErrorMapper(context_id, this);
  }

  // The SDK's onConfigure passes the size where the host expects a pointer;
  // read the buffer with its get_buffer_bytes helper instead.
  onConfigure(configuration_size: u32): bool {
    let bytes = get_buffer_bytes(BufferTypeValues.PluginConfiguration, 0, configuration_size);
    let parsed = parseConfig(String.UTF8.decode(bytes));
    if (parsed === null) return false; // keep the previous configuration, if any
    this.config = parsed;
    return true;
  }
}

export class ErrorMapper extends Context {
  /** Upstream status being rewritten; 0 when this response passes through. */
  private upstreamStatus: i32 = 0;

  constructor(context_id: u32, root_context: ErrorMapperRoot) {
    super(context_id, root_context);
  }

  private config(): Config | null {
    return (this.root_context as ErrorMapperRoot).config;
  }

  onResponseHeaders(_headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    this.upstreamStatus = 0;
    let cfg = this.config();
    if (cfg === null) return FilterHeadersStatusValues.Continue;
    let config = cfg;
    let status = parseStatus(stream_context.headers.response.get(":status"));
    if (status < 0 || !config.matches(status)) return FilterHeadersStatusValues.Continue;
    let mapped = config.mappedStatus(status);

    if (end_of_stream) {
      // No body callback will come: answer with a local reply carrying the body.
      let body = errorJson(config, status, mapped, "");
      let headers: Array<HeaderPair> = [
        new HeaderPair(String.UTF8.encode("content-type"), String.UTF8.encode("application/json")),
      ];
      let res = send_local_response(<u32>mapped, "error_mapper", String.UTF8.encode(body), headers, GrpcStatusValues.InvalidCode);
      if (res == WasmResultValues.Ok) return FilterHeadersStatusValues.StopIteration;
      log(LogLevelValues.warn, "error-mapper: local reply refused (" + res.toString() + "); only the status is rewritten");
      setHeader(":status", mapped.toString());
      return FilterHeadersStatusValues.Continue;
    }

    this.upstreamStatus = status;
    setHeader(":status", mapped.toString());
    setHeader("content-type", "application/json");
    let key = String.UTF8.encode("content-length");
    imports.proxy_remove_header_map_value(HeaderMapTypeValues.ResponseHeaders, changetype<usize>(key), key.byteLength);
    return FilterHeadersStatusValues.Continue;
  }

  onResponseBody(body_buffer_length: usize, end_of_stream: bool): FilterDataStatusValues {
    if (this.upstreamStatus == 0) return FilterDataStatusValues.Continue;
    if (!end_of_stream) return FilterDataStatusValues.StopIterationAndBuffer;
    let cfg = this.config();
    if (cfg === null) return FilterDataStatusValues.Continue;
    let config = cfg;
    let status = this.upstreamStatus;
    this.upstreamStatus = 0;

    let size = <u32>body_buffer_length;
    if (size == 0) {
      let st = get_buffer_status(BufferTypeValues.HttpResponseBody);
      if (st.result == WasmResultValues.Ok) size = <u32>st.length;
    }
    let vendorBody = new ArrayBuffer(0);
    if (size > 0) vendorBody = get_buffer_bytes(BufferTypeValues.HttpResponseBody, 0, size);
    let message = vendorMessage(config, String.UTF8.decode(vendorBody));
    let out = String.UTF8.encode(errorJson(config, status, config.mappedStatus(status), message));
    let res = proxy_set_buffer_bytes(BufferTypeValues.HttpResponseBody, 0, size, changetype<usize>(out), out.byteLength);
    if (res != WasmResultValues.Ok) {
      log(LogLevelValues.error, "error-mapper: proxy_set_buffer_bytes failed: " + res.toString());
    }
    return FilterDataStatusValues.Continue;
  }
}

function setHeader(key: string, value: string): void {
  let k = String.UTF8.encode(key);
  let v = String.UTF8.encode(value);
  let res = imports.proxy_replace_header_map_value(HeaderMapTypeValues.ResponseHeaders, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
  if (res != WasmResultValues.Ok) {
    log(LogLevelValues.error, "error-mapper: could not set response header " + key + ": " + res.toString());
  }
}

/** A three-digit status, or -1. */
export function parseStatus(s: string): i32 {
  if (s.length != 3) return -1;
  let n = 0;
  for (let i = 0; i < 3; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n >= 100 ? n : -1;
}

/** The standard error body. */
export function errorJson(config: Config, upstream: i32, mapped: i32, message: string): string {
  // No `cond ? param : temporary` here or below: AssemblyScript 0.14's
  // reference counting releases the parameter twice for that shape.
  let msg = message;
  if (msg.length == 0) msg = "vendor returned HTTP " + upstream.toString();
  return "{\"error\":{\"status\":" + mapped.toString() +
    ",\"code\":" + quote(config.code(upstream)) +
    ",\"message\":" + quote(truncate(msg, MESSAGE_MAX)) +
    ",\"vendor\":" + quote(config.vendor) + "}}";
}

/** The message to report: the configured field of a JSON object body, else the trimmed raw body. */
export function vendorMessage(config: Config, body: string): string {
  let trimmed = body.trim();
  if (trimmed.length > 0 && trimmed.charCodeAt(0) == 0x7b /* { */) {
    let parsed = new JsonParser(trimmed).parse();
    if (parsed !== null) {
      let field = lookup(parsed, config.messageField);
      if (field !== null) {
        let f = field;
        if (f.kind == KIND_STRING) return truncate(f.str.trim(), MESSAGE_MAX);
        if (f.kind == KIND_NUMBER) return f.raw;
        if (f.kind == KIND_BOOL) return f.bool ? "true" : "false";
      }
    }
  }
  return truncate(trimmed, MESSAGE_MAX);
}

/** The member named `path`, or, when there is none, the dotted path walked through nested objects. */
function lookup(root: JsonValue, path: string): JsonValue | null {
  let direct = root.get(path);
  if (direct !== null || path.indexOf(".") < 0) return direct;
  let parts = path.split(".");
  let cur: JsonValue | null = root;
  for (let i = 0; i < parts.length; i++) {
    let c = cur;
    if (c.kind != KIND_OBJECT) return null;
    cur = c.get(parts[i]);
    if (cur === null) return null;
  }
  return cur;
}
