// add-header: the AssemblyScript proxy-wasm SDK's canonical example, written
// the SDK's standard way: its exported entry points (re-exported unchanged
// below), a root context registered with registerRootContext under the name
// the host reports as plugin_root_id (Switchyard: the plugin's `name`, so the
// plugin must be named "add-header"), and an HTTP context created by it.
//
// Adds one header to the request (before it goes upstream) and the same
// header to the response (before it goes to the client). Configuration:
// empty, or a JSON object {"name": "...", "value": "..."}, both optional;
// the defaults are the SDK example's `hello: world!`.

export * from "@solo-io/proxy-runtime/proxy"; // the ABI entry points, as the SDK README says
import {
  RootContext,
  Context,
  registerRootContext,
  FilterHeadersStatusValues,
  stream_context,
  log,
  LogLevelValues,
} from "@solo-io/proxy-runtime";
import { get_buffer_bytes, BufferTypeValues } from "@solo-io/proxy-runtime/runtime";
import { parseConfig } from "./config";

class AddHeaderRoot extends RootContext {
  name: string = "hello";
  value: string = "world!";

  createContext(context_id: u32): Context {
    return new AddHeader(context_id, this);
  }

  // RootContext.onConfigure in @solo-io/proxy-runtime 0.1.8 passes the
  // configuration size where proxy_get_buffer_bytes expects the pointer for
  // the returned size, so the host writes 4 bytes at the address equal to
  // the size (Envoy does the same). This override reads the configuration
  // with the SDK's get_buffer_bytes wrapper instead, and validates it.
  onConfigure(configuration_size: u32): bool {
    let text = "";
    if (configuration_size > 0) {
      text = String.UTF8.decode(get_buffer_bytes(BufferTypeValues.PluginConfiguration, 0, configuration_size));
    }
    const config = parseConfig(text);
    if (config === null) {
      log(LogLevelValues.error, "add-header: invalid configuration (want {\"name\": \"...\", \"value\": \"...\"}): " + text);
      return false;
    }
    this.name = config.name;
    this.value = config.value;
    return true;
  }
}

class AddHeader extends Context {
  root: AddHeaderRoot;

  constructor(context_id: u32, root_context: AddHeaderRoot) {
    super(context_id, root_context);
    this.root = root_context;
  }

  onRequestHeaders(a: u32, end_of_stream: bool): FilterHeadersStatusValues {
    stream_context.headers.request.add(this.root.name, this.root.value);
    return FilterHeadersStatusValues.Continue;
  }

  onResponseHeaders(a: u32, end_of_stream: bool): FilterHeadersStatusValues {
    stream_context.headers.response.add(this.root.name, this.root.value);
    return FilterHeadersStatusValues.Continue;
  }
}

registerRootContext((context_id: u32) => { return new AddHeaderRoot(context_id); }, "add-header");
