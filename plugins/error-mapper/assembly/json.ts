// json.ts: a small JSON reader and string quoting for error-mapper.
//
// AssemblyScript has no exceptions, so the parser never throws: a syntax
// error sets `failed` and parse() returns null. Nesting is capped so a
// hostile vendor body cannot exhaust the stack.

export const KIND_NULL: i32 = 0;
export const KIND_BOOL: i32 = 1;
export const KIND_NUMBER: i32 = 2;
export const KIND_STRING: i32 = 3;
export const KIND_ARRAY: i32 = 4;
export const KIND_OBJECT: i32 = 5;

const MAX_DEPTH: i32 = 32;

export class JsonValue {
  kind: i32;
  num: f64 = 0;
  bool: bool = false;
  str: string = "";
  /** Array elements. */
  items: Array<JsonValue> = new Array<JsonValue>();
  /** Object members, in document order (duplicates kept; get() takes the last). */
  keys: Array<string> = new Array<string>();
  vals: Array<JsonValue> = new Array<JsonValue>();
  /** Source text of a number, as written. */
  raw: string = "";

  constructor(kind: i32) {
    this.kind = kind;
  }

  /** Member of an object, or null (also for non-objects). */
  get(key: string): JsonValue | null {
    if (this.kind != KIND_OBJECT) return null;
    for (let i = this.keys.length - 1; i >= 0; i--) {
      if (this.keys[i] == key) return this.vals[i];
    }
    return null;
  }

  /** True for a number with no fractional part. */
  isInteger(): bool {
    return this.kind == KIND_NUMBER && Math.floor(this.num) == this.num;
  }
}

export class JsonParser {
  private s: string;
  private i: i32 = 0;
  private depth: i32 = 0;
  failed: bool = false;

  constructor(s: string) {
    this.s = s;
  }

  /** The whole text as one value, or null on any syntax error. */
  parse(): JsonValue | null {
    let v = this.value();
    this.ws();
    if (this.failed || this.i != this.s.length) return null;
    return v;
  }

  private fail(): JsonValue {
    this.failed = true;
    this.i = this.s.length;
    return new JsonValue(KIND_NULL);
  }

  private ws(): void {
    let s = this.s;
    while (this.i < s.length) {
      let c = s.charCodeAt(this.i);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.i++;
    }
  }

  private peek(): i32 {
    this.ws();
    return this.i < this.s.length ? this.s.charCodeAt(this.i) : -1;
  }

  private word(w: string, v: JsonValue): JsonValue {
    if (this.s.substring(this.i, this.i + w.length) != w) return this.fail();
    this.i += w.length;
    return v;
  }

  private value(): JsonValue {
    if (this.failed) return this.fail();
    let c = this.peek();
    if (c == 0x7b /* { */) return this.object();
    if (c == 0x5b /* [ */) return this.array();
    if (c == 0x22 /* " */) {
      let v = new JsonValue(KIND_STRING);
      v.str = this.string();
      return v;
    }
    if (c == 0x74 /* t */) {
      let v = new JsonValue(KIND_BOOL);
      v.bool = true;
      return this.word("true", v);
    }
    if (c == 0x66 /* f */) return this.word("false", new JsonValue(KIND_BOOL));
    if (c == 0x6e /* n */) return this.word("null", new JsonValue(KIND_NULL));
    return this.number();
  }

  private enter(): bool {
    if (this.depth >= MAX_DEPTH) {
      this.fail();
      return false;
    }
    this.depth++;
    this.i++; // the opening bracket
    return true;
  }

  private object(): JsonValue {
    if (!this.enter()) return this.fail();
    let v = new JsonValue(KIND_OBJECT);
    if (this.peek() == 0x7d /* } */) {
      this.i++;
      this.depth--;
      return v;
    }
    while (!this.failed) {
      if (this.peek() != 0x22) return this.fail();
      let key = this.string();
      if (this.peek() != 0x3a /* : */) return this.fail();
      this.i++;
      let member = this.value();
      v.keys.push(key);
      v.vals.push(member);
      let c = this.peek();
      this.i++;
      if (c == 0x7d /* } */) break;
      if (c != 0x2c /* , */) return this.fail();
    }
    this.depth--;
    if (this.failed) return this.fail();
    return v;
  }

  private array(): JsonValue {
    if (!this.enter()) return this.fail();
    let v = new JsonValue(KIND_ARRAY);
    if (this.peek() == 0x5d /* ] */) {
      this.i++;
      this.depth--;
      return v;
    }
    while (!this.failed) {
      v.items.push(this.value());
      let c = this.peek();
      this.i++;
      if (c == 0x5d /* ] */) break;
      if (c != 0x2c /* , */) return this.fail();
    }
    this.depth--;
    if (this.failed) return this.fail();
    return v;
  }

  private hex4(at: i32): i32 {
    if (at + 4 > this.s.length) return -1;
    let v = 0;
    for (let k = 0; k < 4; k++) {
      let c = this.s.charCodeAt(at + k);
      let d: i32;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      else return -1;
      v = (v << 4) | d;
    }
    return v;
  }

  // Called with the opening quote next; returns the decoded text.
  private string(): string {
    let s = this.s;
    this.i++; // opening quote
    let out = "";
    let start = this.i;
    while (true) {
      if (this.i >= s.length) {
        this.fail();
        return "";
      }
      let c = s.charCodeAt(this.i);
      if (c == 0x22) break;
      if (c < 0x20) {
        this.fail();
        return "";
      }
      if (c != 0x5c /* \ */) {
        this.i++;
        continue;
      }
      out += s.substring(start, this.i);
      if (this.i + 1 >= s.length) {
        this.fail();
        return "";
      }
      let e = s.charCodeAt(this.i + 1);
      this.i += 2;
      if (e == 0x22) out += "\"";
      else if (e == 0x5c) out += "\\";
      else if (e == 0x2f) out += "/";
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x6e) out += "\n";
      else if (e == 0x72) out += "\r";
      else if (e == 0x74) out += "\t";
      else if (e == 0x75 /* u */) {
        let cp = this.hex4(this.i);
        if (cp < 0) {
          this.fail();
          return "";
        }
        this.i += 4;
        out += String.fromCharCode(cp); // surrogates pass through as UTF-16 units
      } else {
        this.fail();
        return "";
      }
      start = this.i;
    }
    out += s.substring(start, this.i);
    this.i++; // closing quote
    return out;
  }

  private number(): JsonValue {
    let s = this.s;
    let start = this.i;
    if (this.i < s.length && s.charCodeAt(this.i) == 0x2d) this.i++;
    let intStart = this.i;
    while (this.i < s.length && isDigit(s.charCodeAt(this.i))) this.i++;
    let intLen = this.i - intStart;
    if (intLen == 0 || (intLen > 1 && s.charCodeAt(intStart) == 0x30)) return this.fail();
    if (this.i < s.length && s.charCodeAt(this.i) == 0x2e /* . */) {
      this.i++;
      let f = this.i;
      while (this.i < s.length && isDigit(s.charCodeAt(this.i))) this.i++;
      if (this.i == f) return this.fail();
    }
    if (this.i < s.length && (s.charCodeAt(this.i) | 0x20) == 0x65 /* e */) {
      this.i++;
      if (this.i < s.length && (s.charCodeAt(this.i) == 0x2b || s.charCodeAt(this.i) == 0x2d)) this.i++;
      let e = this.i;
      while (this.i < s.length && isDigit(s.charCodeAt(this.i))) this.i++;
      if (this.i == e) return this.fail();
    }
    let v = new JsonValue(KIND_NUMBER);
    v.raw = s.substring(start, this.i);
    v.num = parseFloat(v.raw);
    return v;
  }
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

function isHighSurrogate(c: i32): bool {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: i32): bool {
  return c >= 0xdc00 && c <= 0xdfff;
}

const HEX = "0123456789abcdef";

/** s as a JSON string literal, quotes included. Lone surrogates become U+FFFD. */
export function quote(s: string): string {
  let out = "\"";
  let start = 0;
  let n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    let esc: string | null = null;
    if (c == 0x22) esc = "\\\"";
    else if (c == 0x5c) esc = "\\\\";
    else if (c == 0x0a) esc = "\\n";
    else if (c == 0x0d) esc = "\\r";
    else if (c == 0x09) esc = "\\t";
    else if (c < 0x20 || c == 0x7f) {
      esc = "\\u00" + HEX.charAt(c >> 4) + HEX.charAt(c & 15);
    } else if (isHighSurrogate(c)) {
      if (i + 1 < n && isLowSurrogate(s.charCodeAt(i + 1))) {
        i++; // a valid pair stays as is
        continue;
      }
      esc = "\\ufffd";
    } else if (isLowSurrogate(c)) {
      esc = "\\ufffd";
    }
    if (esc !== null) {
      out += s.substring(start, i) + esc;
      start = i + 1;
    }
  }
  return out + s.substring(start, n) + "\"";
}

/** At most max code points of s (never splits a surrogate pair). */
export function truncate(s: string, max: i32): string {
  let count = 0;
  let i = 0;
  let n = s.length;
  while (i < n && count < max) {
    if (isHighSurrogate(s.charCodeAt(i)) && i + 1 < n && isLowSurrogate(s.charCodeAt(i + 1))) i += 2;
    else i++;
    count++;
  }
  if (i >= n) return s;
  return s.substring(0, i);
}
