// Draws a QR code on a canvas: black modules on white with a four-module
// quiet zone, whole pixels per module (crisp, scannable, and decodable from
// a screenshot), at least 264 px wide.

import { create } from "qrcode";

export function drawQr(canvas: HTMLCanvasElement, text: string, minPx = 264): void {
  const qr = create(text, { errorCorrectionLevel: "M" });
  const n = qr.modules.size;
  const quiet = 4;
  const scale = Math.max(4, Math.ceil(minPx / (n + 2 * quiet)));
  const px = (n + 2 * quiet) * scale;
  canvas.width = px;
  canvas.height = px;
  canvas.style.width = `${px}px`;
  canvas.style.height = `${px}px`;
  const g = canvas.getContext("2d");
  if (!g) throw new Error("this browser cannot draw on a canvas");
  g.fillStyle = "#ffffff";
  g.fillRect(0, 0, px, px);
  g.fillStyle = "#000000";
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (qr.modules.get(r, c)) g.fillRect((c + quiet) * scale, (r + quiet) * scale, scale, scale);
    }
  }
}
