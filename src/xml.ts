/** XML text and attribute escaping, for the TwiML answer and the SVG chart. */
const ENTITIES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' };

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ENTITIES[c]!);
}
