// abort.ts: the abort handler selected with `--use abort=error_mapper_abort`
// (see asconfig.json). The SDK's own abort_proc_exit imports proc_exit from
// the legacy "wasi_unstable" module, which many proxy-wasm hosts do not
// provide (Switchyard does);
// this one logs through proxy_log and traps, and the host discards the
// instance after a trap.

import { log, LogLevelValues } from "@solo-io/proxy-runtime";

let aborting = false;

// @ts-ignore: decorator
@global
export function error_mapper_abort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  // Building the log line allocates; if the allocator is what failed, the
  // nested abort lands here again and traps without logging.
  if (aborting) unreachable();
  aborting = true;
  let text = "error-mapper: abort";
  if (message !== null) text += ": " + message;
  if (fileName !== null) text += " at " + fileName + ":" + line.toString() + ":" + column.toString();
  log(LogLevelValues.critical, text);
  unreachable();
}
