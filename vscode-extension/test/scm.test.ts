import './vscodeMock';

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { repositoryFor } from '../src/scm';

describe('the repository whose SCM input box gets the commit message', () => {
    const repo = (fsPath: string) => ({ rootUri: { fsPath } });
    it('is the innermost repository containing the folder', () => {
        const outer = repo('/work');
        const inner = repo('/work/app');
        assert.equal(repositoryFor([outer, inner], '/work/app'), inner);
        assert.equal(repositoryFor([outer, inner], '/work/app/sub'), inner);
        assert.equal(repositoryFor([outer, inner], '/work/other'), outer);
        assert.equal(repositoryFor([inner], '/work/application'), undefined);
    });
});
