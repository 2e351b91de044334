// docs/configuration.md is generated from the code (docs/tools/config-docs.ts): this test
// fails when the page and the code differ, or when a setting has no doc comment.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { collect, CONFIGURATION_PAGE, renderConfigurationPage } from '../../docs/tools/config-docs.js';

describe('docs/configuration.md', () => {
  it('documents every field of every settings object, each with a doc comment', () => {
    expect(collect().problems).toEqual([]);
  });

  it('is what `npm run docs:config` generates from the code today', () => {
    expect(readFileSync(CONFIGURATION_PAGE, 'utf8')).toBe(renderConfigurationPage());
  });
});
