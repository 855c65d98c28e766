// Binary stream frames (docs/reference/streaming.md).

export interface Frame {
  id: string;
  seq: number;
  timestamp: number;
  x0: number;
  dx: number;
  channels: Float64Array[];
}

export function decodeFrame(buffer: ArrayBuffer): Frame {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== "RLF1") throw new Error("not a remotelab frame");
  const encoding = view.getUint8(4);
  const n = view.getUint8(5);
  const k = view.getUint16(6, true);
  const m = view.getUint32(8, true);
  const seq = Number(view.getBigUint64(12, true));
  const timestamp = view.getFloat64(20, true);
  const x0 = view.getFloat32(28, true);
  const dx = view.getFloat32(32, true);
  const id = new TextDecoder().decode(new Uint8Array(buffer, 36, k));
  let pos = 36 + k;
  const channels: Float64Array[] = [];
  if (encoding === 1) {
    const params: [number, number][] = [];
    for (let i = 0; i < n; i++) {
      params.push([view.getFloat32(pos, true), view.getFloat32(pos + 4, true)]);
      pos += 8;
    }
    for (const [scale, offset] of params) {
      const out = new Float64Array(m);
      for (let j = 0; j < m; j++) out[j] = view.getInt16(pos + 2 * j, true) * scale + offset;
      channels.push(out);
      pos += 2 * m;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const out = new Float64Array(m);
      for (let j = 0; j < m; j++) out[j] = view.getFloat32(pos + 4 * j, true);
      channels.push(out);
      pos += 4 * m;
    }
  }
  return { id, seq, timestamp, x0, dx, channels };
}
