import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** .env.example documents every variable config.ts reads, and nothing it does not. */
describe('.env.example', () => {
  it('lists exactly the variables of src/config.ts', () => {
    const source = readFileSync(new URL('../../src/config.ts', import.meta.url), 'utf8');
    const schema = source.slice(source.indexOf('const envSchema'), source.indexOf('type Env'));
    const read = [...schema.matchAll(/^\s{2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1]);
    const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const documented = [...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect([...new Set(documented)].sort()).toEqual([...new Set(read)].sort());
  });
});
