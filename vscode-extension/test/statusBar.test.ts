import { mock, EventEmitter, ThemeColor } from './vscodeMock';

import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';

import { parseSessionChanged, StatusBar } from '../src/statusBar';
import { ServerState } from '../src/statusModel';

class FakeServer {
    state: ServerState = 'running';
    private readonly emitter = new EventEmitter<ServerState>();
    onDidChangeState = this.emitter.event as never;
    set(state: ServerState): void {
        this.state = state;
        this.emitter.fire(state);
    }
}

function changed(folderUri: string, progress = 45, start = '2026-03-02T09:00:00Z', state = 'active') {
    return {
        folderUri,
        state,
        session: {
            id: 'msp-1',
            project: 'app',
            progress,
            startTime: start,
            lastActivity: start,
            openBlockers: 0,
            counts: { updates: 1, decisions: 0, blockers: 0, entities: 0 },
            goal: 'Reset',
        },
    };
}

describe('the status bar follows msp/sessionChanged', () => {
    let clock = new Date('2026-03-02T10:12:00Z');
    beforeEach(() => {
        mock.reset();
        clock = new Date('2026-03-02T10:12:00Z');
    });

    it('starts as "starting" and changes with each notification', () => {
        const [folder] = mock.setFolders('/work/app');
        const server = new FakeServer();
        const bar = new StatusBar(server as never, () => clock);
        const item = mock.statusItems[0];
        assert.equal(item.text, '$(sync~spin) MSP');
        assert.equal(item.command, 'msp.sessionActions');
        assert.ok(item.visible);

        bar.sessionChanged(changed(folder.uri.toString()));
        assert.equal(item.text, '$(pulse) MSP 45% · 1h 12m');
        assert.equal(item.accessibilityInformation?.label, 'MSP: active session, 45%, running 1h 12m');

        bar.sessionChanged({ folderUri: folder.uri.toString(), state: 'idle', session: null });
        assert.equal(item.text, '$(circle-large-outline) MSP');
        bar.dispose();
    });

    it('shows Restricted Mode, and leaves it when the workspace is trusted (no restart)', () => {
        const [folder] = mock.setFolders('/work/app');
        mock.isTrusted = false;
        const bar = new StatusBar(new FakeServer() as never, () => clock);
        bar.sessionChanged({ folderUri: folder.uri.toString(), state: 'idle', session: null });
        const item = mock.statusItems[0];
        assert.equal(item.text, '$(circle-large-outline) MSP (restricted)');
        assert.equal(item.accessibilityInformation?.label, 'MSP (restricted): no active session');
        mock.isTrusted = true;
        mock.trustEmitter.fire();
        assert.equal(item.text, '$(circle-large-outline) MSP');
        bar.dispose();
    });

    it('re-renders the elapsed time locally when the minute turns', async () => {
        const [folder] = mock.setFolders('/work/app');
        const bar = new StatusBar(new FakeServer() as never, () => clock);
        // started 59.98 s before "now": the next whole minute is 20 ms + 50 ms slack away
        bar.sessionChanged(changed(folder.uri.toString(), 45, new Date(clock.getTime() - 59_980).toISOString()));
        const item = mock.statusItems[0];
        assert.equal(item.text, '$(pulse) MSP 45% · 0m');
        clock = new Date(clock.getTime() + 60_000);
        await new Promise((resolve) => setTimeout(resolve, 150));
        assert.equal(item.text, '$(pulse) MSP 45% · 1m');
        bar.dispose();
    });

    it('shows the active editor’s folder in a multi-root window', () => {
        const [web, api] = mock.setFolders('/work/web', '/work/api');
        const bar = new StatusBar(new FakeServer() as never, () => clock);
        bar.sessionChanged(changed(web.uri.toString(), 10));
        bar.sessionChanged(changed(api.uri.toString(), 80));
        mock.editorFor('/work/api/main.py');
        mock.activeEditorEmitter.fire(mock.activeEditor);
        assert.equal(mock.statusItems[0].text, '$(pulse) MSP (api) 80% · 1h 12m');
        mock.editorFor('/work/web/index.ts');
        mock.activeEditorEmitter.fire(mock.activeEditor);
        assert.equal(mock.statusItems[0].text, '$(pulse) MSP (web) 10% · 1h 12m');
        bar.dispose();
    });

    it('adds msp/syncStatus and turns red when the server stops', () => {
        const [folder] = mock.setFolders('/work/app');
        const server = new FakeServer();
        const bar = new StatusBar(server as never, () => clock);
        bar.sessionChanged(changed(folder.uri.toString()));
        bar.syncStatus({ folderUri: folder.uri.toString(), queued: 2, dead: 0, integrations: { jira: { queued: 2, lastError: '401' } } });
        const item = mock.statusItems[0];
        assert.equal(item.text, '$(pulse) MSP 45% · 1h 12m · $(sync-ignored) 1 failed · $(cloud-upload) 2');
        assert.deepEqual(item.backgroundColor, new ThemeColor('statusBarItem.warningBackground'));
        server.set('failed');
        assert.equal(item.text, '$(error) MSP off');
        assert.deepEqual(item.backgroundColor, new ThemeColor('statusBarItem.errorBackground'));
        bar.dispose();
    });

    it('ignores malformed notifications', () => {
        assert.equal(parseSessionChanged({ folderUri: 'file:///w', state: 'weird', session: null }), undefined);
        assert.equal(parseSessionChanged({ state: 'idle', session: null }), undefined);
        assert.equal(parseSessionChanged({ folderUri: 'file:///w', state: 'active', session: 3 }), undefined);
        assert.ok(parseSessionChanged({ folderUri: 'file:///w', state: 'idle', session: null }));
    });
});
