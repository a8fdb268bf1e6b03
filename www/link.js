// The link codec: a run record to and from the URL fragment `#run=...`
// (the record's JSON, UTF-8, in unpadded base64url). Shared by the page,
// the benchmark and the page tests.

export function encodeRecord(record) {
  const bytes = new TextEncoder().encode(JSON.stringify(record));
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeRecord(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64);
  const bytes = Uint8Array.from(raw, c => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

export function runHash(record) {
  return `#run=${encodeRecord(record)}`;
}

// The encoded record in a `#run=` fragment, or null.
export function runInHash(hash) {
  const m = hash.match(/^#run=(.+)$/);
  return m ? m[1] : null;
}
