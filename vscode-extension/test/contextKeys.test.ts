import { mock } from './vscodeMock';

import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';

import { CONTEXT_KEYS, contextValues, ContextKeys } from '../src/contextKeys';
import { lastErrorLine } from '../src/crash';
import { StatusBar } from '../src/statusBar';
import { ServerState } from '../src/statusModel';
import { EventEmitter } from './vscodeMock';

class FakeServer {
    state: ServerState = 'starting';
    private readonly emitter = new EventEmitter<ServerState>();
    onDidChangeState = this.emitter.event as never;
    set(state: ServerState): void {
        this.state = state;
        this.emitter.fire(state);
    }
}

function active(folderUri: string, openBlockers = 0) {
    return {
        folderUri,
        state: 'active',
        session: { id: 'msp-1', project: 'app', progress: 10, startTime: '2026-03-02T09:00:00Z', openBlockers, counts: { updates: 0, decisions: 0, blockers: openBlockers, entities: 0 } },
    };
}

function contexts(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const e of mock.executed.filter((x) => x.command === 'setContext')) {
        out[e.args[0] as string] = e.args[1];
    }
    return out;
}

describe('context keys for the palette’s when clauses', () => {
    beforeEach(() => mock.reset());

    it('values: server running, session state of the folder, open blockers', () => {
        assert.deepEqual(contextValues({ server: 'starting' }), {
            [CONTEXT_KEYS.serverRunning]: false,
            [CONTEXT_KEYS.sessionState]: 'idle',
            [CONTEXT_KEYS.hasOpenBlockers]: false,
        });
        assert.deepEqual(contextValues({ server: 'running', change: active('file:///w', 2) as never }), {
            [CONTEXT_KEYS.serverRunning]: true,
            [CONTEXT_KEYS.sessionState]: 'active',
            [CONTEXT_KEYS.hasOpenBlockers]: true,
        });
        const crashed = { ...active('file:///w', 1), state: 'crashed' };
        assert.equal(contextValues({ server: 'running', change: crashed as never })[CONTEXT_KEYS.sessionState], 'crashed');
        assert.equal(contextValues({ server: 'running', change: crashed as never })[CONTEXT_KEYS.hasOpenBlockers], false);
    });

    it('the status bar sets them from the server’s state and msp/sessionChanged, only when they change', () => {
        const [folder] = mock.setFolders('/work/app');
        const server = new FakeServer();
        const bar = new StatusBar(server as never);
        assert.deepEqual(contexts(), { 'msp.serverRunning': false, 'msp.sessionState': 'idle', 'msp.hasOpenBlockers': false });
        const before = mock.executed.length;
        server.set('running');
        assert.equal(mock.executed.length, before + 1, 'only msp.serverRunning changed');
        bar.sessionChanged(active(folder.uri.toString(), 1));
        assert.deepEqual(contexts(), { 'msp.serverRunning': true, 'msp.sessionState': 'active', 'msp.hasOpenBlockers': true });
        const settled = mock.executed.length;
        bar.render();
        assert.equal(mock.executed.length, settled, 'nothing set again when nothing changed');
        bar.sessionChanged({ folderUri: folder.uri.toString(), state: 'idle', session: null });
        server.set('failed');
        assert.deepEqual(contexts(), { 'msp.serverRunning': false, 'msp.sessionState': 'idle', 'msp.hasOpenBlockers': false });
        bar.dispose();
    });

    it('a ContextKeys instance remembers what it set', () => {
        const keys = new ContextKeys();
        keys.update({ server: 'running' });
        keys.update({ server: 'running' });
        assert.equal(mock.executed.length, 3);
    });
});

describe('why the server stopped', () => {
    it('is a traceback’s exception line, not a later INFO line', () => {
        const tail = [
            'INFO msp_server.lsp: folder /w opened',
            'Traceback (most recent call last):',
            '  File "/x/msp_server/lsp/app.py", line 12, in main',
            '    raise StateCorruption("bad")',
            'msp_server.core.errors.StateCorruption: the store is corrupt',
            'INFO pygls.server: shutting down',
        ];
        assert.equal(lastErrorLine(tail), 'msp_server.core.errors.StateCorruption: the store is corrupt');
    });

    it('is the last ERROR line without a traceback, and nothing when there is only INFO', () => {
        assert.equal(lastErrorLine(['INFO a', 'ERROR msp_server: cannot open the store', 'INFO b']), 'ERROR msp_server: cannot open the store');
        assert.equal(lastErrorLine(['INFO msp_server.lsp: 0 entities', 'INFO shutting down']), undefined);
    });
});
