import { mock } from './vscodeMock';

import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';

import { chooseFolder, folderChoice } from '../src/folders';

describe('which folder a command is for', () => {
    beforeEach(() => mock.reset());

    it('decides: none, the active editor’s folder, the only folder, or ask', () => {
        assert.deepEqual(folderChoice([], undefined), { kind: 'none' });
        assert.deepEqual(folderChoice(undefined, undefined), { kind: 'none' });
        assert.deepEqual(folderChoice(['a', 'b'], 'b'), { kind: 'folder', folder: 'b' });
        assert.deepEqual(folderChoice(['a'], undefined), { kind: 'folder', folder: 'a' });
        assert.deepEqual(folderChoice(['a', 'b'], undefined), { kind: 'ask', folders: ['a', 'b'] });
    });

    it('takes the active editor’s folder in a multi-root window without asking', async () => {
        const [, api] = mock.setFolders('/work/web', '/work/api');
        mock.editorFor('/work/api/src/app.py');
        assert.equal(await chooseFolder(), api);
        assert.equal(mock.pickTitles.length, 0);
    });

    it('asks with a quick pick when no editor points at a folder', async () => {
        const [web] = mock.setFolders('/work/web', '/work/api');
        mock.editorFor('/elsewhere/notes.md');
        mock.picks.push('web');
        assert.equal(await chooseFolder('MSP: start a session in which folder?'), web);
        assert.deepEqual(mock.pickTitles, ['MSP: start a session in which folder?']);
    });

    it('says so when no folder is open', async () => {
        mock.folders = undefined;
        assert.equal(await chooseFolder(), undefined);
        assert.match(mock.shown[0].message, /open a folder first/);
    });
});
