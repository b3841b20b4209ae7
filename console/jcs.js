// RFC 8785 (JSON Canonicalization Scheme): the form the server hashes each
// audit entry in (serde_json_canonicalizer). Object members sorted by their
// names' UTF-16 code units, no white space, numbers and strings written as
// ECMAScript writes them (which is what JSON.stringify does).

export function canonicalize(value) {
  if (value === null || typeof value === "boolean") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new Error("JCS: a number that is not finite has no canonical form");
    }
    return JSON.stringify(value);
  }
  if (typeof value === "string") {
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return "[" + value.map(canonicalize).join(",") + "]";
  }
  if (typeof value === "object") {
    // The default sort compares UTF-16 code units, as RFC 8785 asks.
    const names = Object.keys(value).sort();
    return "{" + names.map((name) => JSON.stringify(name) + ":" + canonicalize(value[name])).join(",") + "}";
  }
  throw new Error(`JCS: cannot canonicalize a ${typeof value}`);
}
