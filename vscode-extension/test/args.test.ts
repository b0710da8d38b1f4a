import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
    buildArgs,
    checkCredentialName,
    checkProgress,
    checkRequired,
    parseList,
    parseProgress,
    relativePath,
} from '../src/args';

describe('the one object argument of a server command', () => {
    it('is folderUri plus the camelCase fields, without the ones left empty', () => {
        assert.deepEqual(
            buildArgs('file:///work/app', {
                text: '  Use signed tokens ',
                rationale: '',
                alternatives: ['a table'],
                impact: 'high',
                category: undefined,
                progress: 0,
                force: false,
            }),
            {
                folderUri: 'file:///work/app',
                text: 'Use signed tokens',
                alternatives: ['a table'],
                impact: 'high',
                progress: 0,
                force: false,
            },
        );
        assert.deepEqual(buildArgs('file:///w', { alternatives: [], goal: null }), { folderUri: 'file:///w' });
    });
});

describe('input checks', () => {
    it('accepts an empty or whole 0..100 progress', () => {
        for (const ok of ['', ' ', '0', '45', '100']) {
            assert.equal(checkProgress(ok), undefined, ok);
        }
        for (const bad of ['101', '-1', '4.5', 'abc', '1000']) {
            assert.match(checkProgress(bad) ?? '', /0 to 100/, bad);
        }
        assert.equal(parseProgress('45'), 45);
        assert.equal(parseProgress(''), undefined);
    });

    it('requires text where the server requires it', () => {
        assert.equal(checkRequired('The update')('did it'), undefined);
        assert.equal(checkRequired('The update')('   '), 'The update must not be empty.');
    });

    it('splits alternatives on ; and new lines', () => {
        assert.deepEqual(parseList('JWT; sessions ;; OAuth\nmagic links'), ['JWT', 'sessions', 'OAuth', 'magic links']);
        assert.deepEqual(parseList(''), []);
    });

    it('checks credential names as the keyring stores them', () => {
        assert.equal(checkCredentialName('linear-api-key'), undefined);
        assert.ok(checkCredentialName('Linear Key'));
        assert.ok(checkCredentialName('9lives'));
    });

    it('makes workspace-relative POSIX paths, and nothing for files outside', () => {
        assert.equal(relativePath('/work/app', '/work/app/src/a.py'), 'src/a.py');
        assert.equal(relativePath('/work/app/', '/work/app/a.py'), 'a.py');
        assert.equal(relativePath('C:\\work\\app', 'C:\\work\\app\\b.ts'), 'b.ts');
        assert.equal(relativePath('/work/app', '/work/application/a.py'), undefined);
    });
});
