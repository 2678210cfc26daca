// config.ts: error-mapper's configuration (a JSON object in the plugin
// configuration buffer). Unknown keys are rejected so typos surface when the
// proxy loads the plugin instead of silently changing behaviour.

import { log, LogLevelValues } from "@solo-io/proxy-runtime";
import { JsonParser, JsonValue, KIND_ARRAY, KIND_OBJECT, KIND_STRING } from "./json";

export class Config {
  /** Vendor name copied into every error body. Required. */
  vendor: string = "";
  /** Upstream statuses to rewrite; empty means every status >= 400. */
  statuses: Array<i32> = new Array<i32>();
  /** Upstream status -> status sent downstream. */
  mapFrom: Array<i32> = new Array<i32>();
  mapTo: Array<i32> = new Array<i32>();
  /** Downstream status for rewritten statuses missing from `map`; 0 keeps the upstream status. */
  defaultStatus: i32 = 0;
  /** Field of a JSON vendor body holding the message; a dotted path walks nested objects. */
  messageField: string = "message";
  /** Upstream status -> error code, overriding the built-in names. */
  codeFrom: Array<i32> = new Array<i32>();
  codeTo: Array<string> = new Array<string>();

  /** Whether a response with this upstream status gets rewritten. */
  matches(status: i32): bool {
    if (this.statuses.length == 0) return status >= 400;
    return this.statuses.includes(status);
  }

  /** Status sent downstream for a rewritten upstream status. */
  mappedStatus(status: i32): i32 {
    for (let i = this.mapFrom.length - 1; i >= 0; i--) {
      if (this.mapFrom[i] == status) return this.mapTo[i];
    }
    return this.defaultStatus != 0 ? this.defaultStatus : status;
  }

  /** Error code for a rewritten upstream status. */
  code(status: i32): string {
    for (let i = this.codeFrom.length - 1; i >= 0; i--) {
      if (this.codeFrom[i] == status) return this.codeTo[i];
    }
    return defaultCode(status);
  }
}

/** Built-in code names, keyed by the upstream status. */
export function defaultCode(status: i32): string {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 402: return "payment_required";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 406: return "not_acceptable";
    case 408: return "request_timeout";
    case 409: return "conflict";
    case 410: return "gone";
    case 411: return "length_required";
    case 412: return "precondition_failed";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 415: return "unsupported_media_type";
    case 416: return "range_not_satisfiable";
    case 422: return "unprocessable_entity";
    case 423: return "locked";
    case 425: return "too_early";
    case 428: return "precondition_required";
    case 429: return "rate_limited";
    case 431: return "request_header_fields_too_large";
    case 451: return "unavailable_for_legal_reasons";
    case 500: return "internal_error";
    case 501: return "not_implemented";
    case 502: return "bad_gateway";
    case 503: return "service_unavailable";
    case 504: return "gateway_timeout";
    case 505: return "http_version_not_supported";
    case 507: return "insufficient_storage";
  }
  if (status >= 500) return "upstream_error";
  if (status >= 400) return "client_error";
  return "unexpected_status";
}

function bad(msg: string): Config | null {
  log(LogLevelValues.error, "error-mapper: invalid configuration: " + msg);
  return null;
}

/** Integer value within [lo, hi], or -1. */
function intIn(v: JsonValue, lo: i32, hi: i32): i32 {
  if (!v.isInteger() || v.num < <f64>lo || v.num > <f64>hi) return -1;
  return <i32>v.num;
}

/** A status written as an object key ("500"), or -1. */
function statusKey(k: string): i32 {
  if (k.length != 3) return -1;
  let n = 0;
  for (let i = 0; i < 3; i++) {
    let c = k.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n >= 100 && n <= 599 ? n : -1;
}

/** Parse the configuration text; null (after logging why) when invalid. */
export function parseConfig(text: string): Config | null {
  let parsed = new JsonParser(text).parse();
  if (parsed === null) return bad("not valid JSON");
  let root = parsed;
  if (root.kind != KIND_OBJECT) return bad("expected a JSON object");
  let c = new Config();
  for (let i = 0; i < root.keys.length; i++) {
    let key = root.keys[i];
    let v = root.vals[i];
    if (root.keys.indexOf(key) != i) return bad("repeated key \"" + key + "\"");
    if (key == "vendor") {
      if (v.kind != KIND_STRING || v.str.length == 0) return bad("\"vendor\" must be a non-empty string");
      c.vendor = v.str;
    } else if (key == "statuses") {
      if (v.kind != KIND_ARRAY) return bad("\"statuses\" must be an array of statuses");
      c.statuses = new Array<i32>();
      for (let k = 0; k < v.items.length; k++) {
        let s = intIn(v.items[k], 100, 599);
        if (s < 0) return bad("\"statuses\" entries must be integers 100-599");
        c.statuses.push(s);
      }
    } else if (key == "map") {
      if (v.kind != KIND_OBJECT) return bad("\"map\" must be an object of \"status\": status");
      c.mapFrom = new Array<i32>();
      c.mapTo = new Array<i32>();
      for (let k = 0; k < v.keys.length; k++) {
        let from = statusKey(v.keys[k]);
        let to = intIn(v.vals[k], 200, 599);
        if (from < 0 || to < 0) return bad("\"map\" needs \"100\"-\"599\" keys and 200-599 values");
        c.mapFrom.push(from);
        c.mapTo.push(to);
      }
    } else if (key == "default_status") {
      let s = intIn(v, 200, 599);
      if (s < 0) return bad("\"default_status\" must be an integer 200-599");
      c.defaultStatus = s;
    } else if (key == "message_field") {
      if (v.kind != KIND_STRING || v.str.length == 0) return bad("\"message_field\" must be a non-empty string");
      c.messageField = v.str;
    } else if (key == "codes") {
      if (v.kind != KIND_OBJECT) return bad("\"codes\" must be an object of \"status\": \"code\"");
      c.codeFrom = new Array<i32>();
      c.codeTo = new Array<string>();
      for (let k = 0; k < v.keys.length; k++) {
        let from = statusKey(v.keys[k]);
        let to = v.vals[k];
        if (from < 0 || to.kind != KIND_STRING || to.str.length == 0) {
          return bad("\"codes\" needs \"100\"-\"599\" keys and non-empty string values");
        }
        c.codeFrom.push(from);
        c.codeTo.push(to.str);
      }
    } else {
      return bad("unknown key \"" + key + "\"");
    }
  }
  if (c.vendor.length == 0) return bad("\"vendor\" is required");
  return c;
}
