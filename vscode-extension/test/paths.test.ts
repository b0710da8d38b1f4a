import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { safeRelative } from '../src/paths';

describe('a stored path opens only inside its folder', () => {
    it('takes folder-relative paths', () => {
        for (const p of ['auth/reset.py', 'models.py', 'a/b/c.ts', 'dir\\file.cs', 'x..y/z.py']) {
            assert.equal(safeRelative(p), true, p);
        }
    });
    it('refuses what would leave the folder', () => {
        for (const p of ['', '/etc/passwd', '\\\\host\\share\\x', '\\x', 'C:/x', 'c:\\x', '../x', 'a/../../b', 'a\\..\\b']) {
            assert.equal(safeRelative(p), false, p);
        }
    });
});
