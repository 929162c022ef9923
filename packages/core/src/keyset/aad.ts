// Associated data binding a sealed payload to its event, byte-identical to Rust batpak (FORMAT.md § Payload encryption):
// moving a ciphertext onto another event (entity, scope, kind or id) fails authentication.

const utf8 = new TextEncoder();

/** `01 ‖ u32le len ‖ entity ‖ u32le len ‖ scope ‖ kind u16le ‖ event id (16 bytes, big-endian u128)`. */
export function payloadAad(entity: string, scope: string, kind: number, eventId: Uint8Array): Uint8Array {
  const e = utf8.encode(entity);
  const s = utf8.encode(scope);
  const out = new Uint8Array(1 + 4 + e.length + 4 + s.length + 2 + 16);
  const dv = new DataView(out.buffer);
  let p = 0;
  out[p++] = 0x01;
  dv.setUint32(p, e.length, true);
  p += 4;
  out.set(e, p);
  p += e.length;
  dv.setUint32(p, s.length, true);
  p += 4;
  out.set(s, p);
  p += s.length;
  dv.setUint16(p, kind, true);
  p += 2;
  out.set(eventId, p);
  return out;
}
