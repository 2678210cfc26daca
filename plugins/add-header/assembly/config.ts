// config.ts: the add-header configuration, a flat JSON object of strings.
//
//   (empty)                                   -> hello: world!
//   {"name": "x-added-by", "value": "switchyard"}
//
// Both keys are optional; unknown or repeated keys, non-string values, an
// invalid header name (token characters only; it is lowercased) or a value
// with control characters other than tab make the configuration invalid.

export class Config {
  name: string = "hello";
  value: string = "world!";
}

class Reader {
  text: string;
  at: i32 = 0;
  ok: bool = true;

  constructor(text: string) {
    this.text = text;
  }

  skipSpace(): void {
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.at++;
    }
  }

  // Consumes `c` after optional whitespace; false when it is not next.
  eat(c: i32): bool {
    this.skipSpace();
    if (this.at < this.text.length && this.text.charCodeAt(this.at) == c) {
      this.at++;
      return true;
    }
    return false;
  }

  hex4(): i32 {
    if (this.at + 4 > this.text.length) {
      this.ok = false;
      return 0;
    }
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.text.charCodeAt(this.at + i);
      let d = -1;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x41 + 10;
      if (d < 0) {
        this.ok = false;
        return 0;
      }
      v = (v << 4) | d;
    }
    this.at += 4;
    return v;
  }

  // A JSON string; sets ok = false when there is none.
  str(): string {
    if (!this.eat(0x22)) {
      this.ok = false;
      return "";
    }
    let out = "";
    let from = this.at;
    while (this.at < this.text.length) {
      const c = this.text.charCodeAt(this.at);
      if (c == 0x22) {
        out += this.text.substring(from, this.at);
        this.at++;
        return out;
      }
      if (c < 0x20) break;
      if (c != 0x5c) {
        this.at++;
        continue;
      }
      out += this.text.substring(from, this.at);
      this.at++;
      if (this.at >= this.text.length) break;
      const e = this.text.charCodeAt(this.at);
      this.at++;
      if (e == 0x22 || e == 0x5c || e == 0x2f) out += String.fromCharCode(e);
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x6e) out += "\n";
      else if (e == 0x72) out += "\r";
      else if (e == 0x74) out += "\t";
      else if (e == 0x75) out += String.fromCharCode(this.hex4());
      else break;
      if (!this.ok) break;
      from = this.at;
    }
    this.ok = false;
    return "";
  }
}

function isToken(c: i32): bool {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  return "!#$%&'*+-.^_`|~".indexOf(String.fromCharCode(c)) >= 0;
}

function validName(name: string): bool {
  if (name.length == 0) return false;
  for (let i = 0; i < name.length; i++) {
    if (!isToken(name.charCodeAt(i))) return false;
  }
  return true;
}

function validValue(value: string): bool {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c != 0x09) || c == 0x7f) return false;
  }
  return true;
}

/** Parses the configuration; null when it is invalid. */
export function parseConfig(text: string): Config | null {
  const config = new Config();
  const r = new Reader(text);
  r.skipSpace();
  if (r.at == text.length) return config;
  if (!r.eat(0x7b)) return null;
  let seenName = false;
  let seenValue = false;
  if (!r.eat(0x7d)) {
    while (true) {
      const key = r.str();
      if (!r.ok || !r.eat(0x3a)) return null;
      const value = r.str();
      if (!r.ok) return null;
      if (key == "name" && !seenName) {
        seenName = true;
        config.name = value.toLowerCase();
      } else if (key == "value" && !seenValue) {
        seenValue = true;
        config.value = value;
      } else {
        return null;
      }
      if (r.eat(0x7d)) break;
      if (!r.eat(0x2c)) return null;
    }
  }
  r.skipSpace();
  if (r.at != text.length) return null;
  if (!validName(config.name) || !validValue(config.value)) return null;
  return config;
}
