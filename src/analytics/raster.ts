/**
 * A tiny RGB rasteriser for charts: filled rectangles, lines and text in a 5x7 bitmap
 * font (the classic LCD character set, scaled by whole pixels). No anti-aliasing.
 */

export type Rgb = readonly [number, number, number];

/**
 * Glyph columns for ASCII 0x20..0x5F, then 'a'..'z': 5 bytes per glyph, bit 0 = top row,
 * bit 6 = the baseline row, bit 7 = the descender row (g, j, p, q, y).
 */
const UPPER =
  '0000000000' + '00005f0000' + '0007000700' + '147f147f14' + '242a7f2a12' + '2313086462' + '3649552250' + '0005030000' +
  '001c224100' + '0041221c00' + '082a1c2a08' + '08083e0808' + '0050300000' + '0808080808' + '0060600000' + '2010080402' +
  '3e5149453e' + '00427f4000' + '4261514946' + '2141454b31' + '1814127f10' + '2745454539' + '3c4a494930' + '0171090503' +
  '3649494936' + '064949291e' + '0036360000' + '0056360000' + '0008142241' + '1414141414' + '4122140800' + '0201510906' +
  '324979413e' + '7e1111117e' + '7f49494936' + '3e41414122' + '7f4141221c' + '7f49494941' + '7f09090101' + '3e41415132' +
  '7f0808087f' + '00417f4100' + '2040413f01' + '7f08142241' + '7f40404040' + '7f0204027f' + '7f0408107f' + '3e4141413e' +
  '7f09090906' + '3e4151215e' + '7f09192946' + '4649494931' + '01017f0101' + '3f4040403f' + '1f2040201f' + '7f2018207f' +
  '6314081463' + '0304780403' + '6151494543' + '007f414100' + '0204081020' + '0041417f00' + '0402010204' + '4040404040';
const LOWER =
  '2054545478' + '7f48444438' + '3844444420' + '384444487f' + '3854545418' + '087e090102' + '98a4a4a47c' + '7f08040478' +
  '00447d4000' + '4080807d00' + '7f10284400' + '00417f4000' + '7c04180478' + '7c08040478' + '3844444438' + 'fc24242418' +
  '18242424fc' + '7c08040408' + '4854545420' + '043f444020' + '3c4040207c' + '1c2040201c' + '3c4030403c' + '4428102844' +
  '9ca0a0a07c' + '4464544c44';

function glyph(ch: string): number[] {
  const code = ch.charCodeAt(0);
  let hex: string;
  if (code >= 0x20 && code <= 0x5f) hex = UPPER.slice((code - 0x20) * 10, (code - 0x20) * 10 + 10);
  else if (code >= 0x61 && code <= 0x7a) hex = LOWER.slice((code - 0x61) * 10, (code - 0x61) * 10 + 10);
  else hex = UPPER.slice((0x3f - 0x20) * 10, (0x3f - 0x20) * 10 + 10); // '?'
  return [0, 2, 4, 6, 8].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

/** Font metrics at scale s: glyphs are 5s wide, 7s tall above the baseline (plus a 1s descender), advancing 6s. */
export const GLYPH = { width: 5, height: 7, rows: 8, advance: 6 } as const;

export function textWidth(text: string, scale: number): number {
  return text.length === 0 ? 0 : (text.length * GLYPH.advance - 1) * scale;
}

export class Canvas {
  readonly pixels: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.pixels = new Uint8Array(width * height * 3);
    this.fillRect(0, 0, width, height, background);
  }

  private set(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const i = (y * this.width + x) * 3;
    this.pixels[i] = c[0];
    this.pixels[i + 1] = c[1];
    this.pixels[i + 2] = c[2];
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.round(x), y0 = Math.round(y), x1 = Math.round(x + w), y1 = Math.round(y + h);
    for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) this.set(xx, yy, c);
  }

  /** A line `width` pixels thick (Bresenham with a square brush). */
  line(x1: number, y1: number, x2: number, y2: number, c: Rgb, width = 1): void {
    let x = Math.round(x1), y = Math.round(y1);
    const xe = Math.round(x2), ye = Math.round(y2);
    const dx = Math.abs(xe - x), dy = -Math.abs(ye - y);
    const sx = x < xe ? 1 : -1, sy = y < ye ? 1 : -1;
    const off = Math.floor((width - 1) / 2);
    let err = dx + dy;
    for (;;) {
      this.fillRect(x - off, y - off, width, width, c);
      if (x === xe && y === ye) return;
      const e2 = 2 * err;
      if (e2 >= dy) { err += dy; x += sx; }
      if (e2 <= dx) { err += dx; y += sy; }
    }
  }

  /** Text with its baseline (the bottom of capitals) at `y`. */
  text(x: number, y: number, text: string, c: Rgb, scale = 1, anchor: 'start' | 'middle' | 'end' = 'start'): void {
    const w = textWidth(text, scale);
    let left = Math.round(anchor === 'start' ? x : anchor === 'middle' ? x - w / 2 : x - w);
    const top = Math.round(y) - GLYPH.height * scale;
    for (const ch of text) {
      glyph(ch).forEach((col, cx) => {
        for (let row = 0; row < GLYPH.rows; row++) {
          if (col & (1 << row)) this.fillRect(left + cx * scale, top + row * scale, scale, scale, c);
        }
      });
      left += GLYPH.advance * scale;
    }
  }
}
