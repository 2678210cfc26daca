// smoke.mjs: behaviour checks for the built plugins against the mock host in
// host.mjs. Run by build.sh after building; by hand:
//   node plugins/test/smoke.mjs [dir-with-wasm-files]
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MockHost } from "./host.mjs";

const dir = process.argv[2] || join(dirname(fileURLToPath(import.meta.url)), "..");
const wasm = (name) => readFileSync(join(dir, `${name}.wasm`));
let failed = 0, passed = 0;
function test(name, fn) {
  try {
    fn();
    passed++;
  } catch (e) {
    failed++;
    console.error(`FAIL ${name}\n  ${e.stack || e}`);
  }
}
const host = (name, opts) => new MockHost(wasm(name), opts);

for (const name of ["guard", "vendor-auth", "error-mapper", "add-header"]) {
  test(`${name}: instantiation calls no host function`, () => {
    assert.deepEqual(host(name).calls, []);
  });
}

// ---------------- guard ----------------
test("guard: missing header -> configured local reply", () => {
  const h = host("guard");
  assert.equal(h.configure({ header: "x-api-key", status: 401, body: "missing x-api-key\n" }), 1);
  assert.equal(h.requestHeaders(2, { ":method": "GET", ":path": "/" }), 1);
  assert.deepEqual(h.localResponse, {
    status: 401, details: "guard_missing_header", body: "missing x-api-key\n",
    headers: [["content-type", "text/plain"]], grpc: -1,
  });
});
test("guard: header present -> continue", () => {
  const h = host("guard");
  assert.equal(h.configure({ header: "X-Api-Key" }), 1);
  assert.equal(h.requestHeaders(2, { ":path": "/", "x-api-key": "anything" }), 0);
  assert.equal(h.localResponse, null);
  assert.equal(h.header(0, "x-api-key"), "anything");
});
test("guard: defaults and empty value", () => {
  const h = host("guard");
  assert.equal(h.configure({ header: "x-api-key" }), 1);
  assert.equal(h.requestHeaders(2, { "x-api-key": "" }), 1);
  assert.equal(h.localResponse.status, 401);
  assert.equal(h.localResponse.body, "unauthorized\n");
});
test("guard: allow-list", () => {
  const h = host("guard");
  assert.equal(h.configure({ header: "x-api-key", values: ["k1", "k2", "k3", "k4", "k5"] }), 1);
  assert.equal(h.requestHeaders(2, { "x-api-key": "k5" }), 0);
  assert.equal(h.requestHeaders(3, { "x-api-key": "k6" }), 1);
  assert.equal(h.localResponse.status, 403);
  assert.equal(h.localResponse.body, "forbidden\n");
  assert.equal(h.localResponse.details, "guard_value_not_allowed");
  assert.equal(h.requestHeaders(4, {}), 1);
  assert.equal(h.localResponse.status, 401);
});
test("guard: forbidden overrides and strip", () => {
  const h = host("guard");
  assert.equal(h.configure({ header: "x-k", values: ["a"], forbidden_status: 401, forbidden_body: "no\n", strip: true }), 1);
  assert.equal(h.requestHeaders(2, { "x-k": "b" }), 1);
  assert.deepEqual([h.localResponse.status, h.localResponse.body], [401, "no\n"]);
  assert.equal(h.requestHeaders(3, { "x-k": "a", other: "1" }), 0);
  assert.equal(h.header(0, "x-k"), undefined);
  assert.equal(h.header(0, "other"), "1");
});
test("guard: JSON escapes in body", () => {
  const h = host("guard");
  assert.equal(h.configure('{"header":"x","body":"a\\"b\\\\c\\u00e9\\ud83d\\ude00\\n"}'), 1);
  h.requestHeaders(2, {});
  assert.equal(h.localResponse.body, 'a"b\\c\u00e9\u{1F600}\n');
});
test("guard: invalid configs rejected", () => {
  for (const bad of ["", "{}", "[]", "nope", '{"header":""}', '{"header":"x","status":"401"}',
    '{"header":"x","status":99}', '{"header":"x","status":401.5}', '{"header":"x","bogus":1}', '{"Header":"x"}',
    '{"header":"x"} x', '{"header":"x",}', '{"header":"x","values":["a",1]}', '{"header":"x","strip":1}',
    '{"header":"x","values":[]}', '{"header":"x y"}', '{"header":":path"}', '{"header":"x","header":"y"}', '{"header":"x","status":401,"status":403}']) {
    const h = host("guard");
    assert.equal(h.configure(bad), 0, `accepted ${JSON.stringify(bad)}`);
    assert.equal(h.requestHeaders(2, { x: "1" }), 1, "unconfigured guard must fail closed");
    assert.equal(h.localResponse.status, 500);
  }
});
test("guard: a bad reconfigure keeps the old config", () => {
  const h = host("guard");
  assert.equal(h.configure({ header: "x-a" }), 1);
  assert.equal(h.configure({ nope: 1 }), 0);
  assert.equal(h.requestHeaders(2, { "x-a": "1" }), 0);
});
test("guard: memory stays flat over many requests", () => {
  const h = host("guard");
  h.configure({ header: "x-api-key", values: ["k1"] });
  for (let i = 0; i < 200; i++) h.requestHeaders(i + 2, { "x-api-key": i % 2 ? "k1" : "zz" });
  const before = h.memoryBytes();
  for (let i = 0; i < 20000; i++) h.requestHeaders(i + 2, { "x-api-key": i % 2 ? "k1" : "zz".repeat(i % 50) });
  assert.equal(h.memoryBytes(), before);
});

// ---------------- vendor-auth ----------------
const sign = (secret, s) => createHmac("sha256", secret).update(s).digest("hex");
test("vendor-auth: static credential header", () => {
  const h = host("vendor-auth");
  assert.equal(h.configure({ header: "Authorization", value: "Bearer abc" }), 1);
  assert.equal(h.requestHeaders(2, { ":method": "GET", ":path": "/x", authorization: "old" }), 0);
  assert.equal(h.header(0, "authorization"), "Bearer abc");
  assert.equal(h.map(0).filter(([k]) => k === "authorization").length, 1);
});
test("vendor-auth: HMAC signature", () => {
  const h = host("vendor-auth");
  assert.equal(h.configure({ hmac: { secret: "s3cret", header: "x-signature", timestamp_header: "x-timestamp" } }), 1);
  assert.equal(h.requestHeaders(2, { ":method": "POST", ":path": "/v1/items?x=1&y=%20", ":authority": "api" }), 0);
  assert.equal(h.header(0, "x-timestamp"), "1700000000");
  assert.equal(h.header(0, "x-signature"), sign("s3cret", "POST\n/v1/items?x=1&y=%20\n1700000000"));
});
test("vendor-auth: both, defaults, WASI clock fallback, long secret", () => {
  const secret = "k".repeat(100);
  const h = host("vendor-auth", { proxyClock: false, timeNs: 1234567890999999999n });
  assert.equal(h.configure({ header: "x-key", value: "v", hmac: { secret } }), 1);
  h.requestHeaders(2, { ":method": "GET", ":path": "/" });
  assert.equal(h.header(0, "x-key"), "v");
  assert.equal(h.header(0, "x-timestamp"), "1234567890");
  assert.equal(h.header(0, "x-signature"), sign(secret, "GET\n/\n1234567890"));
  assert.ok(h.calls.includes("clock_time_get"));
});
test("vendor-auth: long path", () => {
  const h = host("vendor-auth");
  h.configure({ hmac: { secret: "s", header: "X-Sig", timestamp_header: "X-Ts" } });
  const path = "/" + "abc/".repeat(500) + "?q=" + "z".repeat(300);
  h.requestHeaders(2, { ":method": "DELETE", ":path": path });
  assert.equal(h.header(0, "x-sig"), sign("s", `DELETE\n${path}\n1700000000`));
  assert.equal(h.header(0, "x-ts"), "1700000000");
});
test("vendor-auth: invalid configs rejected", () => {
  for (const bad of ["", "{}", '{"header":"a"}', '{"value":"a"}', '{"header":"","value":"a"}', '{"hmac":{}}',
    '{"hmac":{"secret":""}}', '{"hmac":{"secret":"s","x":1}}', '{"hmac":"s"}', '{"header":"a","value":"b","extra":1}',
    '{"hmac":{"secret":"a","secret":"b"}}', '{"header":"a","value":"b","value":"c"}', '{"Header":"a","value":"b"}',
    '{"header":"a","value":"b\\r\\nx-evil: 1"}', '{"header":"a b","value":"c"}', '{"hmac":{"secret":"s","header":"x sig"}}',
    '{"hmac":{"secret":"s","timestamp_header":""}}']) {
    assert.equal(host("vendor-auth").configure(bad), 0, `accepted ${JSON.stringify(bad)}`);
  }
});
test("vendor-auth: memory stays flat over many requests", () => {
  const h = host("vendor-auth");
  h.configure({ header: "authorization", value: "Bearer abc", hmac: { secret: "s3cret" } });
  for (let i = 0; i < 200; i++) h.requestHeaders(i + 2, { ":method": "GET", ":path": "/p/" + i });
  const before = h.memoryBytes();
  for (let i = 0; i < 20000; i++) h.requestHeaders(i + 2, { ":method": "GET", ":path": "/p/" + "x".repeat(i % 300) });
  assert.equal(h.memoryBytes(), before);
});

// ---------------- error-mapper ----------------
function mapped(config, status, body, { contentLength = true } = {}) {
  const h = host("error-mapper");
  assert.equal(h.configure(config), 1);
  h.exports.proxy_on_context_create(2, 1);
  const headers = { ":status": String(status), "content-type": "text/plain" };
  if (contentLength) headers["content-length"] = String(Buffer.byteLength(body));
  assert.equal(h.responseHeaders(2, headers, false), 0);
  assert.equal(h.responseBody(2, body, true), 0);
  h.finish(2);
  return h;
}
const acme = { vendor: "acme", map: { "500": 502, "429": 429 }, message_field: "error_description" };
test("error-mapper: JSON vendor body with message_field", () => {
  const h = mapped(acme, 500, '{"error":"server_error","error_description":"db \\"down\\""}');
  assert.equal(h.header(2, ":status"), "502");
  assert.equal(h.header(2, "content-type"), "application/json");
  assert.equal(h.header(2, "content-length"), undefined);
  assert.equal(h.responseBodyText(),
    '{"error":{"status":502,"code":"internal_error","message":"db \\"down\\"","vendor":"acme"}}');
});
test("error-mapper: body buffered until end_of_stream", () => {
  const h = host("error-mapper");
  h.configure(acme);
  h.exports.proxy_on_context_create(2, 1);
  h.responseHeaders(2, { ":status": "429" }, false);
  assert.equal(h.responseBody(2, "slow", false), 1);
  assert.equal(h.responseBody(2, "slow down", true), 0);
  assert.deepEqual(JSON.parse(h.responseBodyText()),
    { error: { status: 429, code: "rate_limited", message: "slow down", vendor: "acme" } });
});
test("error-mapper: success passes through untouched", () => {
  const h = mapped(acme, 200, "hello");
  assert.equal(h.header(2, ":status"), "200");
  assert.equal(h.header(2, "content-type"), "text/plain");
  assert.equal(h.header(2, "content-length"), "5");
  assert.equal(h.responseBodyText(), "hello");
});
test("error-mapper: raw body trimmed and truncated to 200 characters", () => {
  const raw = "\n  " + "\u00e9".repeat(150) + "\u{1F600}".repeat(100) + "\n";
  const h = mapped({ vendor: "v" }, 404, raw);
  const got = JSON.parse(h.responseBodyText()).error;
  assert.equal(got.status, 404);
  assert.equal(got.code, "not_found");
  assert.equal(got.message, "\u00e9".repeat(150) + "\u{1F600}".repeat(50));
});
test("error-mapper: statuses list, default_status, codes", () => {
  const cfg = { vendor: "v", statuses: [502, 503], default_status: 503, map: { "502": 504 }, codes: { "503": "vendor_down" } };
  assert.equal(mapped(cfg, 500, "x").responseBodyText(), "x");
  assert.deepEqual(JSON.parse(mapped(cfg, 502, "x").responseBodyText()).error,
    { status: 504, code: "bad_gateway", message: "x", vendor: "v" });
  assert.deepEqual(JSON.parse(mapped(cfg, 503, "").responseBodyText()).error,
    { status: 503, code: "vendor_down", message: "vendor returned HTTP 503", vendor: "v" });
});
test("error-mapper: message field variants", () => {
  const get = (cfg, body) => JSON.parse(mapped(cfg, 400, body).responseBodyText()).error.message;
  assert.equal(get({ vendor: "v" }, '{"message":"bad input"}'), "bad input");
  assert.equal(get({ vendor: "v", message_field: "error.message" }, '{"error":{"message":"nested"}}'), "nested");
  assert.equal(get({ vendor: "v" }, '{"message":42}'), "42");
  assert.equal(get({ vendor: "v" }, '{"other":"x"}'), '{"other":"x"}');
  assert.equal(get({ vendor: "v" }, '{"message":"unterminated'), '{"message":"unterminated');
  assert.equal(get({ vendor: "v" }, '{"message":"ctl\\u0001\\ud800 x"}'), "ctl\u0001\ufffd x");
  assert.equal(get({ vendor: "v" }, "[".repeat(5000)), "[".repeat(200));
  assert.equal(get({ vendor: "v" }, "{\"a\":".repeat(5000)), "{\"a\":".repeat(40));
});
test("error-mapper: headers ending the stream -> local reply", () => {
  const h = host("error-mapper");
  h.configure(acme);
  h.exports.proxy_on_context_create(2, 1);
  assert.equal(h.responseHeaders(2, { ":status": "500" }, true), 1);
  assert.equal(h.localResponse.status, 502);
  assert.deepEqual(h.localResponse.headers, [["content-type", "application/json"]]);
  assert.deepEqual(JSON.parse(h.localResponse.body),
    { error: { status: 502, code: "internal_error", message: "vendor returned HTTP 500", vendor: "acme" } });
});
test("error-mapper: works without proxy_on_context_create for the stream", () => {
  const h = host("error-mapper");
  h.configure({ vendor: "v" });
  h.responseHeaders(7, { ":status": "503" }, false);
  h.responseBody(7, "", true);
  assert.equal(JSON.parse(h.responseBodyText()).error.code, "service_unavailable");
});
test("error-mapper: invalid configs rejected", () => {
  for (const bad of ["", "{}", "nope", '{"vendor":""}', '{"vendor":"v","x":1}', '{"vendor":"v","map":{"5000":502}}',
    '{"vendor":"v","map":{"500":"502"}}', '{"vendor":"v","statuses":[99]}', '{"vendor":"v","default_status":100}',
    '{"vendor":"v","codes":{"500":""}}', '{"vendor":"v","message_field":""}', '{"vendor":"v"} x',
    '{"vendor":"v","vendor":"w"}', '{"Vendor":"v"}', '{"vendor":"v","statuses":[500.5]}']) {
    assert.equal(host("error-mapper").configure(bad), 0, `accepted ${JSON.stringify(bad)}`);
  }
});
test("error-mapper: memory stays flat over many requests", () => {
  const h = host("error-mapper");
  h.configure(acme);
  const run = (i) => {
    h.exports.proxy_on_context_create(i, 1);
    h.responseHeaders(i, { ":status": i % 3 ? "500" : "200" }, false);
    h.responseBody(i, `{"error_description":"e${"x".repeat(i % 500)}"}`, true);
    h.finish(i);
  };
  for (let i = 2; i < 500; i++) run(i);
  const before = h.memoryBytes();
  for (let i = 500; i < 20000; i++) run(i);
  assert.ok(h.memoryBytes() <= before + 65536, `memory grew ${before} -> ${h.memoryBytes()}`);
});

test("error-mapper: large nested vendor bodies (heap growth path)", () => {
  // Regression: with AssemblyScript 0.14's cycle collector enabled, the
  // collection the allocator runs before growing memory corrupted the heap
  // after ~20 such requests. asconfig.json sets __GC_ALL_ACYCLIC.
  const h = host("error-mapper");
  h.configure({ vendor: "acme", message_field: "error.detail" });
  const body = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ a: [i, { b: "x" }] })), error: { detail: "d" } });
  for (let i = 2; i < 302; i++) {
    h.exports.proxy_on_context_create(i, 1);
    h.responseHeaders(i, { ":status": "500" }, false);
    h.responseBody(i, body, true);
    assert.equal(JSON.parse(h.responseBodyText()).error.message, "d");
    h.finish(i);
  }
  assert.ok(h.memoryBytes() <= 1 << 20, `memory ${h.memoryBytes()}`);
});

// ---------------- add-header ----------------
// The SDK's own entry points pick the root context by the plugin_root_id
// property, which Switchyard answers with the plugin's name.
const sdk = (opts = {}) => host("add-header", { rootId: "add-header", ...opts });
const addHeaderRequest = (h, ctx, reqHeaders = { ":method": "GET", ":path": "/" }, respHeaders = { ":status": "200" }) => {
  assert.equal(h.requestHeaders(ctx, reqHeaders), 0);
  assert.equal(h.requestBody(ctx, "req-body"), 0);
  assert.equal(h.responseHeaders(ctx, respHeaders, false), 0);
  assert.equal(h.responseBody(ctx, "resp-body", true), 0);
  h.finish(ctx);
};
test("add-header: empty config -> the SDK example's hello: world!", () => {
  const h = sdk();
  assert.equal(h.configure(""), 1);
  addHeaderRequest(h, 2);
  assert.equal(h.header(0, "hello"), "world!");
  assert.equal(h.header(2, "hello"), "world!");
});
test("add-header: configured header added to request and response, bodies untouched", () => {
  const h = sdk();
  assert.equal(h.configure({ name: "X-Added-By", value: "switchyard" }), 1);
  addHeaderRequest(h, 2, { ":path": "/", "x-added-by": "client" }, { ":status": "201", server: "u" });
  assert.deepEqual(h.map(0), [[":path", "/"], ["x-added-by", "client"], ["x-added-by", "switchyard"]]);
  assert.deepEqual(h.map(2), [[":status", "201"], ["server", "u"], ["x-added-by", "switchyard"]]);
  assert.equal(h.responseBodyText(), "resp-body");
  assert.equal(new TextDecoder().decode(h.buffers[0]), "req-body");
  assert.equal(h.localResponse, null);
});
test("add-header: JSON escapes in the value", () => {
  const h = sdk();
  assert.equal(h.configure('{ "value" : "caf\\u00e9 \\"q\\" \\/ \\t", "name": "x-v" }'), 1);
  addHeaderRequest(h, 2);
  assert.equal(h.header(0, "x-v"), 'caf\u00e9 "q" / \t');
});
test("add-header: invalid configs rejected", () => {
  for (const bad of ["nope", "[]", '"x"', '{"name":""}', '{"name":"a b"}', '{"name":"a:"}', '{"value":"a\\nb"}',
    '{"x":"y"}', '{"name":1}', '{"name":"a","name":"b"}', '{"name":"a"} x', '{"name":"a",}', '{"name":"a"',
    '{"value":"\\u12"}', '{"value":"\\q"}']) {
    const h = sdk();
    assert.equal(h.configure(bad), 0, `accepted ${bad}`);
    assert.ok(h.logs.some(([level, text]) => level === 4 && text.includes("invalid configuration")), bad);
  }
});
test("add-header: another plugin_root_id -> the SDK aborts through wasi_unstable.proc_exit", () => {
  const h = sdk({ rootId: "other" });
  assert.throws(() => h.configure(""), /proc_exit\(255\)/);
  assert.ok(h.logs.some(([level, text]) => level === 5 && text.includes("Missing root context factory for root id: other")));
});
test("add-header: 20,000 requests on one instance; memory grows only by the SDK's context leak", () => {
  // @solo-io/proxy-runtime 0.1.8's getContext() (`context_map.get(id) as
  // Context`, compiled by AssemblyScript 0.14.9) retains the context once
  // more than its callers release, so every stream context the SDK's
  // entry points touch stays allocated after proxy_on_delete: about 40
  // bytes per request. Nothing else may grow.
  const h = sdk();
  assert.equal(h.configure({ name: "x-added-by", value: "switchyard" }), 1);
  const run = (i) => {
    h.exports.proxy_on_context_create(i, 1);
    addHeaderRequest(h, i, { ":path": `/${"p".repeat(i % 300)}` });
  };
  for (let i = 2; i < 20002; i++) run(i);
  assert.ok(h.memoryBytes() <= 1 << 20, `memory ${h.memoryBytes()} after 20,000 requests`);
  assert.equal(h.header(0, "x-added-by"), "switchyard");
  assert.equal(h.header(2, "x-added-by"), "switchyard");
});

console.log(`plugin smoke tests: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
