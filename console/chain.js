// The audit chain recomputed here, in the browser: every entry's SHA-256 over
// its canonical form without `hash` (docs/audit-format.md), each entry's
// `prev_hash` equal to the hash before it, `seq` from 1 without a gap, and
// the signed checkpoint checked with Ed25519 (WebCrypto), so that the
// verdict rests on nothing the server merely says.

import { canonicalize } from "./jcs.js";

export const GENESIS_HASH = "0".repeat(64);
const encoder = new TextEncoder();

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The hash an entry must carry. */
export async function entryHash(entry) {
  const { hash: _ignored, ...rest } = entry;
  return hex(await crypto.subtle.digest("SHA-256", encoder.encode(canonicalize(rest))));
}

/** Checks entries in `seq` order as they arrive. */
export class ChainCheck {
  constructor(watched = []) {
    this.nextSeq = 1;
    this.prevHash = GENESIS_HASH;
    this.count = 0;
    this.broken = null;
    // seq → hash of the entries a saved checkpoint names.
    this.watched = new Map(watched.map((seq) => [seq, null]));
  }

  /** Check a batch of consecutive entries (hashed in parallel). */
  async addAll(entries) {
    if (this.broken) return;
    const hashes = await Promise.all(entries.map(entryHash));
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      const why = entry.seq !== this.nextSeq
        ? `expected seq ${this.nextSeq}, found ${entry.seq}`
        : entry.prev_hash !== this.prevHash
          ? "its prev_hash is not the hash of the entry before"
          : hashes[i] !== entry.hash
            ? "its content does not hash to its hash (it was altered)"
            : null;
      if (why) {
        this.broken = { seq: entry.seq ?? this.nextSeq, why };
        return;
      }
      if (this.watched.has(entry.seq)) this.watched.set(entry.seq, entry.hash);
      this.prevHash = entry.hash;
      this.nextSeq += 1;
      this.count += 1;
    }
  }
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** The id of an Ed25519 public key (base64): the first 8 bytes of its
 * SHA-256, hex, as the server names its keys. Computed here, so that the id
 * shown is the key's, not a label the server sent. */
export async function keyId(publicKey) {
  return hex(await crypto.subtle.digest("SHA-256", fromBase64(publicKey))).slice(0, 16);
}

/** Is `checkpoint` ({seq, hash, signed_at, key_id, public_key, signature})
 * signed by its key, and is `key_id` that key's id? Ed25519 over
 * "{seq}:{hash}:{signed_at}". */
export async function checkpointSigned(checkpoint) {
  if ((await keyId(checkpoint.public_key)) !== checkpoint.key_id) return false;
  const key = await crypto.subtle.importKey("raw", fromBase64(checkpoint.public_key), { name: "Ed25519" }, false, ["verify"]);
  const message = encoder.encode(`${checkpoint.seq}:${checkpoint.hash}:${checkpoint.signed_at}`);
  return crypto.subtle.verify({ name: "Ed25519" }, key, fromBase64(checkpoint.signature), message);
}

/** Read a JSON Lines response line by line, `onLines` given each batch. */
export async function readLines(response, onLines) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let rest = "";
  for (;;) {
    const { done, value } = await reader.read();
    rest += decoder.decode(value ?? new Uint8Array(), { stream: !done });
    const lines = rest.split("\n");
    rest = done ? "" : lines.pop();
    const full = lines.filter((l) => l.trim() !== "");
    if (full.length) await onLines(full);
    if (done) return;
  }
}

/** Verify the whole chain from the export (one streamed request), and the
 * checkpoint that ends it; `saved` are checkpoints kept earlier. */
export async function verifyChain(session, saved, onProgress) {
  const check = new ChainCheck(saved.map((c) => Number(c.seq)));
  let checkpoint = null;
  const response = await session.fetch("/audit/export");
  await readLines(response, async (lines) => {
    const entries = [];
    for (const line of lines) {
      const value = JSON.parse(line);
      if (value.checkpoint) checkpoint = value.checkpoint;
      else entries.push(value);
    }
    await check.addAll(entries);
    onProgress(check.count);
  });
  const verdict = { count: check.count, broken: check.broken, checkpoint, saved: [] };
  if (!check.broken) {
    if (!checkpoint) {
      verdict.broken = { seq: check.nextSeq, why: "the copy ended without its signed checkpoint" };
    } else if (checkpoint.seq !== check.nextSeq - 1 || checkpoint.hash !== check.prevHash) {
      verdict.broken = { seq: checkpoint.seq, why: "the signed checkpoint does not name the last entry received" };
    } else if (!(await checkpointSigned(checkpoint))) {
      verdict.broken = { seq: checkpoint.seq, why: "the checkpoint's signature does not verify" };
    }
  }
  for (const kept of saved) {
    const found = check.watched.get(kept.seq);
    const signed = await checkpointSigned(kept);
    // A checkpoint signed by another key than today's is named as such: the
    // auditor decides whether that key was the log's.
    const sameKey = !checkpoint || kept.public_key === checkpoint.public_key;
    verdict.saved.push({ checkpoint: kept, holds: signed && found === kept.hash, signed, sameKey, found });
  }
  return verdict;
}
