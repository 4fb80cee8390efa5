import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { baseConfigSchema, envBoolean, envInt, loadConfig } from './config.js';

describe('loadConfig', () => {
  const schema = baseConfigSchema.extend({ PORT: envInt(8080, { min: 0, max: 65535 }), FLAG: envBoolean(false), SECRET: z.string().min(8) });

  it('lists every bad key at once, not only the first', () => {
    assert.throws(
      () => loadConfig(schema, { PORT: 'eighty', DATABASE_URL: 'not a url', FLAG: 'maybe' }),
      (err: Error) => {
        for (const k of ['PORT', 'DATABASE_URL', 'FLAG', 'SECRET']) assert.match(err.message, new RegExp(`\\b${k}: `));
        return true;
      },
    );
  });

  it('applies defaults, coerces numbers and returns a frozen object', () => {
    const c = loadConfig(schema, { SECRET: 'long-enough', PORT: '9000' });
    assert.equal(c.PORT, 9000);
    assert.equal(c.DATABASE_URL, 'postgres://127.0.0.1:5432/contender');
    assert.equal(Object.isFrozen(c), true);
  });

  it('reads "false" and "0" as false, unlike a plain boolean coercion', () => {
    assert.equal(loadConfig(schema, { SECRET: 'long-enough', FLAG: 'false' }).FLAG, false);
    assert.equal(loadConfig(schema, { SECRET: 'long-enough', FLAG: '0' }).FLAG, false);
    assert.equal(loadConfig(schema, { SECRET: 'long-enough', FLAG: 'true' }).FLAG, true);
  });
});
